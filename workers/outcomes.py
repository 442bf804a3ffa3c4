"""Outcomes of a verification request: stored verdicts, failed results, and the fallback verdict.

Every request that reaches the queue ends with one stored outcome that the bank can read:

* a verdict, stored once per case attempt (`commit`), delivered to the callback;
* a `failed` result for a request that cannot be verified as given (`fail`): stored on the case
  attempt and delivered, or, when the request names no usable case attempt (not JSON, a bad case id,
  attempt 0 or 9999), stored under the job id (`enqueue.job_outcome`), with an audit entry on the case
  when its id is valid;
* for a job that died (crash, timeout, killed, failed in rq's registry), `settle` stores a
  `manual_review` verdict with reason `internal_error`, and if even that cannot be stored, a
  `failed` result with code `internal_error`: never nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from redis import Redis

from kycengine.decision import decide
from kycengine.errors import InvalidInput, InvalidRequest
from kycengine.findings import Finding, FindingCode
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, StageState, Verdict, VerificationRequest

from . import egress, identity, intake, lifecycle
from .config import WorkerConfig
from .queues import delivery_enqueuer
from .states import DeliveryKind, FailureCode, OutcomeStatus
from .store import CustomerUpdate, Store, new_delivery_id

log = logging.getLogger(__name__)


def request_identity(data: Any) -> tuple[str, int] | None:
    """(case_id, attempt) of a possibly malformed request, when both are usable as store keys."""
    if not isinstance(data, dict):
        return None
    case_id, attempt = data.get("case_id"), data.get("attempt")
    if not isinstance(case_id, str) or not isinstance(attempt, int) or isinstance(attempt, bool):
        return None
    try:
        VerificationRequest(case_id=case_id, attempt=attempt, document_video="-", selfie_video="-")
    except (InvalidInput, TypeError):
        return None
    return case_id, attempt


def _customer_of(data: Any) -> str | None:
    """The request's customer id when it is usable as a key (even in an otherwise malformed request)."""
    customer_id = data.get("customer_id") if isinstance(data, dict) else None
    if not isinstance(customer_id, str):
        return None
    try:
        VerificationRequest(case_id="c", attempt=1, document_video="-", selfie_video="-", customer_id=customer_id)
    except InvalidInput:
        return None
    return customer_id


def _failure_update(config: WorkerConfig, connection: Redis, data: Any, case_id: str, attempt: int,
                    code: str) -> CustomerUpdate | None:
    """A failed attempt moves its customer to `action_required` (when it was their current attempt)."""
    customer_id = _customer_of(data)
    if customer_id is None:
        return None
    now = time.time()

    def plan(record: dict[str, str], case: dict[str, str]) -> lifecycle.Change:
        return lifecycle.failure(customer_id, record, case_id=case_id, attempt=attempt, code=code, now=now)

    return identity.update(config, connection, customer_id, plan)


def _valid_case_id(data: Any) -> str | None:
    case_id = data.get("case_id") if isinstance(data, dict) else None
    if not isinstance(case_id, str):
        return None
    try:
        VerificationRequest(case_id=case_id, attempt=1, document_video="-", selfie_video="-")
    except InvalidInput:
        return None
    return case_id


def summary(verdict: dict[str, Any], *, duplicate: bool) -> dict[str, Any]:
    """A verification job's result for a stored verdict."""
    return {"case_id": verdict.get("case_id"), "attempt": verdict.get("attempt"),
            "status": verdict.get("status"), "reasons": verdict.get("reasons", []), "duplicate": duplicate}


def fail(config: WorkerConfig, connection: Redis, job_id: str, data: Any, code: str,
         detail: str) -> dict[str, Any]:
    """Record and return a `failed` result (never retried)."""
    store = Store(connection, config.key_prefix)
    ident = request_identity(data)
    code = str(getattr(code, "value", code))
    result: dict[str, Any] = {"status": OutcomeStatus.FAILED.value, "reason": code, "detail": detail}
    log.info("request failed (%s): %s", code, detail)
    if ident is None:
        result.update(case_id=_valid_case_id(data), attempt=None, job_id=job_id)
        store.record_rejected(job_id, result, case_id=result["case_id"])
        return result
    case_id, attempt = ident
    result.update(case_id=case_id, attempt=attempt)
    request = data if isinstance(data, dict) else None
    callback = request.get("callback_url") if request else None
    delivery_id = enqueue = None
    if callback is not None:
        try:
            egress.check_url(callback, egress.CallbackPolicy.from_config(config))
            delivery_id = new_delivery_id()
            enqueue = delivery_enqueuer(config, connection, case_id, attempt, DeliveryKind.FAILED, delivery_id)
        except InvalidRequest:
            delivery_id = enqueue = None
    attempt_rule = code in {c.value for c in FailureCode if c.attempt_rule}
    customer = None if attempt_rule else _failure_update(config, connection, data, case_id, attempt, code)
    stored = store.record_failure(case_id, attempt, code, detail, request=request, delivery_id=delivery_id,
                                  enqueue=enqueue, retention_s=config.retention_s, touch_case=not attempt_rule,
                                  customer=customer)
    if not stored:  # a verdict exists for this attempt: report it, not the failure
        verdict = store.get_verdict(case_id, attempt) or {}
        return summary(verdict, duplicate=True) | {"ignored_failure": code}
    return result


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


