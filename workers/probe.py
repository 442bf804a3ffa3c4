"""`kyc worker --check`: is this host's worker ready? For liveness/readiness probes and monitoring.

Ready means both:

1. Redis answers PING (2 s per try, three quick retries);
2. at least `min_workers` rq workers registered from this host (the worker hash's `hostname` is
   this machine's `socket.gethostname()`) listen on the kyc verify queue, have not registered
   their death, and are within the lifetime their last heartbeat gave them. rq sets the worker
   key's expiry at each heartbeat and Redis deletes it when the time is up: an idle kyc worker
   renews it every KYC_MAINTENANCE_INTERVAL seconds for the interval + 75 s, a busy prefork worker
   promised its job's timeout + KYC_HARD_TIMEOUT_GRACE + 10 s. A worker that hangs or died without
   a word therefore drops out of the count within one of those lifetimes.

Read-only: the probe changes nothing in Redis.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from redis import Redis
from rq.worker_registration import get_keys

from kycengine.records import Record

from .config import WorkerConfig
from .connection import TRANSIENT_ERRORS, connect


@dataclass(frozen=True)
class ProbeResult(Record):
    """The probe's answer: `ok`, a one-line `message`, and the live workers it found."""

    ok: bool
    message: str
    host: str
    workers: tuple[str, ...] = ()


def check(config: WorkerConfig, *, min_workers: int = 1, host: str | None = None,
          connection: Redis | None = None) -> ProbeResult:
    """Probe Redis and this host's workers (see the module docstring)."""
    host = host or socket.gethostname()
    redis = connection or connect(config.redis_url, socket_timeout_s=2.0)
    try:
        redis.ping()
        live = _live_workers(redis, config, host)
    except TRANSIENT_ERRORS as exc:
        return ProbeResult(False, f"redis unreachable: {exc.__class__.__name__}: {exc}", host)
    if len(live) < min_workers:
        return ProbeResult(False, f"{len(live)} live worker(s) of host {host} on queue {config.verify_queue} "
                                  f"(need {min_workers})", host, live)
    return ProbeResult(True, f"ok: redis answers, {len(live)} live worker(s) of host {host}", host, live)


def _live_workers(redis: Redis, config: WorkerConfig, host: str) -> tuple[str, ...]:
    from rq import Queue

    live = []
    keys = get_keys(queue=Queue(config.verify_queue, connection=redis), connection=redis)
    for key in sorted(k.decode() if isinstance(k, bytes) else k for k in keys):
        with redis.pipeline() as pipe:
            pipe.hmget(key, "hostname", "death")
            pipe.exists(key)
            (hostname, death), exists = pipe.execute()
        if exists and death is None and hostname is not None and hostname.decode() == host:
            live.append(key.removeprefix("rq:worker:"))
    return tuple(live)
