"""Optional HMAC request signing per client, with a timestamp against replay.

A client added with `--require-signature` sends two more headers on every request:

    X-KYC-Timestamp: <unix seconds>
    X-KYC-Signature: v1=<hex HMAC-SHA256(signing secret, "<timestamp>\\n<METHOD>\\n<path?query>\\n" + body)>

A timestamp more than KYC_WEB_SIGNATURE_TOLERANCE seconds away from the server's clock is refused
(`signature_expired`) before the body is read; a signature seen before within the window is refused
(`signature_replayed`): each valid signature is remembered in Redis with SET NX for twice the
window, so a captured request cannot be sent again while its timestamp would still pass.

| key                        | type   | what                                          |
|----------------------------|--------|-----------------------------------------------|
| {p}api:sig:{client}:{sig}  | string | a signature already used (expires after 2 x window) |
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from fastapi import Request
from redis import Redis

from ..clients import Client, Clients
from ..config import WebConfig
from ..problems import SignatureExpired, SignatureInvalid, SignatureReplayed

TIMESTAMP_HEADER = "X-KYC-Timestamp"
SIGNATURE_HEADER = "X-KYC-Signature"
VERSION = "v1="


def message_head(timestamp: str, method: str, path: str) -> bytes:
    """What precedes the body in the signed message."""
    return f"{timestamp}\n{method.upper()}\n{path}\n".encode()


def sign(secret: bytes, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The signature header value a client sends (used by tests, benchmarks and as a reference)."""
    return VERSION + hmac.new(secret, message_head(timestamp, method, path) + body, hashlib.sha256).hexdigest()


def signed_path(request: Request) -> str:
    """The path and query as the client sent them."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


class SignatureCheck:
    """Checks one request's signature as its body streams through `update`; `verify` at the end.

    Does nothing for a client that does not sign. Built before the body is read, so a stale or
    missing timestamp is refused at once.
    """

    def __init__(self, request: Request, client: Client, clients: Clients, config: WebConfig,
                 connection: Redis, now: float | None = None) -> None:
        self._client, self._connection, self._config = client, connection, config
        self._mac: hmac.HMAC | None = None
        self._given = ""
        if not client.require_signature:
            return
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not stamp.isdigit() or len(stamp) > 12 or not given.startswith(VERSION) or len(given) != 67:
            raise SignatureInvalid(f"this client signs its requests: {TIMESTAMP_HEADER} (unix seconds) and "
                                   f"{SIGNATURE_HEADER} (v1=<hex HMAC-SHA256>) are required")
        now = time.time() if now is None else now
        if math.fabs(now - int(stamp)) > config.signature_tolerance_s:
            raise SignatureExpired(f"{TIMESTAMP_HEADER} is more than {config.signature_tolerance_s:g} s "
                                   "away from the server's clock")
        self._given = given
        self._mac = hmac.new(clients.signing_secret(client),
                             message_head(stamp, request.method, signed_path(request)), hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        if self._mac is not None:
            self._mac.update(chunk)

    def verify(self) -> None:
        """Raise unless the signature matches and was never used before."""
        if self._mac is None:
            return
        if not hmac.compare_digest(VERSION + self._mac.hexdigest(), self._given):
            raise SignatureInvalid("the request signature does not match")
        key = f"{self._config.worker.key_prefix}api:sig:{self._client.name}:{self._given[len(VERSION):]}"
        if not self._connection.set(key, 1, nx=True, ex=max(1, math.ceil(2 * self._config.signature_tolerance_s))):
            raise SignatureReplayed("this signed request was already received")
