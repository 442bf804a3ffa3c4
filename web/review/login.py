"""Signing in and out of the console, and the language switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from .. import i18n
from ..login_limit import Limits, LoginLimit
from ..reviewers import Reviewers
from ..sessions import ANONYMOUS_TTL_S, COOKIE
from .context import (
    LOGIN_PATH,
    SECURITY_HEADERS,
    config_of,
    connection_of,
    current_session,
    posted_form,
    render,
    reviewer_session,
    sessions_of,
    set_cookie,
)

router = APIRouter()
QUEUE_PATH = "/review/"


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form; it opens an anonymous session whose CSRF token the form carries."""
    session = current_session(request)
    if session is not None and session.reviewer:
        try:
            reviewer_session(request)  # ends the session of a reviewer disabled since
            return _redirect(QUEUE_PATH)
        except HTTPException:
            session = None
    if session is not None:
        return render(request, "login.html", session, error=None)
    session = sessions_of(request).create("", ANONYMOUS_TTL_S)
    response = render(request, "login.html", session, error=None)
    set_cookie(response, config_of(request), COOKIE, session.token, ANONYMOUS_TTL_S)
    return response


@router.post("/login")
def login(request: Request, form: dict[str, Any] = Depends(posted_form)) -> Response:
    """Check a name and password; 429 while the account or the address has too many failures."""
    config = config_of(request)
    prefix = config.worker.key_prefix
    name, password = str(form.get("name") or "")[:64].strip().lower(), str(form.get("password") or "")[:1024]
    address = request.client.host if request.client else "unknown"
    limit = LoginLimit(connection_of(request), prefix, Limits(config.login_failures, config.login_failures_address))
    anonymous = current_session(request)
    if limit.blocked(name, address):
        return render(request, "login.html", anonymous, status=429, error="login.limited")
    reviewer = Reviewers(connection_of(request), prefix).authenticate(name, password)
    if reviewer is None:
        limit.failed(name, address)
        return render(request, "login.html", anonymous, status=401, error="login.bad")
    limit.succeeded(name, address)
    sessions = sessions_of(request)
    if anonymous is not None:
        sessions.end(anonymous.token)
    ttl = int(config.session_hours * 3600)
    session = sessions.create(reviewer.name, ttl)
    response = _redirect(QUEUE_PATH)
    set_cookie(response, config, COOKIE, session.token, ttl)
    return response


@router.post("/logout")
def logout(request: Request, form: dict[str, Any] = Depends(posted_form)) -> Response:
    """End the session on the server and drop the cookie."""
    session = reviewer_session(request)
    sessions_of(request).end(session.token)
    response = _redirect(LOGIN_PATH)
    response.delete_cookie(COOKIE, path="/review", httponly=True, samesite="strict",
                           secure=config_of(request).secure_cookies)
    return response


@router.get("/language/{language}")
def switch_language(request: Request, language: str, back: str = QUEUE_PATH) -> Response:
    """Set the console's language (a cookie) and go back to a console page."""
    if language not in i18n.LANGUAGES:
        language = "en"
    if not back.startswith("/review/") or "//" in back or "\\" in back:
        back = QUEUE_PATH  # only back into the console: never an open redirect
    response = _redirect(back)
    set_cookie(response, config_of(request), i18n.COOKIE, language, 365 * 86400)
    return response
