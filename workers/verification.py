"""The verification job: `verify_job(request_json)`, and what rq calls when such a job dies.

A verification job's only argument is the request as a JSON string. It is read within the size and
depth limits (`intake`), checked as at submit (schema, callback URL, media confinement and ownership,
attempt rules), verified by the process's Verifier (`context`), and answered with one stored outcome
(`outcomes`):

* a verdict (approved / refused / retry_required / manual_review), stored once per case attempt;
* a `failed` result for a request that cannot be verified as given, stored and never retried;
* an exception for an infrastructure problem (Redis, storage outage, a crash): rq re-runs the job
  (`Retry` given at enqueue time). When the re-runs are used up, `on_verify_failure` /
  `on_work_horse_killed` store a `manual_review` verdict with reason `internal_error` (and the
  failed-job sweep catches whatever they could not). A verification that exceeds the job timeout
  (its own limit ends `job_time_margin` before rq's, so the verdict is stored in time) ends the same
  way at once (it would time out again), without a re-run.

A verdict's evidence images for reviewers (`Verdict.evidence_images`, a transient field) are kept with
`evidence.save` once the verdict is stored; they are never part of the verdict, its webhook or the
job's result.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from kycengine.errors import InvalidInput, TimeLimitExceeded
from kycengine.schema import VerificationRequest
from kycengine.timelimit import time_limit

from . import egress, evidence, identity, intake, lifecycle, media, outcomes
from .config import WorkerConfig
from .context import context, current_connection
from .guard import VERIFY_JOB
from .states import FailureCode
from .store import Store

log = logging.getLogger(__name__)


def job_time_margin(config: WorkerConfig) -> float:
    """Seconds between the end of a verification's own time limit and rq's job timeout: enough to
    store the verdict (a tenth of the timeout, at most 10 s)."""
    return min(10.0, 0.1 * config.job_timeout_s)


def _check(data: Any, config: WorkerConfig) -> tuple[VerificationRequest, list[str]]:
    """The request and its canonical media URIs; raises InvalidInput for anything unusable, a missing
    customer or consent first of all (nothing is decoded without consent)."""
    request = VerificationRequest.parse(data)
    identity.check_request(request, config)
    if request.callback_url is not None:
        egress.check_url(request.callback_url, egress.CallbackPolicy.from_config(config))
    uris = [media.check_uri(request.document_video, config), media.check_uri(request.selfie_video, config)]
    return request, uris


def verify_job(request_json: Any) -> dict[str, Any]:
    """Verify one request (a JSON string); returns the verdict summary or a `failed` result."""
    ctx = context()
    config = ctx.config
    connection, job = current_connection()
    job_id = job.id if job is not None else "local"
    data: Any = None
    try:
        data = intake.load(request_json, config)
        request, uris = _check(data, config)
    except InvalidInput as exc:
        return outcomes.fail(config, connection, job_id, data, exc.code, exc.message)

    store = Store(connection, config.key_prefix)
    existing = store.get_verdict(request.case_id, request.attempt)
    if existing is not None:
        store.record_submission(data, job_id)
        return outcomes.summary(existing, duplicate=True)
    problem = store.attempt_problem(request.case_id, request.attempt, config.max_attempts)
    if problem is not None:
        return outcomes.fail(config, connection, job_id, data, *problem)
    try:
        store.record_submission(data, job_id, customer=submission_update(config, connection, request))
    except lifecycle.CustomerNotAllowed as exc:
        return outcomes.fail(config, connection, job_id, data, FailureCode.CUSTOMER_NOT_ALLOWED, exc.message)
    try:
        with media.open_media((request.document_video, request.selfie_video), config) as paths:
            taken = store.claim_media(request.case_id, request.attempt, uris)
            if taken:
                return outcomes.fail(config, connection, job_id, data, FailureCode.MEDIA_NOT_OWNED,
                                     f"{', '.join(taken)}: named by another case first (a case uses only "
                                     "its own media)")
            try:
                # The verification's own limit ends a little before rq's job timeout, so that its
                # verdict is stored in time; it is a BaseException that no stage can swallow.
                with time_limit("verification", config.job_timeout_s - job_time_margin(config)):
                    verdict = ctx.verifier.verify(paths[0], paths[1], declared=request.declared,
                                                  case_id=request.case_id, attempt=request.attempt,
                                                  challenge=request.challenge)
            except (TimeLimitExceeded, JobTimeoutException):
                log.warning("case %s attempt %s: verification timed out", request.case_id, request.attempt)
                verdict = outcomes.internal_error_verdict(request.case_id, request.attempt,
                                                          f"verification exceeded the {config.job_timeout_s} s "
                                                          "job timeout")
    except InvalidInput as exc:
        return outcomes.fail(config, connection, job_id, data, exc.code, exc.message)
    if verdict.case_id != request.case_id or verdict.attempt != request.attempt:
        raise RuntimeError("verifier returned a verdict for another case")
    result = outcomes.commit(config, connection, request, verdict)
    if not result["duplicate"] and verdict.evidence_images:
        keep_evidence(config, connection, request, verdict.evidence_images)
    return result


def keep_evidence(config: WorkerConfig, connection: Redis, request: VerificationRequest,
                  images: dict[str, bytes]) -> None:
    """Store the verdict's images for reviewers (`evidence`), after the verdict: an image refused
    or a store error loses the pictures, never the verdict or its delivery."""
    try:
        evidence.save(config, connection, request.case_id, request.attempt, images)
    except (InvalidInput, RedisError) as exc:
        log.warning("case %s attempt %s: evidence images not kept (%s: %s)", request.case_id, request.attempt,
                    exc.__class__.__name__, exc)


def submission_update(config: WorkerConfig, connection: Redis, request: VerificationRequest) -> Any:
    """The customer update of a submission: to `pending`, unless the customer's status refuses it."""
    assert request.customer_id is not None and request.consent is not None  # identity.check_request
    now = time.time()

    def plan(record: dict[str, str], case: dict[str, str]) -> lifecycle.Change:
        return lifecycle.submission(request.customer_id or "", record, case_id=request.case_id,
                                    attempt=request.attempt, case_owner=case.get("customer_id"),
                                    consent=request.consent.to_dict() if request.consent else {},
                                    callback_url=request.callback_url, config=config, now=now)

    return identity.update(config, connection, request.customer_id, plan)


def _request_of(job: Job) -> Any:
    args = job.args
    return args[0] if isinstance(args, (list, tuple)) and args else None


def on_verify_failure(job: Job, connection: Redis, exc_type: Any, exc: Any, tb: Any) -> None:
    """RQ failure callback: when no re-run is left, the case still gets a (manual_review) verdict."""
    if job.retries_left:
        return  # RQ re-runs it
    name = getattr(exc_type, "__name__", str(exc_type))
    outcomes.settle(context().config, connection, job.id, _request_of(job),
                    f"verification failed after all re-runs ({name})")


def on_work_horse_killed(job: Job, retpid: int | None, ret_val: int | None, rusage: Any) -> None:
    """rq Worker hook: a work horse died (signal, out of memory, hard timeout)."""
    log.warning("work horse %s died (status %s) running job %s", retpid, ret_val, job.id)
    if job.func_name != VERIFY_JOB or job.should_retry:
        return
    outcomes.settle(context().config, job.connection, job.id, _request_of(job),
                    f"worker process died (wait status {ret_val})")
