"""Customer identity status across attempts, against a real Redis, through `submit` and workers.

Flows: refused -> retry -> verified; three refusals -> in review (72 h) -> approved; verified ->
secret code reset -> revoked -> re-verified; a fresh strong authentication; expiry; consent missing
(nothing decoded) and withdrawn (media deleted, no embedding anywhere); duplicates; cool-down; every
transition of `lifecycle.TRANSITIONS` walked; illegal ones refused; a worker killed mid-transition.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from redis.connection import Connection
from rq import Queue
from rq.serializers import JSONSerializer

from kycengine.errors import InvalidRequest
from tests.workers_support import CONSENT, Env, Receiver, ScriptedVerifier, cli
from workers import identity, lifecycle, review
from workers.context import install
from workers.enqueue import result, submit
from workers.lifecycle import TRANSITIONS, CustomerNotAllowed, IllegalTransition
from workers.states import Cause, CustomerStatus
from workers.verification import submission_update, verify_job

S = CustomerStatus


def attempt(env: Env, case: str, n: int, status: str, customer: str, receiver: Receiver | None = None,
            **script: Any) -> dict[str, Any]:
    """Submit one attempt of `customer`, run a worker, return the attempt's outcome."""
    submit(env.request(case, status, attempt=n, customer=customer, callback=receiver.url if receiver else None,
                       **script), env.config, connection=env.redis)
    env.work()
    out = result(env.cid(case), n, env.config, env.redis)
    assert out is not None
    return out


def record(env: Env, customer: str) -> dict[str, str]:
    return env.store.get_customer(env.cid(customer)) or {}


def moves(env: Env, customer: str) -> list[tuple[str, str, str]]:
    """The customer's status changes, in order, as (from, to, cause)."""
    return [(h["from"], h["to"], h["cause"]) for h in env.store.customer_history(env.cid(customer))
            if h["event"] == "status_changed"]


def statuses(events: list[dict[str, Any]]) -> list[str]:
    return [e["status"] for e in events]


@pytest.fixture(autouse=True)
def _scripted(env: Env) -> None:
    install(env.config, ScriptedVerifier, preload=False)


def test_refused_then_retry_then_verified(env: Env) -> None:
    receiver = env.receiver().start()
    assert attempt(env, "ana", 1, "refused", "ana", receiver)["status"] == "refused"
    assert record(env, "ana")["status"] == "action_required" and record(env, "ana")["refusals"] == "1"
    started = time.time()
    assert attempt(env, "ana", 2, "approved", "ana", receiver)["status"] == "approved"
    ana = record(env, "ana")
    assert ana["status"] == "verified" and ana["refusals"] == "0" and ana["verified_attempt"] == "2"
    assert 729 * 86400 < float(ana["valid_until_ts"]) - started < 732 * 86400  # 24 months
    env.drain(lambda: len(receiver.status_events(env.cid("ana"))) == 4)
    events = receiver.status_events(env.cid("ana"))
    assert statuses(events) == ["pending", "action_required", "pending", "verified"]
    assert [e["sequence"] for e in events] == [1, 2, 3, 4]
    assert all(r.signature_ok for r in receiver.status) and len({r.delivery_id for r in receiver.status}) == 4
    refused = events[1]
    assert refused["cause"] == "verdict" and refused["case_id"] == env.cid("ana") and refused["attempt"] == 1
    assert refused["next_action"]["code"] == "retry" and refused["next_action"]["message"]["fr"]
    assert refused["reasons"][0]["code"] == "document_expired" and refused["reasons"][0]["effect"] == "refuse"
    assert set(refused["reasons"][0]["message"]) == {"en", "fr"}
    assert events[3]["valid_until"] == ana["valid_until"] and events[3]["next_action"]["code"] == "none"
    assert moves(env, "ana") == [("unverified", "pending", "submission"), ("pending", "action_required", "verdict"),
                                 ("action_required", "pending", "submission"), ("pending", "verified", "verdict")]
    stored = identity.events(env.config, env.redis, env.cid("ana"))
    assert [e["sequence"] for e in stored] == [1, 2, 3, 4]
    assert all(e["delivery"]["state"] == "delivered" for e in stored)


