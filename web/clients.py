"""API clients (the banks' back ends): per-client keys stored hashed, optional request signing, revocation.

A key is 32 random bytes, shown once by `kyc clients add NAME` and never stored: Redis keeps only its
HMAC-SHA256 under the web secret (KYC_WEB_SECRET). A fast keyed hash is the right tool here, not a
memory-hard one: a 256-bit random key cannot be guessed however fast the hash, while a slow hash
would cost every API request tens of milliseconds; the key (the web secret) also means a copy of
Redis alone does not even let anyone test candidate keys. The digest names the lookup key, so
authentication is one GET, with no scan and no comparison loop.

A client added with `--require-signature` must also sign every request (`web.api.signing`) with a
signing secret derived from the web secret and a random salt kept in its record, so that nothing in
Redis holds it either.

| key                      | type   | what                                                       |
|--------------------------|--------|------------------------------------------------------------|
| {p}api:client:{name}     | hash   | created_at, require_signature, key digest, salt, revoked_at |
| {p}api:clients           | set    | every client name                                          |
| {p}api:key:{digest}      | string | client name of the key whose HMAC is `digest`              |
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from kycengine.errors import InvalidInput
from workers.store import iso

from .config import WebConfig
from .problems import Unauthorized

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_PREFIX = "kyck_"
SIGNING_PREFIX = "kycs_"


class ClientError(InvalidInput):
    """A client name that is malformed, taken or unknown."""

    code = "client_error"


@dataclass(frozen=True)
class Client:
    """One API client as the application sees it (never its key)."""

    name: str
    created_at: str
    require_signature: bool
    revoked_at: str | None = None
    salt: str = field(default="", repr=False)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """The listing's fields (no digest, no salt)."""
        return {"name": self.name, "created_at": self.created_at, "require_signature": self.require_signature,
                "revoked_at": self.revoked_at}


