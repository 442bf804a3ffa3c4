"""Reviewer accounts of the console: name, Argon2id password hash, enabled or disabled.

Stored in Redis under the key prefix (`{p}web:reviewer:{name}`, a hash; `{p}web:reviewers`, the set
of names); the password itself is never stored. argon2-cffi's `PasswordHasher` defaults to Argon2id
with its own salt per hash (RFC 9106 low-memory profile); hashes made with older parameters are
re-hashed at the next sign-in.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis import Redis

from kycengine.errors import InvalidRequest

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD = 12
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so that an unknown name costs the same time as a wrong password."""
    return _HASHER.hash("unknown reviewer: constant-time sign-in")


class ReviewerError(InvalidRequest):
    """A reviewer command that cannot be carried out (bad name, short password, unknown reviewer)."""

    code = "reviewer_error"


@dataclass(frozen=True)
class Reviewer:
    """One reviewer account as listed (never with its hash)."""

    name: str
    enabled: bool
    created_at: str


class Reviewers:
    """The reviewer accounts of one Redis database and key prefix."""

    def __init__(self, connection: Redis, prefix: str) -> None:
        self._r = connection
        self._p = prefix

    def _key(self, name: str) -> str:
        return f"{self._p}web:reviewer:{name}"

    @property
    def _names(self) -> str:
        return f"{self._p}web:reviewers"

    @staticmethod
    def check_name(name: str) -> str:
        """The name as stored (lower case), or ReviewerError when it is not a plain account name."""
        name = (name or "").strip().lower()
        if not NAME.fullmatch(name):
            raise ReviewerError("reviewer name: 1-64 characters, a-z 0-9 . _ -, starting with a letter or digit")
        return name

    def add(self, name: str, password: str) -> Reviewer:
        """Create an account, or set a new password (and enable it again) for an existing one."""
        name = self.check_name(name)
        if len(password) < MIN_PASSWORD:
            raise ReviewerError(f"password: at least {MIN_PASSWORD} characters")
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._r.pipeline() as pipe:
            pipe.hsetnx(self._key(name), "created_at", created)
            pipe.hset(self._key(name), mapping={"hash": _HASHER.hash(password), "enabled": "1"})
            pipe.sadd(self._names, name)
            pipe.execute()
        return self.get(name) or Reviewer(name, True, created)

    def disable(self, name: str) -> Reviewer:
        """Disable an account: it can no longer sign in, and its open sessions stop working."""
        name = self.check_name(name)
        if not self._r.exists(self._key(name)):
            raise ReviewerError(f"unknown reviewer {name!r}")
        self._r.hset(self._key(name), "enabled", "0")
        return Reviewer(name, False, self._text(self._r.hget(self._key(name), "created_at")))

    def get(self, name: str) -> Reviewer | None:
        raw = self._r.hmget(self._key(name), ["enabled", "created_at"])
        if raw[0] is None:
            return None
        return Reviewer(name, self._text(raw[0]) == "1", self._text(raw[1]))

    def enabled(self, name: str) -> bool:
        """Whether `name` is an account that may work now."""
        reviewer = self.get(name)
        return reviewer is not None and reviewer.enabled

    def list(self) -> list[Reviewer]:
        return [r for n in sorted(self._text(m) for m in self._r.smembers(self._names)) if (r := self.get(n))]

    def authenticate(self, name: str, password: str) -> Reviewer | None:
        """The enabled reviewer whose password this is, else None (same cost for an unknown name)."""
        try:
            name = self.check_name(name)
        except ReviewerError:
            name = ""
        stored = self._text(self._r.hget(self._key(name), "hash")) if name else ""
        try:
            _HASHER.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        reviewer = self.get(name) if stored else None
        if reviewer is None or not reviewer.enabled:
            return None
        if _HASHER.check_needs_rehash(stored):
            self._r.hset(self._key(name), "hash", _HASHER.hash(password))
        return reviewer

    @staticmethod
    def _text(value: object) -> str:
        return value.decode() if isinstance(value, bytes) else str(value or "")
