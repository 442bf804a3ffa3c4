"""Errors as `application/problem+json` (RFC 9457): type, title, status, detail and the library's code.

Every error the web application answers carries the same `code` as the library's `KycError` that
caused it (`invalid_request`, `path_not_allowed`, `consent_required`, ...), so a bank handles one set
of codes whether it calls Python or HTTP. `ApiError` adds the few that only HTTP has (authentication,
not found, idempotency, upload size); FastAPI's own validation errors and HTTP errors are mapped to
the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from kycengine.errors import InvalidInput, KycError, ModelError, PathNotAllowed
from workers.config import ConfigError
from workers.intake import RequestTooLarge

from .logs import route_of

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:kycengine:problem:"
CONSOLE_PREFIX = "/review"


class Problem(BaseModel):
    """The body of every error answer (RFC 9457 members plus the library's error code)."""

    type: str
    title: str
    status: int
    detail: str
    code: str


class ApiError(KycError):
    """An error of the HTTP layer itself; `status` is its HTTP status."""

    code = "api_error"
    status = 400
    headers: dict[str, str] = {}


class Unauthorized(ApiError):
    """No API key, an unknown or revoked one, or a request signature that does not hold."""

    code = "unauthorized"
    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="kycengine"'}


class SignatureInvalid(Unauthorized):
    """The request's HMAC signature is missing or does not match."""

    code = "signature_invalid"


class SignatureExpired(Unauthorized):
    """The signed timestamp lies outside the tolerance window."""

    code = "signature_expired"


class SignatureReplayed(Unauthorized):
    """This very signature was seen before within the window: a replay."""

    code = "signature_replayed"


class NotFound(ApiError):
    """Nothing here for this client (also what another client's case answers: no existence leak)."""

    code = "not_found"
    status = 404


class Conflict(ApiError):
    """The request contradicts an earlier one (an Idempotency-Key reused with another body)."""

    code = "idempotency_conflict"
    status = 409


class CaseTaken(Conflict):
    """The case id or customer id was first submitted by another client."""

    code = "case_id_taken"


class UploadTooLarge(ApiError):
    """An uploaded video or the request body is over the size limit."""

    code = "upload_too_large"
    status = 413


class UnsupportedMediaType(ApiError):
    """A submission that is neither JSON nor multipart/form-data."""

    code = "unsupported_media_type"
    status = 415


def status_of(error: KycError) -> int:
    """The HTTP status of a library error: the caller's fault is 4xx, the server's 5xx."""
    if isinstance(error, ApiError):
        return error.status
    if isinstance(error, RequestTooLarge):
        return 413
    if isinstance(error, (InvalidInput, PathNotAllowed)):
        return 422
    if isinstance(error, ModelError):
        return 503
    if isinstance(error, ConfigError):
        return 500
    return 400


def response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A problem+json answer."""
    title = code.replace("_", " ").capitalize()
    body = Problem(type=f"{TYPE_BASE}{code}", title=title, status=status, detail=detail, code=code)
    return JSONResponse(body.model_dump(), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(error: KycError) -> JSONResponse:
    """The answer for a library or API error."""
    return response(status_of(error), error.code, error.message, getattr(error, "headers", None) or None)


def _kyc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KycError)
    return from_error(exc)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return response(422, "invalid_request", "; ".join(parts) or "invalid request")


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 413: "upload_too_large",
               415: "unsupported_media_type"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(CONSOLE_PREFIX):  # the console's pages answer their own way
        return await http_exception_handler(request, exc)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    headers: Any = exc.headers
    return response(exc.status_code, code, str(exc.detail), dict(headers) if headers else None)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, route_of(request.scope))
    return response(500, "internal_error", "the server could not answer this request")


def install(app: FastAPI) -> None:
    """Answer every error of `app` as problem+json."""
    app.add_exception_handler(KycError, _kyc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