def _submitted_at(request: VerificationRequest, store: Store, config: WorkerConfig,
                  now: float) -> tuple[float, dict[str, str] | None]:
    """The submission time the deadline counts from, range-checked, and a note when replaced."""
    given = request.submitted_at
    if given is None:
        recorded = (store.get_attempt(request.case_id, request.attempt) or {}).get("submitted_at")
        try:
            given = dt.datetime.fromisoformat(recorded) if recorded else None
        except ValueError:
            given = None
    used, note = intake.check_submitted_at(given, now, config)
    return used.timestamp(), note


def commit(config: WorkerConfig, connection: Redis, request: VerificationRequest,
           verdict: Verdict) -> dict[str, Any]:
    """Store the verdict once (with its delivery and review entry); the job's result summary."""
    store = Store(connection, config.key_prefix)
    now = time.time()
    submitted_at, replaced = _submitted_at(request, store, config, now)
    delivery_id = enqueue = None
    if request.callback_url:
        delivery_id = new_delivery_id()
        enqueue = delivery_enqueuer(config, connection, request.case_id, request.attempt, DeliveryKind.VERDICT,
                                    delivery_id)
    verdict_data = verdict.to_dict()
    customer = None
    if request.customer_id is not None:
        customer_id, deadline = request.customer_id, submitted_at + config.review_deadline_s

        def plan(record: dict[str, str], case: dict[str, str]) -> lifecycle.Change:
            return lifecycle.verdict(customer_id, record, case_id=request.case_id, attempt=request.attempt,
                                     verdict=verdict_data, config=config, now=now, review_deadline=deadline)

        customer = identity.update(config, connection, customer_id, plan)
    stored, kept = store.commit_verdict(request.to_dict(), verdict_data, submitted_at=submitted_at,
                                        review_deadline_s=config.review_deadline_s,
                                        retention_s=config.retention_s, delivery_id=delivery_id,
                                        enqueue=enqueue, now=now, customer=customer)
    if not stored:
        log.info("case %s attempt %s already has a verdict: kept it", request.case_id, request.attempt)
    elif replaced is not None:
        store.append_history(request.case_id, "submitted_at_replaced", now=now, attempt=request.attempt,
                             given=replaced["given"], used=replaced["used"], reason=replaced["reason"])
    return summary(kept, duplicate=not stored)


def settle(config: WorkerConfig, connection: Redis, job_id: str, raw_request: Any, note: str) -> dict[str, Any]:
    """Give a verification job that will not run again an outcome, unless its attempt has one.

    A `manual_review` / `internal_error` verdict; when even that cannot be stored, a `failed`
    result with code `internal_error`; for a request naming no usable attempt, its failed result.
    """
    data: Any = None
    try:
        data = intake.load(raw_request, config)
        request = VerificationRequest.parse(data)
    except InvalidInput as exc:
        if Store(connection, config.key_prefix).get_rejected(job_id) is not None:
            return {"status": OutcomeStatus.FAILED.value, "reason": exc.code, "duplicate": True}
        return fail(config, connection, job_id, data, exc.code, exc.message)
    store = Store(connection, config.key_prefix)
    existing = store.outcome(request.case_id, request.attempt)
    if existing is not None:
        return {"case_id": request.case_id, "attempt": request.attempt, "status": existing, "duplicate": True}
    try:
        return commit(config, connection, request, internal_error_verdict(request.case_id, request.attempt, note))
    except Exception as exc:  # the fallback verdict could not be stored: a failed result always fits
        log.exception("case %s attempt %s: could not store the internal_error verdict", request.case_id,
                      request.attempt)
        return fail(config, connection, job_id, data, FailureCode.INTERNAL_ERROR,
                    f"{note}; storing its verdict failed ({exc.__class__.__name__})")
