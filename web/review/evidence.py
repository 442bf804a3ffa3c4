"""The evidence images of a case attempt, for signed-in reviewers only.

`/review/cases/{case}/attempts/{n}/evidence/{name}` answers a stored JPEG (`workers.evidence.read`)
with `Cache-Control: no-store`; a case id not of the schema's form, an attempt that is not this
case's, or a name outside `EVIDENCE_NAMES` (path traversal included) is 404, the same answer as an
image never kept or purged, so the route tells nothing about other cases.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from kycengine.errors import InvalidInput
from workers import evidence
from workers.store import Store

from ..sessions import Session
from .context import SECURITY_HEADERS, config_of, connection_of, reviewer_session
from .pages import checked_case_id

router = APIRouter()
NOT_FOUND = HTTPException(404, "no such image", headers=SECURITY_HEADERS)


@router.get("/cases/{case_id}/attempts/{attempt}/evidence/{name}")
def evidence_image(request: Request, case_id: str, attempt: str, name: str,
                   session: Session = Depends(reviewer_session)) -> Response:
    """One evidence JPEG of one attempt of one case."""
    case_id = checked_case_id(case_id)
    if name not in evidence.EVIDENCE_NAMES or not attempt.isdecimal() or len(attempt) > 4:
        raise NOT_FOUND
    config, connection = config_of(request).worker, connection_of(request)
    if Store(connection, config.key_prefix).get_attempt(case_id, int(attempt)) is None:
        raise NOT_FOUND
    try:
        data = evidence.read(config, connection, case_id, int(attempt), name)
    except InvalidInput:
        raise NOT_FOUND from None
    return Response(data, media_type="image/jpeg", headers={**SECURITY_HEADERS, "Content-Disposition": "inline"})
