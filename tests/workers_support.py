"""What the worker tests share: a scripted verifier, a webhook receiver, and a per-test environment.

Worker tests run against a real Redis: each test uses its own key prefix and queue names (DB 15 of
the `redis_url` fixture) and deletes its keys afterwards (the `env` fixture, in conftest.py). Most
tests inject `ScriptedVerifier` (the document file holds a JSON script: the status to return, a delay,
a crash); one test runs the real Verifier on generated videos.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from kycengine.decision import decide as decide_status
from kycengine.findings import Finding, FindingCode
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, StageState, Verdict
from workers import delivery
from workers.config import WorkerConfig
from workers.status_events import EVENT as STATUS_EVENT
from workers.store import Store
from workers.worker import run_worker

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1/32",)  # the test receivers' network, allowed on purpose (KYC_CALLBACK_ALLOW_NETWORKS)
SECRET = "test-secret-0123456789abcdef"
CONSENT = {"text_version": "kyc-consent-v3", "given_at": "2024-05-01T09:00:00+00:00", "channel": "web",
           "filming": True, "biometric_processing": True}  # the customer's explicit consent, as banks send it
STATUS_FINDINGS = {
    "approved": (),
    "refused": (Finding(FindingCode.DOCUMENT_EXPIRED),),
    "retry_required": (Finding(FindingCode.DOCUMENT_BLURRY),),
    "manual_review": (Finding(FindingCode.CHECK_NOT_RUN),),
}


# ---- a scripted verifier (same `verify` signature as kycengine.pipeline.Verifier) ---------------

class ScriptedVerifier:
    """`kycengine.pipeline.Verifier.verify`'s signature, answering what the document file's JSON
    script says: `status` to answer; `sleep` seconds (`sleep_once`: only on the first run, marked by a
    file next to the document); `busy_catching` seconds in a loop that catches every Exception (a
    stage's own error handling); `pidfile`; `crash_once` / `crash` (SIGKILL); `embeddings` (face
    embeddings in the evidence, as the real engine computes them); `runlog`, a file to
    which every run appends a JSON line when it starts and when it ends (event, case, pid, backend,
    time), so that a test can count the runs of a case and see which process ran it."""

    def __init__(self, backend: str = "insightface") -> None:
        self.backend = backend

    def verify(self, document_video: Any, selfie_video: Any, *, declared: Any = None,
               case_id: str = "local", attempt: int = 1, today: dt.date | None = None,
               challenge: Any = None) -> Verdict:
        started = time.time()
        script = json.loads(Path(document_video).read_text())

        def note(event: str) -> None:
            if script.get("runlog"):
                line = json.dumps({"event": event, "case": case_id, "pid": os.getpid(), "backend": self.backend,
                                   "at": time.time(), "challenge": challenge.to_dict() if challenge else None})
                with open(script["runlog"], "a", encoding="utf-8") as log:
                    log.write(line + "\n")

        note("start")
        if script.get("pidfile"):
            Path(script["pidfile"]).write_text(str(os.getpid()))
        if script.get("ignore_alarm"):  # a job stuck where rq's SIGALRM timeout cannot reach it
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
        if script.get("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        marker = script.get("crash_once")
        if marker and not os.path.exists(marker):
            Path(marker).write_text("crashed")
            os.kill(os.getpid(), signal.SIGKILL)
        once = Path(f"{document_video}.ran")
        if script.get("sleep_once") and not once.exists():
            once.write_text("ran")
            time.sleep(float(script["sleep_once"]))
        if script.get("sleep"):
            time.sleep(float(script["sleep"]))
        if script.get("busy_catching"):
            end = time.monotonic() + float(script["busy_catching"])
            while time.monotonic() < end:
                try:
                    time.sleep(0.05)
                except Exception:  # the point: rq's JobTimeoutException is one
                    pass
        note("end")
        findings = STATUS_FINDINGS[script.get("status", "approved")]
        document = DocumentEvidence(state=StageState.COMPLETE, findings=findings, fields={"surname": "MARTIN"})
        embeddings = np.full((2, 512), 0.123456, dtype=np.float32) if script.get("embeddings") else None
        face = FaceEvidence(state=StageState.COMPLETE, similarity=0.8, embeddings=embeddings)
        liveness = LivenessEvidence(state=StageState.COMPLETE, live=True)
        decision = decide_status(document, face, liveness)
        return Verdict(case_id=case_id, attempt=attempt, status=decision.status, reasons=decision.reasons,
                       effects=decision.effects, document=document, face=face, liveness=liveness,
                       scores={"face_similarity": 0.8},
                       timings_ms={"decode": 1.0, "total": round((time.time() - started) * 1000, 1)},
                       created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


# ---- a webhook receiver ------------------------------------------------------------------------

@dataclass
class Received:
    delivery_id: str
    event: str
    body: dict[str, Any]
    signature_ok: bool
    answered: int
    host: str = ""


class Receiver:
    """http.server on 127.0.0.1 in a thread; checks signatures, can answer 503 `fail_first` times.

    Verification webhooks go to `received`; customer status events to `status` (answered 503
    `fail_status_first` times)."""

    def __init__(self, port: int | None = None, fail_first: int = 0, fail_status_first: int = 0) -> None:
        if port is None:
            port = free_port()
        self.port = port
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.status: list[Received] = []
        self.fail_status_first = fail_status_first
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kyc/webhook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = delivery.verify_signature(SECRET, body, self.headers.get("X-KYC-Signature"))
                event = self.headers.get("X-KYC-Event", "")
                status_event = event == STATUS_EVENT
                with receiver.lock:
                    if status_event and receiver.fail_status_first > 0:
                        receiver.fail_status_first -= 1
                        code = 503
                    elif not status_event and receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        code = 503
                    else:
                        code = 200 if ok else 401
                    (receiver.status if status_event else receiver.received).append(Received(self.headers.get("X-KYC-Delivery", ""),
                                                      self.headers.get("X-KYC-Event", ""),
                                                      json.loads(body), ok, code, self.headers.get("Host", "")))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def acknowledged(self) -> list[Received]:
        return [r for r in self.received if r.answered == 200]

    def status_events(self, customer_id: str) -> list[dict[str, Any]]:
        """The bodies of a customer's acknowledged status events, in arrival order."""
        return [r.body for r in self.status if r.answered == 200 and r.body["customer_id"] == customer_id]

    def for_case(self, case_id: str) -> list[Received]:
        return [r for r in self.acknowledged() if r.body["case_id"] == case_id]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- per-test environment ----------------------------------------------------------------------

