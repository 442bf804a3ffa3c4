"""The application's shared state, typed: its settings and its Redis connection (set by `web.app`)."""

from __future__ import annotations

from fastapi import Request
from redis import Redis

from .config import WebConfig


def config_of(request: Request) -> WebConfig:
    config: WebConfig = request.app.state.config
    return config


def connection_of(request: Request) -> Redis:
    connection: Redis = request.app.state.connection
    return connection
