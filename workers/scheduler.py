"""rq's scheduler process, made to ride out Redis outages and to die with its worker.

rq runs one scheduler per set of queues (whichever worker holds the queues' scheduler locks): a
process forked from that worker which, every second, moves due jobs from the ScheduledJobRegistry
back onto their queues: delayed retries of verifications and webhook deliveries. rq's own loop ends
on the first Redis error (the worker restarts it at its next maintenance, minutes later) and keeps
running, locks held, when its worker is killed. `KycScheduler` keeps rq's loop and adds: a patient
Redis client of its own (any URL `workers.connection` accepts; rq would rebuild the worker's
connection pool, which a Sentinel pool does not survive), a pass that fails is logged and the next
one runs a second later, the parent-death signal, and a stop that does not wait for Redis.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any, cast

from redis import Redis
from rq.scheduler import RQScheduler

from . import lifeline, metrics
from .connection import TRANSIENT_ERRORS, connect, impatient, set_patience

log = logging.getLogger(__name__)

STOP_PATIENCE_S = 1.0  # how long a stopping scheduler tries each Redis call (its locks expire anyway)


class KycScheduler(RQScheduler):
    """rq's RQScheduler with a patient connection, a loop that survives errors, and a lifeline."""

    def __init__(self, queues: Any, connection: Redis, *, redis_url: str, backoff_max_s: float,
                 parent_pid: int, **kwargs: Any) -> None:
        super().__init__(queues, connection=connection, **kwargs)
        self.redis_url, self.backoff_max_s, self.parent_pid = redis_url, backoff_max_s, parent_pid

    @property
    def connection(self) -> Redis:
        if self._connection is None:  # rq resets it before forking the scheduler process
            self._connection = connect(  # type: ignore[assignment]  # rq declares it None only
                self.redis_url, patient=True, backoff_max_s=self.backoff_max_s)
        return cast(Redis, self._connection)

    def request_stop(self, signum: Any = None, frame: Any = None) -> None:
        """SIGTERM/SIGINT: finish this pass; Redis calls waiting for an outage give up soon."""
        self._stop_requested = True
        set_patience(STOP_PATIENCE_S)

    def work(self) -> None:
        if not lifeline.die_with_parent(signal.SIGTERM, self.parent_pid):
            return
        metrics.disable()  # counters are the workers'; this process only moves jobs
        self._install_signal_handlers()
        self.register_birth()
        while not self._stop_requested:
            if lifeline.orphaned(self.parent_pid):
                log.warning("scheduler: its worker is gone; stopping")
                break
            try:
                if self.should_reacquire_locks:
                    self.acquire_locks()
                self.heartbeat()
                self.enqueue_scheduled_jobs()
            except Exception:  # the next pass, a second later, tries again
                if self._stop_requested:
                    break
                log.exception("scheduler pass failed")
            time.sleep(self.interval)
        with impatient(STOP_PATIENCE_S):
            try:
                self.stop()
            except TRANSIENT_ERRORS as exc:
                log.warning("scheduler stopped without releasing its locks (%s); they expire by themselves",
                            exc.__class__.__name__)
