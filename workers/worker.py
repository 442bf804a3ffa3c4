"""`kyc worker`: load the models once, then run rq workers on the delivery and verify queues.

Worker class (measured with benchmarks/throughput.py; the reasoning is in docs/workers.md). The
default, `prefork`, is a `workers.supervisor.Supervisor`: this process builds the Verifier (and
warms it up) once, freezes the heap (`gc.freeze()`), then forks `KYC_WORKER_PROCESSES` children
that each run rq's `SimpleWorker` for many jobs: no fork per job, so jobs run at in-process speed,
and the models are shared copy-on-write by all children. `fork` is rq's `Worker` (a work horse
forked per job: the same isolation, a few per cent more CPU per job, measured); `simple` is a bare
`SimpleWorker` (a crash ends it).

Whatever the class, the rq worker here (`_KycWorker`) rides out Redis outages (its client retries
until Redis is back: `workers.connection`), runs its maintenance (rq's abandoned-job recovery,
retention, review escalation) every KYC_MAINTENANCE_INTERVAL seconds even when no job arrives,
runs rq's scheduler as a `workers.scheduler.KycScheduler`, and stops without waiting for Redis.
docs/operations.md describes the behaviour an operator sees.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import tempfile
import time
import uuid
from functools import partial
from typing import Any

from redis import Redis
from rq import SimpleWorker, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.executions import WORKER_EXECUTIONS_KEY_TEMPLATE
from rq.registry import StartedJobRegistry, clean_registries
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import now

from kycengine.models.registry import Registry

from . import lifeline, metrics
from .config import WorkerConfig
from .connection import OUTAGE, TRANSIENT_ERRORS, connect, impatient
from .context import VerifierFactory, install
from .guard import GuardedJob
from .queues import delivery_queue, verify_queue
from .scheduler import KycScheduler
from .store import Store
from .verification import on_work_horse_killed

log = logging.getLogger(__name__)

STOP_PATIENCE_S = 1.0  # how long a stopping worker tries each last word (its death, its channel) in Redis
SCHEDULER_STOP_S = 5.0  # how long a stopping worker waits for its scheduler process before killing it
RQ_DEQUEUE_MARGIN_S = 15  # rq's BLPOP timeout is its worker_ttl minus this


def single_thread_registry() -> Registry:
    """The default model registry, but with onnxruntime sessions on one intra-op thread.

    Measured (docs/workers.md): an onnxruntime session built in the parent runs *slower* in a forked
    horse with its default thread pool (the pool's threads do not survive fork; the calling thread
    ends up doing the work after waiting for them) than with one thread, and one single-threaded
    worker process per core is how workers scale anyway. One thread also avoids relying on the
    pool's behaviour after fork.
    """
    return Registry.load(threads=1)


def worker_verifier_factory(backend: str = "insightface") -> Any:
    """The verifier a `kyc worker` builds once: its face backend, single-threaded model sessions."""
    import cv2

    from kycengine.pipeline import Verifier
    from kycengine.settings import Settings

    cv2.setNumThreads(1)  # one worker process per core; no thread pool to lose across fork
    return Verifier(Settings(face_backend=backend), registry=single_thread_registry())


def warm_up(verifier: Any, config: WorkerConfig) -> float | None:
    """Verify one generated sample in this (parent) process; returns the seconds it took, None if not.

    Without it every forked work horse starts from never-used models and pays the first-run costs
    (allocator arenas, lazily built tables) on every job: about 5 % more CPU per job, measured. It is
    safe to run before fork because the worker's model sessions are single-threaded. Any failure
    only costs the optimisation.
    """
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
    """Retention purge, review escalation, expired verifications and the failed-job sweep, once across
    all workers (a Redis lock)."""
    from . import identity, retention, review, sweep

    store = Store(connection, config.key_prefix)
    token = store.acquire_lock("maintenance", max(5, config.maintenance_interval_s - 1))
    if token is None:
        return {"skipped": True}
    try:
        purged = retention.purge_due(config, connection, now=now)
        escalated = review.escalate_overdue(config, connection, now=now)
        expired = identity.expire_due(config, connection, now=now)
        swept = sweep.sweep_failed_jobs(config, connection, now=now)
    finally:
        store.release_lock("maintenance", token)
    return {"purged": purged, "escalated": escalated, "expired": expired, "swept": swept}


class _KycWorker:
    """What every kyc rq worker adds to rq's: maintenance on time, outages, scheduler, stop, metrics.

    `supervisor_pid` is set in prefork children: they then leave when the supervisor is gone, obey
    its SIGTERM only once (it decides a cold stop, with SIGKILL), and ignore SIGINT, which a
    terminal sends to the whole process group.
    """

    kyc_config: WorkerConfig
    connection: Redis
    scheduler: RQScheduler | None
    last_cleaned_at: Any  # rq declares it None, then stores datetimes
    supervisor_pid: int | None = None
    stop_reason: str | None = None
    jobs_done = 0
    _reregister = False

    # ---- maintenance ---------------------------------------------------------------------------
    def run_maintenance_tasks(self) -> None:
        if self.supervisor_pid is not None and lifeline.orphaned(self.supervisor_pid):
            log.warning("worker %s: its supervisor is gone; stopping", self.name)  # type: ignore[attr-defined]
            self.stop_reason = "orphaned"
            raise StopRequested()
        super().run_maintenance_tasks()  # type: ignore[misc]
        try:
            housekeeping(self.kyc_config, self.connection)
        except StopRequested:  # rq's stop signal, raised wherever an idle worker is
            raise
        except Exception:  # maintenance must never stop the worker
            log.exception("kyc housekeeping failed")

    def clean_registries(self) -> None:
        """rq's registry cleanup (abandoned jobs back to their Retry), its per-queue lock held briefly.

        rq takes that lock for 899 s and releases it only when the cleanup ends without an error: a
        worker killed or failing mid-cleanup stopped abandoned-job recovery for 15 minutes. Here
        the lock lives one maintenance interval and is released whatever happens.
        """
        lock_s = max(5, self.kyc_config.maintenance_interval_s)
        for queue in self.queues:  # type: ignore[attr-defined]
            if not self.connection.set(queue.registry_cleaning_key, 1, nx=True, ex=lock_s):
                continue
            try:
                clean_registries(queue, self._exc_handlers)  # type: ignore[attr-defined]
                worker_registration.clean_worker_registry(queue)
                queue.intermediate_queue.cleanup(self, queue)
            finally:
                queue.release_maintenance_lock()
        self.last_cleaned_at = now()

    # ---- rq's scheduler ------------------------------------------------------------------------
    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """rq's `_start_scheduler`, with `KycScheduler` (rq names its scheduler class inline)."""
        self.scheduler = KycScheduler(
            self.queues, self.connection, redis_url=self.kyc_config.redis_url,  # type: ignore[attr-defined]
            backoff_max_s=self.kyc_config.redis_backoff_max_s, parent_pid=os.getpid(),
            logging_level=logging_level if logging_level is not None else self.log.level,  # type: ignore[attr-defined]
            date_format=date_format, log_format=log_format, serializer=self.serializer)  # type: ignore[attr-defined]
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return  # another worker's scheduler holds them; maintenance tries again each interval
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def stop_scheduler(self) -> None:
        """Stop the scheduler process; kill it if it has not left after SCHEDULER_STOP_S."""
        process = self.scheduler._process if self.scheduler else None
        if process is None or not process.pid:
            return
        try:
            os.kill(process.pid, signal.SIGTERM)
        except OSError:
            pass
        process.join(SCHEDULER_STOP_S)
        if process.is_alive():
            process.kill()
            process.join()

    # ---- outages -------------------------------------------------------------------------------
    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        OUTAGE.listeners.append(self._on_outage_change)
        super().bootstrap(*args, **kwargs)  # type: ignore[misc]

    def _on_outage_change(self, back: bool, lasted_s: float) -> None:
        self._reregister = self._reregister or back

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """rq's heartbeat; after an outage, also registers the worker again.

        Redis may have dropped the worker's key meanwhile (expired, or a restart without
        persistence), and another worker's maintenance then drops it from rq's worker sets: it
        would work on, invisible to `rq info` and `kyc worker --check`.
        """
        super().heartbeat(timeout, pipeline)  # type: ignore[misc]
        if self._reregister and pipeline is None:
            self._reregister = False
            with self.connection.pipeline() as pipe:
                pipe.hset(self.key, mapping=self.serialize())  # type: ignore[attr-defined]
                pipe.hset(self.key, "state", self.get_state())  # type: ignore[attr-defined]
                worker_registration.register(self, pipe)  # type: ignore[arg-type]
                pipe.expire(self.key, timeout or self.worker_ttl + 60)  # type: ignore[attr-defined]
                pipe.execute()

    # ---- stopping ------------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        if self.supervisor_pid is None:
            super()._install_signal_handlers()  # type: ignore[misc]
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, self._stop_once)

    def _stop_once(self, signum: int, frame: Any) -> None:
        """The supervisor's SIGTERM: finish the job in hand, take no other (rq's warm shutdown)."""
        self.stop_reason = "signal"
        try:
            self.request_stop(signum, frame)  # type: ignore[attr-defined]
        finally:  # rq would turn the next signal into a cold stop; the supervisor does that itself
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def set_shutdown_requested_date(self) -> None:
        """rq notes the stop request in Redis; during an outage that note must not hold the job."""
        with impatient(0.5):
            try:
                super().set_shutdown_requested_date()  # type: ignore[misc]
            except TRANSIENT_ERRORS:
                pass

    def teardown(self) -> None:
        """rq's teardown (scheduler stopped, death registered); during an outage, only briefly tried."""
        with impatient(STOP_PATIENCE_S):
            try:
                super().teardown()  # type: ignore[misc]
            except TRANSIENT_ERRORS as exc:
                log.warning("worker %s left without registering its death (%s); its key expires by itself",
                            self.name, exc.__class__.__name__)  # type: ignore[attr-defined]
        if self._on_outage_change in OUTAGE.listeners:
            OUTAGE.listeners.remove(self._on_outage_change)

    # ---- outcomes, for the metrics -------------------------------------------------------------
    def handle_job_success(self, job: Any, queue: Any, started_job_registry: Any, execution: Any) -> None:
        super().handle_job_success(job, queue, started_job_registry, execution)  # type: ignore[misc]
        self.jobs_done += 1
        if metrics.enabled():
            metrics.job_succeeded(job.func_name, job.return_value(refresh=True))

    def handle_job_retry(self, job: Any, queue: Any, retry: Any, started_job_registry: Any,
                         execution: Any) -> None:
        super().handle_job_retry(job, queue, retry, started_job_registry, execution)  # type: ignore[misc]
        self.jobs_done += 1
        metrics.job_retried(job.func_name)

    def handle_job_failure(self, job: Any, queue: Any, started_job_registry: Any = None, exc_string: str = "",
                           execution: Any = None) -> None:
        super().handle_job_failure(job, queue, started_job_registry, exc_string,  # type: ignore[misc]
                                   execution)
        self.jobs_done += 1
        metrics.job_failed(job.func_name)


