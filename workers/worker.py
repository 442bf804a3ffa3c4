"""`kyc worker`: load the models once, then run rq workers on the delivery and verify queues.

Worker class (measured with benchmarks/throughput.py; the reasoning is in docs/workers.md). The
default, `prefork`, is a `Supervisor`: this process builds the Verifier (and warms it up) once,
freezes the heap (`gc.freeze()`), then forks `KYC_WORKER_PROCESSES` children that each run rq's
`SimpleWorker` for many jobs: no fork per job, so jobs run at in-process speed, and the models are
shared copy-on-write by all children. When a child dies (a segfault in native code, the OOM
killer, SIGKILL) or is killed because its job hangs past its timeout where SIGALRM cannot reach, the
supervisor hands its job to rq's abandoned-job handling at once and forks a replacement (no model
reload). `fork` is rq's `Worker` (a work horse forked per job: the same isolation, a few per cent
more CPU per job, measured); `simple` is a bare `SimpleWorker` (a crash ends it).

The workers' periodic maintenance (every KYC_MAINTENANCE_INTERVAL seconds, one worker at a time)
also deletes expired media (retention) and escalates overdue manual reviews.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import random
import signal
import time
import uuid
from typing import Any

from redis import Redis
from rq import SimpleWorker, Worker
from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from kycengine.models.registry import Registry

from .config import WorkerConfig
from .context import VerifierFactory, install
from .guard import GuardedJob
from .store import Store
from .verification import on_work_horse_killed

log = logging.getLogger(__name__)


def single_thread_registry() -> Registry:
    """The default model registry, but with onnxruntime sessions on one intra-op thread.

    Measured (docs/workers.md): an onnxruntime session built in the parent runs *slower* in a forked
    horse with its default thread pool (the pool's threads do not survive fork; the calling thread
    ends up doing the work after waiting for them) than with one thread, and one single-threaded
    worker process per core is how workers scale anyway. One thread also avoids relying on the
    pool's behaviour after fork.
    """
    return Registry.load(threads=1)


def worker_verifier_factory() -> Any:
    """The verifier a `kyc worker` builds once: production settings, single-threaded model sessions."""
    import cv2

    from kycengine.pipeline import Verifier
    from kycengine.settings import Settings

    cv2.setNumThreads(1)  # one worker process per core; no thread pool to lose across fork
    return Verifier(Settings(), registry=single_thread_registry())


def warm_up(verifier: Any, config: WorkerConfig) -> float | None:
    """Verify one generated sample in this (parent) process; returns the seconds it took, None if not.

    Without it every forked work horse starts from never-used models and pays the first-run costs
    (allocator arenas, lazily built tables) on every job: about 5 % more CPU per job, measured. It is
    safe to run before fork because the worker's model sessions are single-threaded. Any failure
    only costs the optimisation.
    """
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kyc-warmup-", dir=config.tmp_dir) as folder:
        try:
            from kycengine.synth import make_sample

            make_sample(folder, seed=0, size=(320, 240), fps=10)
            document, selfie = f"{folder}/document.mp4", f"{folder}/selfie.mp4"
            verifier.verify(document, selfie, case_id="warmup", attempt=1)
        except Exception as exc:  # the generator or the engine is not usable here: skip, do not fail
            log.warning("warm-up skipped: %s: %s", exc.__class__.__name__, exc)
            return None
    return time.perf_counter() - started


def housekeeping(config: WorkerConfig, connection: Redis, now: float | None = None) -> dict[str, Any]:
    """Retention purge and review escalation, once across all workers (a Redis lock)."""
    from . import retention, review, sweep

    store = Store(connection, config.key_prefix)
    token = store.acquire_lock("maintenance", max(5, config.maintenance_interval_s - 1))
    if token is None:
        return {"skipped": True}
    try:
        purged = retention.purge_due(config, connection, now=now)
        escalated = review.escalate_overdue(config, connection, now=now)
        swept = sweep.sweep_failed_jobs(config, connection, now=now)
    finally:
        store.release_lock("maintenance", token)
    return {"purged": purged, "escalated": escalated, "swept": swept}


class _Housekeeping:
    """Adds the kyc housekeeping to rq's periodic maintenance (registry cleanup)."""

    kyc_config: WorkerConfig
    connection: Redis

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[misc]
        try:
            housekeeping(self.kyc_config, self.connection)
        except Exception:  # maintenance must never stop the worker
            log.exception("kyc housekeeping failed")


class KycWorker(_Housekeeping, Worker):
    """rq's forking Worker (a work horse per job, models inherited from the parent)."""


