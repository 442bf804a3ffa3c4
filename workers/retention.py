"""Retention: delete an attempt's media once its outcome is final plus the retention period.

An attempt enters the `{p}retention` sorted set when it gets a final outcome: a verdict other than
`manual_review`, a reviewer's decision, or a `failed` result; its score is that time plus
`KYC_RETENTION_HOURS`. A `manual_review` attempt keeps its media until the reviewer decides (the
reviewer needs them). `purge_due` deletes the media files (local files inside the media roots, or
remote objects through fsspec), marks the attempt `media_state=purged` and appends a `media_purged`
entry to the audit trail. The verdict, the decision and the audit trail are kept.

The engine stores no biometric data of its own: face crops and embeddings are transient fields that
never leave the worker process (see `kycengine.records.transient`), and remote media copies are
deleted at the end of each job, so deleting the media removes the last biometric data.
"""

from __future__ import annotations

import logging
import time

from redis import Redis

from . import media
from .config import WorkerConfig
from .store import Store, iso

log = logging.getLogger(__name__)


def purge_attempt(config: WorkerConfig, connection: Redis, case_id: str, attempt: int,
                  now: float | None = None) -> int:
    """Delete one attempt's media now; returns how many files were removed."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    record = store.get_attempt(case_id, attempt) or {}
    removed = 0
    failed: list[str] = []
    for uri in record.get("media") or []:
        try:
            removed += int(media.delete_media(uri, config))
        except OSError as exc:  # storage trouble: try again at the next pass
            failed.append(f"{uri}: {exc.__class__.__name__}")
    if failed:
        log.warning("retention: case %s attempt %s: %s", case_id, attempt, "; ".join(failed))
        return removed
    with connection.pipeline() as pipe:
        pipe.hset(store.k_attempt(case_id, attempt), mapping={"media_state": "purged",
                                                              "media_purged_at": iso(now)})
        store.append_history(case_id, "media_purged", pipe=pipe, now=now, attempt=attempt, files=removed)
        pipe.zrem(store.k_retention, f"{case_id}:{attempt}")
        pipe.execute()
    return removed


def due(config: WorkerConfig, connection: Redis, now: float | None = None,
        limit: int = 500) -> list[tuple[str, int]]:
    """Attempts whose retention period is over, oldest first."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    members = connection.zrangebyscore(store.k_retention, "-inf", now, start=0, num=limit)
    out = []
    for member in members:
        case_id, _, attempt = (member.decode() if isinstance(member, bytes) else member).rpartition(":")
        if attempt.isdigit():
            out.append((case_id, int(attempt)))
    return out


def purge_due(config: WorkerConfig, connection: Redis, now: float | None = None) -> int:
    """Purge every attempt that is due; returns how many attempts were purged."""
    count = 0
    for case_id, attempt in due(config, connection, now):
        store = Store(connection, config.key_prefix)
        record = store.get_attempt(case_id, attempt) or {}
        if record.get("media_state") == "purged":
            connection.zrem(store.k_retention, f"{case_id}:{attempt}")
            continue
        purge_attempt(config, connection, case_id, attempt, now)
        count += 1
    if count:
        log.info("retention: purged the media of %d attempt(s)", count)
    return count