@dataclass
class Env:
    config: WorkerConfig
    redis: Redis
    root: Path
    token: str
    tmp: Path
    workers: int = 0
    receivers: list[Receiver] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return Store(self.redis, self.config.key_prefix)

    def request(self, case_id: str, status: str = "approved", *, attempt: int = 1,
                callback: str | None = None, customer: str | None = None, **script: Any) -> dict[str, Any]:
        """A request whose document file scripts the verifier; its customer is `customer` (default: one
        customer per case), with consent."""
        document = self.root / f"{case_id}-{attempt}-document.mp4"
        selfie = self.root / f"{case_id}-{attempt}-selfie.mp4"
        document.write_text(json.dumps({"status": status, **script}))
        selfie.write_bytes(b"selfie")
        request = {"case_id": f"{self.token}-{case_id}", "attempt": attempt,
                   "document_video": str(document), "selfie_video": str(selfie),
                   "customer_id": self.cid(customer or case_id), "consent": dict(CONSENT)}
        if callback:
            request["callback_url"] = callback
        return request

    def cid(self, case_id: str) -> str:
        return f"{self.token}-{case_id}"

    def work(self, factory: Callable[[], Any] = ScriptedVerifier, **kwargs: Any) -> bool:
        self.workers += 1
        jobs_done = run_worker(self.config, burst=True, verifier_factory=factory,
                               name=f"{self.token}-w{self.workers}", logging_level="WARNING", **kwargs)
        return jobs_done

    def drain(self, until: Callable[[], bool], timeout: float = 20.0) -> None:
        """Run burst workers (with the scheduler) until `until()` or the timeout."""
        deadline = time.monotonic() + timeout
        while not until():
            assert time.monotonic() < deadline, "condition not reached in time"
            self.work()
            if not until():
                time.sleep(0.3)

    def receiver(self, **kwargs: Any) -> Receiver:
        receiver = Receiver(**kwargs)
        self.receivers.append(receiver)
        return receiver