class KycWorker(_KycWorker, Worker):
    """rq's forking Worker (a work horse per job, models inherited from the parent)."""


class KycSimpleWorker(_KycWorker, SimpleWorker):
    """rq's SimpleWorker (jobs run in the worker process itself).

    Under the prefork supervisor, `job_clock` (memory shared with the supervisor) holds the time
    after which the running job is hung: its rq timeout plus `hard_timeout_grace_s`; by then the
    supervisor has killed the process, so rq may list the job as running only a little longer.
    """

    job_clock: Any = None

    def execute_job(self, job: Any, queue: Any) -> None:
        clock = self.job_clock
        if clock is not None:
            clock.value = time.time() + self._job_timeout(job) + self.kyc_config.hard_timeout_grace_s
        try:
            super().execute_job(job, queue)
        finally:
            if clock is not None:
                clock.value = 0.0

    def _job_timeout(self, job: Any) -> float:
        return job.timeout if job.timeout and job.timeout > 0 else self.kyc_config.job_timeout_s

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        """How long rq lists the job as running before treating it as abandoned.

        rq's default is the timeout + 60 s. A supervised process is killed at the timeout + grace,
        so 10 s more suffice, and a whole worker killed (the machine) has its job re-run sooner.
        """
        if self.job_clock is None:
            return super().get_heartbeat_ttl(job, working_time)
        return int(self._job_timeout(job) + self.kyc_config.hard_timeout_grace_s) + 10