def test_three_refusals_go_to_review_then_the_reviewer_verifies(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    receiver = env.receiver().start()
    for n in (1, 2, 3):
        assert attempt(env, "bea", n, "refused", "bea", receiver)["status"] == "refused"
    bea = record(env, "bea")
    assert bea["status"] == "in_review" and bea["refusals"] == "3"
    [queued] = review.list_queue(env.config, env.redis)
    assert queued["case_id"] == env.cid("bea") and queued["attempt"] == 3 and 71.5 < queued["hours_left"] <= 72
    assert queued["customer_status"] == "in_review"
    assert [(a["attempt"], a["outcome"]) for a in queued["earlier_attempts"]] == [(1, "refused"), (2, "refused")]
    with pytest.raises(CustomerNotAllowed, match="in review"):  # a person decides first
        submit(env.request("bea-other", "approved", customer="bea"), env.config, connection=env.redis)
    env.drain(lambda: len(receiver.status_events(env.cid("bea"))) == 6)
    in_review = receiver.status_events(env.cid("bea"))[-1]
    assert in_review["status"] == "in_review" and in_review["review_deadline"] == bea["review_deadline"]
    assert in_review["next_action"] == {"code": "wait_for_review", "message": {
        "en": "Our partner will get back to you within 72 hours.",
        "fr": "Notre partenaire reviendra vers vous sous 72 heures."}}
    assert cli(env, monkeypatch, "review", "decide", env.cid("bea"), "approve", "--reason", "genuine, old photo",
               "--reviewer", "bob") == 0
    capsys.readouterr()
    assert cli(env, monkeypatch, "customer", "show", env.cid("bea")) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["customer"]["status"] == "verified" and shown["customer"]["verified_attempt"] == "3"
    assert shown["next_action"]["code"] == "none" and len(shown["attempts"]) == 3
    env.drain(lambda: len(receiver.status_events(env.cid("bea"))) == 7)
    approved = receiver.status_events(env.cid("bea"))[-1]
    assert approved["status"] == "verified" and approved["cause"] == "decision" and approved["sequence"] == 7
    assert moves(env, "bea")[-2:] == [("pending", "in_review", "verdict"), ("in_review", "verified", "decision")]


def test_code_reset_revokes_and_a_new_video_reverifies(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    receiver = env.receiver().start()
    attempt(env, "cy-1", 1, "approved", "cy", receiver)
    assert cli(env, monkeypatch, "customer", "revoke", env.cid("cy"), "secret_code_reset", "--event-id", "evt-1",
               "--actor", "bank-auth") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "revoked" and out["changed"] and out["sequence"] == 3
    trail = len(env.store.customer_history(env.cid("cy")))
    again = identity.revoke(env.config, env.redis, env.cid("cy"), "secret_code_reset", event_id="evt-1")
    assert again["duplicate"] and not again["changed"] and again["sequence"] == 3  # the same event: nothing
    assert len(env.store.customer_history(env.cid("cy"))) == trail
    cy = record(env, "cy")
    assert cy["restore"] == "new_video" and cy["revocation_reason"] == "secret_code_reset"
    assert attempt(env, "cy-2", 1, "approved", "cy", receiver)["status"] == "approved"  # re-verified
    assert record(env, "cy")["status"] == "verified"
    env.drain(lambda: len(receiver.status_events(env.cid("cy"))) == 5)
    events = receiver.status_events(env.cid("cy"))
    assert statuses(events) == ["pending", "verified", "revoked", "pending", "verified"]
    revoked = events[2]
    assert revoked["revocation"] == {"reason": "secret_code_reset", "event_id": "evt-1", "restore": "new_video",
                                     "note": ""}
    assert revoked["next_action"]["code"] == "reverify"
    assert cli(env, monkeypatch, "customer", "events", env.cid("cy")) == 0
    assert [e["sequence"] for e in json.loads(capsys.readouterr().out)] == [1, 2, 3, 4, 5]
    assert cli(env, monkeypatch, "customer", "history", env.cid("cy")) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h for h in history if h.get("cause") == "revocation"][0]["actor"] == "bank-auth"


def test_a_changed_code_needs_only_a_strong_authentication(env: Env) -> None:
    attempt(env, "dan", 1, "approved", "dan")
    identity.revoke(env.config, env.redis, env.cid("dan"), "secret_code_changed", event_id="e1")
    assert record(env, "dan")["restore"] == "strong_authentication"
    out = identity.confirm_strong_authentication(env.config, env.redis, env.cid("dan"), event_id="sca-1")
    assert out["status"] == "verified" and out["changed"]
    assert identity.confirm_strong_authentication(env.config, env.redis, env.cid("dan"), event_id="sca-1")["duplicate"]
    identity.revoke(env.config, env.redis, env.cid("dan"), "administrator_changed", event_id="e2")
    with pytest.raises(IllegalTransition, match="a new video is needed"):
        identity.confirm_strong_authentication(env.config, env.redis, env.cid("dan"), event_id="sca-2")
    assert record(env, "dan")["status"] == "revoked"


def test_illegal_transitions_are_refused_with_a_clear_error(env: Env) -> None:
    with pytest.raises(IllegalTransition, match="unverified: only a verified customer can be revoked"):
        identity.revoke(env.config, env.redis, env.cid("nobody"), "adviser_revoked", event_id="x")
    attempt(env, "eve", 1, "retry_required", "eve")
    with pytest.raises(IllegalTransition, match="action_required: only a verified customer can be revoked"):
        identity.revoke(env.config, env.redis, env.cid("eve"), "adviser_revoked", event_id="x")
    with pytest.raises(InvalidRequest, match="note"):
        identity.revoke(env.config, env.redis, env.cid("eve"), "other", event_id="y")
    with pytest.raises(InvalidRequest, match="one of"):
        identity.revoke(env.config, env.redis, env.cid("eve"), "lost_phone", event_id="z")
    assert record(env, "eve")["status"] == "action_required"
    # a revoked customer's old attempt cannot be approved
    attempt(env, "fay", 1, "manual_review", "fay")
    review.decide(env.config, env.redis, env.cid("fay"), "approve", reason="fine", reviewer="bob")
    identity.revoke(env.config, env.redis, env.cid("fay"), "adviser_revoked", event_id="adv-1")
    sequence = record(env, "fay")["sequence"]
    with pytest.raises(review.ReviewError, match="is revoked, not in review"):
        review.decide(env.config, env.redis, env.cid("fay"), "approve", reason="again", reviewer="mallory")
    assert record(env, "fay")["status"] == "revoked" and record(env, "fay")["sequence"] == sequence
    with pytest.raises(IllegalTransition, match="revoked: decision cannot make it verified|not in review"):
        lifecycle.decision(env.cid("fay"), record(env, "fay"), case_id=env.cid("fay"), attempt=1,
                           decision={"status": "approved", "reviewer": "x", "reason": "y"}, verdict={},
                           config=env.config, now=time.time())


def test_a_reviewer_refusal_is_final(env: Env) -> None:
    attempt(env, "gus", 1, "manual_review", "gus")
    review.decide(env.config, env.redis, env.cid("gus"), "refuse", reason="document_photocopy", reviewer="bob")
    assert record(env, "gus")["status"] == "refused"
    with pytest.raises(CustomerNotAllowed, match="refused by a reviewer"):
        submit(env.request("gus-2", "approved", customer="gus"), env.config, connection=env.redis)
    submit(env.request("gus-2", "approved", customer="gus"), env.config, connection=env.redis,
           validate_request=False)
    env.work()
    out = result(env.cid("gus-2"), 1, env.config, env.redis)
    assert out is not None and out["reason"] == "customer_not_allowed"  # the worker refuses it too
    assert record(env, "gus")["status"] == "refused" and moves(env, "gus")[-1] == ("in_review", "refused", "decision")
    identity.withdraw_consent(env.config, env.redis, env.cid("gus"), channel="mail")
    assert record(env, "gus")["status"] == "refused"  # withdrawing consent does not undo a refusal


def test_duplicate_submissions_change_nothing(env: Env) -> None:
    receiver = env.receiver().start()
    request = env.request("hal", "approved", customer="hal", callback=receiver.url)
    first = submit(request, env.config, connection=env.redis)
    assert submit(request, env.config, connection=env.redis) == first
    env.work()
    assert submit(request, env.config, connection=env.redis) == first
    env.work()
    env.drain(lambda: len(receiver.status_events(env.cid("hal"))) == 2)
    env.work()
    assert statuses(receiver.status_events(env.cid("hal"))) == ["pending", "verified"]
    assert record(env, "hal")["sequence"] == "2" and len(moves(env, "hal")) == 2


def test_cool_down_between_attempts(env: Env) -> None:
    env.config = env.config.with_(attempt_cooldown_s=3600)
    install(env.config, ScriptedVerifier, preload=False)
    attempt(env, "ivy", 1, "refused", "ivy")
    with pytest.raises(CustomerNotAllowed, match="cool-down"):
        submit(env.request("ivy", "approved", attempt=2, customer="ivy"), env.config, connection=env.redis)
    later = float(record(env, "ivy")["last_outcome_ts"]) + 3601
    record_now = record(env, "ivy")
    change = lifecycle.submission(env.cid("ivy"), record_now, case_id=env.cid("ivy"), attempt=2, case_owner=None,
                                  consent=CONSENT, callback_url=None, config=env.config, now=later)
    assert change.status == S.PENDING  # allowed once the cool-down is over


@pytest.mark.parametrize("change, code", [
    ({"consent": None}, "consent_required"),
    ({"consent": CONSENT | {"biometric_processing": False}}, "consent_required"),
    ({"consent": CONSENT | {"filming": False}}, "consent_required"),
    ({"consent": CONSENT | {"given_at": "2999-01-01T00:00:00+00:00"}}, "consent_required"),
    ({"customer_id": None}, "customer_required"),
])
def test_no_consent_no_decoding(env: Env, change: dict[str, Any], code: str) -> None:
    runlog = env.tmp / "runs.jsonl"
    request = env.request("jo", "approved", runlog=str(runlog))
    request = {k: v for k, v in (request | change).items() if v is not None}
    with pytest.raises(InvalidRequest) as caught:
        submit(request, env.config, connection=env.redis)
    assert caught.value.code == code and ("consent" in caught.value.message or "customer_id" in caught.value.message)
    submit(request, env.config, connection=env.redis, validate_request=False)
    env.work()
    out = result(env.cid("jo"), 1, env.config, env.redis)
    assert out is not None and out["status"] == "failed" and out["reason"] == code
    assert not runlog.exists()  # the verifier, which decodes the videos, never ran


def test_withdrawal_deletes_media_and_biometric_evidence(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    receiver = env.receiver().start()
    attempt(env, "kim-1", 1, "approved", "kim", receiver, embeddings=True)
    attempt(env, "kim-2", 1, "manual_review", "kim", receiver, embeddings=True)  # a re-verification in review
    media = [Path(p) for case in ("kim-1", "kim-2")
             for p in (env.store.get_attempt(env.cid(case), 1) or {})["media"]]
    assert len(media) == 4 and all(p.exists() for p in media)
    assert cli(env, monkeypatch, "customer", "withdraw", env.cid("kim"), "--channel", "app") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "unverified" and out["files_deleted"] == 4
    assert not any(p.exists() for p in media)  # on disk
    for case in ("kim-1", "kim-2"):
        assert (env.store.get_attempt(env.cid(case), 1) or {})["media_state"] == "purged"
    kim = record(env, "kim")
    assert kim["consent"] == "" and kim["consent_withdrawn_at"]
    assert moves(env, "kim")[-1] == ("in_review", "unverified", "consent_withdrawn")
    # in Redis: no embedding, under any key (the engine never stores them: transient fields)
    for key in env.redis.scan_iter(match=f"{env.config.key_prefix}*", count=1000):
        for value in _values(env, key):
            assert b"embedding" not in value and b"0.123456" not in value, key
    with pytest.raises(review.ReviewError, match="unverified, not in review"):
        review.decide(env.config, env.redis, env.cid("kim-2"), "approve", reason="ok", reviewer="bob")
    env.drain(lambda: statuses(receiver.status_events(env.cid("kim")))[-1:] == ["unverified"])
    withdrawn = receiver.status_events(env.cid("kim"))[-1]
    assert withdrawn["cause"] == "consent_withdrawn" and withdrawn["next_action"]["code"] == "verify"


def _values(env: Env, key: bytes) -> list[bytes]:
    """Every value held by a Redis key, whatever its type."""
    kind, r = env.redis.type(key).decode(), env.redis
    if kind == "string":
        return [r.get(key)]
    if kind == "hash":
        return list(r.hvals(key))
    if kind == "list":
        return list(r.lrange(key, 0, -1))
    return list(r.smembers(key)) if kind == "set" else list(r.zrange(key, 0, -1))


def test_verification_expires_after_its_validity(env: Env) -> None:
    env.config = env.config.with_(validity_months=1)
    install(env.config, ScriptedVerifier, preload=False)
    attempt(env, "lea-1", 1, "approved", "lea")
    assert identity.expire_due(env.config, env.redis) == []
    assert identity.expire_due(env.config, env.redis, now=time.time() + 32 * 86400) == [env.cid("lea")]
    assert identity.expire_due(env.config, env.redis, now=time.time() + 32 * 86400) == []  # once
    assert record(env, "lea")["status"] == "expired"
    assert attempt(env, "lea-2", 1, "approved", "lea")["status"] == "approved"
    assert moves(env, "lea")[-3:] == [("verified", "expired", "expiry"), ("expired", "pending", "submission"),
                                      ("pending", "verified", "verdict")]


def test_validity_ends_with_the_document() -> None:
    from workers.config import WorkerConfig

    now = dt.datetime(2025, 1, 31, tzinfo=dt.timezone.utc).timestamp()
    verdict = {"document": {"fields": {"expiry_date": "2025-06-30"}}}
    assert lifecycle.valid_until(verdict, WorkerConfig(), now) == dt.datetime(2025, 6, 30,
                                                                           tzinfo=dt.timezone.utc).timestamp()
    assert lifecycle.valid_until({}, WorkerConfig(), now) == dt.datetime(2027, 1, 31,
                                                                      tzinfo=dt.timezone.utc).timestamp()
    assert lifecycle.valid_until(verdict, WorkerConfig(expire_with_document=False, validity_months=0), now) is None
    assert lifecycle.valid_until({}, WorkerConfig(validity_months=1), now) == dt.datetime(
        2025, 2, 28, tzinfo=dt.timezone.utc).timestamp()  # end of a shorter month


def test_every_transition_is_walked(env: Env) -> None:
    config, redis = env.config, env.redis
    # refused, a failed request, the corrected request approved, consent withdrawn
    attempt(env, "t1", 1, "refused", "t1")
    bad = env.request("t1", "approved", attempt=2, customer="t1") | {"document_video": str(env.root / "none.mp4")}
    submit(bad, config, connection=redis, validate_request=False)
    env.work()
    attempt(env, "t1", 2, "approved", "t1")
    identity.withdraw_consent(config, redis, env.cid("t1"), channel="web")
    # review approves; re-verification; revoked; new video; expired; again, in review; withdrawn
    attempt(env, "t2-a", 1, "manual_review", "t2")
    review.decide(config, redis, env.cid("t2-a"), "approve", reason="fine", reviewer="bob")
    attempt(env, "t2-b", 1, "approved", "t2")
    identity.revoke(config, redis, env.cid("t2"), "adviser_revoked", event_id="r1")
    attempt(env, "t2-c", 1, "approved", "t2")
    identity.expire_due(config, redis, now=time.time() + 3 * 366 * 86400)
    attempt(env, "t2-d", 1, "manual_review", "t2")
    identity.withdraw_consent(config, redis, env.cid("t2"), channel="web")
    # review refuses
    attempt(env, "t3", 1, "manual_review", "t3")
    review.decide(config, redis, env.cid("t3"), "refuse", reason="document_photocopy", reviewer="bob")
    # review asks for a new video
    attempt(env, "t8", 1, "manual_review", "t8")
    review.decide(config, redis, env.cid("t8"), "retry", reason="document_blurry", reviewer="bob")
    # strong authentication restores; revoked again; withdrawn
    attempt(env, "t4", 1, "approved", "t4")
    identity.revoke(config, redis, env.cid("t4"), "secret_code_changed", event_id="r1")
    identity.confirm_strong_authentication(config, redis, env.cid("t4"), event_id="s1")
    identity.revoke(config, redis, env.cid("t4"), "secret_code_changed", event_id="r2")
    identity.withdraw_consent(config, redis, env.cid("t4"), channel="web")
    # expired, withdrawn; action required, withdrawn
    attempt(env, "t5", 1, "approved", "t5")
    identity.expire_due(config, redis, now=time.time() + 3 * 366 * 86400)
    identity.withdraw_consent(config, redis, env.cid("t5"), channel="web")
    attempt(env, "t6", 1, "retry_required", "t6")
    identity.withdraw_consent(config, redis, env.cid("t6"), channel="web")
    # pending (the worker has taken the job, no outcome yet), withdrawn
    from kycengine.schema import VerificationRequest

    pending = env.request("t7", "approved", customer="t7")
    env.store.record_submission(pending, "job-t7", customer=submission_update(
        config, redis, VerificationRequest.parse(pending)))
    assert record(env, "t7")["status"] == "pending"
    identity.withdraw_consent(config, redis, env.cid("t7"), channel="web")
    walked = {(S(a), S(b), Cause(c)) for name in ("t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8") for a, b, c in moves(env, name)}
    assert walked == TRANSITIONS, (TRANSITIONS - walked, walked - TRANSITIONS)


class _Killed(BaseException):
    """The process dies here (nothing after it runs, no exception handler catches it)."""


def test_a_worker_killed_inside_the_transition_loses_no_event_and_duplicates_none(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict's transaction is cut mid-write: half of its bytes reach Redis, then the connection
    drops (as when the process is SIGKILLed). Redis discards an unfinished MULTI; the re-run writes
    the verdict, the status and the event once; a re-run after the commit changes nothing."""
    request = env.request("kai", "approved", customer="kai", callback="http://127.0.0.1:9/hook")
    body = json.dumps(request)
    send = Connection.send_packed_command

    def cut(self: Connection, command: Any, check_health: bool = True) -> None:
        data = command if isinstance(command, bytes) else b"".join(bytes(c) for c in command)
        if b"customer:event:" in data and b"EXEC" in data and b'"verified"' in data:
            self._sock.sendall(data[: len(data) // 2])  # type: ignore[union-attr]
            self.disconnect()
            raise _Killed
        send(self, command, check_health)

    monkeypatch.setattr(Connection, "send_packed_command", cut)
    with pytest.raises(_Killed):
        verify_job(body)
    assert env.store.get_verdict(env.cid("kai"), 1) is None  # nothing of the transaction was applied
    assert record(env, "kai")["status"] == "pending" and record(env, "kai")["sequence"] == "1"
    assert env.store.status_event(env.cid("kai"), 2) is None
    monkeypatch.setattr(Connection, "send_packed_command", send)
    assert verify_job(body)["status"] == "approved"  # the re-run (rq re-runs an abandoned job)
    assert verify_job(body)["duplicate"]  # killed after EXEC, re-run: nothing new
    assert record(env, "kai")["status"] == "verified" and record(env, "kai")["sequence"] == "2"
    assert [e["status"] for e in identity.events(env.config, env.redis, env.cid("kai"))] == ["pending", "verified"]
    assert moves(env, "kai") == [("unverified", "pending", "submission"), ("pending", "verified", "verdict")]
    deliveries = Queue(env.config.delivery_queue, connection=env.redis, serializer=JSONSerializer).get_jobs()
    assert sorted(tuple(j.args) for j in deliveries) == sorted([
        (env.cid("kai"), 1, "status"), (env.cid("kai"), 2, "status"), (env.cid("kai"), 1, "verdict")])
