"""Serving the web application over real HTTP in tests: uvicorn on 127.0.0.1, on a free port, in a
background thread of the test process (so a burst worker run by the test shares its Redis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.workers_support import free_port
from web.app import create_app
from web.config import WebConfig
from workers.config import WorkerConfig

WEB_SECRET = "web-test-secret-0123456789abcdef"


def web_config(worker: WorkerConfig, media_root: Path, **changes: Any) -> WebConfig:
    """A WebConfig around a test's worker config: uploads under its media root, plain-HTTP cookies."""
    base = WebConfig(worker=worker, secret=WEB_SECRET, upload_root=str(media_root / "uploads"),
                     secure_cookies=False)
    return base.with_(**changes)


@contextmanager
def serve(app: FastAPI, timeout_s: float = 10.0) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL (`http://127.0.0.1:PORT`)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


@contextmanager
def serve_config(config: WebConfig) -> Iterator[str]:
    """`serve(create_app(config))`."""
    with serve(create_app(config)) as url:
        yield url
