"""The customer's browser side of a capture: the page, the start of a step, the frames, the status.

No API key here: the one-time token in the path is the only credential, so these answers say nothing
a token's holder should not see (the guidance, the progress, and the outcome as the page words it).
A frame is checked before anything is decoded: its declared length (413), the capture's step and
rate and whether a frame is already in analysis (429 `slow_down`, with the interval to use), then its
bytes and the dimensions its header declares (`frames.decode`). The selfie's recording comes once its
session answers `sending`: refused (409) unless that session waits for it, checked as it streams
(`recordings.receive`), then the session closes on it; any refusal closes the session, to film again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from kycengine.capture import Feedback
from kycengine.capture.selfie import SelfieSession
from kycengine.errors import KycError
from workers.enqueue import result

from ..problems import status_of
from . import frames, recordings, submission
from .engines import Engines
from .errors import FrameTooLarge
from .hub import Capture, CaptureHub, Session, Step
from .texts import choose, page_texts

router = APIRouter(prefix="/capture", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
# The token is in the path: never sent on as a referrer, never cached; the page loads only its own files.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                      "media-src 'self' blob: mediastream:; connect-src 'self'; "
                                      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"}
# What the customer is told of a verdict: the status, never its reasons (those are for the bank).
OUTCOMES = {"approved": "approved", "manual_review": "in_review", "retry_required": "retry_required",
            "refused": "refused", "failed": "failed"}


def _hub(request: Request) -> CaptureHub:
    hub: CaptureHub = request.app.state.capture_hub
    return hub


def _outcome(request: Request, capture: Capture) -> str | None:
    """What the page shows once the case is submitted: `checking` until a worker answers."""
    if capture.step is not Step.SUBMITTED:
        return None
    if capture.case is None:
        return "failed"
    out = result(*capture.case, request.app.state.config.worker, request.app.state.connection)
    return "checking" if out is None else OUTCOMES.get(str(out["status"]), "in_review")


def _state(request: Request, capture: Capture) -> dict[str, Any]:
    last = capture.last
    return {"step": capture.step.value, "code": last.code.value if last else None,
            "progress": last.progress if last else 0.0, "closed": last.closed if last else False,
            "filming": capture.filming, "interval_ms": round(1000 * _hub(request).interval_s(capture)),
            "outcome": _outcome(request, capture)}


@router.get("/{token}", response_class=HTMLResponse)
def page(request: Request, token: str, lang: str | None = Query(default=None, max_length=5)) -> Response:
    """The capture page, in the capture's language (or `?lang=fr|en`); a plain page for a token that
    is unknown (404) or expired (410)."""
    try:
        capture: Capture | None = _hub(request).find(token)
        status = 200
    except KycError as error:
        capture, status = None, status_of(error)
    language = choose(lang, request.headers.get("accept-language", ""), capture.language if capture else "")
    context = {"language": language, "texts": page_texts(language), "status": status,
               "data": {"base": f"/capture/{token}", "texts": page_texts(language),
                        "state": _state(request, capture) if capture else None,
                        "max_side": request.app.state.config.capture_max_frame_side}}
    return templates.TemplateResponse(request, "capture/page.html", context, status_code=status, headers=HEADERS)


@router.get("/{token}/status")
def status(request: Request, token: str) -> JSONResponse:
    """The capture's step, last guidance and progress, and the outcome once submitted."""
    return JSONResponse(_state(request, _hub(request).find(token)), headers=HEADERS)


@router.post("/{token}/{step}/start")
async def start(request: Request, token: str, step: Step) -> JSONResponse:
    """Open the step's session (again, after a `try_again`); the first one of the process loads the models."""
    hub = _hub(request)
    capture = hub.find(token)
    engines: Engines = request.app.state.capture_engines
    stages = await run_in_threadpool(engines.get)
    hub.start(capture, step, stages)
    return JSONResponse(_state(request, capture), headers=HEADERS)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise FrameTooLarge(f"a frame is over the {limit} byte limit")
    return bytes(body)


@router.post("/{token}/{step}/frames")
async def frame(request: Request, token: str, step: Step,
                t: float = Query(ge=0, le=1e7, description="the frame's time, in seconds, on the page's clock")
                ) -> JSONResponse:
    """One JPEG frame (the body, `image/jpeg`) taken at `t`; answers the guidance and the progress."""
    limit = request.app.state.config.capture_max_frame_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FrameTooLarge(f"a frame of {declared} bytes is over the {limit} byte limit")
    hub = _hub(request)
    capture = hub.find(token)
    session = hub.admit(capture, step)
    try:
        body = await _body(request, limit)
        await run_in_threadpool(_analyse, request, capture, session, body, t)
    finally:
        capture.busy.release()
    return JSONResponse(_state(request, capture), headers=HEADERS)


@router.post("/{token}/selfie/recording")
async def selfie_recording(request: Request, token: str) -> JSONResponse:
    """The selfie's recording (the body, WebM or MP4) once its session answered `sending`; answers as a frame."""
    hub = _hub(request)
    capture = hub.find(token)
    session = hub.admit_recording(capture)
    try:
        path = await recordings.receive(request, request.app.state.config)
        try:
            await run_in_threadpool(_finish, request, capture, session, path)
        finally:
            path.unlink(missing_ok=True)  # unless the case took it
    except KycError:
        hub.refused(capture, session)
        raise
    finally:
        capture.busy.release()
    return JSONResponse(_state(request, capture), headers=HEADERS)


def _analyse(request: Request, capture: Capture, session: Session, body: bytes, t: float) -> None:
    """Decode and feed one frame."""
    image = frames.decode(body, request.app.state.config)
    engines: Engines = request.app.state.capture_engines
    started = time.perf_counter()
    with engines.analysis:  # the wait for other captures' frames counts in the interval asked for
        feedback = session.feed(image, t)
    _answered(request, capture, session, feedback, time.perf_counter() - started)


def _finish(request: Request, capture: Capture, session: SelfieSession, path: Path) -> None:
    """Close the selfie's session on its recording (decoded and checked as the verifier does)."""
    engines: Engines = request.app.state.capture_engines
    with engines.analysis:
        feedback = session.finish(path)
    _answered(request, capture, session, feedback, None)


def _answered(request: Request, capture: Capture, session: Session, feedback: Feedback,
              seconds: float | None) -> None:
    """Record a session's answer; once the selfie is done, submit the case (the frames are dropped)."""
    hub = _hub(request)
    hub.analysed(capture, session, feedback, seconds)
    if capture.step is Step.SUBMITTED and capture.done:
        try:
            answer = submission.submit(capture, request.app.state.config, request.app.state.connection)
            capture.case = (str(answer.body["case_id"]), int(answer.body["attempt"]))
        finally:
            hub.submitted(capture)
