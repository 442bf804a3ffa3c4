"""The console's pages: the queue, a case, its decision and its strict re-verification.

Every page needs a signed-in reviewer; every POST a valid CSRF token. The reviewer's identity comes
from the session, never from the form. Decisions go through `workers.review.decide` (the only
decision logic, two-reviewer rule included); re-verification is a job for the workers
(`workers.queues.enqueue_reverification`): nothing verifies inside a web request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from kycengine.reasons import Reason
from kycengine.schema import is_valid_id
from workers import evidence, review
from workers.queues import enqueue_reverification
from workers.store import Store

from ..sessions import Session
from .case_view import attempt_view, reason_choices
from .context import (
    SECURITY_HEADERS,
    WEB,
    config_of,
    connection_of,
    render,
    reviewer_form,
    reviewer_session,
    translator,
)

router = APIRouter()
MAX_COMMENT = 2000
NEEDS_CODES = ("refuse", "retry")


def checked_case_id(case_id: str) -> str:
    """A case id of the schema's form, else 404 (it can name no case)."""
    if not is_valid_id(case_id):
        raise HTTPException(404, "no such case", headers=SECURITY_HEADERS)
    return case_id


def evidence_names(request: Request, case_id: str, attempt: int) -> list[str]:
    """The evidence images kept for one attempt, in display order."""
    return evidence.names(config_of(request).worker, connection_of(request), case_id, attempt)


@router.get("/static/console.css")
def stylesheet() -> Response:
    return FileResponse(WEB / "static" / "console.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/")
def queue_page(request: Request, session: Session = Depends(reviewer_session)) -> Response:
    """Queued cases, earliest deadline first, with the time left and escalations."""
    items = review.list_queue(config_of(request).worker, connection_of(request))
    return render(request, "queue.html", session, items=items)


def _case_page(request: Request, session: Session, case_id: str, *, error: str | None = None,
               status: int = 200) -> Response:
    config, connection = config_of(request).worker, connection_of(request)
    try:
        case = review.show(config, connection, case_id)
    except review.ReviewError:
        raise HTTPException(404, "no such case", headers=SECURITY_HEADERS) from None
    attempts = [attempt_view(a, evidence_names(request, case_id, int(a["attempt"]))) for a in case["attempts"]]
    queued = case["review"] or {}
    current = int(queued.get("attempt") or (attempts[-1].attempt if attempts else 0))
    pending = Store(connection, config.key_prefix).get_pending_approval(case_id, current) if queued else None
    return render(request, "case.html", session, status=status, case_id=case_id, case=case, attempts=attempts,
                  current=next((a for a in attempts if a.attempt == current), None), review_item=queued,
                  pending=pending, earlier=(case["customer"] or {}).get("earlier_attempts") or [],
                  history=list(reversed(case["history"])), reasons=reason_choices(translator(request).language),
                  decisions=list(review.DECISIONS), error=error)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, session: Session = Depends(reviewer_session)) -> Response:
    """A case: evidence, identity, checks, liveness cues, attempts, decision form and audit trail."""
    return _case_page(request, session, checked_case_id(case_id))


def _reason_text(decision: str, codes: list[str], comment: str) -> str:
    """The decision's reason as `workers.review.decide` reads it: codes, then the comment."""
    if decision not in review.DECISIONS:
        raise review.ReviewError(f"unknown decision {decision!r}")
    unknown = [c for c in codes if c not in Reason._value2member_map_]
    if unknown:
        raise review.ReviewError(f"unknown reason code {unknown[0][:64]!r}")
    if decision in NEEDS_CODES and not codes:
        raise review.ReviewError("choose at least one reason code")
    if decision == "approve" and codes:
        raise review.ReviewError("an approval takes no reason code")
    if not comment or len(comment) > MAX_COMMENT:
        raise review.ReviewError(f"a comment is required (at most {MAX_COMMENT} characters)")
    return "; ".join(part for part in (", ".join(codes), comment) if part)


@router.post("/cases/{case_id}/decide")
def decide(request: Request, case_id: str, posted: tuple[Session, dict[str, Any]] = Depends(reviewer_form)) -> Response:
    """Record the signed-in reviewer's decision (approve, refuse or retry), then show the case again."""
    session, form = posted
    case_id = checked_case_id(case_id)
    codes = form.get("reason_codes") or []
    codes = [codes] if isinstance(codes, str) else [str(c) for c in codes]
    decision, comment = str(form.get("decision") or ""), str(form.get("comment") or "").strip()
    try:
        reason = _reason_text(decision, codes, comment)
        review.decide(config_of(request).worker, connection_of(request), case_id, decision, reason=reason,
                      reviewer=session.reviewer)
    except review.ReviewError as exc:
        return _case_page(request, session, case_id, error=exc.message, status=409)
    return RedirectResponse(f"/review/cases/{case_id}", status_code=303, headers=SECURITY_HEADERS)


@router.post("/cases/{case_id}/reverify")
def reverify(request: Request, case_id: str, posted: tuple[Session, dict[str, Any]] = Depends(reviewer_form)) -> Response:
    """Ask the workers for a strict re-verification of a queued case; its result joins the audit trail."""
    session, _ = posted
    case_id = checked_case_id(case_id)
    config, connection = config_of(request).worker, connection_of(request)
    store = Store(connection, config.key_prefix)
    if store.get_case(case_id) is None:
        raise HTTPException(404, "no such case", headers=SECURITY_HEADERS)
    job = enqueue_reverification(config, connection, case_id)
    store.append_history(case_id, "reverify_requested", reviewer=session.reviewer, job_id=job.id)
    return RedirectResponse(f"/review/cases/{case_id}", status_code=303, headers=SECURITY_HEADERS)
