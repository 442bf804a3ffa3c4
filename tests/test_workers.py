"""Worker tests against a real Redis: enqueue, drain in burst mode, check verdicts and signed webhooks.

Each test uses its own key prefix and queue names (DB 15 of the `redis_url` fixture) and deletes
its keys afterwards. Most tests inject `ScriptedVerifier` (the document file holds a JSON script: the
status to return, a delay, a crash); one test runs the real Verifier on generated videos.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from kycengine.decision import decide as decide_status
from kycengine.errors import InvalidMedia, InvalidRequest, PathNotAllowed
from kycengine.findings import Finding, FindingCode
from kycengine.reasons import Reason, Status
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, StageState, Verdict
from workers import delivery, jobs, media, retention, review
from workers.config import ConfigError, WorkerConfig
from workers.enqueue import AttemptNotAllowed, result, submit
from workers.store import Store
from workers.worker import recover_abandoned, run_worker

ROOT = Path(__file__).resolve().parents[1]
SECRET = "test-secret-0123456789abcdef"
STATUS_FINDINGS = {
    "approved": (),
    "refused": (Finding(FindingCode.DOCUMENT_EXPIRED),),
    "retry_required": (Finding(FindingCode.DOCUMENT_BLURRY),),
    "manual_review": (Finding(FindingCode.CHECK_NOT_RUN),),
}


# ---- a scripted verifier (same `verify` signature as kycengine.pipeline.Verifier) ---------------

class ScriptedVerifier:
    """Follows the JSON script in the document file: status, sleep, pidfile, crash_once, crash."""

    def verify(self, document_video: Any, selfie_video: Any, *, declared: Any = None,
               case_id: str = "local", attempt: int = 1, today: dt.date | None = None) -> Verdict:
        script = json.loads(Path(document_video).read_text())
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
        if script.get("sleep"):
            time.sleep(float(script["sleep"]))
        findings = STATUS_FINDINGS[script.get("status", "approved")]
        document = DocumentEvidence(state=StageState.COMPLETE, findings=findings, fields={"surname": "MARTIN"})
        face = FaceEvidence(state=StageState.COMPLETE, similarity=0.8)
        liveness = LivenessEvidence(state=StageState.COMPLETE, live=True)
        decision = decide_status(document, face, liveness)
        return Verdict(case_id=case_id, attempt=attempt, status=decision.status, reasons=decision.reasons,
                       effects=decision.effects, document=document,
                       face=face, liveness=liveness, scores={"face_similarity": 0.8},
                       created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


# ---- a webhook receiver ------------------------------------------------------------------------

@dataclass
class Received:
    delivery_id: str
    event: str
    body: dict[str, Any]
    signature_ok: bool
    answered: int


class Receiver:
    """http.server on 127.0.0.1 in a thread; checks signatures, can answer 503 `fail_first` times."""

    def __init__(self, port: int | None = None, fail_first: int = 0) -> None:
        if port is None:
            port = free_port()
        self.port = port
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kyc/webhook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = delivery.verify_signature(SECRET, body, self.headers.get("X-KYC-Signature"))
                with receiver.lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        code = 503
                    else:
                        code = 200 if ok else 401
                    receiver.received.append(Received(self.headers.get("X-KYC-Delivery", ""),
                                                      self.headers.get("X-KYC-Event", ""),
                                                      json.loads(body), ok, code))
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
                callback: str | None = None, **script: Any) -> dict[str, Any]:
        """A request whose document file scripts the verifier."""
        document = self.root / f"{case_id}-{attempt}-document.mp4"
        selfie = self.root / f"{case_id}-{attempt}-selfie.mp4"
        document.write_text(json.dumps({"status": status, **script}))
        selfie.write_bytes(b"selfie")
        request = {"case_id": f"{self.token}-{case_id}", "attempt": attempt,
                   "document_video": str(document), "selfie_video": str(selfie)}
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
    base = dict(redis_url=redis_url, key_prefix=f"kyctest:{token}:", verify_queue=f"{token}-verify",
                delivery_queue=f"{token}-deliver", media_roots=(str(root),), webhook_secret=SECRET,
                job_retry_backoff_s=(0,), delivery_backoff_s=(1,), delivery_timeout_s=2.0,
                result_ttl_s=600, maintenance_interval_s=3600, max_media_bytes=64 * 1024 * 1024,
                warmup=False)
    base.update(changes)
    return WorkerConfig(**base)


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
            "KYC_MAX_MEDIA_BYTES": str(config.max_media_bytes), "KYC_WARMUP": "1" if config.warmup else "0"}


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


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> Iterator[Env]:
    token = f"w{uuid.uuid4().hex[:10]}"
    root = tmp_path / "media"
    root.mkdir()
    config = make_config(redis_url, token, root)
    redis = Redis.from_url(redis_url)
    e = Env(config, redis, root, token, tmp_path)
    jobs.install(config, ScriptedVerifier, preload=False)
    try:
        yield e
    finally:
        for receiver in e.receivers:
            receiver.stop()
        cleanup(redis, e.config, token)


# ---- configuration, signatures, URLs, media ----------------------------------------------------

def test_config_from_env_and_refusals(tmp_path: Path) -> None:
    config = WorkerConfig.from_env({"KYC_MEDIA_ROOTS": f"{tmp_path}, s3://bucket/uploads",
                                    "KYC_WEBHOOK_SECRET": SECRET, "KYC_DELIVERY_BACKOFF": "1,2,3",
                                    "KYC_RETENTION_HOURS": "0.5", "KYC_WORKER_CLASS": "SIMPLE"})
    assert config.media_roots == (str(tmp_path), "s3://bucket/uploads")
    assert config.delivery_backoff_s == (1, 2, 3) and config.retention_s == 1800
    assert config.worker_class == "simple" and config.review_deadline_hours == 72
    assert SECRET not in repr(config)
    config.check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_WEBHOOK_SECRET"):
        WorkerConfig.from_env({"KYC_MEDIA_ROOTS": str(tmp_path)}).check_worker_ready()
    with pytest.raises(ConfigError, match="16 bytes"):
        WorkerConfig(webhook_secret="short", media_roots=(str(tmp_path),)).check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_MEDIA_ROOTS"):
        WorkerConfig(webhook_secret=SECRET).check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_JOB_TIMEOUT"):
        WorkerConfig.from_env({"KYC_JOB_TIMEOUT": "soon"})
    with pytest.raises(ConfigError):
        WorkerConfig.from_env({"KYC_WORKER_CLASS": "threads"})
    with pytest.raises(ConfigError):  # a worker refuses to start without a secret
        run_worker(WorkerConfig(media_roots=(str(tmp_path),)), burst=True, verifier_factory=ScriptedVerifier)


def test_signature_sign_and_verify() -> None:
    body = delivery.encode_body({"case_id": "c", "status": "approved"})
    header = delivery.sign(SECRET.encode(), body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert delivery.verify_signature(SECRET, body, header, now=1_700_000_100)
    assert not delivery.verify_signature(SECRET, body + b" ", header, now=1_700_000_100)
    assert not delivery.verify_signature("another-secret-0123456789", body, header, now=1_700_000_100)
    assert not delivery.verify_signature(SECRET, body, header, now=1_700_000_000 + 301)  # stale: replay
    assert not delivery.verify_signature(SECRET, body, None)
    assert not delivery.verify_signature(SECRET, body, "t=abc,v1=00")
    rotated = header + ",v1=" + "0" * 64
    assert delivery.verify_signature(SECRET, body, rotated, now=1_700_000_000)


@pytest.mark.parametrize("url", ["ftp://bank.example/hook", "file:///etc/passwd", "javascript:alert(1)",
                                 "http://", "https://user:pw@bank.example/", "http://bank.example:99999/",
                                 "", 42, "http://bank example/"])
def test_callback_urls_are_http_only(url: Any) -> None:
    with pytest.raises(InvalidRequest):
        delivery.check_callback_url(url)


def test_callback_url_accepted() -> None:
    assert delivery.check_callback_url("https://bank.example:8443/kyc?x=1")


def test_media_confinement(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"secret")
    good = root / "good.mp4"
    good.write_bytes(b"video")
    (root / "empty.mp4").write_bytes(b"")
    (root / "escape.mp4").symlink_to(outside)
    (root / "inside-link.mp4").symlink_to(good)
    big = root / "big.mp4"
    subprocess.run(["truncate", "-s", "2G", str(big)], check=True)  # sparse: no disk used
    config = WorkerConfig(media_roots=(str(root),), max_media_bytes=64 * 1024 * 1024)

    with media.open_media([str(good), f"file://{root}/inside-link.mp4"], config) as paths:
        assert paths == [good.resolve(), good.resolve()]
    refused = {str(outside): PathNotAllowed, f"{root}/../outside.mp4": PathNotAllowed,
               "file:///etc/passwd": PathNotAllowed, str(root / "escape.mp4"): PathNotAllowed,
               "good.mp4": PathNotAllowed, "file://otherhost/etc/passwd": PathNotAllowed,
               "ftp://host/x.mp4": PathNotAllowed, str(root / "missing.mp4"): InvalidMedia,
               str(root / "empty.mp4"): InvalidMedia, str(big): InvalidMedia, str(root / "sub"): InvalidMedia,
               f"{root}/good.mp4\x00.txt": PathNotAllowed}
    for uri, error in refused.items():
        with pytest.raises(error):
            with media.open_media([uri], config):
                pass
    with pytest.raises(InvalidMedia, match="byte limit"):
        media.check_local_file(big, config)
    assert not media.delete_media(str(outside), config) and outside.exists()  # never outside the roots


def test_remote_media_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/kyc-uploads/a.mp4", b"x" * 1000)
    fs.pipe("/kyc-uploads/empty.mp4", b"")
    fs.pipe("/other/b.mp4", b"y" * 10)
    config = WorkerConfig(media_roots=("memory://kyc-uploads",), max_media_bytes=500, tmp_dir=str(tmp_path))
    with pytest.raises(InvalidMedia, match="limit"):
        with media.open_media(["memory://kyc-uploads/a.mp4"], config):
            pass
    config = config.with_(max_media_bytes=10_000)
    with media.open_media(["memory://kyc-uploads/a.mp4"], config) as paths:
        copy = paths[0]
        assert copy.read_bytes() == b"x" * 1000 and copy.suffix == ".mp4"
    assert not copy.exists()  # the temporary copy is gone after the job
    for uri, error in {"memory://other/b.mp4": PathNotAllowed,
                       "memory://kyc-uploads/../other/b.mp4": PathNotAllowed,
                       "memory://kyc-uploads/none.mp4": InvalidMedia,
                       "memory://kyc-uploads/empty.mp4": InvalidMedia}.items():
        with pytest.raises(error):
            with media.open_media([uri], config):
                pass
    assert media.delete_media("memory://kyc-uploads/a.mp4", config)
    assert not fs.exists("/kyc-uploads/a.mp4")


# ---- end to end with the scripted verifier -----------------------------------------------------

def test_verdicts_stored_and_delivered_once_signed(env: Env) -> None:
    receiver = env.receiver().start()
    statuses = ["approved", "refused", "retry_required", "manual_review"]
    ids = [submit(env.request(s, s, callback=receiver.url), env.config, connection=env.redis) for s in statuses]
    assert len(set(ids)) == 4
    env.drain(lambda: len(receiver.acknowledged()) == 4)
    env.work()  # nothing left: no second delivery
    for s in statuses:
        out = result(env.cid(s), 1, env.config, env.redis)
        assert out is not None and out["status"] == s
        got = receiver.for_case(env.cid(s))
        assert len(got) == 1 and got[0].signature_ok
        assert got[0].event == "verification.completed" and got[0].body["status"] == s
        assert got[0].body["verdict"]["status"] == s
        record = env.store.get_delivery(env.cid(s), 1, "verdict")
        assert record["state"] == "delivered" and record["delivery_id"] == got[0].delivery_id
    assert len(receiver.received) == 4
    review_item = env.redis.hgetall(env.store.k_review_item(env.cid("manual_review")))
    submitted = dt.datetime.fromisoformat(review_item[b"submitted_at"].decode())
    deadline = dt.datetime.fromisoformat(review_item[b"deadline"].decode())
    assert deadline - submitted == dt.timedelta(hours=72)
    assert receiver.for_case(env.cid("manual_review"))[0].body["review_deadline"] == deadline.isoformat()
    assert env.redis.zscore(env.store.k_retention, f"{env.cid('approved')}:1") is not None
    assert env.redis.zscore(env.store.k_retention, f"{env.cid('manual_review')}:1") is None
    events = [h["event"] for h in env.store.history(env.cid("approved"))]
    assert events == ["submitted", "verdict", "delivered"]


def test_malformed_requests_fail_cleanly_and_worker_survives(env: Env) -> None:
    root, tmp = env.root, env.tmp
    outside = tmp / "outside.mp4"
    outside.write_bytes(b"not yours")
    (root / "empty.mp4").write_bytes(b"")
    (root / "folder.mp4").mkdir()
    (root / "link.mp4").symlink_to(outside)
    subprocess.run(["truncate", "-s", "2G", str(root / "huge.mp4")], check=True)
    good = env.request("good", "approved")
    selfie = good["selfie_video"]

    def req(name: str, **fields: Any) -> dict[str, Any]:
        return {"case_id": env.cid(name), "attempt": 1, "document_video": good["document_video"],
                "selfie_video": selfie, **fields}

    cases: dict[str, tuple[Any, str]] = {
        "not-json": ("{this is not json", "invalid_request"),
        "array": ("[1, 2, 3]", "invalid_request"),
        "missing": ({"case_id": env.cid("missing"), "attempt": 1}, "invalid_request"),
        "wrong-type": (req("wrong-type", attempt="1"), "invalid_request"),
        "bad-case-id": (req("x", case_id="../../etc"), "invalid_request"),
        "unknown-field": (req("unknown-field", colour="blue"), "invalid_request"),
        "unknown-media": (req("unknown-media", document_video=str(root / "nope.mp4")), "invalid_media"),
        "zero-bytes": (req("zero-bytes", document_video=str(root / "empty.mp4")), "invalid_media"),
        "directory": (req("directory", selfie_video=str(root / "folder.mp4")), "invalid_media"),
        "two-gigabytes": (req("two-gigabytes", document_video=str(root / "huge.mp4")), "invalid_media"),
        "outside": (req("outside", document_video=str(outside)), "path_not_allowed"),
        "traversal": (req("traversal", document_video=f"{root}/../outside.mp4"), "path_not_allowed"),
        "etc-passwd": (req("etc-passwd", selfie_video="file:///etc/passwd"), "path_not_allowed"),
        "symlink-out": (req("symlink-out", document_video=str(root / "link.mp4")), "path_not_allowed"),
        "ftp-callback": (req("ftp-callback", callback_url="ftp://bank.example/x"), "invalid_request"),
    }
    job_ids = {name: submit(body if isinstance(body, str) else json.dumps(body), env.config,
                            connection=env.redis, validate_request=False)
               for name, (body, _) in cases.items()}
    good_id = submit(good, env.config, connection=env.redis)
    env.work()
    for name, (_, code) in cases.items():
        job = Job.fetch(job_ids[name], connection=env.redis, serializer=JSONSerializer)
        assert job.get_status() == "finished", name  # a clear result, not a crash, not retried
        out = job.return_value()
        assert out["status"] == "failed" and out["reason"] == code, (name, out)
        assert out["detail"]
        assert job.retries_left == env.config.job_retries
    stored = result(env.cid("zero-bytes"), 1, env.config, env.redis)
    assert stored["status"] == "failed" and "empty" in stored["detail"]
    assert env.store.get_rejected(job_ids["not-json"])["reason"] == "invalid_request"
    good_job = Job.fetch(good_id, connection=env.redis, serializer=JSONSerializer)
    assert good_job.return_value()["status"] == "approved"  # the worker kept going
    assert outside.read_bytes() == b"not yours"
    with pytest.raises(PathNotAllowed):  # submit() checks what it can up front
        submit(req("checked", document_video=str(outside)), env.config, connection=env.redis)
    with pytest.raises(InvalidRequest):
        submit({"case_id": env.cid("checked")}, env.config, connection=env.redis)


def test_same_attempt_never_gets_two_verdicts(env: Env) -> None:
    receiver = env.receiver().start()
    request = env.request("idem", "refused", callback=receiver.url)
    first = submit(request, env.config, connection=env.redis)
    assert submit(request, env.config, connection=env.redis) == first  # same request, same job
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    # The customer's file now says "approved" and the same attempt is pushed again, by another job
    # id: the stored refusal stands, nothing is re-delivered.
    Path(request["document_video"]).write_text(json.dumps({"status": "approved"}))
    again = jobs.enqueue_verification(env.config, env.redis, json.dumps(request), job_id="kyc-verify-again")
    env.work()
    assert again.latest_result().return_value == {"case_id": env.cid("idem"), "attempt": 1,
                                                 "status": "refused", "reasons": ["document_expired"],
                                                 "duplicate": True}
    assert result(env.cid("idem"), 1, env.config, env.redis)["status"] == "refused"
    assert len(receiver.received) == 1
    assert [h["event"] for h in env.store.history(env.cid("idem"))].count("verdict") == 1


def test_attempts_numbered_limited_and_kept(env: Env) -> None:
    config = env.config = env.config.with_(max_attempts=3)
    case = "retry"
    submit(env.request(case, "retry_required", attempt=1), config, connection=env.redis)
    env.work()
    with pytest.raises(AttemptNotAllowed):  # attempt 3 cannot skip attempt 2
        submit(env.request(case, "approved", attempt=3), config, connection=env.redis)
    early = submit(json.dumps(env.request(case, "approved", attempt=3)), config, connection=env.redis,
                   validate_request=False)
    submit(env.request(case, "refused", attempt=2), config, connection=env.redis)
    env.work()
    assert Job.fetch(early, connection=env.redis, serializer=JSONSerializer).return_value()["reason"] == \
        "attempt_not_allowed"
    submit(env.request(case, "approved", attempt=3), config, connection=env.redis)
    env.work()
    assert [result(env.cid(case), n, config, env.redis)["status"] for n in (1, 2, 3)] == \
        ["retry_required", "refused", "approved"]
    too_many = submit(json.dumps(env.request(case, "approved", attempt=4)), config, connection=env.redis,
                      validate_request=False)
    env.work()
    assert Job.fetch(too_many, connection=env.redis, serializer=JSONSerializer).return_value()["reason"] == \
        "too_many_attempts"
    assert env.store.attempts(env.cid(case)) == [1, 2, 3, 4]
    assert env.store.get_case(env.cid(case))["latest_attempt"] == "3"
    verdicts = [h for h in env.store.history(env.cid(case)) if h["event"] == "verdict"]
    assert [(h["attempt"], h["status"]) for h in verdicts] == [(1, "retry_required"), (2, "refused"),
                                                               (3, "approved")]
    # after a manual_review, no new attempt until the reviewer decides
    submit(env.request("held", "manual_review"), config, connection=env.redis)
    env.work()
    with pytest.raises(AttemptNotAllowed):
        submit(env.request("held", "approved", attempt=2), config, connection=env.redis)


def test_receiver_down_then_up_gets_the_verdict_exactly_once(env: Env) -> None:
    port = free_port()  # nothing listens there yet: connection refused
    receiver = env.receiver(port=port)
    submit(env.request("down", "approved", callback=receiver.url), env.config, connection=env.redis)
    env.work()
    record = env.store.get_delivery(env.cid("down"), 1, "verdict")
    assert record["state"] == "retrying" and int(record["tries"]) >= 1 and "Connection" in record["last_error"]
    assert result(env.cid("down"), 1, env.config, env.redis)["status"] == "approved"
    receiver.fail_first = 2  # back up, but answering 503 twice before accepting
    receiver.start()
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    time.sleep(1.1)
    env.work()  # scheduled leftovers, if any, must not deliver again
    assert len(receiver.acknowledged()) == 1
    assert [r.answered for r in receiver.received] == [503, 503, 200]
    assert len({r.delivery_id for r in receiver.received}) == 1  # one delivery id across the retries
    record = env.store.get_delivery(env.cid("down"), 1, "verdict")
    assert record["state"] == "delivered" and int(record["tries"]) >= 4


def test_delivery_gives_up_after_max_tries(env: Env) -> None:
    env.config = env.config.with_(delivery_max_tries=2, delivery_backoff_s=(0,))
    jobs.install(env.config, ScriptedVerifier, preload=False)
    receiver = env.receiver(fail_first=100).start()
    submit(env.request("never", "approved", callback=receiver.url), env.config, connection=env.redis)
    env.drain(lambda: (env.store.get_delivery(env.cid("never"), 1, "verdict") or {}).get("state") == "gave_up")
    assert len(receiver.received) == 2
    assert "delivery_gave_up" in [h["event"] for h in env.store.history(env.cid("never"))]
    receiver.fail_first = 0
    assert jobs.redeliver(env.config, env.redis, env.cid("never"), 1)
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    assert len({r.delivery_id for r in receiver.received}) == 1


_SUBPROCESS_WORKER = """
import sys
from workers.config import WorkerConfig
from workers.worker import run_worker
from tests.test_workers import ScriptedVerifier
run_worker(WorkerConfig.from_env(), burst=True, verifier_factory=ScriptedVerifier, worker_class=sys.argv[1],
           name=sys.argv[2], logging_level="WARNING")
