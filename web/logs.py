"""Structured access logs: one JSON line per request, with no biometric data and no names.

A line holds the time, method, route template (`/v1/cases/{case_id}`, never the raw path, which
could carry a customer id), status, duration, the client's name and the case id when the route has
one. Bodies, headers, query strings and customer ids are never logged. The same middleware feeds
the request metrics of `web.ops`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("web.access")

Observer = Callable[[str, str, int, float], None]  # route, method, status, seconds


def route_of(scope: Scope) -> str:
    """The matched route's full template (`/v1/cases/{case_id}`), or `unmatched` (a path that matched
    no route is not logged as sent). A route of an included router knows only its own part of the
    template; the prefix is what the request path has before that part."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    try:
        concrete = template.format(**scope.get("path_params", {}))
    except (KeyError, IndexError, ValueError):
        return template
    path = str(scope.get("path", ""))
    return path[:len(path) - len(concrete)] + template if path.endswith(concrete) else template


class AccessLog:
    """ASGI middleware writing one JSON line per HTTP request to the `web.access` logger."""

    def __init__(self, app: ASGIApp, observe: Observer | None = None) -> None:
        self.app, self.observe = app, observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            entry: dict[str, Any] = {"at": round(time.time(), 3), "event": "http_request", "method": scope["method"],
                                     "route": route, "status": status, "duration_ms": round(seconds * 1000, 1)}
            state = scope.get("state") or {}
            if state.get("client"):
                entry["client"] = state["client"]
            case_id = (scope.get("path_params") or {}).get("case_id")
            if case_id:
                entry["case_id"] = case_id
            log.info(json.dumps(entry, sort_keys=True))
            if self.observe is not None:
                self.observe(route, scope["method"], status, seconds)


def configure() -> None:
    """Write the access log's JSON lines to stderr (`kyc serve`; uvicorn's own access log, which shows
    raw paths, stays off)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
