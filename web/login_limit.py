"""Sign-in rate limit: failed sign-ins counted per account and per client address in Redis.

Each counter (`{p}web:login:account:{name}`, `{p}web:login:address:{ip}`) lives for the window from
its first failure; while either is at its limit, sign-in answers 429 without checking the password.
A successful sign-in clears the account's counter (not the address's).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis


@dataclass(frozen=True)
class Limits:
    """How many failures each key may have within `window_s` seconds."""

    per_account: int = 5
    per_address: int = 20
    window_s: int = 900


class LoginLimit:
    """The failure counters of one Redis database and key prefix."""

    def __init__(self, connection: Redis, prefix: str, limits: Limits) -> None:
        self._r = connection
        self._p = prefix
        self.limits = limits

    def _keys(self, account: str, address: str) -> tuple[str, str]:
        return f"{self._p}web:login:account:{account[:64]}", f"{self._p}web:login:address:{address[:64]}"

    def blocked(self, account: str, address: str) -> bool:
        """Whether this account or this address has used up its failures."""
        account_key, address_key = self._keys(account, address)
        counts = self._r.mget([account_key, address_key])
        return (int(counts[0] or 0) >= self.limits.per_account
                or int(counts[1] or 0) >= self.limits.per_address)

    def failed(self, account: str, address: str) -> None:
        """Count one failure against both keys (the window starts at a key's first failure)."""
        with self._r.pipeline() as pipe:
            for key in self._keys(account, address):
                pipe.incr(key)
                pipe.expire(key, self.limits.window_s, nx=True)
            pipe.execute()

    def succeeded(self, account: str, address: str) -> None:
        self._r.delete(self._keys(account, address)[0])
