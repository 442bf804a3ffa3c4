"""Which client a case and a customer belong to: the one that submitted them first.

Reads of another client's case or customer answer 404 exactly like an unknown one (never 403: a
client learns nothing about cases it does not own). The attempts a client submitted are noted with
their job ids, so an attempt still waiting for a worker reads as `queued`.

| key                        | type   | what                                                 |
|----------------------------|--------|------------------------------------------------------|
| {p}api:case:{case}         | hash   | `client`, and `attempt:{n}` -> job id of each submit |
| {p}api:customer:{id}       | string | the client that owns the customer                    |
| {p}api:cases               | set    | every case submitted through the API (metrics)       |
"""

from __future__ import annotations

from collections.abc import Iterator

from redis import Redis

from ..problems import CaseTaken, NotFound


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Ownership:
    """Case and customer ownership records under `{prefix}api:`."""

    def __init__(self, connection: Redis, prefix: str) -> None:
        self._r = connection
        self._p = f"{prefix}api:"

    def _k_case(self, case_id: str) -> str:
        return f"{self._p}case:{case_id}"

    def _k_customer(self, customer_id: str) -> str:
        return f"{self._p}customer:{customer_id}"

    def claim(self, client: str, case_id: str, customer_id: str | None) -> bool:
        """Make `client` the owner of the case (and customer) unless another client is; True when the
        case is new. Raises CaseTaken when another client owns either."""
        new = bool(self._r.hsetnx(self._k_case(case_id), "client", client))
        owner = _text(self._r.hget(self._k_case(case_id), "client") or b"")
        if owner != client:
            raise CaseTaken(f"case_id {case_id!r} is taken: choose another case id")
        if customer_id is not None:
            self._r.setnx(self._k_customer(customer_id), client)
            if _text(self._r.get(self._k_customer(customer_id)) or b"") != client:
                if new:
                    self._r.delete(self._k_case(case_id))
                raise CaseTaken(f"customer_id {customer_id!r} is taken: customer ids are per client")
        return new

    def release(self, case_id: str) -> None:
        """Forget a new case whose submission was refused (nothing was enqueued for it)."""
        if not self.attempts(case_id):
            self._r.delete(self._k_case(case_id))

    def note_attempt(self, case_id: str, attempt: int, job_id: str) -> None:
        with self._r.pipeline() as pipe:
            pipe.hset(self._k_case(case_id), f"attempt:{attempt}", job_id)
            pipe.sadd(f"{self._p}cases", case_id)
            pipe.execute()

    def attempts(self, case_id: str) -> dict[int, str]:
        """Attempt number -> job id of every attempt submitted through the API."""
        raw = self._r.hgetall(self._k_case(case_id))
        out = {}
        for key, value in raw.items():
            name = _text(key)
            if name.startswith("attempt:") and name[8:].isdigit():
                out[int(name[8:])] = _text(value)
        return out

    def case_of(self, client: str, case_id: str) -> dict[int, str]:
        """The case's submitted attempts when `client` owns it; NotFound otherwise."""
        if _text(self._r.hget(self._k_case(case_id), "client") or b"") != client:
            raise NotFound(f"no case {case_id!r}")
        return self.attempts(case_id)

    def check_customer(self, client: str, customer_id: str) -> None:
        """NotFound unless `client` owns the customer."""
        if _text(self._r.get(self._k_customer(customer_id)) or b"") != client:
            raise NotFound(f"no customer {customer_id!r}")

    def cases(self) -> Iterator[str]:
        """Every case submitted through the API."""
        for member in self._r.sscan_iter(f"{self._p}cases", count=500):
            yield _text(member)
