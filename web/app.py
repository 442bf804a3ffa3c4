"""`create_app(config) -> FastAPI`: the one ASGI application that `kyc serve` runs.

Each part is a router of its own package (`web.api` for bank back ends, `web.review` for the
console); they share one Redis connection and the config through `app.state`.
"""

from __future__ import annotations

from fastapi import FastAPI

from workers.connection import connect

from . import api, capture, ops, problems, review
from .config import WebConfig


def create_app(config: WebConfig) -> FastAPI:
    """The application for one config; opens no connection until the first request needs one."""
    app = FastAPI(title="kycengine", version="1", docs_url=None, redoc_url=None,
                  openapi_url="/v1/openapi.json")
    app.state.config = config
    app.state.connection = connect(config.worker.redis_url)
    app.include_router(api.router)
    app.include_router(review.router)
    capture.install(app, config)  # the customer's live capture page
    problems.install(app)  # errors as application/problem+json
    ops.install(app)  # /healthz, /readyz, /metrics, access log
    return app
