"""The bank API over real HTTP: uvicorn on 127.0.0.1, httpx, a real Redis, a burst worker.

Submission -> worker -> verdict read back; keys (wrong, revoked, another client's case); signed
requests (replay, stale timestamp, tampering); uploads (size limit, hostile file names); hostile
media URIs; idempotency; problem+json; readiness with Redis down; metrics and access logs.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web_support import WEB_SECRET, serve_config, web_config
from tests.workers_support import Env, free_port, to_env
from web.api.signing import sign
from web.clients import Clients, NewClient
from web.config import WebConfig
from workers.enqueue import result


class Api:
    """An httpx client for one served app, with the test's env and client factory."""

    def __init__(self, env: Env, config: WebConfig, url: str) -> None:
        self.env, self.config, self.url = env, config, url
        self.http = httpx.Client(base_url=url, timeout=10.0)
        self.clients = Clients(env.redis, config)

    def client(self, name: str, **options: Any) -> NewClient:
        return self.clients.add(f"{self.env.token}-{name}", **options)

    def call(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def signed(self, made: NewClient, method: str, path: str, body: bytes = b"", *, at: float | None = None,
               headers: dict[str, str] | None = None) -> httpx.Response:
        assert made.signing_secret is not None
        stamp = str(int(time.time() if at is None else at))
        signature = sign(made.signing_secret.encode(), stamp, method, path, body)
        all_headers = {"X-KYC-Timestamp": stamp, "X-KYC-Signature": signature, **(headers or {})}
        return self.call(method, path, made.api_key, content=body, headers=all_headers)


@pytest.fixture
def api(env: Env) -> Iterator[Api]:
    config = web_config(env.config, env.root)
    with serve_config(config) as url:
        served = Api(env, config, url)
        yield served
        served.http.close()


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert body["status"] == status and body["code"] == code and body["type"].endswith(code)
    return body


def test_submit_verify_read_back_and_client_isolation(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="web.access")
    bank, other = api.client("bank"), api.client("other")
    request = api.env.request("a", customer="holder-a")
    case_id, customer_id = request["case_id"], request["customer_id"]
    sent = api.call("POST", "/v1/cases", bank.api_key, json=request)
    assert sent.status_code == 202, sent.text
    accepted = sent.json()
    assert accepted["case_id"] == case_id and accepted["attempt"] == 1 and accepted["status"] == "queued"
    assert sent.headers["location"] == f"/v1/cases/{case_id}/attempts/1"
    assert api.call("GET", sent.headers["location"], bank.api_key).json()["status"] == "queued"

    api.env.drain(lambda: result(case_id, 1, api.env.config, api.env.redis) is not None)
    outcome = api.call("GET", sent.headers["location"], bank.api_key).json()
    assert outcome["status"] == "approved" and outcome["verdict"]["status"] == "approved"
    assert outcome["verdict"]["case_id"] == case_id
    case = api.call("GET", f"/v1/cases/{case_id}", bank.api_key).json()
    assert case["customer_id"] == customer_id and case["attempts"] == [{"attempt": 1, "status": "approved"}]
    customer = api.call("GET", f"/v1/customers/{customer_id}", bank.api_key).json()
    assert customer["status"] == "verified" and customer["attempts"][0]["case_id"] == case_id
    events = api.call("GET", f"/v1/customers/{customer_id}/events", bank.api_key).json()["events"]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1)) and events

    # another client sees exactly what an unknown id shows: 404, never 403
    for path in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/attempts/1", f"/v1/customers/{customer_id}",
                 f"/v1/customers/{customer_id}/events"):
        _problem(api.call("GET", path, other.api_key), 404, "not_found")
    _problem(api.call("GET", "/v1/cases/no-such-case", bank.api_key), 404, "not_found")
    _problem(api.call("GET", f"/v1/cases/{case_id}/attempts/2", bank.api_key), 404, "not_found")
    # nor can it take the case id or the customer over
    taken = api.call("POST", "/v1/cases", other.api_key, json={**request, "attempt": 2})
    _problem(taken, 409, "case_id_taken")

    # wrong, missing and revoked keys
    _problem(api.call("GET", f"/v1/cases/{case_id}", bank.api_key + "x"), 401, "unauthorized")
    assert api.http.get(f"/v1/cases/{case_id}").status_code == 401
    api.clients.revoke(bank.client.name)
    _problem(api.call("GET", f"/v1/cases/{case_id}", bank.api_key), 401, "unauthorized")

    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "web.access"]
    assert {"route": "/v1/cases/{case_id}", "case_id": case_id, "client": bank.client.name,
            "status": 200}.items() <= next(line for line in lines if line["route"] == "/v1/cases/{case_id}").items()
    assert all(customer_id not in json.dumps(line) and "MARTIN" not in json.dumps(line) for line in lines)


