"""The RQ job functions: `verify_job(request_json)` and `deliver_job(case_id, attempt, event)`.

Jobs are enqueued with rq's JSONSerializer: a verification job's only argument is the request as a
JSON string. What a job does not get from its argument it takes from the process's `JobContext`
(installed by `workers.worker.run_worker` before the worker takes jobs: the config and the
Verifier, built once per worker process).

Outcomes of `verify_job`:

* a verdict (approved / refused / retry_required / manual_review), stored once per case attempt
  (see `store.Store.commit_verdict`) and delivered to the callback;
* a `failed` result for a request that cannot be verified as given (malformed JSON, missing or
  mistyped fields, a media URI outside the roots, a missing, empty or oversized file, an attempt that
  is not allowed): returned as the job result, stored, delivered, and never retried;
* an exception for an infrastructure problem (Redis, storage outage, a crash): RQ re-runs the job
  (`Retry` given at enqueue time). When the re-runs are used up, `on_verify_failure` /
  `on_work_horse_killed` record a `manual_review` verdict with reason `internal_error`, so no case is
  ever left without an answer. A verification that exceeds the job timeout ends the same way at once
  (it would time out again), without a re-run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis import Redis
from redis.client import Pipeline
from rq import Callback, Queue, Retry, get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException

from kycengine.decision import decide
from kycengine.errors import InvalidInput, InvalidRequest
from kycengine.findings import Finding, FindingCode
from kycengine.reasons import Status
from kycengine.schema import (DeclaredIdentity, DocumentEvidence, FaceEvidence, LivenessEvidence,
                              StageState, Verdict, VerificationRequest)

from . import delivery, media
from .config import WorkerConfig
from .store import FAILED, Store, iso, new_delivery_id

log = logging.getLogger(__name__)

ATTEMPT_RULES = ("attempt_not_allowed", "too_many_attempts")  # failure codes of the retry rules


class VerifierLike(Protocol):
    """What a job needs from a verifier: `kycengine.pipeline.Verifier.verify`'s signature."""

    def verify(self, document_video: Any, selfie_video: Any, *, declared: DeclaredIdentity | None = ...,
               case_id: str = ..., attempt: int = ..., today: dt.date | None = ...) -> Verdict: ...


VerifierFactory = Callable[[], VerifierLike]


def default_verifier_factory() -> VerifierLike:
    """The production verifier: `Verifier(Settings())`, models loaded now."""
    from kycengine.pipeline import Verifier
    from kycengine.settings import Settings

    return Verifier(Settings())


@dataclass
class JobContext:
    """Per-process state of a worker: its config and its (once-built) verifier."""

    config: WorkerConfig
    verifier_factory: VerifierFactory = default_verifier_factory
    _verifier: VerifierLike | None = field(default=None, repr=False)

    @property
    def verifier(self) -> VerifierLike:
        if self._verifier is None:
            self._verifier = self.verifier_factory()
        return self._verifier


_CONTEXT: JobContext | None = None


def install(config: WorkerConfig, verifier_factory: VerifierFactory | None = None, *,
            preload: bool = True) -> JobContext:
    """Set this process's job context; with `preload` the verifier (its models) is built now."""
    global _CONTEXT
    _CONTEXT = JobContext(config, verifier_factory or default_verifier_factory)
    if preload:
        _ = _CONTEXT.verifier
    return _CONTEXT


def context() -> JobContext:
    """The installed context; a job run by a plain `rq worker` gets one from the environment."""
    global _CONTEXT
    if _CONTEXT is None:
        log.warning("no job context installed (not started by `kyc worker`): reading KYC_* from the "
                    "environment; models load on the first job")
        _CONTEXT = JobContext(WorkerConfig.from_env())
    return _CONTEXT


# ---- enqueueing helpers ------------------------------------------------------------------------

