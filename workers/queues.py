"""The kyc queues and how jobs are put on them: job ids, timeouts, retries, the failure callback.

Jobs are serialised with rq's JSONSerializer and named by their dotted function names (the guard's
allow-list), so enqueueing imports no job module; every queue uses `guard.GuardedJob`.
"""

from __future__ import annotations

import hashlib
import uuid

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from .config import WorkerConfig
from .guard import DELIVER_JOB, REVERIFY_JOB, VERIFY_FAILURE_CALLBACK, VERIFY_JOB, GuardedJob
from .states import DeliveryKind
from .store import Enqueue


def job_id_for(kind: str, *parts: object) -> str:
    """A deterministic job id: the same request, or the same delivery, gets the same id."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"kyc-{kind}-{digest}"


def infra_retry(config: WorkerConfig) -> Retry | None:
    """RQ's Retry for infrastructure failures (exceptions, abandoned jobs), or None when disabled."""
    if config.job_retries <= 0:
        return None
    return Retry(max=config.job_retries, interval=list(config.job_retry_backoff_s) or 0)


def failure_ttl(config: WorkerConfig) -> int:
    """How long rq keeps a failed job (at least a week: the failed-job sweep reads them)."""
    return max(config.result_ttl_s, 7 * 86400)


def verify_queue(config: WorkerConfig, connection: Redis) -> Queue:
    return Queue(config.verify_queue, connection=connection, serializer=JSONSerializer,
                 default_timeout=config.job_timeout_s, job_class=GuardedJob)


def delivery_queue(config: WorkerConfig, connection: Redis) -> Queue:
    return Queue(config.delivery_queue, connection=connection, serializer=JSONSerializer,
                 default_timeout=int(config.delivery_timeout_s) + 60, job_class=GuardedJob)


def delivery_enqueuer(config: WorkerConfig, connection: Redis, case_id: str, attempt: int, kind: DeliveryKind,
                      delivery_id: str) -> Enqueue:
    """A function that enqueues the delivery job on a pipeline (inside the store's transaction)."""
    def enqueue(pipe: Pipeline) -> None:
        delivery_queue(config, connection).enqueue_call(
            DELIVER_JOB, args=(case_id, attempt, DeliveryKind(kind).value),
            job_id=job_id_for("deliver", config.key_prefix, case_id, attempt, DeliveryKind(kind).value,
                              delivery_id),
            timeout=int(config.delivery_timeout_s) + 60, retry=infra_retry(config),
            result_ttl=config.result_ttl_s, failure_ttl=failure_ttl(config),
            description=f"deliver {DeliveryKind(kind).value} {case_id}#{attempt}", pipeline=pipe)
    return enqueue


def enqueue_verification(config: WorkerConfig, connection: Redis, request_json: str, *,
                         job_id: str | None = None, unique: bool = False) -> Job:
    """Put one JSON request on the verify queue with the configured timeout, retries and callback.

    With `unique`, rq's atomic unique enqueue raises DuplicateJobError when the job id exists.
    """
    return verify_queue(config, connection).enqueue_call(
        VERIFY_JOB, args=(request_json,), job_id=job_id or job_id_for("verify", request_json),
        timeout=config.job_timeout_s, retry=infra_retry(config), result_ttl=config.result_ttl_s,
        failure_ttl=failure_ttl(config), on_failure=Callback(VERIFY_FAILURE_CALLBACK),
        description="verify", unique=unique)


def enqueue_reverification(config: WorkerConfig, connection: Redis, case_id: str) -> Job:
    """Put a strict re-verification of one queued case on the verify queue (a reviewer's request:
    a worker runs it, never the web process)."""
    return verify_queue(config, connection).enqueue_call(
        REVERIFY_JOB, args=(case_id,), job_id=job_id_for("reverify", config.key_prefix, case_id, uuid.uuid4()),
        timeout=config.job_timeout_s, result_ttl=config.result_ttl_s,
        failure_ttl=failure_ttl(config), description=f"reverify {case_id}")