def test_signed_requests_replay_stale_and_tampered(api: Api) -> None:
    bank = api.client("signing", require_signature=True)
    body = json.dumps(api.env.request("s")).encode()
    headers = {"Content-Type": "application/json"}
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=body, headers=headers), 401, "signature_invalid")
    now = time.time()
    assert api.signed(bank, "POST", "/v1/cases", body, at=now, headers=headers).status_code == 202
    _problem(api.signed(bank, "POST", "/v1/cases", body, at=now, headers=headers), 401, "signature_replayed")
    stale = now - api.config.signature_tolerance_s - 5
    _problem(api.signed(bank, "POST", "/v1/cases", body, at=stale, headers=headers), 401, "signature_expired")
    stamp = str(int(now) + 1)
    assert bank.signing_secret is not None
    signature = sign(bank.signing_secret.encode(), stamp, "POST", "/v1/cases", body)
    tampered = body.replace(b'"attempt": 1', b'"attempt": 2')
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=tampered,
                      headers={**headers, "X-KYC-Timestamp": stamp, "X-KYC-Signature": signature}),
             401, "signature_invalid")
    case_path = f"/v1/cases/{api.env.cid('s')}"
    assert api.signed(bank, "GET", case_path).status_code == 200
    _problem(api.call("GET", case_path, bank.api_key), 401, "signature_invalid")


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_upload_streamed_under_server_names_and_size_limit(env: Env) -> None:
    config = web_config(env.config, env.root, max_upload_bytes=4096)
    uploads = env.root / "uploads"
    with serve_config(config) as url, httpx.Client(base_url=url, timeout=10.0) as http:
        made = Clients(env.redis, config).add(f"{env.token}-up")
        auth = {"Authorization": f"Bearer {made.api_key}"}
        request = env.request("u")
        script = Path(request.pop("document_video")).read_bytes()  # the scripted verifier's instructions
        Path(request.pop("selfie_video")).unlink()
        files = {"document_video": ("../../etc/passwd", script, "video/mp4"),
                 "selfie_video": ("..\\..\\x.mp4", b"selfie", "video/mp4")}
        sent = http.post("/v1/cases", headers=auth, data={"request": json.dumps(request)}, files=files)
        assert sent.status_code == 202, sent.text
        stored = _files(uploads)
        assert len(stored) == 2 and all(name.endswith(".upload") and "passwd" not in name for name in stored)
        assert not (env.root.parent / "etc").exists()
        env.drain(lambda: result(request["case_id"], 1, env.config, env.redis) is not None)
        assert http.get(sent.headers["location"], headers=auth).json()["status"] == "approved"

        big = {"document_video": ("d.mp4", b"x" * 5000, "video/mp4"), "selfie_video": ("s.mp4", b"s", "video/mp4")}
        other = {**request, "case_id": env.cid("big")}
        _problem(http.post("/v1/cases", headers=auth, data={"request": json.dumps(other)}, files=big),
                 413, "upload_too_large")
        assert _files(uploads) == stored  # nothing of the refused upload is left
        # a refused request (its URIs given in the request part) leaves nothing either
        named = {**other, "document_video": str(env.root / "x.mp4")}
        small = {"document_video": ("d.mp4", b"d", "video/mp4"), "selfie_video": ("s.mp4", b"s", "video/mp4")}
        _problem(http.post("/v1/cases", headers=auth, data={"request": json.dumps(named)}, files=small),
                 422, "invalid_request")
        assert _files(uploads) == stored


def test_hostile_media_uris_and_malformed_requests(api: Api, tmp_path: Path) -> None:
    bank = api.client("hostile")
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"not yours")
    link = api.env.root / "link.mp4"
    link.symlink_to(outside)
    for n, uri in enumerate((f"{api.env.root}/../outside.mp4", "file:///etc/passwd", str(link), "etc/passwd")):
        request = {**api.env.request(f"h{n}"), "document_video": uri}
        _problem(api.call("POST", "/v1/cases", bank.api_key, json=request), 422, "path_not_allowed")
        _problem(api.call("GET", f"/v1/cases/{request['case_id']}", bank.api_key), 404, "not_found")
    post = {"Content-Type": "application/json"}
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=b"{not json", headers=post), 422, "invalid_request")
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=b"[" * 100 + b"]" * 100, headers=post),
             422, "request_too_deep")
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=b" " * 70000, headers=post), 413,
             "request_too_large")
    _problem(api.call("POST", "/v1/cases", bank.api_key, content=b"x", headers={"Content-Type": "text/plain"}),
             415, "unsupported_media_type")
    no_consent = {k: v for k, v in api.env.request("c").items() if k != "consent"}
    _problem(api.call("POST", "/v1/cases", bank.api_key, json=no_consent), 422, "consent_required")
    _problem(api.call("GET", "/v1/cases/x/attempts/0", bank.api_key), 422, "invalid_request")


