"""Live capture: the customer's capture page, its frames and selfie-recording endpoints and the
captures of this process (docs/web.md, "Live capture", opened through `POST /v1/capture-sessions`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ..config import WebConfig
from .engines import Engines
from .hub import CaptureHub
from .routes import router

STATIC = Path(__file__).resolve().parents[1] / "static" / "capture"


def install(app: FastAPI, config: WebConfig) -> None:
    """Add the capture routes, their static files, the captures and the (not yet loaded) stages."""
    app.state.capture_hub = CaptureHub(config)
    app.state.capture_engines = Engines.for_limits(config.capture_max_frames)
    app.include_router(router)
    app.mount("/static/capture", StaticFiles(directory=STATIC), name="capture-static")
