"""Signed webhook deliveries: signing, one POST, and the check a receiver runs.

Every delivery is a JSON POST with three headers:

* `X-KYC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`
* `X-KYC-Timestamp: <unix seconds>` (the same `t`, for logging; only the signed one counts)
* `X-KYC-Delivery: <delivery id>`: stable across the retries of one delivery; receivers keep the
  ids they have processed and ignore a repeat (HTTP is at-least-once: an acknowledgement can be lost).

A receiver acknowledges with any 2xx status. Anything else, a timeout or a refused connection is
retried later (see `delivery_job.deliver_job`). Redirects are not followed (http.client never
follows them), and the POST goes only to an address that `egress` checked.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass
from typing import Any

from kycengine.errors import InvalidRequest

from . import egress
from .egress import CallbackPolicy

SIGNATURE_HEADER = "X-KYC-Signature"
TIMESTAMP_HEADER = "X-KYC-Timestamp"
DELIVERY_HEADER = "X-KYC-Delivery"
EVENT_HEADER = "X-KYC-Event"
USER_AGENT = "kycengine-webhook/1"
DEFAULT_TOLERANCE_S = 300


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact, sorted keys, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    """The `X-KYC-Signature` value for `body` at `timestamp` (now by default)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(secret: str | bytes, body: bytes, header: str | None,
                     tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None) -> bool:
    """True when `header` is a valid signature of `body` made within `tolerance_s` of `now`.

    This is the whole check a receiver needs: it compares in constant time, accepts any of several
    `v1=` values (secret rotation) and refuses stale or future timestamps (replays).
    """
    if not header:
        return False
    key = secret.encode() if isinstance(secret, str) else secret
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, c) for c in candidates)


@dataclass(frozen=True)
class PostResult:
    """What one delivery try gave: acknowledged (2xx) or not, with the status or the error."""

    acknowledged: bool
    status: int | None
    error: str = ""


def post(url: str, body: bytes, *, secret: bytes, delivery_id: str, timeout_s: float,
         policy: CallbackPolicy, event: str = "") -> PostResult:
    """Sign and POST one delivery to a checked address of the callback; never raises for network,
    HTTP or policy errors (a refused callback is a failed try: `callback_not_allowed: ...`)."""
    try:
        to = egress.target(url, policy)
    except InvalidRequest as exc:
        return PostResult(False, None, f"{exc.code}: {exc.message}"[:300])
    signature = sign(secret, body)
    timestamp = signature.split(",", 1)[0][2:]
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp, DELIVERY_HEADER: delivery_id}
    if event:
        headers[EVENT_HEADER] = event
    error = ""
    for address in to.addresses:
        conn = egress.connection(to, address, timeout_s)
        try:
            try:
                conn.connect()
            except OSError as exc:  # this address does not answer: try the next checked one
                error = f"{exc.__class__.__name__}: {exc}"[:300]
                continue
            try:
                conn.request("POST", to.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read(65536)
            except (OSError, http.client.HTTPException) as exc:  # sent, maybe: never to a second address
                return PostResult(False, None, f"{exc.__class__.__name__}: {exc}"[:300])
        finally:
            conn.close()
        status = response.status
        return PostResult(200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}")
    return PostResult(False, None, error or "no address to connect to")
