"""`POST /v1/capture-sessions`: the bank opens a live capture for a case and gets a one-time URL to
give the customer's browser (`web.capture`), which films, is guided, and submits the case itself.

The body is a submission without its videos (the capture makes them): it is checked now as the
worker will check it (consent, customer, attempt, callback, ownership), so that a capture never ends
on a refusal it could have known before the customer filmed anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis import Redis
from starlette.concurrency import run_in_threadpool

from kycengine.errors import InvalidRequest
from workers import intake
from workers.enqueue import validate

from ..clients import Client
from ..config import WebConfig
from ..state import config_of, connection_of
from .auth import authenticated, clients_of
from .cases import PROBLEMS, _read_json, _schema
from .models import ID_PATTERN, ConsentIn, Declared
from .ownership import Ownership
from .signing import SignatureCheck
from .uploads import upload_folder

router = APIRouter(tags=["capture"])
MADE_BY_CAPTURE = ("document_video", "selfie_video", "challenge")


class CaptureRequest(BaseModel):
    """A submission without its videos, and the page's language (default: the browser's)."""

    case_id: str = Field(pattern=ID_PATTERN)
    attempt: int = Field(ge=1, le=1000)
    customer_id: str = Field(pattern=ID_PATTERN)
    consent: ConsentIn
    declared: Declared | None = None
    callback_url: str | None = None
    language: Literal["fr", "en"] | None = None


class CaptureOpened(BaseModel):
    """The capture page's one-time URL (absolute, and its path) and when it expires."""

    capture_url: str
    path: str
    expires_at: dt.datetime
    case_id: str
    attempt: int


_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": _schema(CaptureRequest)}}}}


def _check(data: dict[str, Any], client: Client, config: WebConfig, connection: Redis) -> None:
    """The request as the worker will check it (with the videos the capture will write), and the case
    and customer claimed for the client (409 if another client has them)."""
    pending = upload_folder(config) / "capture-pending"
    request = validate({**data, "document_video": str(pending / "document.mp4"),
                        "selfie_video": str(pending / "selfie.mp4")}, config.worker, connection)
    Ownership(connection, config.worker.key_prefix).claim(client.name, request.case_id, request.customer_id)


@router.post("/capture-sessions", status_code=201, response_model=CaptureOpened, responses=PROBLEMS,
             openapi_extra=_BODY, summary="Open a live capture for a case: a one-time URL for the customer")
async def open_capture(request: Request, client: Client = Depends(authenticated)) -> JSONResponse:
    """201 with the capture URL; the customer's browser films there and the case is submitted when
    both steps are done (read it at `/v1/cases/{case_id}/attempts/{attempt}`)."""
    config, connection = config_of(request), connection_of(request)
    check = SignatureCheck(request, client, clients_of(request), config, connection)
    body = await _read_json(request, check, config.worker.max_request_bytes)
    check.verify()
    data = intake.load(body, config.worker)
    if not isinstance(data, dict):
        raise InvalidRequest("request: a JSON object is expected")
    if any(name in data for name in MADE_BY_CAPTURE):
        raise InvalidRequest(f"capture: {', '.join(MADE_BY_CAPTURE)} are made by the capture, not sent")
    language = data.pop("language", None)
    if language not in (None, "fr", "en"):
        raise InvalidRequest("language: 'fr' or 'en'")
    await run_in_threadpool(_check, data, client, config, connection)
    token, _ = request.app.state.capture_hub.open(client, data, language or "")
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=config.capture_lifetime_s)
    path = f"/capture/{token}"
    body_out = CaptureOpened(capture_url=str(request.base_url).rstrip("/") + path, path=path,
                             expires_at=expires.replace(microsecond=0), case_id=data["case_id"],
                             attempt=data["attempt"])
    return JSONResponse(body_out.model_dump(mode="json"), status_code=201,
                        headers={"Location": path, "Cache-Control": "no-store"})
