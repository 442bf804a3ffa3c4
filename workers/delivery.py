"""Signed webhook deliveries: signing, one POST, and the check a receiver runs.

Every delivery is a JSON POST with three headers:

* `X-KYC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`
* `X-KYC-Timestamp: <unix seconds>` (the same `t`, for logging; only the signed one counts)
* `X-KYC-Delivery: <delivery id>`: stable across the retries of one delivery; receivers keep the
  ids they have processed and ignore a repeat (HTTP is at-least-once: an acknowledgement can be lost).

A receiver acknowledges with any 2xx status. Anything else, a timeout or a refused connection is
retried later (see jobs.deliver_job). Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kycengine.errors import InvalidRequest

SIGNATURE_HEADER = "X-KYC-Signature"
TIMESTAMP_HEADER = "X-KYC-Timestamp"
DELIVERY_HEADER = "X-KYC-Delivery"
USER_AGENT = "kycengine-webhook/1"
DEFAULT_TOLERANCE_S = 300


def check_callback_url(url: object) -> str:
    """The URL if it is an absolute http(s) URL with a host and no credentials; else InvalidRequest."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest("callback_url: must be a non-empty string")
    if len(url) > 2048 or any(ord(c) < 33 for c in url):
        raise InvalidRequest("callback_url: too long or contains spaces/control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise InvalidRequest(f"callback_url {url!r}: not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequest(f"callback_url {url!r}: only http and https are allowed")
    if not parts.hostname:
        raise InvalidRequest(f"callback_url {url!r}: has no host")
    if parts.username or parts.password:
        raise InvalidRequest("callback_url: credentials in the URL are not allowed")
    del port
    return url


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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is reported as such, never followed


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, *, secret: bytes, delivery_id: str, timeout_s: float,
         event: str = "") -> PostResult:
    """Sign and POST one delivery; never raises for network or HTTP errors."""
    signature = sign(secret, body)
    timestamp = signature.split(",", 1)[0][2:]
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp, DELIVERY_HEADER: delivery_id}
    if event:
        headers["X-KYC-Event"] = event
    request = urllib.request.Request(check_callback_url(url), data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return PostResult(False, exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return PostResult(False, None, f"{exc.__class__.__name__}: {reason}"[:300])
    return PostResult(200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}")
