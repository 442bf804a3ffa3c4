"""The manual review queue, retention and the `kyc worker` / `kyc review` commands, on a real Redis."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pytest

from kycengine.reasons import Reason
from tests.workers_support import CONSENT, Env, ScriptedVerifier, cli, to_env
from workers import retention, review
from workers.config import ConfigError
from workers.context import install
from workers.enqueue import result, submit
from workers.media import MediaNotOwned


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

    assert cli(env, monkeypatch, "review", "decide", env.cid("rev-a"), "refuse", "--reason",
                "document_photocopy, portrait pasted over", "--reviewer", "alice") == 0
    with pytest.raises(review.ReviewError, match="not in the review queue|already decided|refused, not in review"):
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
    assert decision[0].body["reasons"] == [{"code": "document_photocopy", "effect": "refuse", "message": {
        "en": Reason.DOCUMENT_PHOTOCOPY.message_en, "fr": Reason.DOCUMENT_PHOTOCOPY.message_fr}}]
    assert result(env.cid("rev-a"), 1, env.config, env.redis)["status"] == "refused"
    assert result(env.cid("rev-a"), 1, env.config, env.redis)["verdict"]["status"] == "manual_review"
    assert review.list_queue(env.config, env.redis) == []

    trail = env.store.history(env.cid("rev-a"))
    assert [h["event"] for h in trail] == ["submitted", "verdict", "review_queued", "delivered",
                                           "escalated", "reverified", "decision", "delivered"]
    entry = trail[6]
    assert entry["reviewer"] == "alice" and "pasted" in entry["reason"] and entry["at"]
    capsys.readouterr()
    assert cli(env, monkeypatch, "review", "show", env.cid("rev-a")) == 0
    shown = capsys.readouterr().out
    assert "decision: refused by alice" in shown and "escalated" in shown and "document: complete" in shown
    assert cli(env, monkeypatch, "review", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)["queue"] == []


def test_retention_deletes_media_keeps_verdict_and_trail(env: Env) -> None:
    env.config = env.config.with_(retention_s=3600)
    install(env.config, ScriptedVerifier, preload=False)
    outside = env.tmp / "outside.mp4"
    outside.write_bytes(b"keep me")
    final = env.request("ret-final", "approved")
    held = env.request("ret-held", "manual_review")
    for request in (final, held):
        submit(request, env.config, connection=env.redis)
    bad = {"case_id": env.cid("ret-bad"), "attempt": 1, "document_video": str(outside),
           "selfie_video": final["selfie_video"], "customer_id": env.cid("ret-bad"), "consent": CONSENT}
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
    assert cli(env, monkeypatch, "worker", "--housekeeping", "--json") == 0


def test_a_case_cannot_purge_another_cases_media(env: Env) -> None:
    env.config = env.config.with_(retention_s=3600)
    install(env.config, ScriptedVerifier, preload=False)
    owner = env.request("owner", "manual_review")  # waits for a reviewer: needs its media
    submit(owner, env.config, connection=env.redis)
    env.work()
    (env.root / "alias.mp4").symlink_to(owner["document_video"])  # another name for the same file
    for name, document in (("thief", owner["document_video"]), ("alias", str(env.root / "alias.mp4"))):
        thief = env.request(name, "approved") | {"document_video": document}
        with pytest.raises(MediaNotOwned):
            submit(thief, env.config, connection=env.redis)
        submit(thief, env.config, connection=env.redis, validate_request=False)  # the worker refuses it too
    env.work()
    for name in ("thief", "alias"):
        out = result(env.cid(name), 1, env.config, env.redis)
        assert out["status"] == "failed" and out["reason"] == "media_not_owned", name
    later = time.time() + 3601
    assert retention.purge_due(env.config, env.redis, now=later) == 2  # both thieves' attempts purged
    assert Path(owner["document_video"]).exists() and Path(owner["selfie_video"]).exists()
    assert not Path(env.root / "thief-1-selfie.mp4").exists()  # a thief's own file goes
    purged = [h for h in env.store.history(env.cid("thief")) if h["event"] == "media_purged"]
    assert purged[0]["files"] == 1 and purged[0]["kept"] == 1
    out = review.reverify(env.config, env.redis, [env.cid("owner")], verifier_factory=ScriptedVerifier)
    assert out[0]["status"] == "manual_review"  # the owner's media are all there
    review.decide(env.config, env.redis, env.cid("owner"), "approve", reason="ok", reviewer="dan")
    assert retention.purge_due(env.config, env.redis, now=later + 3601) == 1
    assert not Path(owner["document_video"]).exists()  # now its owner's retention deletes it


def test_reverify_shows_progress(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("p1", "p2", "p3"):
        submit(env.request(name, "manual_review"), env.config, connection=env.redis)
    env.work()
    capsys.readouterr()
    out = review.reverify(env.config, env.redis, None, verifier_factory=ScriptedVerifier, progress=True)
    assert len(out) == 3
    bar = capsys.readouterr().err
    assert "reverify" in bar and "3/3" in bar and "00:0" in bar  # case n/N and the time elapsed
