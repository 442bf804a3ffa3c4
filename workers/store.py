"""The case store in Redis: the only module that reads or writes kycengine's own keys.

Every key starts with the configured prefix (`kyc:` by default); case ids cannot contain ':' (see
`kycengine.schema`), so keys split unambiguously. Jobs, review, retention and the guard call the
methods below; none of them touches a key or the Redis client itself (rq's own queues and
registries are rq's API, used where they are needed).

| key                                   | type   | what                                                  |
|---------------------------------------|--------|-------------------------------------------------------|
| {p}case:{case}                        | hash   | latest attempt, effective status, callback, times     |
| {p}attempt:{case}:{n}                 | hash   | request JSON, state, job id, media state, failure     |
| {p}verdict:{case}:{n}                 | string | the verdict JSON: written once, never changed         |
| {p}decision:{case}:{n}                | string | the reviewer's decision JSON: written once            |
| {p}history:{case}                     | list   | append-only audit trail (RPUSH only, never rewritten) |
| {p}delivery:{case}:{n}:{kind}         | hash   | delivery id, state, tries, last error                 |
| {p}review:queue                       | zset   | case -> review deadline (unix seconds)                |
| {p}review:item:{case}                 | hash   | attempt, submitted/deadline, state, escalation        |
| {p}review:pending:{case}:{n}          | string | first approval waiting for a second reviewer (once)   |
| {p}retention                          | zset   | "{case}:{n}" -> when its media may be deleted         |
| {p}media:owner:{digest}               | string | the case that owns a media file (first to name it)    |
| {p}media:refs:{digest}                | set    | "{case}:{n}" attempts that still need the file        |
| {p}rejected:{job id}                  | string | outcome of a job without a usable case attempt        |
| {p}quarantine                         | zset   | job id -> when a queue entry was refused (guard)      |
| {p}swept                              | zset   | job id -> when the failed-job sweep handled it        |
| {p}lock:{name}                        | string | short-lived locks (delivery in progress, maintenance) |
| {p}customer:{id}                      | hash   | identity status, sequence, current attempt, validity  |
| {p}customer:history:{id}              | list   | the customer's audit trail (RPUSH only)               |
| {p}customer:event:{id}:{seq}          | string | status event body number `seq` (written once)         |
| {p}customer:cases:{id}                | set    | the customer's case ids                               |
| {p}customer:seen:{id}                 | set    | bank event ids already applied (revocations, ...)     |
| {p}customer:validity                  | zset   | verified customer -> when the verification expires   |
| {p}delivery:{id}:{seq}:status         | hash   | delivery of a status event                            |

Idempotency: `commit_verdict` writes the verdict under WATCH/MULTI, together with everything that
follows from it (attempt state, history entry, review item or retention date, delivery record and the
delivery job itself). If the key already holds a verdict the transaction is abandoned and the stored
verdict is returned: a case attempt gets exactly one verdict and one delivery, however many times the
job runs.

Customer identity: every write that moves a customer (`CustomerUpdate`: a submission, a verdict, a
failure, a decision, a bank event) runs in the same WATCH/MULTI/EXEC as the fact itself: the status,
its audit entry, the numbered status event and its delivery job are written together or not at all,
so a worker killed at any point loses no event and, re-run, duplicates none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.client import Pipeline

from kycengine.reasons import Status

from .lifecycle import Change
from .states import AttemptState, DeliveryKind, DeliveryState, FailureCode, MediaState, OutcomeStatus, ReviewState

RETRYABLE_STATUSES = frozenset({Status.REFUSED.value, Status.RETRY_REQUIRED.value})
REJECTED_TTL_S = 30 * 86400  # outcomes of jobs without a usable case attempt, and their quarantine entries

_UTC = dt.timezone.utc
_MAX_TS = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=_UTC).timestamp()
_MIN_TS = dt.datetime(1, 1, 2, tzinfo=_UTC).timestamp()

Enqueue = Callable[[Pipeline], None]  # puts a job on a pipeline, inside the store's transaction

# Claim every media file of an attempt for its case, or none when another case owns one of them.
# KEYS: owner and refs key of each file, in pairs; ARGV: case id, "{case}:{n}". Returns the indexes
# (1-based, of the owner keys) that another case owns.
_CLAIM = """
local taken = {}
for i = 1, #KEYS, 2 do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then table.insert(taken, i) end
end
if #taken > 0 then return taken end
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i], ARGV[1], 'NX')
  redis.call('SADD', KEYS[i + 1], ARGV[2])
end
return taken
"""

# Drop one attempt's need for a file; 1 when the file may now be deleted (this case owns it, or
# nobody does, and no other attempt needs it), then its ownership is forgotten too.
_RELEASE = """
redis.call('SREM', KEYS[2], ARGV[2])
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""

