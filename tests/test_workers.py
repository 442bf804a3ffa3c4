"""Worker tests against a real Redis: enqueue, drain in burst mode, check verdicts and signed webhooks.

Verdicts, malformed requests, idempotency, attempts, deliveries and their retries, workers killed
mid-job, crashing and overrunning jobs, a Redis restart, and the real Verifier end to end. Shared
helpers: tests/workers_support.py; fixtures `env` and `aof_redis`: tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from kycengine.capture.challenge import Challenge, draw
from kycengine.errors import InvalidRequest, PathNotAllowed
from kycengine.reasons import Reason
from tests.workers_support import CONSENT, ROOT, Env, ScriptedVerifier, free_port, to_env
from workers.config import WorkerConfig
from workers.context import install
from workers.delivery_job import redeliver
from workers.enqueue import AttemptNotAllowed, result, submit
from workers.queues import enqueue_verification
from workers.worker import recover_abandoned


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
        # per reason: the code, its own effect and the customer's texts in French and English
        assert [r["code"] for r in got[0].body["reasons"]] == got[0].body["verdict"]["reasons"]
        for reason in got[0].body["reasons"]:
            assert reason["effect"] == got[0].body["verdict"]["effects"][reason["code"]]
            assert reason["message"] == {"en": Reason(reason["code"]).message_en,
                                         "fr": Reason(reason["code"]).message_fr}
        record = env.store.get_delivery(env.cid(s), 1, "verdict")
        assert record["state"] == "delivered" and record["delivery_id"] == got[0].delivery_id
    assert len(receiver.received) == 4
    blurry = receiver.for_case(env.cid("retry_required"))[0].body["reasons"]
    assert blurry == [{"code": "document_blurry", "effect": "retry",
                       "message": {"en": Reason.DOCUMENT_BLURRY.message_en, "fr": Reason.DOCUMENT_BLURRY.message_fr}}]
    assert receiver.for_case(env.cid("approved"))[0].body["reasons"] == []
    review_item = env.store.get_review_item(env.cid("manual_review"))
    submitted = dt.datetime.fromisoformat(review_item["submitted_at"])
    deadline = dt.datetime.fromisoformat(review_item["deadline"])
    assert deadline - submitted == dt.timedelta(hours=72)
    assert receiver.for_case(env.cid("manual_review"))[0].body["review_deadline"] == deadline.isoformat()
    assert env.store.retention_time(env.cid("approved"), 1) is not None
    assert env.store.retention_time(env.cid("manual_review"), 1) is None
    events = [h["event"] for h in env.store.history(env.cid("approved"))]
    assert events == ["submitted", "verdict", "delivered"]


def test_a_capture_challenge_reaches_the_verifier(env: Env) -> None:
    """The challenge stored with the request is the one the worker's verifier checks the selfie against."""
    runlog = env.tmp / "runs.jsonl"
    challenge = draw()
    submit({**env.request("dare", "approved", runlog=str(runlog)), "challenge": challenge.to_dict()}, env.config,
           connection=env.redis)
    submit(env.request("plain", "approved", runlog=str(runlog)), env.config, connection=env.redis)
    env.work()
    runs = {run["case"]: run for run in map(json.loads, runlog.read_text().splitlines())}
    assert Challenge.from_dict(runs[env.cid("dare")]["challenge"]) == challenge
    assert runs[env.cid("plain")]["challenge"] is None


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
                "selfie_video": selfie, "customer_id": env.cid(name), "consent": CONSENT, **fields}

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
    again = enqueue_verification(env.config, env.redis, json.dumps(request), job_id="kyc-verify-again")
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
    install(env.config, ScriptedVerifier, preload=False)
    receiver = env.receiver(fail_first=100).start()
    submit(env.request("never", "approved", callback=receiver.url), env.config, connection=env.redis)
    env.drain(lambda: (env.store.get_delivery(env.cid("never"), 1, "verdict") or {}).get("state") == "gave_up")
    assert len(receiver.received) == 2
    assert "delivery_gave_up" in [h["event"] for h in env.store.history(env.cid("never"))]
    receiver.fail_first = 0
    assert redeliver(env.config, env.redis, env.cid("never"), 1)
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    assert len({r.delivery_id for r in receiver.received}) == 1