"""


@pytest.mark.parametrize("worker_class", ["prefork", "fork", "simple"])
def test_worker_killed_mid_job_case_still_gets_one_verdict(env: Env, worker_class: str) -> None:
    receiver = env.receiver().start()
    pidfile = env.tmp / "running.pid"
    request = env.request("killed", "approved", callback=receiver.url, sleep=60, pidfile=str(pidfile))
    submit(request, env.config, connection=env.redis)
    proc = subprocess.Popen([sys.executable, "-c", _SUBPROCESS_WORKER, worker_class, f"{env.token}-doomed"],
                            cwd=ROOT, env={**os.environ, **to_env(env.config), "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline and proc.poll() is None, "worker never started the job"
        time.sleep(0.05)
    busy = int(pidfile.read_text())  # the worker process (prefork), the work horse (fork) or the worker
    os.kill(proc.pid, signal.SIGKILL)
    if busy != proc.pid:
        os.kill(busy, signal.SIGKILL)
    proc.wait(timeout=10)
    assert result(env.cid("killed"), 1, env.config, env.redis) is None
    queue = Queue(env.config.verify_queue, connection=env.redis, serializer=JSONSerializer)
    assert len(StartedJobRegistry(queue=queue)) == 1  # rq still lists it as running
    # rq's abandoned-job handling, with the clock moved past the dead worker's heartbeat expiry
    assert recover_abandoned(env.config, env.redis) == 0  # not expired yet: a live worker may own it
    assert recover_abandoned(env.config, env.redis, now=time.time() + 3600) == 1
    Path(request["document_video"]).write_text(json.dumps({"status": "approved"}))
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    assert recover_abandoned(env.config, env.redis, now=time.time() + 3600) == 0
    env.work()
    assert result(env.cid("killed"), 1, env.config, env.redis)["status"] == "approved"
    assert len(receiver.received) == 1
    assert [h["event"] for h in env.store.history(env.cid("killed"))].count("verdict") == 1


@pytest.mark.parametrize("worker_class", ["prefork", "fork"])
def test_worker_survives_crashing_and_overrunning_jobs(env: Env, worker_class: str) -> None:
    env.config = env.config.with_(job_timeout_s=2)
    jobs.install(env.config, ScriptedVerifier, preload=False)
    marker = env.tmp / "crashed-once"
    submit(env.request("crash-once", "approved", crash_once=str(marker)), env.config, connection=env.redis)
    submit(env.request("always-crash", "approved", crash=True), env.config, connection=env.redis)
    submit(env.request("too-slow", "approved", sleep=10), env.config, connection=env.redis)
    submit(env.request("fine", "refused"), env.config, connection=env.redis)
    started = time.monotonic()
    env.work(worker_class=worker_class)
    assert time.monotonic() - started < 20
    assert marker.exists()
    assert result(env.cid("crash-once"), 1, env.config, env.redis)["status"] == "approved"  # re-run
    for case in ("always-crash", "too-slow"):  # no answer is not an answer: a person looks at it
        out = result(env.cid(case), 1, env.config, env.redis)
        assert out["status"] == "manual_review" and out["reasons"] == ["internal_error"], case
    assert "timeout" in result(env.cid("too-slow"), 1, env.config, env.redis)["verdict"]["document"]["note"]
    assert result(env.cid("fine"), 1, env.config, env.redis)["status"] == "refused"
    assert env.redis.zscore(env.store.k_review_queue, env.cid("always-crash")) is not None


def test_prefork_kills_a_job_stuck_past_its_timeout(env: Env) -> None:
    env.config = env.config.with_(job_timeout_s=1, hard_timeout_grace_s=1.0, job_retries=0)
    jobs.install(env.config, ScriptedVerifier, preload=False)
    submit(env.request("stuck", "approved", ignore_alarm=True, sleep=30), env.config, connection=env.redis)
    submit(env.request("after", "approved"), env.config, connection=env.redis)
    started = time.monotonic()
    env.work(worker_class="prefork")
    assert time.monotonic() - started < 15
    out = result(env.cid("stuck"), 1, env.config, env.redis)
    assert out["status"] == "manual_review" and out["reasons"] == ["internal_error"]
    assert result(env.cid("after"), 1, env.config, env.redis)["status"] == "approved"  # replacement process


def test_prefork_runs_several_processes(env: Env) -> None:
    pids = env.tmp / "pids"
    pids.mkdir()
    for i in range(6):
        submit(env.request(f"p{i}", "approved", sleep=0.3, pidfile=str(pids / f"p{i}")), env.config,
               connection=env.redis)
    env.work(worker_class="prefork", processes=2)
    assert all(result(env.cid(f"p{i}"), 1, env.config, env.redis)["status"] == "approved" for i in range(6))
    workers = {p.read_text() for p in pids.iterdir()}
    assert len(workers) == 2 and str(os.getpid()) not in workers  # two children, none is the supervisor


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A private redis-server with AOF (fsync always); calling the fixture's value restarts it."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path / "redis-aof"
    folder.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                       "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis(port=port, socket_timeout=1).ping()
                return
            except Exception:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def restart() -> None:
        procs[-1].kill()  # SIGKILL: no shutdown save, only the AOF
        procs[-1].wait(timeout=10)
        start()

    start()
    restart.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    try:
        yield restart
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)


def test_redis_restart_between_jobs_loses_nothing(env: Env, aof_redis: Any) -> None:
    env.config = env.config.with_(redis_url=aof_redis.url)
    env.redis = Redis.from_url(aof_redis.url)
    jobs.install(env.config, ScriptedVerifier, preload=False)
    receiver = env.receiver().start()
    names = ["r1", "r2", "r3", "r4"]
    statuses = dict(zip(names, ["approved", "manual_review", "refused", "retry_required"]))
    for name in names:
        submit(env.request(name, statuses[name], callback=receiver.url), env.config, connection=env.redis)
    env.work(max_jobs=3)  # verify r1, deliver r1, verify r2 (its delivery is queued)
    done_before = [n for n in names if result(env.cid(n), 1, env.config, env.redis)]
    assert done_before == ["r1", "r2"] and len(receiver.acknowledged()) == 1
    aof_redis()  # Redis killed and restarted from its append-only file
    env.redis = Redis.from_url(aof_redis.url)
    assert result(env.cid("r2"), 1, env.config, env.redis)["status"] == "manual_review"
    env.drain(lambda: len(receiver.acknowledged()) == 4)
    env.work()
    for name in names:
        assert result(env.cid(name), 1, env.config, env.redis)["status"] == statuses[name]
        assert len(receiver.for_case(env.cid(name))) == 1
    assert len(receiver.received) == 4
    assert env.redis.zscore(env.store.k_review_queue, env.cid("r2")) is not None


# ---- review, retention, CLI --------------------------------------------------------------------

def _cli(env: Env, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    from workers.cli import register

    for name, value in to_env(env.config).items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser(prog="kyc")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.run(args))


def test_review_queue_decide_escalate_reverify(env: Env, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    receiver = env.receiver().start()
    for name in ("rev-a", "rev-b"):
        submit(env.request(name, "manual_review", callback=receiver.url), env.config, connection=env.redis)
    env.drain(lambda: len(receiver.acknowledged()) == 2)
    queued = review.list_queue(env.config, env.redis)
    assert [q["case_id"] for q in queued] == [env.cid("rev-a"), env.cid("rev-b")]
    assert not any(q["overdue"] for q in queued) and queued[0]["reasons"] == ["verification_incomplete"]
    assert 71.5 < queued[0]["hours_left"] <= 72

    later = time.time() + 73 * 3600
    escalated = review.escalate_overdue(env.config, env.redis, now=later)
    assert {e["case_id"] for e in escalated} == {env.cid("rev-a"), env.cid("rev-b")}
    assert review.escalate_overdue(env.config, env.redis, now=later + 60) == []  # once
    assert all(q["overdue"] and q["state"] == "escalated" for q in review.list_queue(env.config, env.redis,
                                                                                      now=later))

    # re-verification with the strict engine: evidence in the audit trail, no decision
    Path(env.root / "rev-b-1-document.mp4").write_text(json.dumps({"status": "approved"}))
    out = review.reverify(env.config, env.redis, None, verifier_factory=ScriptedVerifier)
    assert {(r["case_id"], r["status"]) for r in out} == {(env.cid("rev-a"), "manual_review"),
                                                          (env.cid("rev-b"), "approved")}
    assert result(env.cid("rev-b"), 1, env.config, env.redis)["status"] == "manual_review"

    assert _cli(env, monkeypatch, "review", "decide", env.cid("rev-a"), "refuse", "--reason",
                "document_photocopy, portrait pasted over", "--reviewer", "alice") == 0
    with pytest.raises(review.ReviewError, match="not in the review queue|already decided"):
        review.decide(env.config, env.redis, env.cid("rev-a"), "approve", reason="changed my mind",
                      reviewer="mallory")
    with pytest.raises(review.ReviewError, match="reason"):
        review.decide(env.config, env.redis, env.cid("rev-b"), "approve", reason=" ", reviewer="bob")
    review.decide(env.config, env.redis, env.cid("rev-b"), "approve", reason="strict re-run passes",
                  reviewer="bob")
    env.drain(lambda: len(receiver.acknowledged()) == 4)
    decision = [r for r in receiver.for_case(env.cid("rev-a")) if r.event == "review.decided"]
    assert len(decision) == 1 and decision[0].body["status"] == "refused"
    assert decision[0].body["decision"]["reason_codes"] == ["document_photocopy"]
    assert result(env.cid("rev-a"), 1, env.config, env.redis)["status"] == "refused"
    assert result(env.cid("rev-a"), 1, env.config, env.redis)["verdict"]["status"] == "manual_review"
    assert review.list_queue(env.config, env.redis) == []

    trail = env.store.history(env.cid("rev-a"))
    assert [h["event"] for h in trail] == ["submitted", "verdict", "review_queued", "delivered",
                                           "escalated", "reverified", "decision", "delivered"]
    entry = trail[6]
    assert entry["reviewer"] == "alice" and "pasted" in entry["reason"] and entry["at"]
    capsys.readouterr()
    assert _cli(env, monkeypatch, "review", "show", env.cid("rev-a")) == 0
    shown = capsys.readouterr().out
    assert "decision: refused by alice" in shown and "escalated" in shown and "document: complete" in shown
    assert _cli(env, monkeypatch, "review", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)["queue"] == []


def test_retention_deletes_media_keeps_verdict_and_trail(env: Env) -> None:
    env.config = env.config.with_(retention_s=3600)
    jobs.install(env.config, ScriptedVerifier, preload=False)
    outside = env.tmp / "outside.mp4"
    outside.write_bytes(b"keep me")
    final = env.request("ret-final", "approved")
    held = env.request("ret-held", "manual_review")
    for request in (final, held):
        submit(request, env.config, connection=env.redis)
    bad = {"case_id": env.cid("ret-bad"), "attempt": 1, "document_video": str(outside),
           "selfie_video": final["selfie_video"]}
    submit(bad, env.config, connection=env.redis, validate_request=False)
    env.work()
    assert retention.purge_due(env.config, env.redis) == 0  # not due yet
    later = time.time() + 3601
    assert retention.purge_due(env.config, env.redis, now=later) == 2  # the approved and the failed one
    assert not Path(final["document_video"]).exists() and not Path(final["selfie_video"]).exists()
    assert outside.read_bytes() == b"keep me"  # outside the roots: never deleted
    assert Path(held["document_video"]).exists()  # the reviewer still needs it
    assert result(env.cid("ret-final"), 1, env.config, env.redis)["status"] == "approved"
    assert env.store.history(env.cid("ret-final"))[-1]["event"] == "media_purged"
    assert env.store.get_attempt(env.cid("ret-final"), 1)["media_state"] == "purged"
    review.decide(env.config, env.redis, env.cid("ret-held"), "approve", reason="ok", reviewer="carol")
    assert retention.purge_due(env.config, env.redis, now=time.time() + 3601) == 1
    assert not Path(held["document_video"]).exists()
    assert env.store.get_verdict(env.cid("ret-held"), 1)["status"] == "manual_review"
    assert env.store.get_decision(env.cid("ret-held"), 1)["reviewer"] == "carol"


def test_cli_registers_worker_and_review(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.cli import register

    parser = argparse.ArgumentParser(prog="kyc")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["worker", "--burst", "--worker-class", "simple", "--processes", "2"])
    assert args.burst and args.worker_class == "simple" and args.processes == 2
    args = parser.parse_args(["review", "decide", "C1", "approve", "--reason", "ok", "--reviewer", "me"])
    assert args.decision == "approve" and args.reviewer == "me"
    with pytest.raises(SystemExit):
        parser.parse_args(["review", "decide", "C1", "maybe", "--reason", "x", "--reviewer", "y"])
    for name, value in {**to_env(env.config), "KYC_WEBHOOK_SECRET": ""}.items():
        monkeypatch.setenv(name, value)
    args = parser.parse_args(["worker", "--burst"])
    with pytest.raises(ConfigError, match="KYC_WEBHOOK_SECRET"):  # refuses to start unsigned
        args.run(args)
    assert _cli(env, monkeypatch, "worker", "--housekeeping", "--json") == 0


# ---- the real engine ---------------------------------------------------------------------------

def test_warm_up_verifies_one_generated_sample(tmp_path: Path) -> None:
    from workers.worker import warm_up

    seen: list[tuple[bool, bool]] = []

    class Recorder:
        def verify(self, document: Any, selfie: Any, **kwargs: Any) -> None:
            seen.append((Path(document).stat().st_size > 0, Path(selfie).stat().st_size > 0))

    class Broken:
        def verify(self, document: Any, selfie: Any, **kwargs: Any) -> None:
            raise RuntimeError("engine not usable")

    config = WorkerConfig(tmp_dir=str(tmp_path))
    assert warm_up(Recorder(), config) is not None and seen == [(True, True)]
    assert warm_up(Broken(), config) is None  # an optimisation: never stops the worker
    assert list(tmp_path.iterdir()) == []  # the generated sample is gone


def _real_videos(folder: Path, seed: int) -> tuple[Path, Path]:
    from kycengine.synth import make_sample

    make_sample(folder, seed=seed, size=(320, 240), fps=10)
    return folder / "document.mp4", folder / "selfie.mp4"


@pytest.mark.slow
def test_real_verifier_end_to_end(env: Env) -> None:
    from workers.worker import worker_verifier_factory

    receiver = env.receiver().start()
    built: list[int] = []

    def factory() -> Any:
        built.append(os.getpid())
        return worker_verifier_factory()

    document, selfie = _real_videos(env.root / "sample", seed=3)
    for attempt_case in ("real-1", "real-2"):
        submit({"case_id": env.cid(attempt_case), "attempt": 1, "document_video": str(document),
                "selfie_video": str(selfie), "callback_url": receiver.url,
                "declared": {"surname": "MARTIN", "given_names": "ALICE"}}, env.config, connection=env.redis)
    import cv2

    threads = cv2.getNumThreads()
    try:
        env.work(factory=factory)
    finally:
        cv2.setNumThreads(threads)  # the worker factory sets 1 thread: leave the test process as it was
    assert built == [os.getpid()]  # models loaded once, in the worker process, before the jobs
    for case in ("real-1", "real-2"):
        out = result(env.cid(case), 1, env.config, env.redis)
        assert out is not None and out["status"] in {s.value for s in Status}
        verdict = out["verdict"]
        assert verdict["timings_ms"]["total"] > 0 and verdict["engine_version"]
        assert "portrait" not in verdict["document"] and "embeddings" not in verdict["face"]
    env.drain(lambda: len(receiver.acknowledged()) == 2)
    assert all(r.signature_ok for r in receiver.received)
    assert len(receiver.received) == 2