class KycSimpleWorker(_Housekeeping, SimpleWorker):
    """rq's SimpleWorker (jobs run in the worker process itself).

    Under the prefork supervisor, `job_clock` (memory shared with the supervisor) holds the time
    after which the running job is hung: its rq timeout plus `hard_timeout_grace_s`.
    """

    job_clock: Any = None

    def execute_job(self, job: Any, queue: Any) -> None:
        clock = self.job_clock
        if clock is not None:
            timeout = job.timeout if job.timeout and job.timeout > 0 else self.kyc_config.job_timeout_s
            clock.value = time.time() + timeout + self.kyc_config.hard_timeout_grace_s
        try:
            super().execute_job(job, queue)
        finally:
            if clock is not None:
                clock.value = 0.0


WORKER_CLASSES: dict[str, type[Worker] | type[SimpleWorker]] = {"fork": KycWorker,
                                                                 "simple": KycSimpleWorker}


def build_worker(config: WorkerConfig, connection: Redis, *, worker_class: str | None = None,
                 name: str | None = None) -> Any:
    """The rq worker listening on the delivery queue first, then the verify queue."""
    kind = worker_class or config.worker_class
    cls = WORKER_CLASSES["simple" if kind == "prefork" else kind]
    worker = cls([config.delivery_queue, config.verify_queue], connection=connection,
                 serializer=JSONSerializer, name=name, maintenance_interval=config.maintenance_interval_s,
                 work_horse_killed_handler=on_work_horse_killed, job_class=GuardedJob)
    worker.kyc_config = config
    worker.log_job_description = False  # descriptions hold case ids only, but keep logs lean
    return worker


def recover_worker(config: WorkerConfig, connection: Redis, worker_name: str) -> int:
    """Hand the jobs a dead worker was running to rq's abandoned-job handling, now.

    The dead worker's executions (rq keeps them in `rq:worker:<name>:executions`) are marked expired
    in the StartedJobRegistry and that registry's cleanup runs: each job is re-enqueued while its
    Retry budget lasts, else failed (and `verification.on_verify_failure` gives the case a manual_review
    verdict). Returns how many jobs it handed over.
    """
    members = list(connection.smembers(WORKER_EXECUTIONS_KEY_TEMPLATE.format(worker_name)))
    handed = 0
    for name in (config.verify_queue, config.delivery_queue):
        registry = StartedJobRegistry(queue=Queue(name, connection=connection, serializer=JSONSerializer))
        expired = [m for m in members if connection.zscore(registry.key, m) is not None]
        if expired:
            connection.zadd(registry.key, {m: 0 for m in expired}, xx=True)
            registry.cleanup(timestamp=0.5)  # only the entries just set to 0
            handed += len(expired)
    dead = SimpleWorker.find_by_key(SimpleWorker.redis_worker_namespace_prefix + worker_name,
                                    connection=connection, serializer=JSONSerializer)
    if dead is not None:
        dead.register_death()
    return handed