_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


@dataclass(frozen=True)
class CustomerUpdate:
    """How a write moves a customer: `plan(customer record, case record)` returns the Change (or
    raises, and nothing is written), `event(change)` its event body, `enqueue(sequence, delivery id)`
    the delivery job to put on the transaction (None: no delivery)."""

    customer_id: str
    plan: Callable[[dict[str, str], dict[str, str]], Change]
    event: Callable[[Change], dict[str, Any]]
    enqueue: Callable[[int, str], Enqueue] | None = None


class AlreadyDecided(Exception):
    """A review decision exists for this case attempt; decisions are never overwritten."""


def iso(ts: float) -> str:
    """Unix seconds as an ISO 8601 UTC string (seconds precision), clamped to years 1-9999.

    Clamped, never raising: a deadline computed from a far-future time must not make a store write
    fail (such times are refused at intake; this keeps any other arithmetic safe too).
    """
    if math.isnan(ts):
        ts = _MAX_TS
    ts = min(max(ts, _MIN_TS), _MAX_TS)
    return dt.datetime.fromtimestamp(int(ts), _UTC).isoformat()


def new_delivery_id() -> str:
    """A fresh delivery id (stable for all the tries of one delivery)."""
    return f"dlv_{uuid.uuid4().hex}"


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _hash(raw: dict[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _member(case_id: str, attempt: int) -> str:
    return f"{case_id}:{attempt}"


def _split_member(member: Any) -> tuple[str, int] | None:
    case_id, _, attempt = _text(member).rpartition(":")
    return (case_id, int(attempt)) if case_id and attempt.isdigit() else None


class Store:
    """Typed access to the `kyc:` keys of one Redis database."""

    def __init__(self, connection: Redis, prefix: str = "kyc:") -> None:
        self._r = connection
        self._p = prefix

    # ---- keys (private: callers use the methods) --------------------------------------------------
    def _k_case(self, case_id: str) -> str:
        return f"{self._p}case:{case_id}"

    def _k_attempt(self, case_id: str, attempt: int) -> str:
        return f"{self._p}attempt:{case_id}:{attempt}"

    def _k_verdict(self, case_id: str, attempt: int) -> str:
        return f"{self._p}verdict:{case_id}:{attempt}"

    def _k_decision(self, case_id: str, attempt: int) -> str:
        return f"{self._p}decision:{case_id}:{attempt}"

    def _k_history(self, case_id: str) -> str:
        return f"{self._p}history:{case_id}"

    def _k_delivery(self, case_id: str, attempt: int, kind: str) -> str:
        return f"{self._p}delivery:{case_id}:{attempt}:{DeliveryKind(kind).value}"

    def _k_review_item(self, case_id: str) -> str:
        return f"{self._p}review:item:{case_id}"

    def _k_pending(self, case_id: str, attempt: int) -> str:
        return f"{self._p}review:pending:{case_id}:{attempt}"

    def _k_media(self, uri: str) -> tuple[str, str]:
        digest = hashlib.sha256(uri.encode()).hexdigest()[:40]
        return f"{self._p}media:owner:{digest}", f"{self._p}media:refs:{digest}"

    @property
    def _k_review_queue(self) -> str:
        return f"{self._p}review:queue"

    @property
    def _k_retention(self) -> str:
        return f"{self._p}retention"

    @property
    def _k_quarantine(self) -> str:
        return f"{self._p}quarantine"

    @property
    def _k_swept(self) -> str:
        return f"{self._p}swept"

    def _k_rejected(self, job_id: str) -> str:
        return f"{self._p}rejected:{job_id}"

    def _k_lock(self, name: str) -> str:
        return f"{self._p}lock:{name}"

    def _k_customer(self, customer_id: str) -> str:
        return f"{self._p}customer:{customer_id}"

    def _k_customer_history(self, customer_id: str) -> str:
        return f"{self._p}customer:history:{customer_id}"

    def _k_customer_event(self, customer_id: str, sequence: int) -> str:
        return f"{self._p}customer:event:{customer_id}:{sequence}"

    def _k_customer_cases(self, customer_id: str) -> str:
        return f"{self._p}customer:cases:{customer_id}"

    def _k_customer_seen(self, customer_id: str) -> str:
        return f"{self._p}customer:seen:{customer_id}"

    @property
    def _k_validity(self) -> str:
        return f"{self._p}customer:validity"

    # ---- history (append-only) ------------------------------------------------------------------
    def append_history(self, case_id: str, event: str, *, pipe: Pipeline | None = None,
                       now: float | None = None, **fields: Any) -> None:
        """Append one event to the case's audit trail (RPUSH: entries are never rewritten)."""
        entry = {"at": iso(time.time() if now is None else now), "event": event, **fields}
        (pipe if pipe is not None else self._r).rpush(self._k_history(case_id),
                                                      json.dumps(entry, sort_keys=True, default=str))

    def history(self, case_id: str) -> list[dict[str, Any]]:
        """The case's audit trail, oldest first."""
        return [json.loads(x) for x in self._r.lrange(self._k_history(case_id), 0, -1)]

    # ---- reads ----------------------------------------------------------------------------------
    def get_case(self, case_id: str) -> dict[str, str] | None:
        raw = self._r.hgetall(self._k_case(case_id))
        return _hash(raw) if raw else None

    def get_attempt(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self._r.hgetall(self._k_attempt(case_id, attempt))
        if not raw:
            return None
        data: dict[str, Any] = _hash(raw)
        for name in ("request", "media"):
            if name in data:
                data[name] = json.loads(data[name])
        return data

    def get_verdict(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self._r.get(self._k_verdict(case_id, attempt))
        return json.loads(raw) if raw is not None else None

    def get_decision(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self._r.get(self._k_decision(case_id, attempt))
        return json.loads(raw) if raw is not None else None

    def get_delivery(self, case_id: str, attempt: int, kind: str) -> dict[str, str] | None:
        raw = self._r.hgetall(self._k_delivery(case_id, attempt, kind))
        return _hash(raw) if raw else None

    def get_rejected(self, job_id: str) -> dict[str, Any] | None:
        """The stored outcome of a job that names no usable case attempt (failed or rejected)."""
        raw = self._r.get(self._k_rejected(job_id))
        return json.loads(raw) if raw is not None else None

    def attempts(self, case_id: str) -> list[int]:
        """Attempt numbers known for a case, ascending."""
        found = set()
        for key in self._r.scan_iter(match=f"{self._p}attempt:{case_id}:*", count=200):
            tail = _text(key).rsplit(":", 1)[-1]
            if tail.isdigit():
                found.add(int(tail))
        return sorted(found)

    def outcome(self, case_id: str, attempt: int) -> str | None:
        """Effective status of one attempt: the decision, else the verdict, else 'failed', else None."""
        decision = self.get_decision(case_id, attempt)
        if decision is not None:
            return str(decision["status"])
        verdict = self.get_verdict(case_id, attempt)
        if verdict is not None:
            return str(verdict["status"])
        state = _text(self._r.hget(self._k_attempt(case_id, attempt), "state"))
        return OutcomeStatus.FAILED.value if state == AttemptState.FAILED else None

    def attempt_problem(self, case_id: str, attempt: int, max_attempts: int) -> tuple[str, str] | None:
        """Why this attempt may not run (code, message), or None when it may.

        Attempt 1 always may; attempt n > 1 only after attempt n-1 ended `retry_required` or `refused`
        (its verdict, or the reviewer's decision), and never beyond `max_attempts`.
        """
        if attempt > max_attempts:
            return (FailureCode.TOO_MANY_ATTEMPTS.value,
                    f"attempt {attempt}: at most {max_attempts} attempts per case")
        if attempt == 1:
            return None
        previous = self.outcome(case_id, attempt - 1)
        if previous in RETRYABLE_STATUSES:
            return None
        state = "no verdict yet" if previous in (None, OutcomeStatus.FAILED) else f"ended {previous}"
        return (FailureCode.ATTEMPT_NOT_ALLOWED.value,
                f"attempt {attempt}: attempt {attempt - 1} {state}; a new attempt may follow only "
                "retry_required or refused")

    # ---- submissions, verdicts, failures, decisions ---------------------------------------------
    def record_submission(self, request: dict[str, Any], job_id: str, now: float | None = None,
                          customer: CustomerUpdate | None = None) -> None:
        """Note the attempt of a job the worker takes, once per job id (a re-run adds nothing), with
        the customer's move to `pending`; no effect on the state of an attempt that already has an
        outcome. The customer's plan may raise (its status takes no attempt now): nothing is written."""
        now = time.time() if now is None else now
        case_id, attempt = request["case_id"], int(request["attempt"])
        key = self._k_attempt(case_id, attempt)

        def write(pipe: Pipeline) -> None:
            if _text(pipe.hget(key, "job_id")) == job_id:
                return
            planned = self._plan(pipe, customer, case_id)
            pipe.multi()
            pipe.hsetnx(self._k_case(case_id), "created_at", iso(now))
            case_fields: dict[Any, Any] = {"case_id": case_id, "updated_at": iso(now)}
            if customer is not None:
                case_fields["customer_id"] = customer.customer_id
            pipe.hset(self._k_case(case_id), mapping=case_fields)
            pipe.hsetnx(key, "state", AttemptState.QUEUED.value)
            pipe.hset(key, mapping={"job_id": job_id, "submitted_at": request.get("submitted_at") or iso(now)})
            self.append_history(case_id, "submitted", pipe=pipe, now=now, attempt=attempt, job_id=job_id)
            self._write_change(pipe, customer, planned, now)

        self._r.transaction(write, key, self._k_case(case_id), *self._customer_watch(customer))

    # ---- customers ------------------------------------------------------------------------------
    def _customer_watch(self, customer: CustomerUpdate | None) -> list[str]:
        return [] if customer is None else [self._k_customer(customer.customer_id)]

    def _plan(self, pipe: Pipeline, customer: CustomerUpdate | None,
              case_id: str | None) -> tuple[dict[str, str], Change] | None:
        """Read the customer (and case) records on a watching pipeline and plan the change."""
        if customer is None:
            return None
        record = _hash(pipe.hgetall(self._k_customer(customer.customer_id)))
        case = _hash(pipe.hgetall(self._k_case(case_id))) if case_id else {}
        return record, customer.plan(record, case)

    def _write_change(self, pipe: Pipeline, customer: CustomerUpdate | None,
                      planned: tuple[dict[str, str], Change] | None, now: float) -> None:
        """Queue a planned change on a MULTI pipeline: fields, audit entry, and for a new status the
        numbered event and its delivery job."""
        if customer is None or planned is None:
            return
        record, change = planned
        cid = change.customer_id
        fields: dict[Any, Any] = {"customer_id": cid, "updated_at": iso(now), "status": change.status.value,
                                  **change.fields}
        entry: dict[str, Any] = {"at": iso(now), "event": "status_changed" if change.changed else change.cause.value,
                                 "from": change.previous.value, "to": change.status.value,
                                 "cause": change.cause.value, **change.audit}
        if change.changed:
            sequence = int(record.get("sequence") or 0) + 1
            fields.update(sequence=sequence, previous_status=change.previous.value, status_since=iso(now))
            entry["sequence"] = sequence
            body = {**customer.event(change), "sequence": sequence, "at": iso(now)}
            pipe.set(self._k_customer_event(cid, sequence), json.dumps(body, sort_keys=True, default=str))
            callback = str(change.fields.get("callback_url") or record.get("callback_url") or "")
            if callback and customer.enqueue is not None:
                delivery_id = new_delivery_id()
                pipe.hset(self._k_delivery(cid, sequence, DeliveryKind.STATUS),
                          mapping={"delivery_id": delivery_id, "state": DeliveryState.PENDING.value, "tries": 0,
                                   "created_at": iso(now), "callback_url": callback})
                customer.enqueue(sequence, delivery_id)(pipe)
        pipe.hsetnx(self._k_customer(cid), "created_at", iso(now))
        pipe.hset(self._k_customer(cid), mapping=fields)
        if change.fields.get("valid_until_ts"):
            pipe.zadd(self._k_validity, {cid: float(change.fields["valid_until_ts"])})
        elif "valid_until_ts" in change.fields:
            pipe.zrem(self._k_validity, cid)
        if change.audit.get("case_id"):
            pipe.sadd(self._k_customer_cases(cid), str(change.audit["case_id"]))
        pipe.rpush(self._k_customer_history(cid), json.dumps(entry, sort_keys=True, default=str))

    def move_customer(self, customer: CustomerUpdate, *, event_id: str | None = None,
                      now: float | None = None) -> Change | None:
        """Apply a fact that concerns only the customer (a bank event, an expiry, a withdrawal) in one
        MULTI/EXEC; None when `event_id` was applied before (the same event twice changes nothing)."""
        now = time.time() if now is None else now
        seen = self._k_customer_seen(customer.customer_id)
        done: Change | None = None

        def write(pipe: Pipeline) -> None:
            nonlocal done
            done = None
            if event_id is not None and pipe.sismember(seen, event_id):
                return
            planned = self._plan(pipe, customer, None)
            pipe.multi()
            if event_id is not None:
                pipe.sadd(seen, event_id)
            self._write_change(pipe, customer, planned, now)
            done = planned[1] if planned else None

        self._r.transaction(write, self._k_customer(customer.customer_id), seen)
        return done

    def append_customer_history(self, customer_id: str, event: str, *, now: float | None = None,
                                **fields: Any) -> None:
        """Append one entry to the customer's audit trail (deliveries of their events)."""
        entry = {"at": iso(time.time() if now is None else now), "event": event, **fields}
        self._r.rpush(self._k_customer_history(customer_id), json.dumps(entry, sort_keys=True, default=str))

    def get_customer(self, customer_id: str) -> dict[str, str] | None:
        raw = self._r.hgetall(self._k_customer(customer_id))
        return _hash(raw) if raw else None

    def customer_history(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's audit trail, oldest first."""
        return [json.loads(x) for x in self._r.lrange(self._k_customer_history(customer_id), 0, -1)]

    def customer_cases(self, customer_id: str) -> list[str]:
        return sorted(_text(m) for m in self._r.smembers(self._k_customer_cases(customer_id)))

    def status_event(self, customer_id: str, sequence: int) -> dict[str, Any] | None:
        """Status event number `sequence` of a customer, as stored (without a delivery id)."""
        raw = self._r.get(self._k_customer_event(customer_id, sequence))
        return json.loads(raw) if raw is not None else None

    def validity_due(self, now: float, limit: int = 500) -> list[str]:
        """Customers whose verification expires by `now`."""
        return [_text(m) for m in self._r.zrangebyscore(self._k_validity, "-inf", now, start=0, num=limit)]

    def _write_once(self, key: str, write: Callable[[Pipeline], None], *watch: str) -> bytes | str | None:
        """Run `write` as one MULTI/EXEC unless `key` already exists; returns the value found, or None
        when this call wrote. `write` may read first and must call `pipe.multi()` before writing;
        redis-py's `transaction` watches `key` and retries when another client changes it."""
        found: bytes | str | None = None

        def attempt(pipe: Pipeline) -> None:
            nonlocal found
            found = pipe.get(key)
            if found is None:
                write(pipe)

        self._r.transaction(attempt, key, *watch)
        return found

    def _new_delivery(self, pipe: Pipeline, case_id: str, attempt: int, kind: DeliveryKind,
                      delivery_id: str, enqueue: Enqueue, now: float) -> None:
        pipe.delete(self._k_delivery(case_id, attempt, kind))
        pipe.hset(self._k_delivery(case_id, attempt, kind),
                  mapping={"delivery_id": delivery_id, "state": DeliveryState.PENDING.value, "tries": 0,
                           "created_at": iso(now)})
        enqueue(pipe)

    def record_failure(self, case_id: str, attempt: int, code: str, detail: str, *,
                       request: dict[str, Any] | None, delivery_id: str | None,
                       enqueue: Enqueue | None, retention_s: float,
                       touch_case: bool = True, now: float | None = None,
                       customer: CustomerUpdate | None = None) -> bool:
        """Record a `failed` result (bad request or media) unless the attempt already has a verdict.

        A failed result is not a verdict: a corrected request for the same attempt may still produce
        one. Returns False (and writes nothing) when a verdict exists. With `touch_case` False (an
        attempt refused by the attempt rules) the case's latest attempt and status stay as they are.
        """
        now = time.time() if now is None else now

        def write(pipe: Pipeline) -> None:
            planned = self._plan(pipe, customer, case_id)
            pipe.multi()
            self._write_change(pipe, customer, planned, now)
            fields: dict[Any, Any] = {"state": AttemptState.FAILED.value, "failed_reason": code, "failed_detail": detail[:1000],
                      "failed_at": iso(now)}
            if request is not None:
                fields["request"] = json.dumps(request, sort_keys=True, default=str)
                fields["media"] = json.dumps(_media_of(request))
                fields["media_state"] = MediaState.PRESENT.value
            pipe.hset(self._k_attempt(case_id, attempt), mapping=fields)
            pipe.hsetnx(self._k_case(case_id), "created_at", iso(now))
            case_fields: dict[Any, Any] = {"case_id": case_id, "updated_at": iso(now)}
            if touch_case:
                case_fields.update(latest_attempt=attempt, status=OutcomeStatus.FAILED.value)
            pipe.hset(self._k_case(case_id), mapping=case_fields)
            self.append_history(case_id, "failed", pipe=pipe, now=now, attempt=attempt,
                                reason=code, detail=detail[:1000])
            if request is not None and retention_s >= 0:
                pipe.zadd(self._k_retention, {_member(case_id, attempt): now + retention_s})
            if delivery_id is not None and enqueue is not None:
                self._new_delivery(pipe, case_id, attempt, DeliveryKind.FAILED, delivery_id, enqueue, now)

        return self._write_once(self._k_verdict(case_id, attempt), write, *self._customer_watch(customer)) is None

    def commit_verdict(self, request: dict[str, Any], verdict: dict[str, Any], *, submitted_at: float,
                       review_deadline_s: float, retention_s: float, delivery_id: str | None,
                       enqueue: Enqueue | None, now: float | None = None,
                       customer: CustomerUpdate | None = None) -> tuple[bool, dict[str, Any]]:
        """Store the attempt's verdict once, atomically with everything that follows from it (the
        customer's change too; a change with `review` queues the attempt for review).

        Returns (True, verdict) when this call stored it, (False, stored verdict) when one existed.
        """
        now = time.time() if now is None else now
        case_id, attempt = str(request["case_id"]), int(request["attempt"])
        vkey = self._k_verdict(case_id, attempt)
        status = str(verdict["status"])

        def write(pipe: Pipeline) -> None:
            latest = _text(pipe.hget(self._k_case(case_id), "latest_attempt"))
            planned = self._plan(pipe, customer, case_id)
            pipe.multi()
            self._write_change(pipe, customer, planned, now)
            pipe.set(vkey, json.dumps(verdict, sort_keys=True))
            pipe.hset(self._k_attempt(case_id, attempt), mapping={
                "state": AttemptState.DONE.value, "status": status, "verdict_at": iso(now),
                "request": json.dumps(request, sort_keys=True, default=str),
                "media": json.dumps(_media_of(request)), "media_state": MediaState.PRESENT.value,
                "submitted_at": iso(submitted_at)})
            pipe.hdel(self._k_attempt(case_id, attempt), "failed_reason", "failed_detail")
            pipe.hsetnx(self._k_case(case_id), "created_at", iso(now))
            case_fields: dict[Any, Any] = {"case_id": case_id, "updated_at": iso(now)}
            if latest is None or int(latest) <= attempt:
                case_fields.update(latest_attempt=attempt, status=status)
            if request.get("callback_url"):
                case_fields["callback_url"] = request["callback_url"]
            pipe.hset(self._k_case(case_id), mapping=case_fields)
            self.append_history(case_id, "verdict", pipe=pipe, now=now, attempt=attempt,
                                status=status, reasons=verdict.get("reasons", []))
            if status == Status.MANUAL_REVIEW.value or (planned is not None and planned[1].review):
                deadline = submitted_at + review_deadline_s
                pipe.zadd(self._k_review_queue, {case_id: deadline})
                pipe.hset(self._k_review_item(case_id), mapping={
                    "case_id": case_id, "attempt": attempt, "state": ReviewState.PENDING.value,
                    "submitted_at": iso(submitted_at), "deadline": iso(deadline),
                    "deadline_ts": deadline, "queued_at": iso(now)})
                self.append_history(case_id, "review_queued", pipe=pipe, now=now, attempt=attempt,
                                    deadline=iso(deadline))
            elif retention_s >= 0:
                pipe.zadd(self._k_retention, {_member(case_id, attempt): now + retention_s})
            if delivery_id is not None and enqueue is not None:
                pipe.hset(self._k_delivery(case_id, attempt, DeliveryKind.VERDICT),
                          mapping={"delivery_id": delivery_id, "state": DeliveryState.PENDING.value,
                                   "tries": 0, "created_at": iso(now)})
                enqueue(pipe)

        stored = self._write_once(vkey, write, *self._customer_watch(customer))
        return (True, verdict) if stored is None else (False, json.loads(stored))

    def record_decision(self, case_id: str, attempt: int, decision: dict[str, Any], *,
                        retention_s: float, delivery_id: str | None,
                        enqueue: Enqueue | None, now: float | None = None,
                        customer: CustomerUpdate | None = None) -> None:
        """Store a reviewer's decision once (AlreadyDecided otherwise) and take the case off the queue,
        with the customer's change (whose plan may refuse it: then nothing is written)."""
        now = time.time() if now is None else now
        dkey = self._k_decision(case_id, attempt)

        def write(pipe: Pipeline) -> None:
            planned = self._plan(pipe, customer, case_id)
            pipe.multi()
            self._write_change(pipe, customer, planned, now)
            pipe.set(dkey, json.dumps(decision, sort_keys=True))
            pipe.zrem(self._k_review_queue, case_id)
            pipe.hset(self._k_review_item(case_id), mapping={"state": ReviewState.DECIDED.value,
                                                             "decided_at": iso(now)})
            pipe.hset(self._k_case(case_id), mapping={"status": decision["status"], "updated_at": iso(now)})
            self.append_history(case_id, "decision", pipe=pipe, now=now, attempt=attempt,
                                status=decision["status"], reviewer=decision["reviewer"],
                                reason=decision["reason"])
            if retention_s >= 0:
                pipe.zadd(self._k_retention, {_member(case_id, attempt): now + retention_s})
            if delivery_id is not None and enqueue is not None:
                pipe.hset(self._k_delivery(case_id, attempt, DeliveryKind.DECISION),
                          mapping={"delivery_id": delivery_id, "state": DeliveryState.PENDING.value,
                                   "tries": 0, "created_at": iso(now)})
                enqueue(pipe)

        if self._write_once(dkey, write, *self._customer_watch(customer)) is not None:
            raise AlreadyDecided(f"case {case_id} attempt {attempt} is already decided")

    # ---- jobs without a usable case attempt ------------------------------------------------------
    def record_rejected(self, job_id: str, result: dict[str, Any], *, case_id: str | None = None,
                        now: float | None = None) -> None:
        """Keep the outcome of a job that names no usable case attempt (readable by job id).

        When the request named a valid case id, the case's audit trail gets a `rejected` entry too.
        """
        now = time.time() if now is None else now
        with self._r.pipeline() as pipe:
            pipe.set(self._k_rejected(job_id), json.dumps(result, sort_keys=True, default=str),
                     ex=REJECTED_TTL_S)
            if case_id is not None:
                self.append_history(case_id, "rejected", pipe=pipe, now=now, job_id=job_id,
                                    reason=result.get("reason"), detail=str(result.get("detail", ""))[:300])
            pipe.execute()

    def quarantine(self, job_id: str, entry: dict[str, Any], now: float | None = None) -> None:
        """Refuse a queue entry for good: its `rejected` outcome, listed in the quarantine by time."""
        now = time.time() if now is None else now
        with self._r.pipeline() as pipe:
            pipe.set(self._k_rejected(job_id), json.dumps({**entry, "at": iso(now)}, sort_keys=True,
                                                          default=str), ex=REJECTED_TTL_S)
            pipe.zadd(self._k_quarantine, {job_id: now})
            pipe.zremrangebyscore(self._k_quarantine, "-inf", now - REJECTED_TTL_S)
            pipe.execute()

    def quarantined(self) -> list[tuple[str, float]]:
        """(job id, unix time) of the queue entries refused in the last 30 days, oldest first."""
        rows: Any = self._r.zrange(self._k_quarantine, 0, -1, withscores=True)
        return [(_text(m), float(s)) for m, s in rows]

    def mark_swept(self, job_id: str, now: float | None = None) -> None:
        """Remember that the failed-job sweep gave this job its outcome."""
        now = time.time() if now is None else now
        with self._r.pipeline() as pipe:
            pipe.zadd(self._k_swept, {job_id: now})
            pipe.zremrangebyscore(self._k_swept, "-inf", now - REJECTED_TTL_S)
            pipe.execute()

    def swept(self, job_ids: Iterable[str]) -> set[str]:
        """Those of `job_ids` that the failed-job sweep already handled."""
        ids = list(job_ids)
        if not ids:
            return set()
        scores = self._r.zmscore(self._k_swept, ids)
        return {job_id for job_id, score in zip(ids, scores, strict=True) if score is not None}

    # ---- deliveries -----------------------------------------------------------------------------
    def update_delivery(self, case_id: str, attempt: int, kind: str, **fields: Any) -> None:
        self._r.hset(self._k_delivery(case_id, attempt, kind),
                     mapping={k: v.value if isinstance(v, DeliveryState) else v for k, v in fields.items()})

    def rearm_delivery(self, case_id: str, attempt: int, kind: str, enqueue: Enqueue) -> None:
        """Set a delivery back to pending with its tries reset, and enqueue its job, in one MULTI."""
        with self._r.pipeline() as pipe:
            enqueue(pipe)  # first: rq starts the transaction on an empty pipeline
            pipe.hset(self._k_delivery(case_id, attempt, kind),
                      mapping={"state": DeliveryState.PENDING.value, "tries": 0})
            pipe.execute()

    # ---- review queue ---------------------------------------------------------------------------
    def review_queue(self, until: float | None = None) -> list[tuple[str, float]]:
        """(case id, deadline) of queued cases, earliest deadline first; only those due by `until`."""
        rows: Any
        if until is None:
            rows = self._r.zrange(self._k_review_queue, 0, -1, withscores=True)
        else:
            rows = self._r.zrangebyscore(self._k_review_queue, "-inf", until, withscores=True)
        return [(_text(m), float(s)) for m, s in rows]

    def review_backlog(self, now: float) -> tuple[int, int, float | None]:
        """(cases waiting, of which past their deadline at `now`, earliest deadline or None)."""
        first = self._r.zrange(self._k_review_queue, 0, 0, withscores=True)
        return (int(self._r.zcard(self._k_review_queue)), int(self._r.zcount(self._k_review_queue, "-inf", now)),
                float(first[0][1]) if first else None)

    def get_review_item(self, case_id: str) -> dict[str, str] | None:
        raw = self._r.hgetall(self._k_review_item(case_id))
        return _hash(raw) if raw else None

    def escalate(self, case_id: str, deadline: float, now: float) -> dict[str, str] | None:
        """Mark a queued case escalated (once, with an audit entry); its item, or None if done before."""
        key = self._k_review_item(case_id)
        if not self._r.hsetnx(key, "escalated_at", iso(now)):
            return None
        item = self.get_review_item(case_id) or {}
        with self._r.pipeline() as pipe:
            pipe.hset(key, "state", ReviewState.ESCALATED.value)
            self.append_history(case_id, "escalated", pipe=pipe, now=now, attempt=int(item.get("attempt", 0)),
                                deadline=iso(deadline), overdue_hours=round((now - deadline) / 3600, 1))
            pipe.execute()
        return item

    def record_pending_approval(self, case_id: str, attempt: int, approval: dict[str, Any],
                                now: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Keep a first approval that a second reviewer must confirm (once per attempt, with an audit
        entry); returns (True, it) when this call stored it, (False, the one stored before)."""
        now = time.time() if now is None else now
        key = self._k_pending(case_id, attempt)

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            pipe.set(key, json.dumps(approval, sort_keys=True))
            self.append_history(case_id, "approval_pending", pipe=pipe, now=now, attempt=attempt,
                                reviewer=approval["reviewer"], reason=approval["reason"])

        stored = self._write_once(key, write)
        return (True, approval) if stored is None else (False, json.loads(stored))

    def get_pending_approval(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self._r.get(self._k_pending(case_id, attempt))
        return json.loads(raw) if raw is not None else None

    def record_reverification(self, case_id: str, attempt: int, verdict: dict[str, Any],
                              now: float | None = None) -> None:
        """Append a strict re-verification to the audit trail (evidence for the reviewer)."""
        now = time.time() if now is None else now
        with self._r.pipeline() as pipe:
            pipe.hset(self._k_review_item(case_id), mapping={"reverify_status": verdict["status"],
                                                             "reverified_at": iso(now)})
            self.append_history(case_id, "reverified", pipe=pipe, now=now, attempt=attempt, settings="strict",
                                status=verdict["status"], reasons=verdict["reasons"], verdict=verdict)
            pipe.execute()

    # ---- retention and media ownership ----------------------------------------------------------
    def retention_due(self, now: float, limit: int = 500) -> list[tuple[str, int]]:
        """Attempts whose media may be deleted by `now`, oldest first."""
        members = self._r.zrangebyscore(self._k_retention, "-inf", now, start=0, num=limit)
        return [split for m in members if (split := _split_member(m)) is not None]

    def retention_time(self, case_id: str, attempt: int) -> float | None:
        """When the attempt's media may be deleted, or None when it is not scheduled."""
        score = self._r.zscore(self._k_retention, _member(case_id, attempt))
        return None if score is None else float(score)

    def drop_retention(self, case_id: str, attempt: int) -> None:
        self._r.zrem(self._k_retention, _member(case_id, attempt))

    def mark_purged(self, case_id: str, attempt: int, *, removed: int, kept: int, now: float) -> None:
        """The attempt no longer holds media: state, audit entry, off the retention schedule."""
        with self._r.pipeline() as pipe:
            pipe.hset(self._k_attempt(case_id, attempt), mapping={"media_state": MediaState.PURGED.value,
                                                                  "media_purged_at": iso(now)})
            self.append_history(case_id, "media_purged", pipe=pipe, now=now, attempt=attempt, files=removed,
                                kept=kept)
            pipe.zrem(self._k_retention, _member(case_id, attempt))
            pipe.execute()

    def media_owner(self, uri: str) -> str | None:
        """The case that owns a media file (by its canonical URI), or None."""
        return _text(self._r.get(self._k_media(uri)[0]))

    def claim_media(self, case_id: str, attempt: int, uris: Iterable[str]) -> list[str]:
        """Claim the files for the case (first to name a file owns it); returns those another case owns.

        All or nothing: when one file belongs to another case, nothing is claimed.
        """
        uris = list(dict.fromkeys(uris))
        keys = [k for uri in uris for k in self._k_media(uri)]
        taken = self._r.eval(_CLAIM, len(keys), *keys, case_id, _member(case_id, attempt))
        return [uris[(int(i) - 1) // 2] for i in taken]

    def release_media(self, case_id: str, attempt: int, uri: str) -> bool:
        """Drop the attempt's need for a file; True when the file may now be deleted."""
        owner, refs = self._k_media(uri)
        return bool(self._r.eval(_RELEASE, 2, owner, refs, case_id, _member(case_id, attempt)))

    # ---- locks ----------------------------------------------------------------------------------
    def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        """A token when the lock was free (then held for ttl_s at most), else None."""
        token = uuid.uuid4().hex
        ok = self._r.set(self._k_lock(name), token, nx=True, px=max(1, int(ttl_s * 1000)))
        return token if ok else None

    def release_lock(self, name: str, token: str) -> None:
        """Release a lock only if this token still holds it."""
        self._r.eval(_UNLOCK, 1, self._k_lock(name), token)


def _media_of(request: dict[str, Any]) -> list[str]:
    return [str(request[name]) for name in ("document_video", "selfie_video") if request.get(name)]
