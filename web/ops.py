"""Operations endpoints: `/healthz`, `/readyz` and `/metrics` (Prometheus text format).

* `/healthz`: the process answers (no dependency is touched).
* `/readyz`: Redis answers PING and every model the workers need for the configured face backend
  resolves to a file matching its sha256 (`kycengine.models.registry`; checksums are cached per file
  version, so after the first call this is a few `stat`s); 503 with the reason otherwise.
* `/metrics`: the queue and review backlogs read from Redis at scrape time (`workers.metrics`'
  collector: `kyc_queue_jobs`, `kyc_review_backlog`, `kyc_review_overdue`,
  `kyc_review_oldest_deadline_timestamp_seconds`, `kyc_redis_up`), the cases submitted through the
  API by status (`kyc_cases`), this process's requests (`kyc_api_requests`, `kyc_api_request_seconds`),
  and, with KYC_WEB_WORKER_METRICS_DIR naming the workers' metrics folder on this host, their stage
  durations and jobs by outcome (`kyc_stage_seconds`, `kyc_jobs`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from redis import Redis

from kycengine.models.registry import default_registry
from workers.config import FACE_BACKENDS, WorkerConfig
from workers.connection import TRANSIENT_ERRORS, connect
from workers.metrics import StateCollector
from workers.store import Store

from .api.ownership import Ownership
from .config import WebConfig
from .logs import AccessLog

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
CASES_CACHE_S = 15.0  # the case count reads every API case: at most once per this many seconds
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def model_problems(config: WorkerConfig) -> list[str]:
    """What keeps the workers' models from loading: one line per missing or altered required model."""
    others = set(FACE_BACKENDS) - {config.face_backend}
    return [f"{row.id}: {row.problem}" for row in default_registry().status()
            if not row.optional and row.backend not in others and not row.verified]


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Redis reachable and models verified: 200; else 503 with the reasons."""
    config: WebConfig = request.app.state.config
    reasons = []
    try:
        connect(config.worker.redis_url, socket_timeout_s=2.0).ping()
    except TRANSIENT_ERRORS as exc:
        reasons.append(f"redis unreachable: {exc.__class__.__name__}")
    reasons += model_problems(config.worker)
    if reasons:
        return JSONResponse({"status": "not_ready", "reasons": reasons}, status_code=503)
    return JSONResponse({"status": "ready", "reasons": []})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class _Backlogs:
    """`workers.metrics.StateCollector` without its supervisor-only process gauge."""

    def __init__(self, config: WorkerConfig) -> None:
        self.state = StateCollector(config, lambda: 0)

    def collect(self) -> Iterator[Any]:
        yield from (family for family in self.state.collect() if family.name != "kyc_worker_processes")


class _Cases:
    """`kyc_cases{status}`: the latest attempt's effective status of each case submitted through the API
    (`queued` while no worker has answered), recounted at most every CASES_CACHE_S seconds."""

    def __init__(self, config: WorkerConfig, connection: Redis) -> None:
        self.config, self.connection = config, connection
        self.lock = threading.Lock()
        self.counted: tuple[float, Tally[str]] | None = None

    def _count(self) -> Tally[str]:
        store = Store(self.connection, self.config.key_prefix)
        owners = Ownership(self.connection, self.config.key_prefix)
        tally: Tally[str] = Tally()
        for case_id in owners.cases():
            submitted = owners.attempts(case_id)
            if submitted:
                tally[store.outcome(case_id, max(submitted)) or "queued"] += 1
        return tally

    def collect(self) -> Iterator[Any]:
        with self.lock:
            now = time.monotonic()
            if self.counted is None or now - self.counted[0] > CASES_CACHE_S:
                try:
                    self.counted = (now, self._count())
                except TRANSIENT_ERRORS as exc:
                    log.debug("metrics: redis unreachable: %s", exc)
                    return
            tally = self.counted[1]
        family = GaugeMetricFamily("kyc_cases", "Cases submitted through the API, by their latest attempt's "
                                   "status (queued, approved, refused, retry_required, manual_review, failed)",
                                   labels=["status"])
        for status, count in sorted(tally.items()):
            family.add_metric([status], count)
        yield family


class AppMetrics:
    """The application's own registry: its request metrics plus the collectors read at scrape time."""

    def __init__(self, config: WebConfig, connection: Redis) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("kyc_api_requests", "HTTP requests answered, by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.seconds = Histogram("kyc_api_request_seconds", "Time to answer an HTTP request, by route",
                                 ["route"], buckets=REQUEST_BUCKETS, registry=self.registry)
        self.registry.register(_Backlogs(config.worker))
        self.registry.register(_Cases(config.worker, connection))
        if config.worker_metrics_dir:
            from prometheus_client.multiprocess import MultiProcessCollector

            MultiProcessCollector(self.registry, path=config.worker_metrics_dir)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.seconds.labels(route).observe(seconds)


def install(app: FastAPI) -> None:
    """Add the operations endpoints, the request metrics and the access log to `app`."""
    app.state.metrics = AppMetrics(app.state.config, app.state.connection)
    app.include_router(router)
    app.add_middleware(AccessLog, observe=app.state.metrics.observe)
