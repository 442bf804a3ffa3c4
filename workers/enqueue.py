"""The bank side: `submit(request_dict, config) -> job id`, and reading a case's outcome back.

`submit` checks what can be checked at once (the request schema, the callback URL, the media URIs'
confinement, the attempt rules) and raises InvalidRequest / PathNotAllowed for the caller to fix; with
`validate_request=False` it enqueues the request as given and the worker reports any problem as a `failed`
result. Submitting the very same request twice returns the same job id and enqueues it once.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from redis import Redis
from rq.exceptions import DuplicateJobError
from rq.job import Job

from kycengine.errors import InvalidRequest
from kycengine.schema import VerificationRequest

from . import delivery, media
from .config import WorkerConfig
from .jobs import enqueue_verification, job_id_for, request_identity
from .store import Store


class AttemptNotAllowed(InvalidRequest):
    """The attempt number breaks the retry rules (too many, or the previous attempt did not allow it)."""

    code = "attempt_not_allowed"


def connect(config: WorkerConfig) -> Redis:
    """A Redis client for the configured URL."""
    return Redis.from_url(config.redis_url)


def validate(data: Any, config: WorkerConfig, connection: Redis | None = None) -> VerificationRequest:
    """Parse and check a request as the worker will; raises InvalidRequest or PathNotAllowed."""
    request = VerificationRequest.parse(data)
    if request.callback_url is not None:
        delivery.check_callback_url(request.callback_url)
    media.check_uri(request.document_video, config)
    media.check_uri(request.selfie_video, config)
    if connection is not None:
        store = Store(connection, config.key_prefix)
        if store.get_verdict(request.case_id, request.attempt) is None:
            problem = store.attempt_problem(request.case_id, request.attempt, config.max_attempts)
            if problem is not None:
                raise AttemptNotAllowed(problem[1])
    return request


def submit(request: dict[str, Any] | str, config: WorkerConfig, *, connection: Redis | None = None,
           validate_request: bool = True) -> str:
    """Enqueue one verification request; returns the RQ job id (the same for the same request)."""
    connection = connection or connect(config)
    data: Any = request
    if isinstance(request, str):
        try:
            data = json.loads(request)
        except ValueError as exc:
            if validate_request:
                raise InvalidRequest(f"request is not valid JSON: {exc}") from None
            data = request
    if validate_request:
        validate(data, config, connection)
    identity_json = json.dumps(data, sort_keys=True, default=str) if not isinstance(data, str) else data
    job_id = job_id_for("verify", config.key_prefix, identity_json)
    if isinstance(data, dict) and not data.get("submitted_at"):
        data = {**data, "submitted_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()}
    body = data if isinstance(data, str) else json.dumps(data, sort_keys=True, default=str)
    if Job.exists(job_id, connection=connection):
        ident = request_identity(data)
        previous = Store(connection, config.key_prefix).get_attempt(*ident) if ident else None
        if not previous or previous.get("state") != "failed":
            return job_id  # the same request is already queued, running or answered
        job_id = f"{job_id}-{uuid.uuid4().hex[:8]}"  # it failed (e.g. its media were missing): try again
    if request_identity(data) is not None and isinstance(data, dict):
        Store(connection, config.key_prefix).record_submission(data, job_id)
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
    if record and record.get("state") == "failed":
        return {"case_id": case_id, "attempt": attempt, "status": "failed",
                "reason": record.get("failed_reason"), "detail": record.get("failed_detail")}
    return None


__all__ = ["AttemptNotAllowed", "connect", "enqueue_verification", "result", "submit", "validate"]
