"""The Redis users recommended in docs/redis-users.acl, on a private redis-server: the bank's user
can submit and read outcomes but write nothing else, and the worker's user runs every worker class."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import NoPermissionError
from rq import Queue
from rq.serializers import JSONSerializer

from tests.workers_support import CONSENT, LOOPBACK, ROOT, SECRET, ScriptedVerifier, free_port
from workers import review
from workers.config import WorkerConfig
from workers.enqueue import job_outcome, result, submit
from workers.queues import enqueue_reverification
from workers.worker import run_worker

PASSWORDS = {"kyc-bank": "change-me-bank", "kyc-worker": "change-me-worker", "kyc-review": "change-me-review"}


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[int]:
    """A redis-server loading docs/redis-users.acl; yields its port."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    acl = tmp_path / "users.acl"
    shutil.copy(ROOT / "docs" / "redis-users.acl", acl)
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--aclfile", str(acl), "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis(port=port, username="kyc-worker", password=PASSWORDS["kyc-worker"]).ping()
            break
        except Exception:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _config(port: int, user: str, root: Path) -> WorkerConfig:
    return WorkerConfig(redis_url=f"redis://{user}:{PASSWORDS[user]}@127.0.0.1:{port}/0", media_roots=(str(root),),
                        webhook_secret=SECRET, warmup=False, callback_allow_networks=LOOPBACK)


@pytest.mark.parametrize("worker_class", ["simple", "prefork"])
def test_bank_user_only_pushes_to_the_intake(acl_redis: int, tmp_path: Path, worker_class: str) -> None:
    root = tmp_path / "media"
    root.mkdir()
    (root / "doc.mp4").write_text(json.dumps({"status": "approved"}))
    (root / "selfie.mp4").write_text("selfie")
    (root / "held.mp4").write_text(json.dumps({"status": "manual_review"}))
    (root / "held-selfie.mp4").write_text("selfie")
    bank, worker = _config(acl_redis, "kyc-bank", root), _config(acl_redis, "kyc-worker", root)
    request = {"case_id": "acl-1", "attempt": 1, "document_video": str(root / "doc.mp4"),
               "selfie_video": str(root / "selfie.mp4"), "customer_id": "acl-customer", "consent": CONSENT}
    submit(request, bank)
    submit(request | {"case_id": "acl-2", "document_video": str(root / "held.mp4"),
                      "selfie_video": str(root / "held-selfie.mp4"),
                      "callback_url": f"http://127.0.0.1:{free_port()}/hook"}, bank)
    marker = tmp_path / "x"
    as_bank = Redis(port=acl_redis, username="kyc-bank", password=PASSWORDS["kyc-bank"])
    foreign = Queue("kyc-verify", connection=as_bank, serializer=JSONSerializer).enqueue_call(
        "os.system", args=[f"touch {marker}"], job_id="kyc-verify-foreign")
    for forbidden in (lambda: as_bank.set("kyc:verdict:acl-1:1", "{}"), lambda: as_bank.rpush("rq:queue:kyc-deliver", "x"),
                      lambda: as_bank.rpush("kyc:history:acl-1", "{}"), lambda: as_bank.delete("rq:queue:kyc-verify"),
                      lambda: as_bank.hset("rq:job:kyc-deliver-x", "data", "x")):
        with pytest.raises(NoPermissionError):
            forbidden()
    run_worker(worker, burst=True, verifier_factory=ScriptedVerifier, worker_class=worker_class,
               logging_level="WARNING")
    assert result("acl-1", 1, bank)["status"] == "approved"  # the bank reads its outcome
    assert not marker.exists() and job_outcome(foreign.id, bank)["status"] == "rejected"
    reviewer = _config(acl_redis, "kyc-review", root)
    review.decide(reviewer, Redis.from_url(reviewer.redis_url), "acl-2", "approve", reason="ok", reviewer="eve")
    assert result("acl-2", 1, bank)["status"] == "approved"  # decided, its delivery queued by the reviewer
    assert enqueue_reverification(reviewer, Redis.from_url(reviewer.redis_url), "acl-2").id.startswith("kyc-reverify-")
