"""Prometheus metrics of the workers (prometheus-client in multiprocess mode), off unless enabled.

`enable(folder)` is called by a prefork supervisor before it forks (KYC_METRICS_PORT set): every
worker process then writes its counters and histograms to its own file in `folder`, and the
supervisor's HTTP endpoint (`serve`) adds them up at each scrape, with the backlogs read from
Redis at that moment. Until `enable`, every recording function here does nothing and
prometheus_client is not even imported. Every metric is described in docs/operations.md.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .config import WorkerConfig

log = logging.getLogger(__name__)

STAGES = ("decode", "document", "face_track", "face", "liveness", "total")
OUTCOMES = ("approved", "refused", "retry_required", "manual_review", "failed", "rejected", "duplicate",
            "error")
DELIVERY_RESULTS = ("delivered", "not_acknowledged", "gave_up")
# seconds; one verification is 1-3 s on a 2-core machine, a stage 0.1-1 s, a slow one up to the timeout
STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0, 300.0)


class _Metrics:
    """The metric objects of one enabled process tree."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.jobs = Counter("kyc_jobs", "Verification jobs run, by outcome", ["outcome"])
        self.stages = Histogram("kyc_stage_seconds", "Time of each verification stage (the verdict's "
                                "timings_ms)", ["stage"], buckets=STAGE_BUCKETS)
        self.deliveries = Counter("kyc_delivery_tries", "Webhook POSTs, by result", ["result"])
        self.reconnects = Counter("kyc_redis_reconnects", "Redis outages ridden out (Redis back after "
                                  "being unreachable), per process, summed")
        self.restarts = Counter("kyc_worker_restarts", "Worker processes that died and were replaced")


_METRICS: _Metrics | None = None


def enable(folder: str) -> None:
    """Record metrics from now on, in this process and the ones it forks, in `folder` (created if
    needed; metric files of an earlier run are removed, as prometheus_client requires)."""
    global _METRICS
    if "prometheus_client" in sys.modules and os.environ.get("PROMETHEUS_MULTIPROC_DIR") != folder:
        raise RuntimeError("prometheus_client was imported before multiprocess mode was set up")
    os.makedirs(folder, exist_ok=True)
    for old in glob.glob(os.path.join(folder, "*.db")):
        os.unlink(old)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # read by prometheus_client at import
    _METRICS = _Metrics()
    from .connection import OUTAGE

    OUTAGE.listeners.append(_on_outage_change)


def disable() -> None:
    """Stop recording in this process (a helper process whose counts belong to no one)."""
    global _METRICS
    _METRICS = None


def enabled() -> bool:
    return _METRICS is not None


def _on_outage_change(back: bool, lasted_s: float) -> None:
    if back and _METRICS is not None:
        _METRICS.reconnects.inc()


def verify_outcome(result: Any) -> str:
    """The `kyc_jobs` outcome of a `verify_job` result (its summary dict)."""
    if not isinstance(result, dict):
        return "error"
    if result.get("duplicate"):
        return "duplicate"
    status = str(result.get("status"))
    if status == "failed":  # a request without a usable case attempt is kept as rejected
        return "rejected" if result.get("attempt") is None else "failed"
    return status if status in OUTCOMES else "error"


def job_succeeded(func_name: str | None, result: Any) -> None:
    """A job returned `result`: count a verification outcome or a webhook POST."""
    if _METRICS is None or not func_name:
        return
    if func_name.endswith(".verify_job"):
        _METRICS.jobs.labels(verify_outcome(result)).inc()
    elif func_name.endswith(".deliver_job") and isinstance(result, dict) and not result.get("duplicate"):
        if result.get("state") in ("delivered", "gave_up"):
            _METRICS.deliveries.labels(result["state"]).inc()