_SUBPROCESS_WORKER = """
import sys
from workers.config import WorkerConfig
from workers.worker import run_worker
from tests.workers_support import ScriptedVerifier
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
    # the customer's status moved once each way, and each of its events was delivered once
    env.drain(lambda: len(receiver.status_events(env.cid("killed"))) == 2)
    assert [(e["sequence"], e["status"]) for e in receiver.status_events(env.cid("killed"))] == [
        (1, "pending"), (2, "verified")]
    assert len(receiver.status) == 2


@pytest.mark.parametrize("worker_class", ["prefork", "fork"])
def test_worker_survives_crashing_and_overrunning_jobs(env: Env, worker_class: str) -> None:
    env.config = env.config.with_(job_timeout_s=2)
    install(env.config, ScriptedVerifier, preload=False)
    marker = env.tmp / "crashed-once"
    submit(env.request("crash-once", "approved", crash_once=str(marker)), env.config, connection=env.redis)
    submit(env.request("always-crash", "approved", crash=True), env.config, connection=env.redis)
    submit(env.request("too-slow", "approved", sleep=10), env.config, connection=env.redis)
    # a timeout must not be swallowed by a stage that catches every Exception on the way
    submit(env.request("swallower", "approved", busy_catching=10), env.config, connection=env.redis)
    submit(env.request("fine", "refused"), env.config, connection=env.redis)
    started = time.monotonic()
    env.work(worker_class=worker_class)
    assert time.monotonic() - started < 25
    assert marker.exists()
    assert result(env.cid("crash-once"), 1, env.config, env.redis)["status"] == "approved"  # re-run
    for case in ("always-crash", "too-slow", "swallower"):  # no answer is not an answer: a person looks
        out = result(env.cid(case), 1, env.config, env.redis)
        assert out["status"] == "manual_review" and out["reasons"] == ["internal_error"], case
    for case in ("too-slow", "swallower"):
        assert "timeout" in result(env.cid(case), 1, env.config, env.redis)["verdict"]["document"]["note"]
    assert result(env.cid("fine"), 1, env.config, env.redis)["status"] == "refused"
    assert env.cid("always-crash") in dict(env.store.review_queue())


def test_prefork_kills_a_job_stuck_past_its_timeout(env: Env) -> None:
    env.config = env.config.with_(job_timeout_s=1, hard_timeout_grace_s=1.0, job_retries=0)
    install(env.config, ScriptedVerifier, preload=False)
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


def test_redis_restart_between_jobs_loses_nothing(env: Env, aof_redis: Any) -> None:
    env.config = env.config.with_(redis_url=aof_redis.url)
    env.redis = Redis.from_url(aof_redis.url)
    install(env.config, ScriptedVerifier, preload=False)
    receiver = env.receiver().start()
    names = ["r1", "r2", "r3", "r4"]
    statuses = dict(zip(names, ["approved", "manual_review", "refused", "retry_required"]))
    for name in names:
        submit(env.request(name, statuses[name], callback=receiver.url), env.config, connection=env.redis)
    # verify r1; deliver its three webhooks (customer pending, customer verified, the verdict); verify r2
    env.work(max_jobs=5)
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
    assert env.cid("r2") in dict(env.store.review_queue())


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


def _real_videos(folder: Path, seed: int) -> tuple[Path, Path, Any]:
    """A generated document + selfie pair (640x360: the MRZ is readable) and the holder's identity."""
    from kycengine.synth import make_sample

    labels = make_sample(folder, seed=seed, size=(640, 360), fps=10)
    return folder / "document.mp4", folder / "selfie.mp4", labels["document.mp4"].identity


@pytest.mark.slow
def test_real_verifier_end_to_end(env: Env) -> None:
    from workers.worker import worker_verifier_factory

    receiver = env.receiver().start()
    built: list[int] = []

    def factory() -> Any:
        built.append(os.getpid())
        return worker_verifier_factory()

    document, selfie, holder = _real_videos(env.root / "sample", seed=3)
    declarations = {  # the holder (accents dropped, hyphenated), and someone else holding their card
        "real-1": {"surname": holder.surname.upper(), "given_names": "-".join(holder.given_names),
                   "birth_date": holder.birth_date.isoformat()},
        "real-2": {"surname": "DUPONT", "given_names": "JEAN", "birth_date": "1990-01-01"}}
    for attempt_case, declared in declarations.items():  # each case has its own upload (a case owns its media)
        own = env.root / attempt_case
        own.mkdir()
        shutil.copy(document, own / document.name)
        shutil.copy(selfie, own / selfie.name)
        submit({"case_id": env.cid(attempt_case), "attempt": 1, "document_video": str(own / document.name),
                "selfie_video": str(own / selfie.name), "callback_url": receiver.url,
                "declared": declared, "customer_id": env.cid(attempt_case), "consent": CONSENT},
               env.config, connection=env.redis)
    import cv2

    threads = cv2.getNumThreads()
    try:
        env.work(factory=factory)
    finally:
        cv2.setNumThreads(threads)  # the worker factory sets 1 thread: leave the test process as it was
    assert built == [os.getpid()]  # models loaded once, in the worker process, before the jobs
    own, other = (result(env.cid(case), 1, env.config, env.redis) for case in ("real-1", "real-2"))
    assert own is not None and own["status"] == "approved", own["reasons"]
    assert own["verdict"]["declared"]["comparison"]["outcome"] == "match"
    assert other is not None and (other["status"], other["reasons"]) == ("refused", ["declared_identity_mismatch"])
    for out in (own, other):
        verdict = out["verdict"]
        assert verdict["timings_ms"]["total"] > 0 and verdict["engine_version"]
        assert "portrait" not in verdict["document"] and "embeddings" not in verdict["face"]
    env.drain(lambda: len(receiver.acknowledged()) == 2)
    assert all(r.signature_ok for r in receiver.received)
    assert len(receiver.received) == 2