WORKER_CLASSES: dict[str, type[Worker] | type[SimpleWorker]] = {"fork": KycWorker,
                                                                 "simple": KycSimpleWorker}


def build_worker(config: WorkerConfig, connection: Redis, *, worker_class: str | None = None,
                 name: str | None = None) -> Any:
    """The rq worker listening on the delivery queue first, then the verify queue.

    rq blocks waiting for a job for its `worker_ttl` minus 15 s (405 s by default) and runs its
    maintenance only between two waits; a worker_ttl of the maintenance interval + 15 s makes an
    idle worker wake up, and run maintenance, every KYC_MAINTENANCE_INTERVAL seconds.
    """
    kind = worker_class or config.worker_class
    cls = WORKER_CLASSES["simple" if kind == "prefork" else kind]
    worker: Any = cls([config.delivery_queue, config.verify_queue], connection=connection,
                 serializer=JSONSerializer, name=name, maintenance_interval=config.maintenance_interval_s,
                 worker_ttl=config.maintenance_interval_s + RQ_DEQUEUE_MARGIN_S,
                 work_horse_killed_handler=on_work_horse_killed, job_class=GuardedJob)
    worker.kyc_config = config
    worker.log_job_description = False  # descriptions hold case ids only, but keep logs lean
    return worker