@dataclass(frozen=True)
class NewClient:
    """What `add` returns: the client, and its secrets, shown this once."""

    client: Client
    api_key: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Clients:
    """The client records of one Redis database and key prefix."""

    def __init__(self, connection: Redis, config: WebConfig) -> None:
        self._r = connection
        self._p = f"{config.worker.key_prefix}api:"
        self._secret = config.secret_bytes()

    def _k_client(self, name: str) -> str:
        return f"{self._p}client:{name}"

    def _k_key(self, digest: str) -> str:
        return f"{self._p}key:{digest}"

    def digest(self, api_key: str) -> str:
        """The stored form of a key: HMAC-SHA256 under the web secret (see the module docstring)."""
        return hmac.new(self._secret, api_key.encode(), hashlib.sha256).hexdigest()

    def signing_secret(self, client: Client) -> bytes:
        """The client's request-signing secret, derived again from the web secret and its salt."""
        raw = hmac.new(self._secret, f"signing\0{client.name}\0{client.salt}".encode(), hashlib.sha256).digest()
        return (SIGNING_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")).encode()

    def add(self, name: str, *, require_signature: bool = False, now: float | None = None) -> NewClient:
        """Create a client with a fresh key (and signing secret); a taken name raises ClientError."""
        if not _NAME.match(name):
            raise ClientError(f"client name {name!r}: 1-64 letters, digits, '.', '_' or '-'")
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        salt = secrets.token_hex(16) if require_signature else ""
        record: dict[Any, Any] = {"name": name, "created_at": iso(time.time() if now is None else now),
                  "require_signature": "1" if require_signature else "0", "key_digest": self.digest(api_key),
                  "salt": salt}
        if not self._r.hsetnx(self._k_client(name), "name", name):
            raise ClientError(f"client {name!r} exists (names are never reused, even once revoked)")
        with self._r.pipeline() as pipe:
            pipe.hset(self._k_client(name), mapping=record)
            pipe.sadd(f"{self._p}clients", name)
            pipe.set(self._k_key(record["key_digest"]), name)
            pipe.execute()
        client = self._client(record)
        return NewClient(client, api_key, self.signing_secret(client).decode() if require_signature else None)

    def _client(self, raw: dict[str, str]) -> Client:
        return Client(name=raw["name"], created_at=raw.get("created_at", ""),
                      require_signature=raw.get("require_signature") == "1",
                      revoked_at=raw.get("revoked_at") or None, salt=raw.get("salt", ""))

    def get(self, name: str) -> Client | None:
        raw = self._r.hgetall(self._k_client(name))
        return self._client({_text(k): _text(v) for k, v in raw.items()}) if raw else None

    def list(self) -> list[Client]:
        """Every client, revoked ones included, by name."""
        names = sorted(_text(n) for n in self._r.smembers(f"{self._p}clients"))
        return [c for c in (self.get(n) for n in names) if c is not None]

    def revoke(self, name: str, now: float | None = None) -> Client:
        """Revoke a client's key at once (its cases stay; nobody can read them through the API)."""
        raw = self._r.hgetall(self._k_client(name))
        if not raw:
            raise ClientError(f"unknown client {name!r}")
        record = {_text(k): _text(v) for k, v in raw.items()}
        with self._r.pipeline() as pipe:
            pipe.hsetnx(self._k_client(name), "revoked_at", iso(time.time() if now is None else now))
            pipe.delete(self._k_key(record.get("key_digest", "")))
            pipe.execute()
        client = self.get(name)
        assert client is not None
        return client

    def authenticate(self, api_key: str) -> Client:
        """The active client holding `api_key`; Unauthorized otherwise (unknown, revoked, malformed)."""
        if not api_key.startswith(KEY_PREFIX) or len(api_key) > 128:
            raise Unauthorized("unknown API key")
        name = self._r.get(self._k_key(self.digest(api_key)))
        client = self.get(_text(name)) if name is not None else None
        if client is None or not client.active:
            raise Unauthorized("unknown or revoked API key")
        return client


# ---- `kyc clients add|list|revoke` --------------------------------------------------------------

def _clients() -> Clients:
    from workers.connection import connect

    config = WebConfig.from_env()
    return Clients(connect(config.worker.redis_url), config)


def cmd_add(args: argparse.Namespace) -> int:
    """Create an API client; prints its key (and signing secret) once: they are not stored."""
    made = _clients().add(args.name, require_signature=args.require_signature)
    print(f"client:         {made.client.name}")
    print(f"api key:        {made.api_key}")
    if made.signing_secret:
        print(f"signing secret: {made.signing_secret}")
    print("These are shown once and cannot be read back; `kyc clients revoke` and add again to replace them.")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List API clients (JSON lines: name, created_at, require_signature, revoked_at)."""
    for client in _clients().list():
        print(json.dumps(client.to_dict()))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Revoke an API client's key at once."""
    print(json.dumps(_clients().revoke(args.name).to_dict()))
    return 0


def register(subparsers: Any) -> None:
    """Add `kyc clients add|list|revoke` to the `kyc` command."""
    p = subparsers.add_parser("clients", help="API clients of `kyc serve` (banks' back ends)")
    sub = p.add_subparsers(dest="clients_command", required=True)
    add = sub.add_parser("add", help=cmd_add.__doc__, description=cmd_add.__doc__)
    add.add_argument("name", help="the client's name (letters, digits, '.', '_', '-')")
    add.add_argument("--require-signature", action="store_true",
                     help="every request must carry an HMAC signature with a timestamp (docs/web.md)")
    add.set_defaults(run=cmd_add)
    sub.add_parser("list", help=cmd_list.__doc__, description=cmd_list.__doc__).set_defaults(run=cmd_list)
    revoke = sub.add_parser("revoke", help=cmd_revoke.__doc__, description=cmd_revoke.__doc__)
    revoke.add_argument("name")
    revoke.set_defaults(run=cmd_revoke)
