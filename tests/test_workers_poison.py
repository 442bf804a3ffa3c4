"""Hostile and broken queue entries, on a real Redis with real burst workers: each one ends with a
stored outcome and a code, and nothing it names is executed.

Oversized and deeply nested bodies, client timestamps in year 9999 and 1970, attempts out of range,
functions that are not ours (`os.system`), a pickled payload whose unpickling would run a command,
and jobs that died in rq's failed-job registry.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer, PickleSerializer

from kycengine.errors import InvalidRequest
from tests.workers_support import Env
from workers import outcomes, queues
from workers.enqueue import job_outcome, result, submit
from workers.guard import VERIFY_JOB
from workers.intake import RequestTooDeep, RequestTooLarge, text_depth
from workers.sweep import sweep_failed_jobs


def _raw(env: Env, body: str) -> str:
    """Enqueue a body as given (no checks at submit): the worker must answer it."""
    return submit(body, env.config, connection=env.redis, validate_request=False)


def test_nesting_is_measured_without_parsing() -> None:
    assert text_depth('{"a": [1, {"b": "[[[[ not counted ]]]]"}]}') == 3
    assert text_depth("[" * 100_000 + "]" * 100_000) == 100_000
    assert text_depth('"\\"[[[["') == 0


def test_oversized_and_deeply_nested_bodies_get_a_stored_outcome(env: Env) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    deep = json.dumps({"case_id": env.cid("deep"), "attempt": 1})[:-1] + ', "declared": ' + \
        "[" * 1000 + "]" * 1000 + "}"
    huge = json.dumps({"case_id": env.cid("huge"), "attempt": 1, "pad": "a" * 10_000_000})
    with pytest.raises(RequestTooLarge):
        submit(nested, env.config, connection=env.redis)
    with pytest.raises(RequestTooDeep):
        submit(deep, env.config, connection=env.redis)
    with pytest.raises(RequestTooLarge):
        submit(huge, env.config, connection=env.redis)
    as_dict: Any = {}
    inner = as_dict
    for _ in range(100_000):  # a Python caller's dict, as deep: refused without recursion
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(RequestTooDeep):
        submit(as_dict, env.config, connection=env.redis)

    ids = {"nested": _raw(env, nested), "deep": _raw(env, deep), "huge": _raw(env, huge)}
    good = submit(env.request("after", "approved"), env.config, connection=env.redis)
    env.work()
    codes = {"nested": "request_too_large", "deep": "request_too_deep", "huge": "request_too_large"}
    for name, job_id in ids.items():
        out = job_outcome(job_id, env.config, env.redis)
        assert out is not None and out["status"] == "failed" and out["reason"] == codes[name], name
        job = Job.fetch(job_id, connection=env.redis, serializer=JSONSerializer)
        assert job.get_status() == "finished", name  # answered, not crashed, not retried
    assert Job.fetch(good, connection=env.redis, serializer=JSONSerializer).return_value()["status"] == "approved"


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_client_timestamps_out_of_range_are_replaced_and_audited(env: Env, stamp: str) -> None:
    receiver = env.receiver().start()
    queued = env.request("stamped", "manual_review", callback=receiver.url) | {"submitted_at": stamp}
    direct = env.request("direct", "manual_review") | {"submitted_at": stamp}
    submit(queued, env.config, connection=env.redis)
    queues.enqueue_verification(env.config, env.redis, json.dumps(direct), job_id=f"{env.token}-direct")
    started = time.time()
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    for name in ("stamped", "direct"):
        out = result(env.cid(name), 1, env.config, env.redis)
        assert out is not None and out["status"] == "manual_review", name
        item = env.store.get_review_item(env.cid(name))
        deadline = dt.datetime.fromisoformat(item["deadline"]).timestamp()
        assert started - 5 + 72 * 3600 <= deadline <= time.time() + 72 * 3600 + 5, name  # from server time
        notes = [h for h in env.store.history(env.cid(name)) if h["event"] == "submitted_at_replaced"]
        assert len(notes) == 1 and notes[0]["given"].startswith(stamp[:4]) and notes[0]["reason"], name
    listed = {q["case_id"]: q for q in review_queue(env)}
    assert not listed[env.cid("stamped")]["overdue"] and not listed[env.cid("direct")]["overdue"]


def review_queue(env: Env) -> list[dict[str, Any]]:
    from workers.review import list_queue

    return list_queue(env.config, env.redis)


@pytest.mark.parametrize("attempt", [9999, 0, -1, "1", 1.5, None, True])
def test_attempts_out_of_range_get_a_stored_outcome(env: Env, attempt: Any) -> None:
    body = env.request("attempts", "approved") | {"attempt": attempt}
    with pytest.raises(InvalidRequest):
        submit(body, env.config, connection=env.redis)
    job_id = _raw(env, json.dumps(body))
    env.work()
    out = job_outcome(job_id, env.config, env.redis)
    assert out is not None and out["status"] == "failed" and out["reason"] == "invalid_request"
    assert out["case_id"] == env.cid("attempts")
    trail = env.store.history(env.cid("attempts"))
    assert [h["event"] for h in trail] == ["rejected"] and trail[0]["job_id"] == job_id
    assert not Path(body["document_video"]).with_suffix(".verified").exists()


@pytest.mark.parametrize("worker_class", ["simple", "fork", "prefork"])
def test_only_our_functions_run(env: Env, tmp_path: Path, worker_class: str) -> None:
    marker = tmp_path / "x"
    queue = Queue(env.config.verify_queue, connection=env.redis, serializer=JSONSerializer)
    foreign = queue.enqueue_call("os.system", args=[f"touch {marker}"], job_id=f"{env.token}-os-system")
    hooked = queue.enqueue_call(VERIFY_JOB, args=[json.dumps(env.request("hooked", "approved"))],
                                on_failure=Callback("os.system"), job_id=f"{env.token}-callback")
    wrong_args = queue.enqueue_call(VERIFY_JOB, args=["{}", "extra"], job_id=f"{env.token}-args")
    delivery_queue = Queue(env.config.delivery_queue, connection=env.redis, serializer=JSONSerializer)
    subprocess_job = delivery_queue.enqueue_call("subprocess.check_call", args=[["touch", str(marker)]],
                                                 retry=Retry(max=3), job_id=f"{env.token}-subprocess")
    good = submit(env.request("ours", "approved"), env.config, connection=env.redis)
    env.work(worker_class=worker_class)
    assert not marker.exists()
    expected = {foreign.id: "job_not_allowed", hooked.id: "job_not_allowed", wrong_args.id: "job_bad_arguments",
                subprocess_job.id: "job_not_allowed"}
    for job_id, code in expected.items():
        out = env.store.get_rejected(job_id)
        assert out is not None and out["status"] == "rejected" and out["reason"] == code, job_id
    assert env.store.get_rejected(foreign.id)["function"] == "os.system"
    assert {job_id for job_id, _ in env.store.quarantined()} == set(expected)
    assert result(env.cid("hooked"), 1, env.config, env.redis) is None  # never verified
    assert result(env.cid("ours"), 1, env.config, env.redis)["status"] == "approved"
    assert Job.fetch(good, connection=env.redis, serializer=JSONSerializer).get_status() == "finished"


class _Command:
    """Unpickling this runs a shell command (pickle's __reduce__): the classic queue payload attack."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return os.system, (self.command,)


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_a_pickled_payload_is_never_unpickled(env: Env, tmp_path: Path, worker_class: str) -> None:
    marker = tmp_path / "pickled"
    queue = Queue(env.config.verify_queue, connection=env.redis, serializer=PickleSerializer)
    job = queue.enqueue_call("os.getcwd", job_id=f"{env.token}-pickle")
    env.redis.hset(job.key, "data", zlib.compress(pickle.dumps(_Command(f"touch {marker}"))))
    env.work(worker_class=worker_class)
    assert not marker.exists()
    out = env.store.get_rejected(job.id)
    assert out is not None and out["status"] == "rejected" and out["reason"] == "job_undecodable"


class _Raising:
    def verify(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine broke")


def test_failed_job_sweep_gives_every_dead_job_an_outcome(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.config = env.config.with_(job_retries=0)
    from workers.context import install

    install(env.config, _Raising, preload=False)
    queue = queues.verify_queue(env.config, env.redis)
    # enqueued without the failure callback, as an older release or a hand-made entry would be
    lost = queue.enqueue_call(VERIFY_JOB, args=[json.dumps(env.request("lost", "approved"))], job_id=f"{env.token}-l")
    queue.enqueue_call(VERIFY_JOB, args=[json.dumps(env.request("broken", "manual_review"))],
                                job_id=f"{env.token}-b")
    garbage = queue.enqueue_call(VERIFY_JOB, args=["{not json"], job_id=f"{env.token}-g")
    env.work(factory=_Raising)
    assert Job.fetch(lost.id, connection=env.redis, serializer=JSONSerializer).get_status() == "failed"
    assert result(env.cid("lost"), 1, env.config, env.redis) is None  # nothing stored yet

    real_commit = outcomes.commit

    def commit(config: Any, connection: Any, request: Any, verdict: Any) -> Any:
        if request.case_id == env.cid("broken"):  # even the fallback verdict cannot be stored
            raise OSError("disk full")
        return real_commit(config, connection, request, verdict)

    monkeypatch.setattr(outcomes, "commit", commit)
    assert sweep_failed_jobs(env.config, env.redis) == 2  # `garbage` got its failed result when it ran
    out = result(env.cid("lost"), 1, env.config, env.redis)
    assert out["status"] == "manual_review" and out["reasons"] == ["internal_error"]
    assert "engine broke" in out["verdict"]["document"]["note"]
    broken_out = result(env.cid("broken"), 1, env.config, env.redis)
    assert broken_out["status"] == "failed" and broken_out["reason"] == "internal_error"
    assert job_outcome(garbage.id, env.config, env.redis)["reason"] == "invalid_request"
    assert sweep_failed_jobs(env.config, env.redis) == 0  # once each