def test_idempotency_key(api: Api) -> None:
    bank = api.client("idem")
    request = api.env.request("i")
    headers = {"Idempotency-Key": "order-42"}
    first = api.call("POST", "/v1/cases", bank.api_key, json=request, headers=headers)
    again = api.call("POST", "/v1/cases", bank.api_key, json=request, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    changed = {**request, "callback_url": None, "attempt": 2}
    _problem(api.call("POST", "/v1/cases", bank.api_key, json=changed, headers=headers), 409, "idempotency_conflict")
    other = api.client("idem2")  # keys are per client
    assert api.call("POST", "/v1/cases", other.api_key, json=api.env.request("j"), headers=headers).status_code == 202


def test_operations_endpoints(api: Api) -> None:
    bank = api.client("ops")
    api.call("POST", "/v1/cases", bank.api_key, json=api.env.request("m"))
    assert api.http.get("/healthz").json() == {"status": "ok"}
    ready = api.http.get("/readyz")
    assert ready.status_code == 200, ready.text
    text = api.http.get("/metrics").text
    assert 'kyc_cases{status="queued"}' in text and "kyc_redis_up 1.0" in text
    assert 'kyc_queue_jobs{queue="verify",state="queued"}' in text and "kyc_review_backlog" in text
    assert 'kyc_api_requests_total{method="POST",route="/v1/cases",status="202"} 1.0' in text
    schema = api.http.get("/v1/openapi.json").json()
    assert {"/v1/cases", "/v1/cases/{case_id}", "/v1/customers/{customer_id}"} <= set(schema["paths"])
    assert "multipart/form-data" in schema["paths"]["/v1/cases"]["post"]["requestBody"]["content"]
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs and refs <= set(schema["components"]["schemas"])  # every reference resolves


def test_metrics_include_the_workers_stage_durations(env: Env, tmp_path: Path) -> None:
    folder = tmp_path / "worker-metrics"
    record = ("import sys; from workers import metrics; metrics.enable(sys.argv[1]); "
              "metrics.observe_stages({'decode': 120.0, 'total': 900.0})")
    subprocess.run([sys.executable, "-c", record, str(folder)], check=True, timeout=60)
    with serve_config(web_config(env.config, env.root, worker_metrics_dir=str(folder))) as url:
        text = httpx.get(f"{url}/metrics").text
    assert 'kyc_stage_seconds_count{stage="decode"} 1.0' in text
    assert 'kyc_stage_seconds_bucket{le="1.0",stage="total"} 1.0' in text


def test_readyz_503_when_redis_is_down(env: Env) -> None:
    down = env.config.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with serve_config(web_config(down, env.root)) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503 and "redis unreachable" in ready.json()["reasons"][0]


def test_clients_command(env: Env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from kycengine.cli import main

    for name, value in {**to_env(env.config), "KYC_WEB_SECRET": WEB_SECRET}.items():
        monkeypatch.setenv(name, value)
    name = f"{env.token}-cli"
    assert main(["clients", "add", name, "--require-signature"]) == 0
    shown = capsys.readouterr().out
    key = next(line.split()[-1] for line in shown.splitlines() if line.startswith("api key:"))
    assert "signing secret: kycs_" in shown
    clients = Clients(env.redis, web_config(env.config, env.root))
    assert clients.authenticate(key).name == name
    stored = list(env.redis.scan_iter(match=f"{env.config.key_prefix}api:*"))
    stored += [v for k in stored if env.redis.type(k) == b"hash" for v in env.redis.hgetall(k).values()]
    assert stored and not any(key.encode() in item for item in stored)  # only its keyed hash is kept
    assert main(["clients", "list"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"name": name, "require_signature": True, "revoked_at": None}.items() <= listed[0].items()
    assert main(["clients", "revoke", name]) == 0
    with pytest.raises(Exception, match="revoked"):
        clients.authenticate(key)
    assert main(["clients", "add", name]) == 2  # names are never reused
