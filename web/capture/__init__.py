"""Live capture: the customer's capture page, its frames endpoint and the captures of this process
(docs/web.md, "Live capture", opened through `POST /v1/capture-sessions`), beside single capture
sessions that a bank's back end drives itself (`sessions`, under `/v1/capture`, docs/capture.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ..config import WebConfig
from . import sessions
from .engines import Engines
from .hub import CaptureHub
from .routes import router

STATIC = Path(__file__).resolve().parents[1] / "static" / "capture"


def install(app: FastAPI, config: WebConfig) -> None:
    """Add the capture routes, their static files, the captures and the (not yet loaded) stages."""
    app.state.capture_hub = CaptureHub(config)
    app.state.capture_engines = Engines.for_limits(config.capture_max_frames)
    app.include_router(router)
    app.include_router(sessions.router)  # single sessions opened by the bank's back end (docs/capture.md)
    app.mount("/static/capture", StaticFiles(directory=STATIC), name="capture-static")