def job_id_for(kind: str, *parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"kyc-{kind}-{digest}"


def infra_retry(config: WorkerConfig) -> Retry | None:
    """RQ's Retry for infrastructure failures (exceptions, abandoned jobs), or None when disabled."""
    if config.job_retries <= 0:
        return None
    return Retry(max=config.job_retries, interval=list(config.job_retry_backoff_s) or 0)


def verify_queue(config: WorkerConfig, connection: Redis) -> Queue:
    return Queue(config.verify_queue, connection=connection, serializer=JSONSerializer,
                 default_timeout=config.job_timeout_s)


def delivery_queue(config: WorkerConfig, connection: Redis) -> Queue:
    return Queue(config.delivery_queue, connection=connection, serializer=JSONSerializer,
                 default_timeout=int(config.delivery_timeout_s) + 60)


def delivery_enqueuer(config: WorkerConfig, connection: Redis, case_id: str, attempt: int, event: str,
                      delivery_id: str) -> Callable[[Pipeline], None]:
    """A function that enqueues `deliver_job` on a pipeline (inside the store's transaction)."""
    def enqueue(pipe: Pipeline) -> None:
        delivery_queue(config, connection).enqueue_call(
            deliver_job, args=(case_id, attempt, event),
            job_id=job_id_for("deliver", config.key_prefix, case_id, attempt, event, delivery_id),
            timeout=int(config.delivery_timeout_s) + 60, retry=infra_retry(config),
            result_ttl=config.result_ttl_s, failure_ttl=max(config.result_ttl_s, 7 * 86400),
            description=f"deliver {event} {case_id}#{attempt}", pipeline=pipe)
    return enqueue


def enqueue_verification(config: WorkerConfig, connection: Redis, request_json: str, *,
                         job_id: str | None = None, unique: bool = False) -> Job:
    """Put one JSON request on the verify queue with the configured timeout, retries and callback.

    With `unique`, rq's atomic unique enqueue raises DuplicateJobError when the job id exists.
    """
    return verify_queue(config, connection).enqueue_call(
        verify_job, args=(request_json,), job_id=job_id or job_id_for("verify", request_json),
        timeout=config.job_timeout_s, retry=infra_retry(config), result_ttl=config.result_ttl_s,
        failure_ttl=max(config.result_ttl_s, 7 * 86400), on_failure=Callback(on_verify_failure),
        description="verify", unique=unique)


# ---- verification ------------------------------------------------------------------------------

def _connection() -> tuple[Redis, Job | None]:
    job = get_current_job()
    if job is not None:
        return job.connection, job
    return Redis.from_url(context().config.redis_url), None


def _load(request_json: Any) -> Any:
    if isinstance(request_json, (str, bytes, bytearray)):
        try:
            return json.loads(request_json)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"request is not valid JSON: {exc}") from None
    return request_json


def request_identity(data: Any) -> tuple[str, int] | None:
    """(case_id, attempt) of a possibly malformed request, when both are usable as store keys."""
    if not isinstance(data, dict):
        return None
    case_id, attempt = data.get("case_id"), data.get("attempt")
    try:
        VerificationRequest(case_id=case_id, attempt=attempt, document_video="-", selfie_video="-")
    except (InvalidInput, TypeError):
        return None
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        return None
    return case_id, attempt


def _fail(config: WorkerConfig, connection: Redis, job: Job | None, data: Any, code: str,
          detail: str) -> dict[str, Any]:
    """Record and return a `failed` result (never retried)."""
    store = Store(connection, config.key_prefix)
    ident = request_identity(data)
    result: dict[str, Any] = {"status": FAILED, "reason": code, "detail": detail}
    log.info("request failed (%s): %s", code, detail)
    if ident is None:
        result.update(case_id=None, attempt=None)
        store.record_rejected(job.id if job is not None else "local", result)
        return result
    case_id, attempt = ident
    result.update(case_id=case_id, attempt=attempt)
    request = data if isinstance(data, dict) else None
    callback = request.get("callback_url") if request else None
    delivery_id = enqueue = None
    try:
        if callback is not None:
            delivery.check_callback_url(callback)
            delivery_id = new_delivery_id()
            enqueue = delivery_enqueuer(config, connection, case_id, attempt, FAILED, delivery_id)
    except InvalidRequest:
        delivery_id = enqueue = None
    stored = store.record_failure(case_id, attempt, code, detail, request=request, delivery_id=delivery_id,
                                  enqueue=enqueue, retention_s=config.retention_s,
                                  touch_case=code not in ATTEMPT_RULES)
    if not stored:  # a verdict exists for this attempt: report it, not the failure
        verdict = store.get_verdict(case_id, attempt) or {}
        return _summary(verdict, duplicate=True) | {"ignored_failure": code}
    return result


def _summary(verdict: dict[str, Any], *, duplicate: bool) -> dict[str, Any]:
    return {"case_id": verdict.get("case_id"), "attempt": verdict.get("attempt"),
            "status": verdict.get("status"), "reasons": verdict.get("reasons", []), "duplicate": duplicate}


def _submitted_at(request: VerificationRequest, store: Store) -> float:
    if request.submitted_at is not None:
        stamp = request.submitted_at
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.timezone.utc)
        return stamp.timestamp()
    attempt = store.get_attempt(request.case_id, request.attempt) or {}
    if attempt.get("submitted_at"):
        try:
            return dt.datetime.fromisoformat(attempt["submitted_at"]).timestamp()
        except ValueError:
            pass
    return time.time()


