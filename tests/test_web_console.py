"""The review console over real HTTP (the app served by uvicorn on 127.0.0.1, a real Redis, cases made
by burst workers with the scripted verifier): sign-in, rate limit, CSRF, escaping, decisions (the
reviewer from the session, the two-reviewer rule), re-verification as a worker job."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from tests import web_support
from tests.web_support import serve
from tests.workers_support import Env
from web.app import create_app
from web.config import WebConfig
from web.reviewers import Reviewers
from web.sessions import COOKIE
from workers import evidence, review
from workers.enqueue import submit

PASSWORDS = {"alice": "alice-password-123", "bob": "bob-password-4567"}


def web_config(env: Env, **changes: Any) -> WebConfig:
    return web_support.web_config(env.config, env.root, **changes)


def add_reviewers(env: Env) -> None:
    reviewers = Reviewers(env.redis, env.config.key_prefix)
    for name, password in PASSWORDS.items():
        reviewers.add(name, password)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    token = csrf_of(client.get("/review/login").text)
    return client.post("/review/login", data={"csrf_token": token, "name": name,
                                              "password": PASSWORDS[name] if password is None else password})


@contextmanager
def console(env: Env, **changes: Any) -> Iterator[str]:
    add_reviewers(env)
    with serve(create_app(web_config(env, **changes))) as url:
        yield url


def manual_review_case(env: Env, name: str, status: str = "manual_review", **request: Any) -> str:
    """A case that a burst worker (scripted verifier) puts in the review queue; its id."""
    submit(env.request(name, status) | request, env.config, connection=env.redis)
    env.work()
    return env.cid(name)


def test_sign_in_cookie_session_and_sign_out(env: Env) -> None:
    with console(env) as url, httpx.Client(base_url=url) as client:
        first = client.get("/review/")
        assert first.status_code == 303 and first.headers["location"] == "/review/login"
        page = client.get("/review/login")
        anonymous = client.cookies[COOKIE]
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/review" in cookie
        assert "default-src 'none'" in page.headers["content-security-policy"]
        bad = sign_in(client, "alice", "not-her-password")
        assert bad.status_code == 401 and "wrong password" in bad.text
        assert sign_in(client, "nobody", "whatever-password").status_code == 401
        good = sign_in(client, "alice")
        assert good.status_code == 303 and good.headers["location"] == "/review/"
        assert client.cookies[COOKIE] != anonymous  # a new session at sign-in
        queue = client.get("/review/")
        assert queue.status_code == 200 and '<strong id="reviewer">alice</strong>' in queue.text
        out = client.post("/review/logout", data={"csrf_token": csrf_of(queue.text)})
        assert out.status_code == 303
        assert client.get("/review/").status_code == 303  # the session ended on the server
    with console(env) as url, httpx.Client(base_url=url) as client:  # a disabled account's session stops
        sign_in(client, "bob")
        assert client.get("/review/").status_code == 200
        Reviewers(env.redis, env.config.key_prefix).disable("bob")
        assert client.get("/review/").status_code == 303
        assert sign_in(client, "bob").status_code == 401


def test_sign_in_rate_limited_per_account_and_per_address(env: Env) -> None:
    with console(env, login_failures=3, login_failures_address=5) as url, httpx.Client(base_url=url) as client:
        for _ in range(3):
            assert sign_in(client, "alice", "wrong-password-x").status_code == 401
        limited = sign_in(client, "alice")  # the right password, too late
        assert limited.status_code == 429 and "Too many" in limited.text
        assert sign_in(client, "bob", "wrong-password-y").status_code == 401
        assert sign_in(client, "bob", "wrong-password-y").status_code == 401  # 5 from this address
        assert sign_in(client, "bob").status_code == 429  # bob has 2 failures only: the address is limited


def test_a_post_without_the_csrf_token_is_refused(env: Env) -> None:
    case_id = manual_review_case(env, "csrf")
    with console(env) as url, httpx.Client(base_url=url) as client:
        assert client.post("/review/login", data={"name": "alice", "password": PASSWORDS["alice"]}).status_code == 403
        sign_in(client, "alice")
        form = {"decision": "approve", "comment": "looks fine"}
        assert client.post(f"/review/cases/{case_id}/decide", data=form).status_code == 403
        assert client.post(f"/review/cases/{case_id}/decide", data=form | {"csrf_token": "forged"}).status_code == 403
        assert client.post(f"/review/cases/{case_id}/reverify", data={}).status_code == 403
        assert env.store.get_decision(case_id, 1) is None
        with httpx.Client(base_url=url) as stranger:  # someone else's token does not fit this session
            stranger_token = csrf_of(stranger.get("/review/login").text)
        assert client.post(f"/review/cases/{case_id}/decide",
                           data=form | {"csrf_token": stranger_token}).status_code == 403
        assert env.store.get_decision(case_id, 1) is None


def test_a_hostile_declared_name_is_shown_escaped(env: Env) -> None:
    hostile = "<script>alert(1)</script>"
    request = env.request("xss", "manual_review") | {"declared": {"surname": hostile, "given_names": "Jean"}}
    submit(request, env.config, connection=env.redis, validate_request=False)  # refused by the worker, kept
    env.work()
    with console(env) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "alice")
        page = client.get(f"/review/cases/{env.cid('xss')}")
        assert page.status_code == 200
        assert hostile not in page.text and "<script" not in page.text
        assert '<td class="declared">&lt;script&gt;alert(1)&lt;/script&gt;</td>' in page.text


def test_decide_from_the_session_with_reason_codes(env: Env) -> None:
    case_id = manual_review_case(env, "decide")
    with console(env) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "alice")
        queue = client.get("/review/")
        assert case_id in queue.text and re.search(r"7[12]\.\d h", queue.text) and "escalated" not in queue.text
        assert review.escalate_overdue(env.config, env.redis, now=time.time() + 73 * 3600)
        assert "escalated" in client.get("/review/").text
        page = client.get(f"/review/cases/{case_id}")
        token = csrf_of(page.text)
        assert "verification_incomplete" in page.text and 'value="document_photocopy"' in page.text
        refused = client.post(f"/review/cases/{case_id}/decide", data={
            "csrf_token": token, "decision": "refuse", "comment": "no code"})
        assert refused.status_code == 409 and "reason code" in refused.text
        bogus = client.post(f"/review/cases/{case_id}/decide", data={
            "csrf_token": token, "decision": "refuse", "reason_codes": ["not_a_code"], "comment": "x"})
        assert bogus.status_code == 409 and env.store.get_decision(case_id, 1) is None
        done = client.post(f"/review/cases/{case_id}/decide", data={
            "csrf_token": token, "decision": "refuse", "reason_codes": ["document_photocopy", "face_print"],
            "comment": "a copy", "reviewer": "mallory"})
        assert done.status_code == 303
        decision = env.store.get_decision(case_id, 1)
        assert decision["reviewer"] == "alice" and decision["status"] == "refused"
        assert decision["reason_codes"] == ["document_photocopy", "face_print"]
        trail = client.get(f"/review/cases/{case_id}").text
        assert 'class="event-decision"' in trail and '<span class="v-reviewer">alice</span>' in trail
        assert case_id not in client.get("/review/").text


def test_reverify_is_a_job_for_the_workers(env: Env) -> None:
    case_id = manual_review_case(env, "strict")
    with console(env) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "alice")
        token = csrf_of(client.get(f"/review/cases/{case_id}").text)
        assert client.post(f"/review/cases/{case_id}/reverify", data={"csrf_token": token}).status_code == 303
    queue = Queue(env.config.verify_queue, connection=env.redis, serializer=JSONSerializer)
    jobs = [queue.fetch_job(job_id) for job_id in queue.get_job_ids()]
    assert [(j.func_name, j.args) for j in jobs] == [("workers.review.reverify_job", [case_id])]
    assert env.store.history(case_id)[-1]["event"] == "reverify_requested"
    assert env.store.history(case_id)[-1]["reviewer"] == "alice"


def test_two_reviewers_overturn_an_automatic_refusal(env: Env) -> None:
    env.config = env.config.with_(review_two_reviewers=True, refusals_before_review=1)
    case_id = manual_review_case(env, "overturn", "refused")  # the customer's last refusal: a person decides
    assert env.store.get_verdict(case_id, 1)["status"] == "refused"
    form = {"decision": "approve", "comment": "the document is genuine"}
    with console(env) as url, httpx.Client(base_url=url) as alice, httpx.Client(base_url=url) as bob:
        sign_in(alice, "alice")
        sign_in(bob, "bob")
        token = csrf_of(alice.get(f"/review/cases/{case_id}").text)
        assert alice.post(f"/review/cases/{case_id}/decide", data=form | {"csrf_token": token}).status_code == 303
        assert env.store.get_decision(case_id, 1) is None  # pending, not decided
        page = alice.get(f"/review/cases/{case_id}").text
        assert 'id="pending"' in page and "alice" in page
        again = alice.post(f"/review/cases/{case_id}/decide", data=form | {"csrf_token": token})
        assert again.status_code == 409 and "second, different reviewer" in again.text
        assert env.store.get_decision(case_id, 1) is None
        bob_token = csrf_of(bob.get(f"/review/cases/{case_id}").text)
        assert bob.post(f"/review/cases/{case_id}/decide", data=form | {"csrf_token": bob_token}).status_code == 303
    decision = env.store.get_decision(case_id, 1)
    assert (decision["status"], decision["reviewer"], decision["first_reviewer"]) == ("approved", "bob", "alice")
    assert [e["event"] for e in env.store.history(case_id)][-2:] == ["approval_pending", "decision"]


def test_unknown_cases_are_404_and_the_page_speaks_french(env: Env) -> None:
    case_id = manual_review_case(env, "lang")
    with console(env) as url, httpx.Client(base_url=url, headers={"Accept-Language": "fr-FR,fr;q=0.9"}) as client:
        sign_in(client, "alice")
        assert client.get("/review/cases/no-such-case").status_code == 404
        assert client.get("/review/cases/..%2F..%2Fetc").status_code == 404
        assert "Dossiers en attente de décision" in client.get("/review/").text
        switched = client.get(f"/review/language/en?back=/review/cases/{case_id}")
        assert switched.headers["location"] == f"/review/cases/{case_id}"
        assert "Cases waiting" in client.get("/review/").text
        assert client.get("/review/language/fr?back=https://evil.example/").headers["location"] == "/review/"


def jpeg(shade: int) -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".jpg", np.full((48, 64, 3), shade, np.uint8))
    assert ok
    return bytes(data.tobytes())


def test_evidence_images_only_to_reviewers_only_allow_listed_names(env: Env) -> None:
    case_id, other = manual_review_case(env, "ev-a"), manual_review_case(env, "ev-b")
    images = {"document": jpeg(90), "portrait": jpeg(160)}
    assert evidence.save(env.config, env.redis, case_id, 1, images) == ["document", "portrait"]
    base = f"/review/cases/{case_id}/attempts/1/evidence"
    with console(env) as url, httpx.Client(base_url=url) as client:
        assert client.get(f"{base}/document").status_code == 303  # not signed in: no image
        sign_in(client, "alice")
        page = client.get(f"/review/cases/{case_id}").text
        assert f'<img src="{base}/document"' in page and f'<img src="{base}/portrait"' in page
        for name, data in images.items():
            answer = client.get(f"{base}/{name}")
            assert answer.status_code == 200 and answer.content == data
            assert answer.headers["content-type"] == "image/jpeg" and answer.headers["cache-control"] == "no-store"
        refused = [f"{base}/secret", f"{base}/document.jpg", f"{base}/selfie_left",  # allowed, never kept
                   f"{base}/..%2F..%2F..%2Fetc%2Fpasswd", f"{base}/%2e%2e", f"{base}/..",
                   f"/review/cases/{case_id}/attempts/2/evidence/document",  # no such attempt
                   f"/review/cases/{case_id}/attempts/-1/evidence/document",
                   f"/review/cases/{case_id}/attempts/1.0/evidence/document",
                   f"/review/cases/{other}/attempts/1/evidence/document",  # another case's attempt: nothing
                   f"/review/cases/..%2F{case_id}/attempts/1/evidence/document",
                   f"/review/cases/{case_id}%3Aevil/attempts/1/evidence/document"]
        for path in refused:
            answer = client.get(path)
            assert answer.status_code == 404 and not answer.content.startswith(b"\xff\xd8"), path


def test_reviewers_command_reads_the_password_from_stdin(env: Env, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import io

    from tests.workers_support import to_env
    from web.cli import register

    for name, value in to_env(env.config).items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser(prog="kyc")
    register(parser.add_subparsers(dest="command", required=True))

    def kyc(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        args = parser.parse_args(list(argv))
        return int(args.run(args))

    assert kyc("reviewers", "add", "Carol", stdin="carol-password-89\n") == 0
    assert kyc("reviewers", "add", "dave", stdin="short\n") == 2  # under 12 characters
    assert kyc("reviewers", "add", "../eve", stdin="eve-password-0123\n") == 2
    reviewers = Reviewers(env.redis, env.config.key_prefix)
    assert reviewers.authenticate("carol", "carol-password-89") is not None
    assert reviewers.authenticate("carol", "carol-password-8") is None
    assert not any(b"carol-password" in (value or b"") for value in env.redis.hvals(
        f"{env.config.key_prefix}web:reviewer:carol"))  # only the Argon2id hash is stored
    assert kyc("reviewers", "disable", "carol") == 0 and kyc("reviewers", "disable", "nobody") == 2
    assert kyc("reviewers", "list") == 0
    assert "carol\tdisabled" in capsys.readouterr().out
    assert reviewers.authenticate("carol", "carol-password-89") is None


def test_asking_the_customer_to_retry(env: Env) -> None:
    receiver = env.receiver().start()
    submit(env.request("retry", "manual_review", callback=receiver.url), env.config, connection=env.redis)
    env.work()
    case_id = env.cid("retry")
    with console(env) as url, httpx.Client(base_url=url) as client:
        sign_in(client, "bob")
        token = csrf_of(client.get(f"/review/cases/{case_id}").text)
        assert client.post(f"/review/cases/{case_id}/decide", data={
            "csrf_token": token, "decision": "retry", "reason_codes": "document_glare",
            "comment": "reflection over the portrait"}).status_code == 303
    assert env.store.get_customer(env.cid("retry"))["status"] == "action_required"
    env.drain(lambda: any(r.event == "review.decided" for r in receiver.for_case(case_id)))
    body = next(r.body for r in receiver.for_case(case_id) if r.event == "review.decided")
    assert body["status"] == "retry_required" and body["decision"]["reviewer"] == "bob"
    assert [(r["code"], r["effect"]) for r in body["reasons"]] == [("document_glare", "retry")]
    assert "reflection" in body["reasons"][0]["message"]["en"].lower()
