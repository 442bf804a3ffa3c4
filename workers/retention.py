"""Retention: delete an attempt's media once its outcome is final plus the retention period.

An attempt enters the `{p}retention` sorted set when it gets a final outcome: a verdict other than
`manual_review`, a reviewer's decision, or a `failed` result; its score is that time plus
`KYC_RETENTION_HOURS`. A `manual_review` attempt keeps its media until the reviewer decides (the
reviewer needs them). `purge_due` deletes the media files (local files inside the media roots, or
remote objects through fsspec), marks the attempt `media_state=purged` and appends a `media_purged`
entry to the audit trail. The verdict, the decision and the audit trail are kept.

A file is deleted only when no other case owns it and no other attempt still needs it
(`Store.release_media`): a request that named another case's file can never make that case lose
its media, whatever it names (`files` counts what was deleted, `kept` what was left for others).

The engine's own biometric data are the attempt's evidence images for reviewers (`evidence`): they
are deleted here with the media (also when some media could not be deleted yet). Face crops and
embeddings are transient fields that never leave the worker process (see `kycengine.records.transient`),
and remote media copies are deleted at the end of each job, so deleting the media and the evidence
images removes the last biometric data.
"""

from __future__ import annotations

import logging
import time

from redis import Redis

from kycengine.errors import InvalidInput

from . import evidence, media
from .config import WorkerConfig
from .states import MediaState
from .store import Store

log = logging.getLogger(__name__)


def purge_attempt(config: WorkerConfig, connection: Redis, case_id: str, attempt: int,
                  now: float | None = None) -> int:
    """Delete one attempt's media now (those no one else needs); returns how many files were removed."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    record = store.get_attempt(case_id, attempt) or {}
    removed = kept = 0
    failed: list[str] = []
    for uri in record.get("media") or []:
        try:
            canonical = media.check_uri(uri, config)
        except InvalidInput:  # outside the roots: never deleted
            kept += 1
            continue
        if not store.release_media(case_id, attempt, canonical):
            kept += 1  # another case owns it, or another attempt still needs it
            continue
        try:
            removed += int(media.delete_media(canonical, config))
        except OSError as exc:  # storage trouble: try again at the next pass
            failed.append(f"{uri}: {exc.__class__.__name__}")
    if failed:
        log.warning("retention: case %s attempt %s: %s", case_id, attempt, "; ".join(failed))
    else:
        store.mark_purged(case_id, attempt, removed=removed, kept=kept, now=now)
    # After mark_purged: an evidence save racing this purge sees the attempt purged and keeps nothing.
    evidence.purge(config, connection, case_id, attempt)
    return removed


def due(config: WorkerConfig, connection: Redis, now: float | None = None,
        limit: int = 500) -> list[tuple[str, int]]:
    """Attempts whose retention period is over, oldest first."""
    now = time.time() if now is None else now
    return Store(connection, config.key_prefix).retention_due(now, limit)


def purge_due(config: WorkerConfig, connection: Redis, now: float | None = None) -> int:
    """Purge every attempt that is due; returns how many attempts were purged."""
    store = Store(connection, config.key_prefix)
    count = 0
    for case_id, attempt in due(config, connection, now):
        record = store.get_attempt(case_id, attempt) or {}
        if record.get("media_state") == MediaState.PURGED:
            store.drop_retention(case_id, attempt)
            continue
        purge_attempt(config, connection, case_id, attempt, now)
        count += 1
    if count:
        log.info("retention: purged the media of %d attempt(s)", count)
    return count
