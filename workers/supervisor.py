"""Prefork: SimpleWorker processes forked from the model-loaded `kyc worker`, supervised.

Each child inherits the loaded (and warmed-up) models copy-on-write once, then runs many jobs at
in-process speed (no fork per job). The supervisor:

* replaces a child that dies (a segfault, the OOM killer, SIGKILL) without reloading anything,
  after handing the job it was running to rq's abandoned-job handling (`worker.recover_worker`);
  when Redis is unreachable that hand-over waits, retried, until Redis answers; a child that keeps
  dying at start is replaced after a growing pause (1 s, 2 s, ... 30 s); one that stops cleanly on
  its own (a SIGTERM sent to it alone) is replaced too, unless the supervisor runs in burst mode or
  with a job limit;
* kills a child whose job runs past its rq timeout plus `hard_timeout_grace_s` (stuck where rq's
  SIGALRM cannot reach), handled like a crash;
* on SIGTERM (or SIGINT) drains: each child finishes the job in hand and takes no other; after
  KYC_DRAIN_TIMEOUT, or at a second signal, the children left are killed and their jobs handed to
  rq (cold stop);
* makes its children die with it: they get SIGTERM from the kernel when the supervisor dies
  (`lifeline`), finish the job in hand and leave; their rq scheduler processes follow them;
* as PID 1 (a container), reaps every process re-parented to it;
* with KYC_METRICS_PORT, serves the Prometheus metrics of every worker process (`metrics`).

Its worker processes, forked from it, keep the allocator it was started with: `kyc worker` sets that
(`allocator`) by restarting itself before it loads the models, not the supervisor.

The supervisor never talks to Redis to supervise; it does for the hand-over of a dead child's job,
and the metrics endpoint does at each scrape, both with brief clients.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass
from typing import Any

from . import lifeline, metrics
from .config import WorkerConfig
from .connection import TRANSIENT_ERRORS, connect
from .worker import build_worker, recover_worker, worker_connection

log = logging.getLogger(__name__)

QUICK_DEATH_S = 10.0  # a child dying sooner than this after its start is restarted after a pause
RESTART_PAUSE_MAX_S = 30.0
POLL_S = 0.05
GROUP_GRACE_S = 3.0  # a killed child's scheduler stops within ~1 s of its parent-death signal
EXIT_WORKED, EXIT_IDLE, EXIT_BROKEN = 0, 10, 1  # a child's exit status: jobs done, none, rq's loop quit


@dataclass
class Child:
    """One forked worker process: its slot, rq worker name, hang clock and start time."""

    slot: int
    name: str
    clock: Any
    started: float


class Supervisor:
    """The prefork parent (see the module docstring)."""

    def __init__(self, config: WorkerConfig, *, processes: int, burst: bool, max_jobs: int | None,
                 with_scheduler: bool, logging_level: str, name: str) -> None:
        self.config = config
        self.processes, self.burst, self.max_jobs = processes, burst, max_jobs
        self.with_scheduler, self.logging_level, self.name = with_scheduler, logging_level, name
        self.children: dict[int, Child] = {}
        self.due: dict[int, float] = {}  # slot -> when its (re)start is due
        self.quick_deaths: dict[int, int] = {}
        self.to_recover: list[str] = []  # dead children whose running jobs go back to rq
        self.recovery_due = 0.0
        self.recovery_failures = 0
        self.generation = 0
        self.stopping = False
        self.cold = False
        self.drain_deadline = 0.0
        self.did_work = False
        self.pid = os.getpid()
        self.groups: set[int] = set()  # process groups of children killed in a cold stop
        self.redis = connect(config.redis_url, socket_timeout_s=2.0)

    # ---- children ------------------------------------------------------------------------------
    def _child(self, name: str, clock: Any) -> int:
        if not lifeline.die_with_parent(signal.SIGTERM, self.pid):
            return EXIT_IDLE
        os.setpgid(0, 0)  # a group with its scheduler: a terminal's Ctrl+C is the supervisor's to relay
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        random.seed()
        worker = build_worker(self.config, worker_connection(self.config), worker_class="simple", name=name)
        worker.job_clock = clock
        worker.supervisor_pid = self.pid
        worked = worker.work(burst=self.burst, max_jobs=self.max_jobs, with_scheduler=self.with_scheduler,
                             logging_level=self.logging_level)
        expected = (self.burst or worker.stop_reason is not None
                    or (self.max_jobs is not None and worker.jobs_done >= self.max_jobs))
        if not expected:
            log.error("worker %s: rq's loop quit on its own; the supervisor replaces this process", name)
            return EXIT_BROKEN
        return EXIT_WORKED if worked else EXIT_IDLE

    def _spawn(self, slot: int) -> None:
        self.generation += 1
        name = f"{self.name}-{slot}-{self.generation}"
        clock = multiprocessing.RawValue("d", 0.0)
        pid = os.fork()
        if pid == 0:  # child
            code = EXIT_BROKEN
            try:
                code = self._child(name, clock)
            except BaseException:  # the child must leave through os._exit, never return
                log.exception("worker %s failed", name)
            finally:
                os._exit(code)
        self.children[pid] = Child(slot, name, clock, time.monotonic())

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.stopping:
            self.cold = True  # a second signal: cold stop, in the loop
            return
        self.stopping = True
        self.drain_deadline = time.monotonic() + self.config.drain_timeout_s
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _reap(self) -> None:
        """Collect exited children (and, as PID 1, any orphan re-parented here)."""
        candidates = [-1] if self.pid == 1 else list(self.children)
        for wanted in candidates:
            while True:
                try:
                    pid, status = os.waitpid(wanted, os.WNOHANG)
                except ChildProcessError:
                    pid, status = (wanted, 0) if wanted in self.children else (0, 0)
                if not pid:
                    break
                if pid in self.children:
                    self._ended(pid, status)
                if wanted != -1:
                    break

    def _ended(self, pid: int, status: int) -> None:
        child = self.children.pop(pid)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) in (EXIT_WORKED, EXIT_IDLE):
            self.did_work |= os.WEXITSTATUS(status) == EXIT_WORKED
            if not (self.stopping or self.burst or self.max_jobs is not None):
                log.warning("worker %s stopped while the supervisor was not stopping; starting another",
                            child.name)
                self.due[child.slot] = time.monotonic()
            return  # burst done, max_jobs reached, or asked to stop
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.WEXITSTATUS(status)}")
        log.warning("worker %s died (%s); its running job goes back to rq", child.name, how)
        self.did_work = True
        self.to_recover.append(child.name)
        self.recovery_due = 0.0
        if self.stopping:
            return
        metrics.worker_restarted()
        quick = time.monotonic() - child.started < QUICK_DEATH_S
        self.quick_deaths[child.slot] = self.quick_deaths.get(child.slot, 0) + 1 if quick else 0
        pause = min(RESTART_PAUSE_MAX_S, 2.0 ** (self.quick_deaths[child.slot] - 1)) if quick else 0.0
        if pause:
            log.warning("worker slot %d: died %d time(s) right after its start; restarting in %.0f s",
                        child.slot, self.quick_deaths[child.slot], pause)
        self.due[child.slot] = time.monotonic() + pause

    def _kill_hung(self) -> None:
        now = time.time()
        for pid, child in list(self.children.items()):
            if child.clock.value and now > child.clock.value:
                log.error("worker %s: job past its timeout and grace; killing the process", child.name)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                child.clock.value = 0.0

    def _recover(self) -> None:
        """Hand dead children's jobs to rq; while Redis is unreachable, try again later."""
        if not self.to_recover or time.monotonic() < self.recovery_due:
            return
        try:
            while self.to_recover:
                handed = recover_worker(self.config, self.redis, self.to_recover[0])
                log.warning("worker %s: %d running job(s) handed to rq's retry", self.to_recover.pop(0), handed)
        except TRANSIENT_ERRORS as exc:
            self.recovery_failures += 1
            if self.recovery_failures == 1:
                log.warning("redis unreachable (%s): the jobs of %d dead worker(s) go back to rq when it answers",
                            exc.__class__.__name__, len(self.to_recover))
            pause = min(self.config.redis_backoff_max_s, 0.25 * 2 ** self.recovery_failures)
            self.recovery_due = time.monotonic() + pause * random.uniform(0.5, 1.0)
            return
        self.recovery_failures = 0

    # ---- the loop ------------------------------------------------------------------------------
    def run(self) -> bool:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        if self.config.metrics_port and metrics.enabled():
            metrics.serve(self.config, lambda: len(self.children))
        self.due = dict.fromkeys(range(self.processes), 0.0)
        killed = False
        while True:
            self._reap()
            self._kill_hung()
            now = time.monotonic()
            if self.stopping:
                self.due.clear()
                if not killed and self.children and (self.cold or now > self.drain_deadline):
                    log.warning("cold stop: killing %d worker process(es); their jobs go back to rq",
                                len(self.children))
                    for pid in self.children:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    killed = True
                    self.groups.update(self.children)
            for slot, when in list(self.due.items()):
                if now >= when:
                    del self.due[slot]
                    self._spawn(slot)
            self._recover()
            if not self.children and not self.due:
                break
            time.sleep(POLL_S)
        self.recovery_due = 0.0  # one last try
        self._recover()
        if self.to_recover:
            log.warning("redis unreachable at exit: the jobs of %s are re-run by rq's abandoned-job "
                        "handling once their registration expires", ", ".join(self.to_recover))
        self._empty_groups()
        return self.did_work

    def _empty_groups(self) -> None:
        """Leave nothing behind: the schedulers of killed children get a moment to release their
        locks (their parent-death signal), then whatever remains of those groups is killed."""
        deadline = time.monotonic() + GROUP_GRACE_S
        for group in self.groups:
            while time.monotonic() < deadline:
                try:
                    os.killpg(group, 0)
                except ProcessLookupError:
                    break
                time.sleep(POLL_S)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