def worker_connection(config: WorkerConfig) -> Redis:
    """A worker's Redis client: patient (it waits out outages)."""
    return connect(config.redis_url, patient=True, backoff_max_s=config.redis_backoff_max_s)


def recover_worker(config: WorkerConfig, connection: Redis, worker_name: str) -> int:
    """Hand the jobs a dead worker was running to rq's abandoned-job handling, now.

    The dead worker's executions (rq keeps them in `rq:worker:<name>:executions`) are marked expired
    in the StartedJobRegistry and that registry's cleanup runs: each job is re-enqueued while its
    Retry budget lasts, else failed (and `verification.on_verify_failure` gives the case a manual_review
    verdict). Returns how many jobs it handed over.
    """
    members = [m.decode() if isinstance(m, bytes) else str(m)
               for m in connection.smembers(WORKER_EXECUTIONS_KEY_TEMPLATE.format(worker_name))]
    handed = 0
    for queue in (verify_queue(config, connection), delivery_queue(config, connection)):
        registry = StartedJobRegistry(queue=queue)  # GuardedJob: a failed job's callback is allow-listed too
        expired = [m for m in members if connection.zscore(registry.key, m) is not None]
        if expired:
            connection.zadd(registry.key, dict.fromkeys(expired, 0), xx=True)
            registry.cleanup(timestamp=0.5)  # only the entries just set to 0
            handed += len(expired)
    dead = SimpleWorker.find_by_key(SimpleWorker.redis_worker_namespace_prefix + worker_name,
                                    connection=connection, serializer=JSONSerializer)
    if dead is not None:
        dead.register_death()
    return handed


def run_worker(config: WorkerConfig, burst: bool = False, *, verifier_factory: VerifierFactory | None = None,
               worker_class: str | None = None, max_jobs: int | None = None, name: str | None = None,
               with_scheduler: bool = True, logging_level: str = "INFO",
               connection: Redis | None = None, warmup: bool | None = None,
               processes: int | None = None) -> bool:
    """Load the verifier once, then work the queues (until empty with `burst`). True if it did jobs.

    Refuses to start (ConfigError) without a webhook secret or media roots. With `warmup` (default:
    KYC_WARMUP) one generated sample is verified before the first fork. Then it waits for Redis
    (however long it takes). The scheduler (rq's, run by whichever worker holds its lock) moves
    delayed retries back onto the queues.
    """
    from .supervisor import Supervisor

    config.check_worker_ready()
    kind = worker_class or config.worker_class
    own_folder = None  # a metrics folder this call made, removed at the end
    if config.metrics_port and kind == "prefork":
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            folder = own_folder = tempfile.mkdtemp(prefix="kyc-metrics-")
        metrics.enable(folder)
    elif config.metrics_port:
        log.warning("KYC_METRICS_PORT is served by the prefork supervisor only; worker class %s has no "
                    "metrics endpoint", kind)
    started = time.perf_counter()
    verifier = (verifier_factory or partial(worker_verifier_factory, config.face_backend))()
    log.info("verifier ready in %.2f s", time.perf_counter() - started)
    if config.warmup if warmup is None else warmup:
        took = warm_up(verifier, config)
        if took is not None:
            log.info("warm-up verification took %.2f s", took)
    served = metrics.MeteredVerifier(verifier) if metrics.enabled() else verifier
    install(config, lambda: served, preload=True)
    connection = connection or worker_connection(config)
    connection.ping()  # waits for Redis, however long it is away
    gc.collect()
    gc.freeze()  # keep inherited objects out of the collector: fewer pages copied in children
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if kind == "prefork":
            supervisor = Supervisor(config, processes=processes or config.processes, burst=burst,
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
        metrics.disable()
        if own_folder is not None:
            shutil.rmtree(own_folder, ignore_errors=True)


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
    for queue in (verify_queue(config, connection), delivery_queue(config, connection)):
        registry = StartedJobRegistry(queue=queue)
        cutoff = time.time() if now is None else now
        handled += len(registry.get_expired_job_ids(cutoff))
        registry.cleanup(timestamp=cutoff)
    return handled
