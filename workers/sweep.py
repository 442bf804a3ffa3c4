"""The failed-job sweep: every job in rq's failed-job registries of the kyc queues gets an outcome.

A verification job can end in rq's FailedJobRegistry in ways that leave its attempt unanswered: its
failure callback raised, the process died before the callback ran, the fallback verdict itself could
not be stored. `sweep_failed_jobs` (run by the workers' maintenance) settles each such job once:
a verification without an outcome gets `outcomes.settle` (a `manual_review` / `internal_error`
verdict, or a `failed` result); a delivery that never reached a final state is given up (audit
entry `delivery_gave_up`; `delivery_job.redeliver` re-arms it); a foreign entry is quarantined.
"""

from __future__ import annotations

import logging
import time

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry

from . import outcomes
from .config import WorkerConfig
from .delivery_job import give_up
from .guard import DELIVER_JOB, REVERIFY_JOB, GuardedJob, quarantine, screen
from .queues import delivery_queue, verify_queue
from .states import DeliveryKind, DeliveryState
from .store import Store

log = logging.getLogger(__name__)


def _exception_line(job: Job) -> str:
    latest = job.latest_result()
    text = (latest.exc_string if latest is not None else None) or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no exception recorded"


def _settle_job(config: WorkerConfig, connection: Redis, job: Job) -> None:
    problem = screen(job)
    if problem is not None:
        quarantine(job, *problem, prefix=config.key_prefix)
        return
    args = list(job.args)
    if job.func_name == DELIVER_JOB:
        case_id, attempt, kind = args[0], args[1], DeliveryKind(args[2] if len(args) > 2 else "verdict")
        store = Store(connection, config.key_prefix)
        record = store.get_delivery(case_id, attempt, kind)
        if record is not None and record.get("state") not in (DeliveryState.DELIVERED, DeliveryState.GAVE_UP):
            give_up(store, case_id, attempt, kind, last_error=f"delivery job failed: {_exception_line(job)}")
        return
    if job.func_name == REVERIFY_JOB:
        return  # evidence for a reviewer, not an outcome: nothing to settle
    outcomes.settle(config, connection, job.id, args[0],
                    f"verification job failed in rq ({_exception_line(job)})")


def sweep_failed_jobs(config: WorkerConfig, connection: Redis, *, limit: int = 500,
                      now: float | None = None) -> int:
    """Settle the failed jobs of both kyc queues not swept before; returns how many it settled."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    settled = 0
    for queue in (verify_queue(config, connection), delivery_queue(config, connection)):
        ids = FailedJobRegistry(queue=queue).get_job_ids(0, limit - 1)
        done = store.swept(ids)
        for job_id in ids:
            if job_id in done:
                continue
            try:
                job = GuardedJob.fetch(job_id, connection=connection, serializer=queue.serializer)
            except NoSuchJobError:
                store.mark_swept(job_id, now)
                continue
            try:
                _settle_job(config, connection, job)
            except Exception:  # one bad entry must not stop the sweep; it is tried again next pass
                log.exception("failed-job sweep: job %s could not be settled", job_id)
                continue
            store.mark_swept(job_id, now)
            settled += 1
    if settled:
        log.warning("failed-job sweep: settled %d job(s)", settled)
    return settled