def make_config(redis_url: str, token: str, root: Path, **changes: Any) -> WorkerConfig:
    base = WorkerConfig(redis_url=redis_url, key_prefix=f"kyctest:{token}:", verify_queue=f"{token}-verify",
                        delivery_queue=f"{token}-deliver", media_roots=(str(root),), webhook_secret=SECRET,
                        job_retry_backoff_s=(0,), delivery_backoff_s=(1,), delivery_timeout_s=2.0,
                        result_ttl_s=600, maintenance_interval_s=3600, max_media_bytes=64 * 1024 * 1024,
                        warmup=False, callback_allow_networks=LOOPBACK)
    return base.with_(**changes)


def to_env(config: WorkerConfig) -> dict[str, str]:
    """KYC_* variables that `WorkerConfig.from_env` turns back into `config`."""
    return {"KYC_REDIS_URL": config.redis_url, "KYC_KEY_PREFIX": config.key_prefix,
            "KYC_VERIFY_QUEUE": config.verify_queue, "KYC_DELIVERY_QUEUE": config.delivery_queue,
            "KYC_MEDIA_ROOTS": ",".join(config.media_roots), "KYC_WEBHOOK_SECRET": config.webhook_secret or "",
            "KYC_JOB_TIMEOUT": str(config.job_timeout_s), "KYC_JOB_RETRIES": str(config.job_retries),
            "KYC_JOB_RETRY_BACKOFF": ",".join(map(str, config.job_retry_backoff_s)),
            "KYC_DELIVERY_BACKOFF": ",".join(map(str, config.delivery_backoff_s)),
            "KYC_DELIVERY_TIMEOUT": str(config.delivery_timeout_s),
            "KYC_MAX_ATTEMPTS": str(config.max_attempts), "KYC_RESULT_TTL": str(config.result_ttl_s),
            "KYC_RETENTION_HOURS": str(config.retention_s / 3600),
            "KYC_MAINTENANCE_INTERVAL": str(config.maintenance_interval_s),
            "KYC_MAX_MEDIA_BYTES": str(config.max_media_bytes), "KYC_WARMUP": "1" if config.warmup else "0",
            "KYC_CALLBACK_ALLOW_NETWORKS": ",".join(config.callback_allow_networks)}


def cleanup(redis: Redis, config: WorkerConfig, token: str) -> None:
    """Delete every key this test made (its prefix, its queues' rq keys and its jobs)."""
    job_ids: set[str] = set()
    for name in (config.verify_queue, config.delivery_queue):
        queue = Queue(name, connection=redis, serializer=JSONSerializer)
        job_ids.update(queue.get_job_ids())
        for registry in (StartedJobRegistry, FinishedJobRegistry, FailedJobRegistry, ScheduledJobRegistry):
            job_ids.update(registry(queue=queue).get_job_ids(cleanup=False) if registry is not StartedJobRegistry
                           else [j for j, _ in registry(queue=queue).get_job_and_execution_ids(cleanup=False)])
    for key in redis.scan_iter(match=f"{config.key_prefix}attempt:*", count=1000):
        job_id = redis.hget(key, "job_id")
        if job_id:
            job_ids.add(job_id.decode())
    doomed = []
    for key in redis.scan_iter(match="rq:*", count=1000):
        text = key.decode()
        if token in text or any(j in text for j in job_ids):
            doomed.append(key)
    doomed += list(redis.scan_iter(match=f"{config.key_prefix}*", count=1000))
    for i in range(0, len(doomed), 500):
        redis.delete(*doomed[i:i + 500])
    for set_key in ("rq:workers", "rq:queues"):
        members = [m for m in redis.smembers(set_key) if token in m.decode()]
        if members:
            redis.srem(set_key, *members)


def cli(env: Env, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """Run `kyc worker|review ...` in-process with the test's settings in the environment."""
    from workers.cli import register

    for name, value in to_env(env.config).items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser(prog="kyc")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.run(args))
