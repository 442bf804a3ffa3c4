"""`Idempotency-Key` on submissions: the same key with the same body answers the first answer again;
the same key with another body is refused (409 `idempotency_conflict`).

The body's SHA-256 (for an upload: of the request part and of each file, as they stream) is kept
with the answer for KYC_WEB_IDEMPOTENCY_HOURS, per client (two clients may use the same key).

| key                          | type   | what                                        |
|------------------------------|--------|---------------------------------------------|
| {p}api:idem:{client}:{hash}  | string | JSON: body digest, status, body, Location   |
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis import Redis

from kycengine.errors import InvalidRequest

from ..problems import Conflict

HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Answer:
    """A submission's answer, as stored and replayed."""

    status: int
    body: dict[str, Any]
    location: str


class Idempotency:
    """The stored answer of one client's Idempotency-Key (no-op without a key)."""

    def __init__(self, connection: Redis, prefix: str, client: str, key: str | None, ttl_s: int) -> None:
        if key is not None and (not key or len(key) > 255 or not key.isascii() or not key.isprintable()):
            raise InvalidRequest(f"{HEADER}: 1-255 printable ASCII characters")
        self._r, self._ttl = connection, ttl_s
        digest = hashlib.sha256(key.encode()).hexdigest() if key is not None else ""
        self._key = f"{prefix}api:idem:{client}:{digest}" if key is not None else None

    def replay(self, body_digest: str) -> Answer | None:
        """The first answer for this key and body; None when the key is new (or absent); 409 when the
        key came with another body."""
        if self._key is None:
            return None
        raw = self._r.get(self._key)
        if raw is None:
            return None
        stored = json.loads(raw)
        if stored["digest"] != body_digest:
            raise Conflict(f"{HEADER} was used before with another request body")
        return Answer(stored["status"], stored["body"], stored["location"])

    def save(self, body_digest: str, answer: Answer) -> Answer:
        """Keep the answer; when a concurrent request with the same key saved first, its answer wins
        (and another body is a conflict, as in `replay`)."""
        if self._key is None:
            return answer
        record = {"digest": body_digest, "status": answer.status, "body": answer.body, "location": answer.location}
        if self._r.set(self._key, json.dumps(record), nx=True, ex=self._ttl):
            return answer
        return self.replay(body_digest) or answer