class Supervisor:
    """Prefork: SimpleWorker processes forked from this model-loaded process, restarted when they die.

    Each child inherits the loaded (and warmed-up) models copy-on-write once, then runs many jobs
    at in-process speed (no fork per job). When a child dies (a segfault, the OOM killer, SIGKILL),
    the supervisor hands its running job to rq's abandoned-job handling at once (`recover_worker`)
    and forks a replacement, which needs no model loading. A child whose job runs past its rq
    timeout plus `hard_timeout_grace_s` (stuck where SIGALRM cannot reach it) is killed the same way.
    """

    def __init__(self, config: WorkerConfig, connection: Redis, *, processes: int, burst: bool,
                 max_jobs: int | None, with_scheduler: bool, logging_level: str, name: str) -> None:
        self.config, self.connection = config, connection
        self.processes, self.burst, self.max_jobs = processes, burst, max_jobs
        self.with_scheduler, self.logging_level, self.name = with_scheduler, logging_level, name
        self.children: dict[int, tuple[int, str, Any]] = {}
        self.generation = 0
        self.stopping = False
        self.did_work = False

    def _child(self, name: str, clock: Any) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        random.seed()
        worker = build_worker(self.config, Redis.from_url(self.config.redis_url), worker_class="simple",
                              name=name)
        worker.job_clock = clock
        worked = worker.work(burst=self.burst, max_jobs=self.max_jobs, with_scheduler=self.with_scheduler,
                             logging_level=self.logging_level)
        return 0 if worked else 10

    def _spawn(self, slot: int) -> None:
        self.generation += 1
        name = f"{self.name}-{slot}-{self.generation}"
        clock = multiprocessing.RawValue("d", 0.0)
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                code = self._child(name, clock)
            except BaseException:  # the child must leave through os._exit, never return
                log.exception("worker %s failed", name)
            finally:
                os._exit(code)
        self.children[pid] = (slot, name, clock)

    def _on_signal(self, signum: int, frame: Any) -> None:
        sig = signal.SIGTERM if not self.stopping else signal.SIGKILL  # a second signal: cold stop
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def run(self) -> bool:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        for slot in range(self.processes):
            self._spawn(slot)
        while self.children:
            reaped = False
            for pid in list(self.children):
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, status = pid, 0
                if not done:
                    continue
                reaped = True
                slot, name, _ = self.children.pop(pid)
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) in (0, 10):
                    self.did_work |= os.WEXITSTATUS(status) == 0
                    continue  # burst done, max_jobs reached, or asked to stop
                how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                       else f"exit status {os.WEXITSTATUS(status)}")
                handed = recover_worker(self.config, self.connection, name)
                log.warning("worker %s died (%s); %d running job(s) handed to rq's retry", name, how, handed)
                self.did_work = True
                if not self.stopping:
                    self._spawn(slot)
            now = time.time()
            for pid, (_, name, clock) in list(self.children.items()):
                if clock.value and now > clock.value:
                    log.error("worker %s: job past its timeout and grace; killing the process", name)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    clock.value = 0.0
            if not reaped:
                time.sleep(0.05)
        return self.did_work


def run_worker(config: WorkerConfig, burst: bool = False, *, verifier_factory: VerifierFactory | None = None,
               worker_class: str | None = None, max_jobs: int | None = None, name: str | None = None,
               with_scheduler: bool = True, logging_level: str = "INFO",
               connection: Redis | None = None, warmup: bool | None = None,
               processes: int | None = None) -> bool:
    """Load the verifier once, then work the queues (until empty with `burst`). True if it did jobs.

    Refuses to start (ConfigError) without a webhook secret or media roots. With `warmup` (default:
    KYC_WARMUP) one generated sample is verified before the first fork. The scheduler (rq's, run
    by whichever worker holds its lock) moves delayed retries back onto the queues.
    """
    config.check_worker_ready()
    connection = connection or Redis.from_url(config.redis_url)
    connection.ping()
    started = time.perf_counter()
    context = install(config, verifier_factory or worker_verifier_factory, preload=True)
    log.info("verifier ready in %.2f s", time.perf_counter() - started)
    if config.warmup if warmup is None else warmup:
        took = warm_up(context.verifier, config)
        if took is not None:
            log.info("warm-up verification took %.2f s", took)
    gc.collect()
    gc.freeze()  # keep inherited objects out of the collector: fewer pages copied in children
    kind = worker_class or config.worker_class
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if kind == "prefork":
            supervisor = Supervisor(config, connection, processes=processes or config.processes, burst=burst,
                                    max_jobs=max_jobs, with_scheduler=with_scheduler,
                                    logging_level=logging_level, name=name or uuid.uuid4().hex[:12])
            return supervisor.run()
        worker = build_worker(config, connection, worker_class=kind, name=name)
        return bool(worker.work(burst=burst, max_jobs=max_jobs, with_scheduler=with_scheduler,
                                logging_level=logging_level))
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        gc.unfreeze()


def recover_abandoned(config: WorkerConfig, connection: Redis, *, now: float | None = None) -> int:
    """Run rq's abandoned-job handling on the kyc queues now; returns how many jobs it handled.

    rq lists a running job in the queue's StartedJobRegistry with an expiry that the worker (or, for a
    forking worker, its parent while the horse runs) keeps pushing forward. When a worker dies with
    SIGKILL the expiry stops moving; once it has passed, rq's registry cleanup re-enqueues the job
    (its Retry budget) or fails it (then `verification.on_verify_failure` gives the case a manual_review
    verdict). Every worker runs that cleanup on start and every maintenance interval; this function
    runs it on demand, with `now` in the future to treat every listed job as abandoned (only safe
    when no live worker is running one of them).
    """
    handled = 0
    for name in (config.verify_queue, config.delivery_queue):
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        registry = StartedJobRegistry(queue=queue)
        cutoff = time.time() if now is None else now
        handled += len(registry.get_expired_job_ids(cutoff))
        registry.cleanup(timestamp=cutoff)
    return handled
