"""Live capture over HTTP short polling, under `/v1/capture` (see docs/capture.md).

The bank's back end opens a session with its API key (`POST /sessions?kind=document|selfie`, as any
bodiless API request: `web.api.auth.signed_read`) and hands its id to the customer's page, which
posts the camera's frames one at a time as JPEG (`POST /sessions/{id}/frames?t=SECONDS`), each answer saying what to show, the
progress and how long to wait before the next frame (`next_frame_ms`); 429 means too soon (wait
`retry_ms`), 404 an unknown or expired session. Once closed, `GET /sessions/{id}` names the video
the session wrote and, for a selfie, the challenge that goes with the case. `GET /page` is a
reference capture page (phone-sized, English and French) that does all this in a browser. One Verifier per process
analyses the frames (`kycengine.capture`), built on the first session. The session id (128 random
bits) is the page's only key: anyone else cannot open sessions and hold their places.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from kycengine.capture import Feedback, text
from kycengine.capture.document import DocumentSession
from kycengine.capture.selfie import SelfieSession
from kycengine.errors import InvalidInput
from kycengine.pipeline import Verifier
from kycengine.video import MAX_SIDE

from ..api.auth import signed_read
from ..clients import Client
from .store import Busy, Full, Live, SessionStore

router = APIRouter(prefix="/v1/capture")
PAGE = Path(__file__).with_name("page.html")
_SETUP = threading.Lock()
KINDS = ("document", "selfie")


def _state(request: Request) -> tuple[Verifier, SessionStore]:
    """The process's Verifier and session store, made on first use from the app's config."""
    state = request.app.state
    with _SETUP:
        if getattr(state, "capture_store", None) is None:
            config = state.config
            root = config.upload_root or (config.worker.media_roots[0] + "/uploads"
                                          if config.worker.media_roots else None)
            if root is None:
                raise HTTPException(503, "live capture needs KYC_WEB_UPLOAD_ROOT")
            state.capture_verifier = getattr(state, "capture_verifier", None) or Verifier()
            state.capture_store = SessionStore(max_sessions=config.capture_max_sessions,
                                               idle_s=config.capture_idle_s,
                                               min_interval_s=1 / config.capture_max_fps,
                                               folder=Path(root) / "capture")
    return state.capture_verifier, state.capture_store


def _answer(live: Live, answer: Feedback, language: str) -> dict[str, Any]:
    return {**answer.to_dict(), "text": text(answer.code, language), "next_frame_ms": live.next_frame_ms}


def _image(data: bytes) -> np.ndarray:
    """A JPEG or PNG frame; its 1/8 preview bounds its size before the full decode (as
    `kycengine.image.read_image` does for files): no decompression bomb."""
    raw = np.frombuffer(data, np.uint8)
    preview = cv2.imdecode(raw, cv2.IMREAD_REDUCED_GRAYSCALE_8) if raw.size else None
    if preview is None or max(preview.shape) * 8 > MAX_SIDE + 8:
        raise HTTPException(400, "a frame must be a JPEG or PNG image of at most 8192 px a side")
    image = cv2.imdecode(raw, cv2.IMREAD_COLOR)
    if image is None:
        raise HTTPException(400, "a frame must be a JPEG or PNG image")
    return image


@router.post("/sessions", status_code=201)
async def open_session(request: Request, kind: str, client: Client = Depends(signed_read)) -> dict[str, Any]:
    """Open a document or selfie session for the calling client."""
    if kind not in KINDS:
        raise HTTPException(400, "kind: 'document' or 'selfie'")
    verifier, store = await run_in_threadpool(_state, request)
    session = DocumentSession(verifier.document) if kind == "document" else SelfieSession(verifier.liveness)
    try:
        live = store.open(kind, session, client.name)
    except Full as exc:
        raise HTTPException(503, str(exc)) from None
    return {"id": live.id, "kind": kind, "client": client.name, "next_frame_ms": live.next_frame_ms,
            "max_frame_bytes": request.app.state.config.capture_max_frame_bytes}


def _live(request: Request, key: str) -> Live:
    live = _state(request)[1].get(key)
    if live is None:
        raise HTTPException(404, "no such capture session (unknown or expired)")
    return live


@router.post("/sessions/{key}/frames")
async def post_frame(key: str, request: Request, t: float, lang: str = "en") -> Any:
    """One frame (the request body, JPEG or PNG) taken at `t` seconds; the session's answer."""
    limit = request.app.state.config.capture_max_frame_bytes
    live = await run_in_threadpool(_live, request, key)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, f"a frame is at most {limit} bytes")
    image = await run_in_threadpool(_image, bytes(data))
    store = request.app.state.capture_store
    try:
        answer = await run_in_threadpool(store.feed, live, image, t)
    except Busy as exc:
        return JSONResponse({"retry_ms": exc.retry_ms}, status_code=429,
                            headers={"Retry-After": str(max(1, round(exc.retry_ms / 1000)))})
    except InvalidInput as exc:
        raise HTTPException(400, exc.message) from None
    return _answer(live, answer, lang)


@router.get("/sessions/{key}")
def get_session(key: str, request: Request, lang: str = "en") -> dict[str, Any]:
    """The session's last answer; once closed, the video it wrote and (selfie) its challenge."""
    live = _live(request, key)
    session = live.session
    out = {"kind": live.kind, "client": live.client, **_answer(live, session.last, lang)}
    if session.closed:
        out["video"] = live.video.name if live.video is not None else None
        if isinstance(session, SelfieSession):
            out["challenge"] = session.challenge.to_dict()
    return out


@router.get("/page", response_class=HTMLResponse)
def page() -> HTMLResponse:
    """The reference capture page (`?sessions=ID1,ID2&lang=fr`): films, shows the guidance and the
    progress bar, one session after the other."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})


@router.delete("/sessions/{key}", status_code=204)
def drop_session(key: str, request: Request) -> Response:
    """Forget a session."""
    _state(request)[1].drop(key)
    return Response(status_code=204)
