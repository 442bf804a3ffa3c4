"""Worker faults, tested as an operator meets them: `kyc worker` processes (prefork, 2 processes, the
scripted verifier of tests/fault_verifier.py instead of the models), a redis-server of the test's own
with an append-only file, and a webhook receiver that checks every signature.

Faults: Redis stopped 10 s and 60 s while jobs run and wait; a whole worker SIGKILLed mid-job
(another worker re-runs the job within job timeout + grace + maintenance interval); a worker
process SIGKILLed (its rq scheduler must not outlive it) and the supervisor SIGKILLed (its children
finish the job in hand, take no other, and leave); SIGTERM (drain) and a second SIGTERM (cold stop).
Then the pieces that make this work: the connection factory (patient and brief clients, Sentinel,
TLS), the outage log, the probe and the config.

What each fault measured is printed at the end of this module's tests ("worker faults: measured").
Intervals are short (maintenance every 2 s, webhook retries after 2 s) to keep the run short.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer

from tests.conftest import measured
from tests.fault_env import Receiver, RedisServer, WorkerProcess, alive, children, descendants, free_port, wait_for
from tests.workers_support import CONSENT
from workers import connection as conn
from workers.config import ConfigError, WorkerConfig
from workers.enqueue import submit
from workers.probe import check
from workers.store import Store

SECRET = "fault-secret-0123456789abcdef"
STATUSES = ("approved", "refused", "retry_required", "manual_review")
MEASURED: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def measurements(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """What the tests measured, printed in the run's summary (visible in `make test`'s output)."""
    yield MEASURED
    if MEASURED:
        measured(request.config, "worker faults: measured", dict(MEASURED))


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis-aof")).start()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.kill()


class Faults:
    """One test's private queues, keys, media folder, receiver and worker processes."""

    def __init__(self, server: RedisServer, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.token = f"f{uuid.uuid4().hex[:8]}"
        self.media = tmp / "media"
        self.media.mkdir()
        self.runlog = tmp / "runs.jsonl"
        self.receiver = Receiver(SECRET)
        self.workers: list[WorkerProcess] = []
        self.env = {"KYC_REDIS_URL": server.url, "KYC_KEY_PREFIX": f"kycfault:{self.token}:",
                    "KYC_VERIFY_QUEUE": f"{self.token}-verify", "KYC_DELIVERY_QUEUE": f"{self.token}-deliver",
                    "KYC_MEDIA_ROOTS": str(self.media), "KYC_WEBHOOK_SECRET": SECRET, "KYC_WARMUP": "0",
                    "KYC_WORKER_PROCESSES": "2", "KYC_MAINTENANCE_INTERVAL": "2", "KYC_DELIVERY_BACKOFF": "2",
                    "KYC_JOB_TIMEOUT": "120", "KYC_HARD_TIMEOUT_GRACE": "2", "KYC_JOB_RETRY_BACKOFF": "0",
                    "KYC_REDIS_BACKOFF_MAX": "1", "KYC_LOG_LEVEL": "INFO",
                    "KYC_CALLBACK_ALLOW_NETWORKS": "127.0.0.1/32"}  # the receiver listens on loopback

    @property
    def config(self) -> WorkerConfig:
        return WorkerConfig.from_env(self.env)

    @property
    def redis(self) -> Redis:
        return Redis.from_url(self.server.url)

    def cid(self, name: str) -> str:
        return f"{self.token}-{name}"

    def start_worker(self, *args: str, **env: str) -> WorkerProcess:
        worker = WorkerProcess({**self.env, **env}, self.tmp / f"worker{len(self.workers)}.log", *args)
        self.workers.append(worker)
        return worker

    def wait_workers(self, count: int, timeout: float = 30) -> None:
        wait_for(lambda: check(self.config, min_workers=count).ok, timeout, f"{count} live workers")

    def submit(self, name: str, status: str = "approved", **script: Any) -> str:
        document, selfie = self.media / f"{name}.mp4", self.media / f"{name}-selfie.mp4"
        document.write_text(json.dumps({"status": status, "runlog": str(self.runlog), **script}))
        selfie.write_bytes(b"selfie")  # each case its own media: a case may not name another's
        return submit({"case_id": self.cid(name), "attempt": 1, "document_video": str(document),
                       "selfie_video": str(selfie), "callback_url": self.receiver.url,
                       "customer_id": self.cid(name), "consent": CONSENT},
                      self.config, connection=self.redis)

    def runs(self, name: str, event: str = "start") -> list[dict[str, Any]]:
        if not self.runlog.exists():
            return []
        lines = [json.loads(line) for line in self.runlog.read_text().splitlines() if line]
        return [r for r in lines if r["case"] == self.cid(name) and r["event"] == event]

    def delivered(self, *names: str) -> bool:
        return all(self.receiver.acknowledged(self.cid(n)) for n in names)

    def assert_once(self, name: str, status: str) -> None:
        """Exactly one verdict (stored once, `status`) and one acknowledged, signed delivery."""
        store = Store(self.redis, self.config.key_prefix)
        verdict = store.get_verdict(self.cid(name), 1)
        assert verdict is not None and verdict["status"] == status, (name, verdict)
        assert [h["event"] for h in store.history(self.cid(name))].count("verdict") == 1, name
        posts = self.receiver.for_case(self.cid(name))
        assert len(self.receiver.acknowledged(self.cid(name))) == 1, (name, posts)
        assert all(p.signature_ok for p in posts) and len({p.delivery_id for p in posts}) == 1, (name, posts)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
        self.receiver.stop()
        if self.server.answers():
            redis = self.redis
            for key in [*redis.scan_iter(match=f"*{self.token}*", count=1000)]:
                redis.delete(key)
            for member in redis.smembers("rq:workers"):
                if self.token in member.decode():
                    redis.srem("rq:workers", member)


@pytest.fixture
def faults(redis_server: RedisServer, tmp_path: Path) -> Iterator[Faults]:
    if not redis_server.answers():
        redis_server.start()
    env = Faults(redis_server, tmp_path)
    try:
        yield env
    finally:
        env.close()


def scrape(port: int) -> dict[str, float]:
    """The metrics endpoint's samples, as {'name{label="v"}': value}."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def outage_lines(text: str) -> tuple[list[str], list[str]]:
    """The pids that logged 'redis unreachable' and 'redis back', one entry per line."""
    return (re.findall(r"redis unreachable .*\[pid (\d+)\]", text), re.findall(r"redis back after .*\[pid (\d+)\]", text))


# ---- Redis outages -----------------------------------------------------------------------------

@pytest.mark.parametrize("outage_s", [10, 60])
def test_redis_outage_while_jobs_run_and_wait(faults: Faults, outage_s: int) -> None:
    port = free_port()
    worker = faults.start_worker(KYC_METRICS_PORT=str(port))
    faults.wait_workers(2)
    wait_for(lambda: any(descendants(c) for c in children(worker.pid)), 10, "the rq scheduler process")
    workers, processes = sorted(children(worker.pid)), worker.tree()  # two worker processes, rq schedulers
    faults.receiver.refuse_first |= {faults.cid("due"), faults.cid("after")}
    faults.submit("due")  # its first POST is refused: a retry falls due 2 s later, during the outage
    first_post = wait_for(lambda: faults.receiver.for_case(faults.cid("due")), 20, "the first POST")[0]
    cases = [f"c{i}" for i in range(6)]
    for i, name in enumerate(cases):  # two run when Redis stops, four wait in the queue
        faults.submit(name, STATUSES[i % 4], sleep=3)
    wait_for(lambda: sum(len(faults.runs(n)) for n in cases) == 2, 20, "two jobs running")
    faults.server.kill()
    down_at = time.time()
    time.sleep(3)
    during = scrape(port)  # the supervisor still answers, and says Redis is away
    assert during["kyc_redis_up"] == 0 and during["kyc_worker_processes"] == 2
    scrape_s = time.time() - down_at - 3
    time.sleep(max(0.0, down_at + outage_s - time.time()))
    faults.server.start()
    back_at = time.time()
    wait_for(lambda: faults.delivered("due", *cases), 60, "every case delivered")
    delivered_at = max(faults.receiver.acknowledged(faults.cid(n))[0].at for n in ("due", *cases))

    faults.submit("after")  # after the outage: a webhook retry due in 2 s
    wait_for(lambda: faults.delivered("after"), 30, "the retried delivery after the outage")
    after_posts = faults.receiver.for_case(faults.cid("after"))

    faults.assert_once("due", "approved")
    faults.assert_once("after", "approved")
    for i, name in enumerate(cases):
        faults.assert_once(name, STATUSES[i % 4])
    due_posts = faults.receiver.for_case(faults.cid("due"))
    assert [p.answered for p in due_posts] == [503, 200]
    due_retry_late = due_posts[1].at - max(back_at, first_post.at + 2)
    # the retry that fell due during the outage goes out once Redis is back: reconnection (1 s at
    # most here), the scheduler's next second, and a free worker (both may be in a 3 s job)
    assert due_retry_late < 8
    retry_delay = after_posts[1].at - after_posts[0].at
    assert 1 <= retry_delay < 5  # the scheduler survived: due in 2 s (rq counts whole seconds), sent on time
    assert alive(worker.pid) and sorted(children(worker.pid)) == workers  # nothing exited, nothing replaced
    assert all(alive(p) for p in processes)  # the rq schedulers too
    runs = {n: len(faults.runs(n)) for n in cases}
    assert all(1 <= count <= 2 for count in runs.values())  # an in-flight job commits late or re-runs

    worker.tree()  # remember every process of the tree (a second rq scheduler may have started late)
    samples = scrape(port)
    assert samples["kyc_redis_up"] == 1 and samples["kyc_worker_processes"] == 2
    jobs_by_outcome = {s: samples.get(f'kyc_jobs_total{{outcome="{s}"}}', 0) for s in STATUSES}
    assert jobs_by_outcome == {"approved": 4, "refused": 2, "retry_required": 1, "manual_review": 1}
    # 8 outcomes, and each of the 8 customers' two status events (pending, then the outcome's status)
    assert samples['kyc_delivery_tries_total{result="delivered"}'] == 8 + 16
    assert samples['kyc_delivery_tries_total{result="not_acknowledged"}'] == 2
    assert samples['kyc_stage_seconds_count{stage="total"}'] == sum(runs.values()) + 2
    assert samples["kyc_redis_reconnects_total"] >= 2  # each worker process rode the outage out
    assert samples['kyc_queue_jobs{queue="delivery",state="queued"}'] == 0
    assert samples["kyc_review_backlog"] == 1 and "kyc_review_oldest_deadline_timestamp_seconds" in samples

    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    unreachable, back = outage_lines(worker.text())
    assert sorted(unreachable) == sorted(back) and len(unreachable) == len(set(unreachable))  # one line each
    assert set(map(int, unreachable)) <= worker.seen | {worker.pid} and "internal error" not in worker.text()
    MEASURED[f"redis stopped {outage_s} s"] = {
        "outage_s": round(back_at - down_at, 1), "back_to_all_delivered_s": round(delivered_at - back_at, 1),
        "due_retry_after_back_s": round(due_posts[1].at - back_at, 1),
        "retry_due_in_2s_went_after_s": round(retry_delay, 2), "runs_per_case": runs,
        "metrics_scrape_during_outage_s": round(scrape_s, 2),
        "processes_logging_outage": len(unreachable), "processes_replaced": 0}


def test_worker_started_while_redis_is_down(faults: Faults) -> None:
    faults.server.kill()
    worker = faults.start_worker(KYC_WORKER_PROCESSES="1")
    # the worker must have met the outage before Redis returns (start-up is slow on a loaded machine)
    wait_for(lambda: outage_lines(worker.text())[0], 60, "the worker to report Redis unreachable")
    time.sleep(2)
    assert worker.proc.poll() is None  # waiting, not gone
    assert not check(faults.config).ok
    faults.server.start()
    back_at = time.time()
    faults.submit("late", "approved")
    wait_for(lambda: faults.delivered("late"), 30, "the first job after Redis came up")
    faults.assert_once("late", "approved")
    unreachable, back = outage_lines(worker.text())
    assert len(unreachable) == len(back) == 1
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    MEASURED["redis down at start-up"] = {
        "first_verdict_delivered_after_redis_up_s": round(faults.receiver.acknowledged(faults.cid("late"))[0].at
                                                          - back_at, 2)}


# ---- killed workers ----------------------------------------------------------------------------

def test_killed_worker_job_rerun_within_timeout_and_interval(faults: Faults) -> None:
    timeout, grace, interval = 6, 2, 2
    faults.env.update(KYC_JOB_TIMEOUT=str(timeout), KYC_HARD_TIMEOUT_GRACE=str(grace),
                      KYC_WORKER_PROCESSES="1", KYC_REVIEW_DEADLINE_HOURS="0.001", KYC_RETENTION_HOURS="0.001")
    doomed = faults.start_worker()
    faults.wait_workers(1)
    faults.submit("doomed", "approved", sleep_once=30)
    first = wait_for(lambda: faults.runs("doomed"), 20, "the job to start")[0]
    rescuer = faults.start_worker()
    faults.wait_workers(2)
    tree = [doomed.pid, *doomed.tree()]
    for pid in tree:  # the whole worker at once, as when its machine dies
        os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    wait_for(lambda: not any(alive(p) for p in tree), 5, "the killed processes to go")
    wait_for(lambda: faults.delivered("doomed"), timeout + grace + 10 + interval + 20, "the re-run")
    rerun = faults.runs("doomed")[1]
    assert rerun["pid"] != first["pid"]
    bound = timeout + grace + 10 + interval  # rq's registration of the job expires, then maintenance
    assert rerun["at"] - first["at"] <= bound + 3
    faults.assert_once("doomed", "approved")

    # maintenance on time with no job arriving: escalation and retention of an idle worker
    faults.submit("review", "manual_review")
    faults.submit("final", "approved")
    wait_for(lambda: faults.delivered("review", "final"), 20, "two more verdicts")
    store = Store(faults.redis, faults.config.key_prefix)
    committed = time.time()
    wait_for(lambda: (store.get_attempt(faults.cid("final"), 1) or {}).get("media_state") == "purged",
             3.6 + interval + 5, "the retention purge")
    purged_after = time.time() - committed
    wait_for(lambda: "escalated" in [h["event"] for h in store.history(faults.cid("review"))],
             3.6 + interval + 5, "the escalation")
    rescuer.signal(signal.SIGTERM)
    assert rescuer.wait(20) == 0
    MEASURED["worker SIGKILLed mid-job"] = {
        "job_timeout_s": timeout, "grace_s": grace, "maintenance_interval_s": interval,
        "rerun_after_first_start_s": round(rerun["at"] - first["at"], 1),
        "rerun_after_kill_s": round(rerun["at"] - killed_at, 1), "bound_s": bound,
        "purge_after_due_s": round(purged_after - 3.6, 1)}


def test_no_process_outlives_its_parent(faults: Faults) -> None:
    worker = faults.start_worker()
    faults.wait_workers(2)
    wait_for(lambda: any(descendants(c) for c in children(worker.pid)), 10, "the rq scheduler process")
    holder = next(c for c in children(worker.pid) if descendants(c))
    scheduler = descendants(holder)
    os.kill(holder, signal.SIGKILL)  # a worker process dies; its scheduler must not stay behind
    killed_at = time.time()
    wait_for(lambda: not any(alive(p) for p in scheduler), 10, "the orphaned scheduler to exit")
    scheduler_gone_s = time.time() - killed_at
    wait_for(lambda: len(children(worker.pid)) == 2, 10, "a replacement process")

    for name in ("p1", "p2", "p3"):  # two run, one waits
        faults.submit(name, "approved", sleep=3)
    wait_for(lambda: len(faults.runs("p1")) + len(faults.runs("p2")) + len(faults.runs("p3")) == 2, 20,
             "two jobs running")
    tree = worker.tree()
    worker.signal(signal.SIGKILL)  # the supervisor dies
    killed_at = time.time()
    wait_for(lambda: not any(alive(p) for p in tree), 15, "every child and scheduler to exit")
    tree_gone_s = time.time() - killed_at
    running = [n for n in ("p1", "p2", "p3") if faults.runs(n)]
    assert len(running) == 2 and all(faults.runs(n, "end") for n in running)  # finished the job in hand
    waiting = next(n for n in ("p1", "p2", "p3") if n not in running)
    assert faults.runs(waiting) == []  # and took no other
    store = Store(faults.redis, faults.config.key_prefix)
    assert all(store.get_verdict(faults.cid(n), 1) for n in running)
    MEASURED["orphans"] = {"scheduler_gone_after_its_worker_killed_s": round(scheduler_gone_s, 2),
                           "children_gone_after_supervisor_killed_s": round(tree_gone_s, 2),
                           "processes_left": sum(alive(p) for p in tree + scheduler)}


def test_sigterm_drains_and_a_second_sigterm_stops_cold(faults: Faults) -> None:
    worker = faults.start_worker("--backend", "opencv", KYC_DRAIN_TIMEOUT="30")
    faults.wait_workers(2)
    faults.submit("d1", "refused", sleep=3)
    faults.submit("d2", "approved", sleep=3)
    job_id = faults.submit("d3", "approved", sleep_once=30)
    wait_for(lambda: faults.runs("d1") and faults.runs("d2"), 20, "two jobs running")
    tree = worker.tree()
    worker.signal(signal.SIGTERM)
    signalled = time.time()
    assert worker.wait(20) == 0
    drained_s = time.time() - signalled
    assert not any(alive(p) for p in tree)
    store = Store(faults.redis, faults.config.key_prefix)
    assert store.get_verdict(faults.cid("d1"), 1)["status"] == "refused"
    assert store.get_verdict(faults.cid("d2"), 1)["status"] == "approved"
    assert faults.runs("d3") == []  # no new job once stopping
    assert {r["backend"] for r in faults.runs("d1")} == {"opencv"}  # kyc worker --backend

    cold = faults.start_worker(KYC_WORKER_PROCESSES="1", KYC_FACE_BACKEND="opencv", KYC_DRAIN_TIMEOUT="60")
    wait_for(lambda: faults.runs("d3"), 20, "the long job to start")
    tree = cold.tree()
    cold.signal(signal.SIGTERM)
    time.sleep(0.5)
    cold.signal(signal.SIGTERM)
    signalled = time.time()
    assert cold.wait(20) == 0
    cold_s = time.time() - signalled
    assert not any(alive(p) for p in tree)
    job = Job.fetch(job_id, connection=faults.redis, serializer=JSONSerializer)
    assert job.get_status() == "queued" and job.retries_left == faults.config.job_retries - 1  # handed to rq
    assert store.get_verdict(faults.cid("d3"), 1) is None
    faults.start_worker(KYC_WORKER_PROCESSES="1")
    wait_for(lambda: faults.delivered("d3"), 20, "the handed-over job to run again")
    faults.assert_once("d3", "approved")
    assert len(faults.runs("d3")) == 2
    MEASURED["SIGTERM"] = {"drain_with_3s_jobs_s": round(drained_s, 2), "second_sigterm_exit_s": round(cold_s, 2)}


# ---- the connection factory, the outage log, the probe -----------------------------------------

def test_patient_client_waits_for_redis_and_logs_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = RedisServer(tmp_path / "redis")
    patient = conn.connect(server.url, patient=True, backoff_max_s=0.2)
    brief = conn.connect(server.url)
    back: list[float] = []
    conn.OUTAGE.listeners.append(lambda up, lasted: back.append(lasted) if up else None)
    starter = threading.Timer(1.5, server.start)
    starter.start()
    try:
        with caplog.at_level(logging.WARNING, logger="workers.connection"):
            began = time.monotonic()
            with pytest.raises(conn.ConnectionError):
                brief.ping()  # gives up at once
            assert time.monotonic() - began < 1.5
            assert patient.ping() is True  # waits
            waited = time.monotonic() - began
            patient.set("k", "v")
        messages = [r.getMessage() for r in caplog.records]
        assert len([m for m in messages if "redis unreachable" in m]) == 1
        assert len([m for m in messages if "redis back after" in m]) == 1 and len(back) == 1
        assert 1.4 <= waited < 4
    finally:
        conn.OUTAGE.listeners.pop()
        starter.join()
        server.kill()


def test_impatient_block_gives_up() -> None:
    client = conn.connect(f"redis://127.0.0.1:{free_port()}/0", patient=True, backoff_max_s=0.1)
    began = time.monotonic()
    try:
        with conn.impatient(0.5), pytest.raises(conn.ConnectionError):
            client.ping()
        assert time.monotonic() - began < 2
    finally:
        conn.OUTAGE.down_since = None  # this process's view: no outage left behind for other tests


def test_connection_urls() -> None:
    tls = conn.connect("rediss://:pw@cache.example:6380/2?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required")
    kwargs = tls.connection_pool.connection_kwargs
    assert tls.connection_pool.connection_class.__name__ == "SSLConnection"
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == ("cache.example", 6380, 2, "pw")
    assert kwargs["ssl_ca_certs"] == "/etc/ca.pem" and kwargs["ssl_cert_reqs"] == "required"
    sentinel = conn.connect("redis+sentinel://:secret@s1:26379,[::1]:26380/mymaster/3?sentinel_password=sp",
                            patient=True)
    pool = sentinel.connection_pool
    assert pool.service_name == "mymaster" and pool.connection_kwargs["db"] == 3
    assert pool.connection_kwargs["password"] == "secret"
    assert isinstance(pool.connection_kwargs["retry"], conn.PatientRetry)
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"],
             s.connection_pool.connection_kwargs["password"]) for s in pool.sentinel_manager.sentinels] == [
        ("s1", 26379, "sp"), ("::1", 26380, "sp")]
    with pytest.raises(ValueError):
        conn.connect("redis+sentinel://s1:26379")  # no service name


def test_sentinel_finds_the_master(tmp_path: Path) -> None:
    master = RedisServer(tmp_path / "master").start()
    port = free_port()
    config_file = tmp_path / "sentinel.conf"
    config_file.write_text(f"port {port}\nbind 127.0.0.1\nsentinel monitor kycmaster 127.0.0.1 {master.port} 1\n")
    sentinel = subprocess.Popen([master.binary, str(config_file), "--sentinel"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        client = conn.connect(f"redis+sentinel://127.0.0.1:{port}/kycmaster/0", patient=True, backoff_max_s=0.2)
        assert client.set("through-sentinel", "yes") and client.get("through-sentinel") == b"yes"
        assert client.connection_pool.get_master_address() == ("127.0.0.1", master.port)
    finally:
        sentinel.kill()
        sentinel.wait(timeout=10)
        master.kill()


def _certificate(folder: Path, name: str, ca: str | None, ip: bool) -> None:
    """`name`.pem / `name`.key: self-signed when `ca` is None, else signed by `ca` (openssl CLI)."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key"]
    if ca is None:
        subprocess.run(["openssl", "req", "-x509", *key, "-out", f"{name}.pem", "-days", "1", "-subj",
                        f"/CN={name}"], cwd=folder, check=True, capture_output=True)
        return
    subprocess.run(["openssl", "req", *key, "-out", f"{name}.csr", "-subj", f"/CN={name}"], cwd=folder,
                   check=True, capture_output=True)
    (folder / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1\n" if ip else "extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                    "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext"],
                   cwd=folder, check=True, capture_output=True)


