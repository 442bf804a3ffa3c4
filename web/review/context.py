"""What every console route shares: the signed-in reviewer, the CSRF check, rendering and headers.

Pages are Jinja2 templates (web/templates/review/) rendered with autoescaping on: every value from a
case (declared names, OCR text, comments) is text, never markup. Every response carries a strict
Content-Security-Policy (no script at all, images and styles from the console only) and no-store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from .. import csrf, i18n
from ..config import WebConfig
from ..reviewers import Reviewers
from ..sessions import COOKIE, Session, Sessions
from ..state import config_of, connection_of
from .case_view import number

WEB = Path(__file__).resolve().parents[1]
LOGIN_PATH = "/review/login"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"), autoescape=True,
                                undefined=jinja2.StrictUndefined)


def sessions_of(request: Request) -> Sessions:
    return Sessions(connection_of(request), config_of(request).worker.key_prefix)


def current_session(request: Request) -> Session | None:
    """The live session the request's cookie names, or None."""
    return sessions_of(request).get(request.cookies.get(COOKIE))


def translator(request: Request) -> i18n.Translator:
    return i18n.Translator(i18n.language(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")))


def reviewer_session(request: Request) -> Session:
    """Dependency of every page: the signed-in reviewer's session, else a redirect to the sign-in page
    (also when the account was disabled since)."""
    session = current_session(request)
    if session is not None and session.reviewer and not Reviewers(
            connection_of(request), config_of(request).worker.key_prefix).enabled(session.reviewer):
        sessions_of(request).end(session.token)
        session = None
    if session is None or not session.reviewer:
        raise HTTPException(303, "sign in first", headers={"Location": LOGIN_PATH, **SECURITY_HEADERS})
    return session


async def posted_form(request: Request) -> dict[str, Any]:
    """The form of a POST whose CSRF token is its session's, else 403; returns its fields (lists for
    repeated names)."""
    form = await request.form()
    if not csrf.matches(current_session(request), form.get(csrf.FIELD)):
        raise HTTPException(403, "missing or wrong CSRF token", headers=SECURITY_HEADERS)
    return {key: form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key) for key in form}


async def reviewer_form(request: Request) -> tuple[Session, dict[str, Any]]:
    """A signed-in reviewer's POST with a valid CSRF token: (session, form fields)."""
    form = await posted_form(request)
    return reviewer_session(request), form


def render(request: Request, template: str, session: Session | None, *, status: int = 200,
           **values: Any) -> HTMLResponse:
    """A page in the request's language, with the session's CSRF token for its forms."""
    tr = translator(request)
    html = _TEMPLATES.get_template(f"review/{template}").render(
        t=tr.t, lang=tr.language, other_lang=tr.other, csrf_field=csrf.FIELD,
        csrf_token=session.csrf if session else "", reviewer=session.reviewer if session else "",
        path=request.url.path, num=number, **values)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def set_cookie(response: Response, config: WebConfig, name: str, value: str, max_age: int) -> None:
    """A console cookie: HttpOnly, SameSite=Strict, Secure unless turned off for plain-HTTP tests."""
    response.set_cookie(name, value, max_age=max_age, path="/review", httponly=True, samesite="strict",
                        secure=config.secure_cookies)
