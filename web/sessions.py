"""Console sessions: an opaque random cookie, the record on the server with its expiry.

The cookie holds 256 random bits; Redis holds the record under the SHA-256 of it
(`{p}web:session:{digest}`, a hash with a TTL), so reading Redis gives no usable cookie. A session
before sign-in is anonymous (it only carries the sign-in form's CSRF token); signing in replaces it
with a new one (no session fixation). Each record has its own CSRF token (`web.csrf`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from redis import Redis

COOKIE = "kyc_review_session"
ANONYMOUS_TTL_S = 3600


@dataclass(frozen=True)
class Session:
    """One live session: its cookie value, who (empty before sign-in) and its CSRF token."""

    token: str
    reviewer: str
    csrf: str


class Sessions:
    """Sessions of one Redis database and key prefix."""

    def __init__(self, connection: Redis, prefix: str) -> None:
        self._r = connection
        self._p = prefix

    def _key(self, token: str) -> str:
        return f"{self._p}web:session:{hashlib.sha256(token.encode()).hexdigest()}"

    def create(self, reviewer: str, ttl_s: int) -> Session:
        """A new session for `reviewer` ("" before sign-in) that expires after `ttl_s` seconds."""
        session = Session(secrets.token_urlsafe(32), reviewer, secrets.token_urlsafe(32))
        key = self._key(session.token)
        with self._r.pipeline() as pipe:
            pipe.hset(key, mapping={"reviewer": reviewer, "csrf": session.csrf})
            pipe.expire(key, max(1, int(ttl_s)))
            pipe.execute()
        return session

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie value, or None (absent, malformed, expired or ended)."""
        if not token or len(token) > 128:
            return None
        reviewer, csrf = self._r.hmget(self._key(token), ["reviewer", "csrf"])
        if csrf is None:
            return None
        return Session(token, _text(reviewer), _text(csrf))

    def end(self, token: str) -> None:
        self._r.delete(self._key(token))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