def test_tls_with_client_certificates(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    for name, ca, ip in (("ca", None, False), ("server", "ca", True), ("client", "ca", False)):
        _certificate(tmp_path, name, ca, ip)
    port = free_port()
    server = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", "0", "--tls-port", str(port),
                               "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path),
                               "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
                               "--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "yes"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = (f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tmp_path}/ca.pem&ssl_certfile={tmp_path}/client.pem"
               f"&ssl_keyfile={tmp_path}/client.key")
        client = conn.connect(url, patient=True, backoff_max_s=0.2)
        assert client.set("over-tls", "yes") and client.get("over-tls") == b"yes"
        without_certificate = conn.connect(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tmp_path}/ca.pem")
        with pytest.raises(conn.ConnectionError):  # the server asks for a client certificate
            without_certificate.ping()
    finally:
        server.kill()
        server.wait(timeout=10)


def test_probe(faults: Faults, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from kycengine.cli import main
    from workers.worker import build_worker

    config = faults.config
    result = check(config)
    assert not result.ok and "0 live worker(s)" in result.message
    worker = build_worker(config, faults.redis, worker_class="simple", name=f"{faults.token}-probe")
    worker.register_birth()
    assert check(config).ok and check(config).workers == (f"{faults.token}-probe",)
    assert not check(config, host="another-host").ok
    assert not check(config, min_workers=2).ok
    for name, value in faults.env.items():
        monkeypatch.setenv(name, value)
    assert main(["worker", "--check"]) == 0 and capsys.readouterr().out.startswith("ok: redis answers")
    worker.register_death()
    assert main(["worker", "--check", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False
    monkeypatch.setenv("KYC_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["worker", "--check"]) == 1
    assert capsys.readouterr().out.startswith("redis unreachable: ConnectionError")


def test_config_of_the_infrastructure() -> None:
    config = WorkerConfig.from_env({"KYC_FACE_BACKEND": "OpenCV", "KYC_DRAIN_TIMEOUT": "15",
                                    "KYC_REDIS_BACKOFF_MAX": "2.5", "KYC_METRICS_PORT": "9464",
                                    "KYC_METRICS_ADDR": "127.0.0.1"})
    assert (config.face_backend, config.drain_timeout_s, config.redis_backoff_max_s, config.metrics_port,
            config.metrics_addr) == ("opencv", 15.0, 2.5, 9464, "127.0.0.1")
    default = WorkerConfig.from_env({})
    assert (default.face_backend, default.drain_timeout_s, default.redis_backoff_max_s,
            default.metrics_port) == ("insightface", 60.0, 5.0, None)
    for env in ({"KYC_FACE_BACKEND": "dlib"}, {"KYC_DRAIN_TIMEOUT": "0"}, {"KYC_METRICS_PORT": "70000"},
                {"KYC_REDIS_BACKOFF_MAX": "soon"}):
        with pytest.raises(ConfigError):
            WorkerConfig.from_env(env)


def test_the_strict_rerun_keeps_the_chosen_backend() -> None:
    from kycengine.settings import Settings

    strict = Settings(face_backend="opencv").strict()
    assert strict.face_backend == "opencv" and strict.face_cross_check == ""  # no non-commercial weights
    assert strict.selfie_fps > Settings(face_backend="opencv").selfie_fps  # still the strict variant
    assert Settings().strict().face_cross_check == "opencv"


def test_worker_verifier_uses_the_chosen_backend() -> None:
    import cv2

    from workers.worker import worker_verifier_factory

    threads = cv2.getNumThreads()
    try:
        verifier = worker_verifier_factory("opencv")
    finally:
        cv2.setNumThreads(threads)  # the factory sets 1 thread: leave the test process as it was
    assert verifier.settings.face_backend == "opencv"
    assert any(model.startswith("yunet") for model in verifier.models)
    assert not any(model.startswith(("scrfd", "arcface", "landmark_2d106")) for model in verifier.models)
