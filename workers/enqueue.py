"""The bank side: `submit(request, config) -> job id`, and reading outcomes back.

`submit` reads the request within the size and depth limits, adds `submitted_at` when missing (the
worker range-checks it), checks what can be checked at once (the request schema, the customer and their consent, the callback
URL with its DNS answer, the media URIs' confinement and ownership, the attempt rules, the customer's
status) and raises InvalidRequest (or a subclass: `ConsentRequired`, `CustomerRequired`,
`CustomerNotAllowed`, `AttemptNotAllowed`, `CallbackNotAllowed`, `RequestTooLarge`, `RequestTooDeep`) or PathNotAllowed
(`MediaNotOwned`) for the caller to fix; with `validate_request=False` it enqueues the request as
given and the worker stores any problem as a `failed` result. Submitting the very same request twice
returns the same job id and enqueues it once.

The bank side only reads the store and pushes to the intake queue: the worker records the submission
and claims the media when it takes the job (so the bank's Redis user needs no write access to the
store; see docs/workers.md, "Redis users").
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from redis import Redis
from rq.exceptions import DuplicateJobError
from rq.job import Job

from kycengine.errors import InvalidRequest
from kycengine.schema import VerificationRequest

from . import egress, identity, intake, lifecycle, media
from .config import WorkerConfig
from .connection import connect as connect_url
from .outcomes import request_identity
from .queues import enqueue_verification, job_id_for
from .states import AttemptState, OutcomeStatus
from .store import Store


class AttemptNotAllowed(InvalidRequest):
    """The attempt number breaks the retry rules (too many, or the previous attempt did not allow it)."""

    code = "attempt_not_allowed"


def connect(config: WorkerConfig) -> Redis:
    """A Redis client for the configured URL."""
    return connect_url(config.redis_url)


def validate(data: Any, config: WorkerConfig, connection: Redis | None = None) -> VerificationRequest:
    """Parse and check a request as the worker will; raises InvalidRequest or PathNotAllowed."""
    request = VerificationRequest.parse(intake.load(data, config))
    customer_id = identity.check_request(request, config)
    if request.callback_url is not None:
        egress.target(request.callback_url, egress.CallbackPolicy.from_config(config))
    uris = [media.check_uri(request.document_video, config), media.check_uri(request.selfie_video, config)]
    if connection is not None:
        store = Store(connection, config.key_prefix)
        if store.get_verdict(request.case_id, request.attempt) is None:
            problem = store.attempt_problem(request.case_id, request.attempt, config.max_attempts)
            if problem is not None:
                raise AttemptNotAllowed(problem[1])
            record = store.get_customer(customer_id) or {}
            lifecycle.submission(customer_id, record, case_id=request.case_id, attempt=request.attempt,
                                 case_owner=(store.get_case(request.case_id) or {}).get("customer_id"),
                                 consent={}, callback_url=None, config=config, now=time.time())
        for uri in uris:
            owner = store.media_owner(uri)
            if owner not in (None, request.case_id):
                raise media.MediaNotOwned(f"{uri}: named by another case first (a case uses only its own media)")
    return request


def submit(request: dict[str, Any] | str, config: WorkerConfig, *, connection: Redis | None = None,
           validate_request: bool = True) -> str:
    """Enqueue one verification request; returns the RQ job id (the same for the same request)."""
    connection = connection or connect(config)
    data: Any
    try:
        data = intake.load(request, config)
    except InvalidRequest:
        if validate_request:
            raise
        data = request  # as given: the worker stores why it cannot be verified
    identity_json = data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str)
    job_id = job_id_for("verify", config.key_prefix, identity_json)
    if isinstance(data, dict) and not data.get("submitted_at"):
        data = {**data, "submitted_at": intake.server_time(time.time()).isoformat()}
    if validate_request:
        validate(data, config, connection)
    body = data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str)
    if Job.exists(job_id, connection=connection):
        ident = request_identity(data)
        previous = Store(connection, config.key_prefix).get_attempt(*ident) if ident else None
        if not previous or previous.get("state") != AttemptState.FAILED:
            return job_id  # the same request is already queued, running or answered
        job_id = f"{job_id}-{uuid.uuid4().hex[:8]}"  # it failed (e.g. its media were missing): try again
    try:
        enqueue_verification(config, connection, body, job_id=job_id, unique=True)
    except DuplicateJobError:
        pass  # submitted concurrently: one job runs
    return job_id


def result(case_id: str, attempt: int, config: WorkerConfig,
           connection: Redis | None = None) -> dict[str, Any] | None:
    """The outcome of one attempt as the bank sees it (verdict, decision or failure), or None yet."""
    store = Store(connection or connect(config), config.key_prefix)
    verdict = store.get_verdict(case_id, attempt)
    decision = store.get_decision(case_id, attempt)
    if verdict is not None:
        out: dict[str, Any] = {"case_id": case_id, "attempt": attempt, "status": verdict["status"],
                               "reasons": verdict.get("reasons", []), "verdict": verdict}
        if decision is not None:
            out.update(status=decision["status"], decision=decision)
        return out
    record = store.get_attempt(case_id, attempt)
    if record and record.get("state") == AttemptState.FAILED:
        return {"case_id": case_id, "attempt": attempt, "status": OutcomeStatus.FAILED.value,
                "reason": record.get("failed_reason"), "detail": record.get("failed_detail")}
    return None


def job_outcome(job_id: str, config: WorkerConfig, connection: Redis | None = None) -> dict[str, Any] | None:
    """The stored outcome of a job whose request names no usable case attempt (not JSON, too large
    or too deep, a bad case id or attempt), or of a refused queue entry; None otherwise (read those
    with `result`)."""
    return Store(connection or connect(config), config.key_prefix).get_rejected(job_id)


__all__ = ["AttemptNotAllowed", "connect", "enqueue_verification", "job_outcome", "result", "submit", "validate"]