def job_retried(func_name: str | None) -> None:
    """A job returned rq's Retry: for a delivery, a POST that was not acknowledged."""
    if _METRICS is not None and func_name and func_name.endswith(".deliver_job"):
        _METRICS.deliveries.labels("not_acknowledged").inc()


def job_failed(func_name: str | None) -> None:
    """A verification job raised (rq re-runs it while its Retry budget lasts)."""
    if _METRICS is not None and func_name and func_name.endswith(".verify_job"):
        _METRICS.jobs.labels("error").inc()


def worker_restarted() -> None:
    if _METRICS is not None:
        _METRICS.restarts.inc()


class MeteredVerifier:
    """A verifier whose verdicts' stage timings go into `kyc_stage_seconds`."""

    def __init__(self, verifier: Any) -> None:
        self.verifier = verifier

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        verdict = self.verifier.verify(*args, **kwargs)
        observe_stages(getattr(verdict, "timings_ms", None) or {})
        return verdict


def observe_stages(timings_ms: Mapping[str, float]) -> None:
    if _METRICS is None:
        return
    for stage in STAGES:
        if stage in timings_ms:
            _METRICS.stages.labels(stage).observe(float(timings_ms[stage]) / 1000.0)


class StateCollector:
    """Gauges read at scrape time: queue and review backlogs from Redis, this supervisor's processes."""

    def __init__(self, config: WorkerConfig, processes: Callable[[], int]) -> None:
        from .connection import connect

        self.config, self.processes = config, processes
        self.redis = connect(config.redis_url, socket_timeout_s=2.0)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from .connection import TRANSIENT_ERRORS

        up = GaugeMetricFamily("kyc_redis_up", "1 when Redis answered this scrape")
        workers = GaugeMetricFamily("kyc_worker_processes", "Worker processes this supervisor runs now")
        workers.add_metric([], self.processes())
        try:
            families = list(self._backlogs())
        except TRANSIENT_ERRORS as exc:
            log.debug("metrics: redis unreachable: %s", exc)
            up.add_metric([], 0)
            yield from (up, workers)
            return
        up.add_metric([], 1)
        yield from (up, workers, *families)

    def _backlogs(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        from rq import Queue

        from .store import Store

        jobs = GaugeMetricFamily("kyc_queue_jobs", "Jobs of the kyc queues by state: queued (waiting for a "
                                 "worker), scheduled (waiting for a retry time), running",
                                 labels=["queue", "state"])
        for kind, name in (("verify", self.config.verify_queue), ("delivery", self.config.delivery_queue)):
            queue = Queue(name, connection=self.redis)
            jobs.add_metric([kind, "queued"], queue.count)
            for state, registry in (("scheduled", queue.scheduled_job_registry),
                                    ("running", queue.started_job_registry)):
                jobs.add_metric([kind, state], registry.get_job_count(cleanup=False))
        waiting, late, earliest = Store(self.redis, self.config.key_prefix).review_backlog(time.time())
        review = GaugeMetricFamily("kyc_review_backlog", "Cases waiting for a reviewer's decision")
        review.add_metric([], waiting)
        overdue = GaugeMetricFamily("kyc_review_overdue", "Waiting cases past their review deadline")
        overdue.add_metric([], late)
        oldest = GaugeMetricFamily("kyc_review_oldest_deadline_timestamp_seconds",
                                   "Review deadline (unix time) of the longest-waiting case; absent when none")
        if earliest is not None:
            oldest.add_metric([], earliest)
        yield from (jobs, review, overdue, oldest)


def serve(config: WorkerConfig, processes: Callable[[], int]) -> None:
    """The metrics endpoint (a thread of this process): every worker's files plus `StateCollector`."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    if config.metrics_port is None:
        raise ValueError("KYC_METRICS_PORT is not set")

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(StateCollector(config, processes))
    start_http_server(config.metrics_port, addr=config.metrics_addr, registry=registry)
    log.info("metrics on http://%s:%d/metrics", config.metrics_addr, config.metrics_port)
