"""`/v1/cases`: submit a case (JSON or an upload of the two videos) and read it back.

A submission goes through `workers.intake` (size and nesting limits before parsing) and
`workers.enqueue.submit` (every check a request gets, then the queue): nothing is verified here. The
case and its customer become the submitting client's (`ownership`); reads of anyone else's answer 404.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from redis import Redis
from starlette.concurrency import run_in_threadpool

from kycengine.errors import InvalidRequest
from kycengine.schema import VerificationRequest
from workers import intake
from workers.enqueue import result, submit
from workers.store import Store

from ..clients import Client
from ..config import WebConfig
from ..problems import NotFound, Problem, UnsupportedMediaType
from ..state import config_of, connection_of
from . import uploads
from .auth import authenticated, clients_of, signed_read
from .idempotency import HEADER, Answer, Idempotency
from .models import AttemptOutcome, AttemptSummary, CaseAccepted, CaseRequest, CaseUpload, CaseView, Links
from .ownership import Ownership
from .signing import SignatureCheck

router = APIRouter(tags=["cases"])
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
QUEUED = "queued"
def _schema(model: Any) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place (a request body declared
    through `openapi_extra` cannot add entries to the document's components)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"$ref"}:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": "an error (problem+json, with the library's error code)",
           "content": {"application/problem+json": {"schema": _schema(Problem)}}} for code in (401, 404, 409, 413, 422)}
_SUBMIT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _schema(CaseRequest)},
    "multipart/form-data": {"schema": _schema(CaseUpload)}}}}


def _ownership(request: Request) -> Ownership:
    return Ownership(connection_of(request), config_of(request).worker.key_prefix)


def accept(data: Any, client: Client, config: WebConfig, connection: Redis) -> Answer:
    """Claim the case for the client, enqueue it (`workers.enqueue.submit`), and the 202 answer."""
    if not isinstance(data, dict):
        raise InvalidRequest("request: a JSON object is expected")
    parsed = VerificationRequest.parse(data)  # the case and customer ids, checked before they name keys
    owners = Ownership(connection, config.worker.key_prefix)
    new = owners.claim(client.name, parsed.case_id, parsed.customer_id)
    try:
        job_id = submit(data, config.worker, connection=connection)
    except BaseException:
        if new:
            owners.release(parsed.case_id)
        raise
    owners.note_attempt(parsed.case_id, parsed.attempt, job_id)
    links = Links(case=f"/v1/cases/{parsed.case_id}", attempt=f"/v1/cases/{parsed.case_id}/attempts/{parsed.attempt}")
    body = CaseAccepted(case_id=parsed.case_id, attempt=parsed.attempt, job_id=job_id, links=links)
    return Answer(202, body.model_dump(), links.attempt)


async def _read_json(request: Request, check: SignatureCheck, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise intake.RequestTooLarge(f"request: {declared} bytes, over the {limit} byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise intake.RequestTooLarge(f"request: over the {limit} byte limit")
        check.update(chunk)
    return bytes(body)


def _answer(answer: Answer, replayed: bool) -> JSONResponse:
    headers = {"Location": answer.location}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


@router.post("/cases", status_code=202, response_model=CaseAccepted, responses=PROBLEMS,
             openapi_extra=_SUBMIT_BODY, summary="Submit a case (JSON with media URIs, or an upload of the videos)")
async def submit_case(request: Request, client: Client = Depends(authenticated)) -> JSONResponse:
    """Enqueue one verification attempt; 202 with the case, attempt and job id, and a Location to poll.

    With an `Idempotency-Key` header, the same key and body answer the first answer again and the
    same key with another body answers 409."""
    config, connection = config_of(request), connection_of(request)
    check = SignatureCheck(request, client, clients_of(request), config, connection)
    idempotency = Idempotency(connection, config.worker.key_prefix, client.name, request.headers.get(HEADER),
                              config.idempotency_ttl_s)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = await _read_json(request, check, config.worker.max_request_bytes)
        check.verify()
        digest = hashlib.sha256(body).hexdigest()
        stored = idempotency.replay(digest)
        if stored is not None:
            return _answer(stored, True)
        data = intake.load(body, config.worker)
        answer = await run_in_threadpool(accept, data, client, config, connection)
    elif kind == "multipart/form-data":
        upload = await uploads.receive(request, check, config)
        try:
            check.verify()
            stored = idempotency.replay(upload.digest)
            if stored is not None:
                upload.discard()
                return _answer(stored, True)
            data = intake.load(upload.request_text, config.worker)
            if not isinstance(data, dict) or any(name in data for name in uploads.VIDEO_PARTS):
                raise InvalidRequest(f"multipart: the {uploads.REQUEST_PART} part is a JSON object without "
                                     f"{' or '.join(uploads.VIDEO_PARTS)} (they are the uploaded files)")
            answer = await run_in_threadpool(accept, {**data, **upload.paths}, client, config, connection)
        except BaseException:
            upload.discard()
            raise
        digest = upload.digest
    else:
        raise UnsupportedMediaType("submit application/json or multipart/form-data")
    saved = idempotency.save(digest, answer)
    return _answer(saved, saved is not answer)


def _case_attempts(request: Request, client: Client, case_id: str) -> dict[int, str]:
    if not _ID.match(case_id):
        raise NotFound(f"no case {case_id!r}")
    return _ownership(request).case_of(client.name, case_id)


@router.get("/cases/{case_id}", response_model=CaseView, responses=PROBLEMS, summary="A case and its attempts")
def get_case(request: Request, case_id: str, client: Client = Depends(signed_read)) -> CaseView:
    """The case's customer, times, and each attempt's status (`queued` until a worker answers)."""
    submitted = _case_attempts(request, client, case_id)
    store = Store(connection_of(request), config_of(request).worker.key_prefix)
    record = store.get_case(case_id) or {}
    numbers = sorted(set(submitted) | set(store.attempts(case_id)))
    attempts = [AttemptSummary(attempt=n, status=store.outcome(case_id, n) or QUEUED) for n in numbers]
    return CaseView(case_id=case_id, customer_id=record.get("customer_id"), created_at=record.get("created_at"),
                    updated_at=record.get("updated_at"), attempts=attempts)


@router.get("/cases/{case_id}/attempts/{attempt}", response_model=AttemptOutcome, responses=PROBLEMS,
            summary="One attempt's outcome: verdict, decision or failure")
def get_attempt(request: Request, case_id: str, attempt: int = Path(ge=1, le=1000),
                client: Client = Depends(signed_read)) -> AttemptOutcome:
    """The verdict (and a reviewer's decision, which then gives the status), the failure, or `queued`."""
    submitted = _case_attempts(request, client, case_id)
    out = result(case_id, attempt, config_of(request).worker, connection_of(request))
    if out is not None:
        return AttemptOutcome(**out)
    if attempt in submitted:
        return AttemptOutcome(case_id=case_id, attempt=attempt, status=QUEUED)
    raise NotFound(f"no attempt {attempt} of case {case_id!r}")
