"""Callback URLs cannot reach the worker's own network (SSRF): refused at submit and at delivery.

Delivery tests run real burst workers against a receiver on 127.0.0.1: a refused URL that slipped
through would reach it. The resolver is replaced only where a test needs a host name to resolve
(tests never use the network).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.workers_support import Env
from workers import egress
from workers.context import install
from workers.egress import CallbackNotAllowed, CallbackPolicy
from workers.enqueue import submit
from workers.queues import delivery_enqueuer
from workers.states import DeliveryKind
from workers.store import Store, new_delivery_id

PUBLIC = "93.184.216.34"  # a public address (never connected to: the tests resolve and refuse only)

# (URL template, why it must be refused); {port} is the test receiver's, so a miss would be seen.
REFUSED = [
    ("http://127.0.0.1:{port}/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[::1]:22/", "IPv6 loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata name"),
    ("http://metadata/latest", "metadata name"),
    ("http://2130706433:{port}/hook", "127.0.0.1 as one number"),
    ("http://127.1:{port}/hook", "127.0.0.1 shortened"),
    ("http://0x7f.1:{port}/hook", "127.0.0.1 in hex"),
    ("http://0177.0.0.1:{port}/hook", "127.0.0.1 in octal"),
    ("http://[::ffff:127.0.0.1]:{port}/hook", "IPv4-mapped loopback"),
    ("http://[64:ff9b::7f00:1]:{port}/hook", "NAT64 loopback"),
    ("http://[2002:7f00:1::1]:{port}/hook", "6to4 loopback"),
    ("http://0.0.0.0:{port}/hook", "unspecified (reaches localhost on Linux)"),
    ("http://[fe80::1%25eth0]:{port}/hook", "IPv6 link-local with a scope"),
    ("http://[fd00:ec2::254]/latest", "AWS IPv6 metadata"),
    ("http://100.100.100.200/latest", "Alibaba metadata"),
    ("http://192.168.1.10/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://100.64.0.1/hook", "shared address space"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://localhost:{port}/hook", "resolves to loopback"),
]


def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host}: no such host (test resolver)")
        return table[host]
    return resolve


@pytest.mark.parametrize(("template", "why"), REFUSED, ids=[w for _, w in REFUSED])
def test_refused_at_submit(env: Env, template: str, why: str) -> None:
    config = env.config.with_(callback_allow_networks=())
    url = template.format(port=8080)
    with pytest.raises(CallbackNotAllowed) as caught:
        submit(env.request("ssrf", "approved", callback=url), config, connection=env.redis)
    assert caught.value.code == "callback_not_allowed"


def _plant_verdict(env: Env, case: str, url: str) -> None:
    """A stored verdict whose callback is `url`, with its delivery queued (as if checked long ago)."""
    request = env.request(case, "approved", callback=url)
    verdict = {"case_id": request["case_id"], "attempt": 1, "status": "approved", "reasons": []}
    delivery_id = new_delivery_id()
    Store(env.redis, env.config.key_prefix).commit_verdict(
        request, verdict, submitted_at=time.time(), review_deadline_s=3600, retention_s=3600,
        delivery_id=delivery_id,
        enqueue=delivery_enqueuer(env.config, env.redis, request["case_id"], 1, DeliveryKind.VERDICT, delivery_id))


def test_refused_at_delivery(env: Env) -> None:
    env.config = env.config.with_(callback_allow_networks=())
    install(env.config, preload=False)
    receiver = env.receiver().start()
    cases = {f"d{i}": template.format(port=receiver.port) for i, (template, _) in enumerate(REFUSED)}
    for case, url in cases.items():
        _plant_verdict(env, case, url)
    env.work()
    assert receiver.received == []
    for case, url in cases.items():
        record = env.store.get_delivery(env.cid(case), 1, "verdict")
        assert record["state"] == "retrying" and record["last_error"].startswith("callback_not_allowed"), url


def test_allowed_networks_are_deliberate_and_never_cover_metadata(env: Env) -> None:
    loopback = CallbackPolicy.from_config(env.config)  # 127.0.0.1/32 allowed, as in every worker test
    assert egress.check_url("http://127.0.0.1:8080/hook", loopback)
    for url in ("http://2130706433:8080/", "http://127.1:8080/", "http://[::1]:8080/", "http://127.0.0.2/"):
        with pytest.raises(CallbackNotAllowed):
            egress.check_url(url, loopback)
    everything = CallbackPolicy.from_config(env.config.with_(callback_allow_networks=("0.0.0.0/0", "::/0")))
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/",
                "http://metadata.google.internal/"):
        with pytest.raises(CallbackNotAllowed):
            egress.check_url(url, everything)


def test_host_allow_list(monkeypatch: pytest.MonkeyPatch, env: Env) -> None:
    monkeypatch.setattr(egress, "resolve", _resolver({"api.bank.example": [PUBLIC], "bank.example": [PUBLIC],
                                                      "evil.example": [PUBLIC],
                                                      "bank.example.evil.example": [PUBLIC]}))
    policy = CallbackPolicy.from_config(env.config.with_(callback_hosts=("bank.example", "*.bank.example")))
    for url in ("https://api.bank.example/kyc", "https://bank.example:8443/kyc?x=1"):
        assert egress.target(url, policy).addresses == (PUBLIC,)
    for url in ("https://evil.example/", "https://bank.example.evil.example/", "https://xbank.example/"):
        with pytest.raises(CallbackNotAllowed):
            egress.target(url, policy)
    anyone = CallbackPolicy()
    assert egress.target("https://evil.example/", anyone).addresses == (PUBLIC,)
    with pytest.raises(CallbackNotAllowed, match="does not resolve"):
        egress.target("https://unknown.example/", anyone)


def test_every_resolved_address_must_be_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(egress, "resolve", _resolver({"mixed.example": [PUBLIC, "10.1.2.3"]}))
    with pytest.raises(CallbackNotAllowed, match="10.1.2.3"):
        egress.target("https://mixed.example/", CallbackPolicy())


def test_dns_rebinding_is_refused_at_delivery(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    env.config = env.config.with_(callback_allow_networks=())
    install(env.config, preload=False)
    receiver = env.receiver().start()
    answers = {"rebind.example": [PUBLIC]}
    monkeypatch.setattr(egress, "resolve", _resolver(answers))
    url = f"http://rebind.example:{receiver.port}/hook"
    submit(env.request("rebind", "approved", callback=url), env.config, connection=env.redis)  # public now
    answers["rebind.example"] = ["127.0.0.1"]  # ... and the worker's loopback when it delivers
    env.work()
    assert receiver.received == []
    record = env.store.get_delivery(env.cid("rebind"), 1, "verdict")
    assert "callback_not_allowed" in record["last_error"] and "127.0.0.1" in record["last_error"]


def test_delivery_connects_to_the_checked_address_keeping_the_host(env: Env,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = env.receiver().start()
    monkeypatch.setattr(egress, "resolve", _resolver({"receiver.example": ["127.0.0.1"]}))
    url = f"http://receiver.example:{receiver.port}/kyc/webhook"
    submit(env.request("pinned", "approved", callback=url), env.config, connection=env.redis)
    env.drain(lambda: len(receiver.acknowledged()) == 1)
    got = receiver.for_case(env.cid("pinned"))[0]
    assert got.host == f"receiver.example:{receiver.port}" and got.signature_ok  # the URL's host, kept


def test_https_keeps_the_host_name_for_sni_and_certificate() -> None:
    to = egress.Target("https", "bank.example", 443, "/kyc", ("127.0.0.1",))
    conn: Any = egress.connection(to, "127.0.0.1", 1.0)
    assert conn.host == "bank.example" and conn._address == "127.0.0.1"
    assert conn._context.check_hostname and conn._context.verify_mode.name == "CERT_REQUIRED"


def test_refused_callback_on_a_failed_request_is_not_delivered(env: Env) -> None:
    receiver = env.receiver().start()
    env.config = env.config.with_(callback_allow_networks=())
    install(env.config, preload=False)
    body = env.request("no-media", "approved", callback=receiver.url) | {"document_video": str(env.root / "x.mp4")}
    submit(json.dumps(body), env.config, connection=env.redis, validate_request=False)
    env.work()
    assert receiver.received == []
    out = env.store.get_attempt(env.cid("no-media"), 1)
    assert out is not None and out["failed_reason"] == "callback_not_allowed"