def internal_error_verdict(case_id: str, attempt: int, note: str) -> Verdict:
    """A `manual_review` verdict for a case the engine could not verify (crash, timeout)."""
    from kycengine.pipeline import ENGINE_VERSION

    findings = (Finding(FindingCode.STAGE_CRASHED, note),)
    document = DocumentEvidence(state=StageState.FAILED, findings=findings, note=note)
    face = FaceEvidence(state=StageState.FAILED, findings=findings, note=note)
    liveness = LivenessEvidence(state=StageState.FAILED, findings=findings, note=note)
    decision = decide(document, face, liveness)
    return Verdict(case_id=case_id, attempt=attempt, status=decision.status, reasons=decision.reasons,
                   effects=decision.effects, document=document, face=face, liveness=liveness,
                   engine_version=ENGINE_VERSION,
                   created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def commit(config: WorkerConfig, connection: Redis, request: VerificationRequest,
           verdict: Verdict) -> dict[str, Any]:
    """Store the verdict once (with its delivery and review entry); the job's result summary."""
    store = Store(connection, config.key_prefix)
    data = verdict.to_dict()
    raw_request = request.to_dict()
    delivery_id = enqueue = None
    if request.callback_url:
        delivery_id = new_delivery_id()
        enqueue = delivery_enqueuer(config, connection, request.case_id, request.attempt, "verdict",
                                    delivery_id)
    stored, kept = store.commit_verdict(raw_request, data, submitted_at=_submitted_at(request, store),
                                        review_deadline_s=config.review_deadline_s,
                                        retention_s=config.retention_s, delivery_id=delivery_id,
                                        enqueue=enqueue)
    if not stored:
        log.info("case %s attempt %s already has a verdict: kept it", request.case_id, request.attempt)
    return _summary(kept, duplicate=not stored)


def verify_job(request_json: Any) -> dict[str, Any]:
    """Verify one request (a JSON string); returns the verdict summary or a `failed` result."""
    ctx = context()
    config = ctx.config
    connection, job = _connection()
    data: Any = None
    try:
        data = _load(request_json)
        request = VerificationRequest.parse(data)
        if request.callback_url is not None:
            delivery.check_callback_url(request.callback_url)
    except InvalidInput as exc:
        return _fail(config, connection, job, data, exc.code, exc.message)

    store = Store(connection, config.key_prefix)
    existing = store.get_verdict(request.case_id, request.attempt)
    if existing is not None:
        return _summary(existing, duplicate=True)
    problem = store.attempt_problem(request.case_id, request.attempt, config.max_attempts)
    if problem is not None:
        return _fail(config, connection, job, data, *problem)

    try:
        with media.open_media((request.document_video, request.selfie_video), config) as paths:
            try:
                verdict = ctx.verifier.verify(paths[0], paths[1], declared=request.declared,
                                              case_id=request.case_id, attempt=request.attempt)
            except JobTimeoutException:
                log.warning("case %s attempt %s: verification timed out", request.case_id, request.attempt)
                verdict = internal_error_verdict(request.case_id, request.attempt,
                                                 f"verification exceeded the {config.job_timeout_s} s "
                                                 "job timeout")
    except InvalidInput as exc:
        return _fail(config, connection, job, data, exc.code, exc.message)
    if verdict.case_id != request.case_id or verdict.attempt != request.attempt:
        raise RuntimeError("verifier returned a verdict for another case")
    return commit(config, connection, request, verdict)


def _finish_abandoned(connection: Redis, job: Job, note: str) -> None:
    """Give a job that will not run again a `manual_review` / internal_error verdict."""
    config = context().config
    try:
        request = VerificationRequest.parse(_load(job.args[0]))
    except (InvalidInput, IndexError, TypeError, ValueError):
        return
    verdict = internal_error_verdict(request.case_id, request.attempt, note)
    commit(config, connection, request, verdict)


def on_verify_failure(job: Job, connection: Redis, exc_type: Any, exc: Any, tb: Any) -> None:
    """RQ failure callback: when no re-run is left, the case still gets a (manual_review) verdict."""
    if job.retries_left:
        return  # RQ re-runs it
    name = getattr(exc_type, "__name__", str(exc_type))
    _finish_abandoned(connection, job, f"verification failed after all re-runs ({name})")


def on_work_horse_killed(job: Job, retpid: int | None, ret_val: int | None, rusage: Any) -> None:
    """rq Worker hook: a work horse died (signal, out of memory, hard timeout)."""
    log.warning("work horse %s died (status %s) running job %s", retpid, ret_val, job.id)
    if job.func_name != f"{__name__}.verify_job" or job.should_retry:
        return
    _finish_abandoned(job.connection, job, f"worker process died (wait status {ret_val})")


# ---- delivery ----------------------------------------------------------------------------------

EVENTS = {"verdict": "verification.completed", FAILED: "verification.failed", "decision": "review.decided"}


def build_payload(store: Store, case_id: str, attempt: int, event: str,
                  delivery_id: str) -> tuple[str, dict[str, Any]] | None:
    """(callback URL, JSON body) of a delivery, or None when there is nothing to send."""
    record = store.get_attempt(case_id, attempt) or {}
    request = record.get("request") or {}
    url = request.get("callback_url")
    if not url:
        return None
    body: dict[str, Any] = {"event": EVENTS[event], "delivery_id": delivery_id, "case_id": case_id,
                            "attempt": attempt}
    if event == "verdict":
        verdict = store.get_verdict(case_id, attempt)
        if verdict is None:
            return None
        body.update(status=verdict["status"], reasons=verdict.get("reasons", []), verdict=verdict)
        if verdict["status"] == Status.MANUAL_REVIEW.value:
            item = store.r.hget(store.k_review_item(case_id), "deadline")
            body["review_deadline"] = item.decode() if isinstance(item, bytes) else item
    elif event == "decision":
        decision = store.get_decision(case_id, attempt)
        if decision is None:
            return None
        body.update(status=decision["status"], decision=decision)
    else:
        body.update(status=FAILED, reason=record.get("failed_reason"), detail=record.get("failed_detail"))
    return url, body


def deliver_job(case_id: str, attempt: int, event: str = "verdict") -> Any:
    """POST one stored outcome to its callback; returns rq `Retry` (with backoff) until acknowledged."""
    config = context().config
    connection, job = _connection()
    store = Store(connection, config.key_prefix)
    if event not in EVENTS:
        return {"state": "unknown_event", "event": event}
    record = store.get_delivery(case_id, attempt, event)
    if record is None:
        return {"state": "nothing_to_deliver"}
    if record.get("state") in ("delivered", "gave_up"):
        return {"state": record["state"], "delivery_id": record.get("delivery_id"), "duplicate": True}
    lock_name = f"delivery:{case_id}:{attempt}:{event}"
    token = store.acquire_lock(lock_name, config.delivery_timeout_s + 30)
    if token is None:  # the same delivery is being POSTed by another worker right now
        return {"state": "in_progress", "delivery_id": record.get("delivery_id")}
    try:
        record = store.get_delivery(case_id, attempt, event) or record
        if record.get("state") in ("delivered", "gave_up"):
            return {"state": record["state"], "delivery_id": record.get("delivery_id"), "duplicate": True}
        delivery_id = record["delivery_id"]
        built = build_payload(store, case_id, attempt, event, delivery_id)
        if built is None:
            store.update_delivery(case_id, attempt, event, state="nothing_to_deliver")
            return {"state": "nothing_to_deliver"}
        url, body = built
        tries = int(record.get("tries") or 0) + 1
        result = delivery.post(url, delivery.encode_body(body), secret=config.secret_bytes(),
                               delivery_id=delivery_id, timeout_s=config.delivery_timeout_s,
                               event=body["event"])
        now = time.time()
        if result.acknowledged:
            store.update_delivery(case_id, attempt, event, state="delivered", tries=tries,
                                  delivered_at=iso(now), http_status=result.status or 0, last_error="")
            store.append_history(case_id, "delivered", now=now, attempt=attempt, kind=event,
                                 delivery_id=delivery_id, tries=tries, http_status=result.status)
            return {"state": "delivered", "delivery_id": delivery_id, "tries": tries}
        store.update_delivery(case_id, attempt, event, state="retrying", tries=tries, last_error=result.error,
                              last_try_at=iso(now))
        if tries >= config.delivery_max_tries:
            store.update_delivery(case_id, attempt, event, state="gave_up")
            store.append_history(case_id, "delivery_gave_up", now=now, attempt=attempt, kind=event,
                                 delivery_id=delivery_id, tries=tries, last_error=result.error)
            log.error("delivery %s for case %s gave up after %d tries: %s", delivery_id, case_id, tries,
                      result.error)
            return {"state": "gave_up", "delivery_id": delivery_id, "tries": tries}
        log.info("delivery %s for case %s not acknowledged (%s); retrying", delivery_id, case_id,
                 result.error)
    finally:
        store.release_lock(lock_name, token)
    # RQ's own return-based retry: re-scheduled by the scheduler after the next backoff interval.
    return Retry(max=config.delivery_max_tries, interval=list(config.delivery_backoff_s))


def redeliver(config: WorkerConfig, connection: Redis, case_id: str, attempt: int,
              event: str = "verdict") -> bool:
    """Re-arm a delivery that gave up (same delivery id, tries reset); False when there is none."""
    store = Store(connection, config.key_prefix)
    record = store.get_delivery(case_id, attempt, event)
    if record is None or record.get("state") == "delivered":
        return False
    store.update_delivery(case_id, attempt, event, state="pending", tries=0)
    with connection.pipeline() as pipe:
        delivery_enqueuer(config, connection, case_id, attempt, event,
                          record["delivery_id"] + f"-re{int(time.time())}")(pipe)
        pipe.execute()
    return True
