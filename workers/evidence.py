"""Evidence images for people: the few small JPEGs a reviewer looks at, kept per case attempt.

During verification the engine picks them (`kycengine.evidence`: the rectified document, the document
at its tilt, its MRZ band, the portrait, selfie frames at the turns and the blink); the verification
job stores them here after the verdict is committed. They are never part of the verdict JSON, the
audit trail or a webhook; retention and a consent withdrawal delete them with the media
(`retention.purge_attempt` calls `purge`).

Storage: one Redis hash per attempt, `{p}evidence:{case}:{n}`, name -> JPEG bytes. Redis already
holds the verdict they illustrate, under the same retention, so an attempt's images are written in
one command and deleted in one command: nothing can be left behind in a second storage, and there is
no second storage to configure, confine and secure. The cost is memory, bounded twice: only the
names of `EVIDENCE_NAMES` are accepted, each at most `KYC_EVIDENCE_MAX_BYTES` (default 128 KiB), so
an attempt holds at most 1 MiB; the engine's images (~480 px, quality 80) came to ~90 KB per attempt
on a generated 1280x720 case (allow ~200 KB for real footage): 5,000-11,000 attempts within their
retention per GB of Redis memory. Deployments that keep many more should move these images to object
storage behind the same four functions.

A save that lands after the attempt's media were purged (a consent withdrawal racing the job) is
deleted at once: `save` writes, then looks at the attempt's `media_state`, and `purge_attempt` marks
the attempt purged before it deletes the images, so whichever comes last removes them.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis import Redis

from kycengine.errors import InvalidInput, PathNotAllowed
from kycengine.schema import is_valid_id

from .config import WorkerConfig
from .states import MediaState
from .store import Store

# The allow-list, in display order.
EVIDENCE_NAMES: tuple[str, ...] = ("document", "document_tilt", "mrz_band", "portrait", "selfie_front",
                                   "selfie_left", "selfie_right", "selfie_blink")
JPEG_MAGIC = b"\xff\xd8\xff"  # SOI marker followed by the first segment's marker
MAX_ATTEMPT = 1000  # the request schema's limit


class EvidenceNotFound(InvalidInput):
    """No such image for this case attempt: never stored, or purged with the media."""

    code = "evidence_not_found"


class InvalidEvidence(InvalidInput):
    """An image refused at save: not a JPEG, too large, or a name outside the allow-list."""

    code = "invalid_evidence"


def _key(config: WorkerConfig, case_id: object, attempt: object) -> str:
    """The attempt's hash key; PathNotAllowed for anything but a valid case id and attempt number."""
    if not is_valid_id(case_id):
        raise PathNotAllowed(f"case id {str(case_id)[:80]!r}: not a valid case id")
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= MAX_ATTEMPT:
        raise PathNotAllowed(f"attempt {str(attempt)[:20]!r}: a number from 1 to {MAX_ATTEMPT}")
    return f"{config.key_prefix}evidence:{case_id}:{attempt}"


def _check_image(config: WorkerConfig, name: str, data: object) -> bytes:
    if name not in EVIDENCE_NAMES:
        raise InvalidEvidence(f"{str(name)[:40]!r}: not an evidence image name ({', '.join(EVIDENCE_NAMES)})")
    if not isinstance(data, bytes) or not data.startswith(JPEG_MAGIC):
        raise InvalidEvidence(f"{name}: not a JPEG image")
    if len(data) > config.evidence_max_bytes:
        raise InvalidEvidence(f"{name}: {len(data)} bytes, over the {config.evidence_max_bytes} byte limit")
    return data


def save(config: WorkerConfig, connection: Redis, case_id: str, attempt: int,
         images: Mapping[str, bytes]) -> list[str]:
    """Store an attempt's images (replacing any stored before), all or none; returns the stored names
    in display order (none when the attempt's media are already purged)."""
    key = _key(config, case_id, attempt)
    checked = {name: _check_image(config, name, data) for name, data in images.items()}
    with connection.pipeline() as pipe:  # MULTI: the previous set is replaced in one step
        pipe.delete(key)
        if checked:
            pipe.hset(key, mapping=checked)  # type: ignore[arg-type]  # Mapping keys are invariant
        pipe.execute()
    record = Store(connection, config.key_prefix).get_attempt(case_id, attempt) or {}
    if record.get("media_state") == MediaState.PURGED:
        purge(config, connection, case_id, attempt)
        return []
    return [name for name in EVIDENCE_NAMES if name in checked]


def names(config: WorkerConfig, connection: Redis, case_id: str, attempt: int) -> list[str]:
    """The names stored for the attempt, in display order."""
    stored = {raw.decode() if isinstance(raw, bytes) else str(raw)
              for raw in connection.hkeys(_key(config, case_id, attempt))}
    return [name for name in EVIDENCE_NAMES if name in stored]


def read(config: WorkerConfig, connection: Redis, case_id: str, attempt: int, name: str) -> bytes:
    """One stored JPEG; PathNotAllowed for a name outside the allow-list or an invalid case id,
    EvidenceNotFound when it is absent or purged."""
    key = _key(config, case_id, attempt)
    if name not in EVIDENCE_NAMES:
        raise PathNotAllowed(f"{str(name)[:40]!r}: not an evidence image name")
    data = connection.hget(key, name)
    if not isinstance(data, bytes):
        raise EvidenceNotFound(f"case {case_id} attempt {attempt}: no {name} image (never kept, or purged)")
    return data


def purge(config: WorkerConfig, connection: Redis, case_id: str, attempt: int) -> int:
    """Delete every image of the attempt; returns how many there were."""
    key = _key(config, case_id, attempt)
    with connection.pipeline() as pipe:
        pipe.hlen(key)
        pipe.delete(key)
        count, _ = pipe.execute()
    return int(count)
