"""The case store in Redis: verdicts, attempts, history, deliveries, review items, retention.

Every key starts with the configured prefix (`kyc:` by default); case ids cannot contain ':' (see
`kycengine.schema`), so keys split unambiguously.

| key                                   | type   | what                                                  |
|---------------------------------------|--------|-------------------------------------------------------|
| {p}case:{case}                        | hash   | latest attempt, effective status, callback, times     |
| {p}attempt:{case}:{n}                 | hash   | request JSON, state, job id, media state, failure     |
| {p}verdict:{case}:{n}                 | string | the verdict JSON: written once, never changed         |
| {p}decision:{case}:{n}                | string | the reviewer's decision JSON: written once            |
| {p}history:{case}                     | list   | append-only audit trail (RPUSH only, never rewritten) |
| {p}delivery:{case}:{n}:{event}        | hash   | delivery id, state, tries, last error                 |
| {p}review:queue                       | zset   | case -> review deadline (unix seconds)                |
| {p}review:item:{case}                 | hash   | attempt, submitted/deadline, state, escalation        |
| {p}retention                          | zset   | "{case}:{n}" -> when its media may be deleted         |
| {p}rejected:{job id}                  | string | failed result of a request without a usable case id   |
| {p}lock:{name}                        | string | short-lived locks (delivery in progress, maintenance) |

Idempotency: `commit_verdict` writes the verdict under WATCH/MULTI, together with everything that
follows from it (attempt state, history entry, review item or retention date, delivery record and the
delivery job itself). If the key already holds a verdict the transaction is abandoned and the stored
verdict is returned: a case attempt gets exactly one verdict and one delivery, however many times the
job runs.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.client import Pipeline

from kycengine.reasons import Status

FINAL_STATUSES = frozenset({Status.APPROVED.value, Status.REFUSED.value, Status.RETRY_REQUIRED.value})
RETRYABLE_STATUSES = frozenset({Status.REFUSED.value, Status.RETRY_REQUIRED.value})
FAILED = "failed"


class AlreadyDecided(Exception):
    """A review decision exists for this case attempt; decisions are never overwritten."""


def iso(ts: float) -> str:
    """Unix seconds as an ISO 8601 UTC string (seconds precision)."""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).replace(microsecond=0).isoformat()


def new_delivery_id() -> str:
    """A fresh delivery id (stable for all the tries of one delivery)."""
    return f"dlv_{uuid.uuid4().hex}"


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _hash(raw: dict[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


class Store:
    """Typed access to the `kyc:` keys of one Redis database."""

    def __init__(self, connection: Redis, prefix: str = "kyc:") -> None:
        self.r = connection
        self.p = prefix

    # ---- keys -----------------------------------------------------------------------------------
    def k_case(self, case_id: str) -> str:
        return f"{self.p}case:{case_id}"

    def k_attempt(self, case_id: str, attempt: int) -> str:
        return f"{self.p}attempt:{case_id}:{attempt}"

    def k_verdict(self, case_id: str, attempt: int) -> str:
        return f"{self.p}verdict:{case_id}:{attempt}"

    def k_decision(self, case_id: str, attempt: int) -> str:
        return f"{self.p}decision:{case_id}:{attempt}"

    def k_history(self, case_id: str) -> str:
        return f"{self.p}history:{case_id}"

    def k_delivery(self, case_id: str, attempt: int, event: str) -> str:
        return f"{self.p}delivery:{case_id}:{attempt}:{event}"

    @property
    def k_review_queue(self) -> str:
        return f"{self.p}review:queue"

    def k_review_item(self, case_id: str) -> str:
        return f"{self.p}review:item:{case_id}"

    @property
    def k_retention(self) -> str:
        return f"{self.p}retention"

    def k_rejected(self, job_id: str) -> str:
        return f"{self.p}rejected:{job_id}"

    def k_lock(self, name: str) -> str:
        return f"{self.p}lock:{name}"

    # ---- history (append-only) ------------------------------------------------------------------
    def append_history(self, case_id: str, event: str, *, pipe: Pipeline | None = None,
                       now: float | None = None, **fields: Any) -> None:
        """Append one event to the case's audit trail (RPUSH: entries are never rewritten)."""
        entry = {"at": iso(time.time() if now is None else now), "event": event, **fields}
        (pipe if pipe is not None else self.r).rpush(self.k_history(case_id),
                                                     json.dumps(entry, sort_keys=True))

    def history(self, case_id: str) -> list[dict[str, Any]]:
        """The case's audit trail, oldest first."""
        return [json.loads(x) for x in self.r.lrange(self.k_history(case_id), 0, -1)]

    # ---- reads ----------------------------------------------------------------------------------
    def get_case(self, case_id: str) -> dict[str, str] | None:
        raw = self.r.hgetall(self.k_case(case_id))
        return _hash(raw) if raw else None

    def get_attempt(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self.r.hgetall(self.k_attempt(case_id, attempt))
        if not raw:
            return None
        data: dict[str, Any] = _hash(raw)
        for name in ("request", "media"):
            if name in data:
                data[name] = json.loads(data[name])
        return data

    def get_verdict(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self.r.get(self.k_verdict(case_id, attempt))
        return json.loads(raw) if raw is not None else None

    def get_decision(self, case_id: str, attempt: int) -> dict[str, Any] | None:
        raw = self.r.get(self.k_decision(case_id, attempt))
        return json.loads(raw) if raw is not None else None

    def get_delivery(self, case_id: str, attempt: int, event: str) -> dict[str, str] | None:
        raw = self.r.hgetall(self.k_delivery(case_id, attempt, event))
        return _hash(raw) if raw else None

    def get_rejected(self, job_id: str) -> dict[str, Any] | None:
        raw = self.r.get(self.k_rejected(job_id))
        return json.loads(raw) if raw is not None else None

    def attempts(self, case_id: str) -> list[int]:
        """Attempt numbers known for a case, ascending."""
        found = set()
        for key in self.r.scan_iter(match=f"{self.p}attempt:{case_id}:*", count=200):
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
        data = self.r.hget(self.k_attempt(case_id, attempt), "state")
        return FAILED if _text(data) == FAILED else None

    def attempt_problem(self, case_id: str, attempt: int, max_attempts: int) -> tuple[str, str] | None:
        """Why this attempt may not run (code, message), or None when it may.

        Attempt 1 always may; attempt n > 1 only after attempt n-1 ended `retry_required` or `refused`
        (its verdict, or the reviewer's decision), and never beyond `max_attempts`.
        """
        if attempt > max_attempts:
            return ("too_many_attempts", f"attempt {attempt}: at most {max_attempts} attempts per case")
        if attempt == 1:
            return None
        previous = self.outcome(case_id, attempt - 1)
        if previous in RETRYABLE_STATUSES:
            return None
        state = "no verdict yet" if previous in (None, FAILED) else f"ended {previous}"
        return ("attempt_not_allowed",
                f"attempt {attempt}: attempt {attempt - 1} {state}; a new attempt may follow only "
                "retry_required or refused")

    # ---- writes ---------------------------------------------------------------------------------
    def record_submission(self, request: dict[str, Any], job_id: str, now: float | None = None) -> None:
        """Note an enqueued attempt (no effect on an attempt that already has a verdict)."""
        now = time.time() if now is None else now
        case_id, attempt = request["case_id"], int(request["attempt"])
        key = self.k_attempt(case_id, attempt)
        with self.r.pipeline() as pipe:
            pipe.hsetnx(self.k_case(case_id), "created_at", iso(now))
            pipe.hset(self.k_case(case_id), mapping={"case_id": case_id, "updated_at": iso(now)})
            pipe.hsetnx(key, "state", "queued")
            pipe.hset(key, mapping={"job_id": job_id, "submitted_at": request.get("submitted_at") or iso(now)})
            self.append_history(case_id, "submitted", pipe=pipe, now=now, attempt=attempt, job_id=job_id)
            pipe.execute()

    def _write_once(self, key: str, write: Callable[[Pipeline], None]) -> bytes | None:
        """Run `write` as one MULTI/EXEC unless `key` already exists; returns the value found, or None
        when this call wrote. `write` may read first and must call `pipe.multi()` before writing;
        redis-py's `transaction` watches `key` and retries when another client changes it."""
        found: bytes | None = None

        def attempt(pipe: Pipeline) -> None:
            nonlocal found
            found = pipe.get(key)
            if found is None:
                write(pipe)

        self.r.transaction(attempt, key)
        return found

    def record_failure(self, case_id: str, attempt: int, code: str, detail: str, *,
                       request: dict[str, Any] | None, delivery_id: str | None,
                       enqueue: Callable[[Pipeline], None] | None, retention_s: float,
                       touch_case: bool = True, now: float | None = None) -> bool:
        """Record a `failed` result (bad request or media) unless the attempt already has a verdict.

        A failed result is not a verdict: a corrected request for the same attempt may still produce
        one. Returns False (and writes nothing) when a verdict exists. With `touch_case` False (an
        attempt refused by the attempt rules) the case's latest attempt and status stay as they are.
        """
        now = time.time() if now is None else now

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            fields = {"state": FAILED, "failed_reason": code, "failed_detail": detail[:1000],
                      "failed_at": iso(now)}
            if request is not None:
                fields["request"] = json.dumps(request, sort_keys=True, default=str)
                fields["media"] = json.dumps(_media_of(request))
                fields["media_state"] = "present"
            pipe.hset(self.k_attempt(case_id, attempt), mapping=fields)
            pipe.hsetnx(self.k_case(case_id), "created_at", iso(now))
            case_fields: dict[str, Any] = {"case_id": case_id, "updated_at": iso(now)}
            if touch_case:
                case_fields.update(latest_attempt=attempt, status=FAILED)
            pipe.hset(self.k_case(case_id), mapping=case_fields)
            self.append_history(case_id, "failed", pipe=pipe, now=now, attempt=attempt,
                                reason=code, detail=detail[:1000])
            if request is not None and retention_s >= 0:
                pipe.zadd(self.k_retention, {f"{case_id}:{attempt}": now + retention_s})
            if delivery_id is not None and enqueue is not None:
                pipe.delete(self.k_delivery(case_id, attempt, FAILED))
                pipe.hset(self.k_delivery(case_id, attempt, FAILED),
                          mapping={"delivery_id": delivery_id, "state": "pending", "tries": 0,
                                   "created_at": iso(now)})
                enqueue(pipe)

        return self._write_once(self.k_verdict(case_id, attempt), write) is None

    def commit_verdict(self, request: dict[str, Any], verdict: dict[str, Any], *, submitted_at: float,
                       review_deadline_s: float, retention_s: float, delivery_id: str | None,
                       enqueue: Callable[[Pipeline], None] | None,
                       now: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Store the attempt's verdict once, atomically with everything that follows from it.

        Returns (True, verdict) when this call stored it, (False, stored verdict) when one existed.
        """
        now = time.time() if now is None else now
        case_id, attempt = str(request["case_id"]), int(request["attempt"])
        vkey = self.k_verdict(case_id, attempt)
        status = str(verdict["status"])

        def write(pipe: Pipeline) -> None:
            latest = _text(pipe.hget(self.k_case(case_id), "latest_attempt"))
            pipe.multi()
            pipe.set(vkey, json.dumps(verdict, sort_keys=True))
            pipe.hset(self.k_attempt(case_id, attempt), mapping={
                "state": "done", "status": status, "verdict_at": iso(now),
                "request": json.dumps(request, sort_keys=True, default=str),
                "media": json.dumps(_media_of(request)), "media_state": "present",
                "submitted_at": iso(submitted_at)})
            pipe.hdel(self.k_attempt(case_id, attempt), "failed_reason", "failed_detail")
            pipe.hsetnx(self.k_case(case_id), "created_at", iso(now))
            case_fields: dict[str, Any] = {"case_id": case_id, "updated_at": iso(now)}
            if latest is None or int(latest) <= attempt:
                case_fields.update(latest_attempt=attempt, status=status)
            if request.get("callback_url"):
                case_fields["callback_url"] = request["callback_url"]
            pipe.hset(self.k_case(case_id), mapping=case_fields)
            self.append_history(case_id, "verdict", pipe=pipe, now=now, attempt=attempt,
                                status=status, reasons=verdict.get("reasons", []))
            if status == Status.MANUAL_REVIEW.value:
                deadline = submitted_at + review_deadline_s
                pipe.zadd(self.k_review_queue, {case_id: deadline})
                pipe.hset(self.k_review_item(case_id), mapping={
                    "case_id": case_id, "attempt": attempt, "state": "pending",
                    "submitted_at": iso(submitted_at), "deadline": iso(deadline),
                    "deadline_ts": deadline, "queued_at": iso(now)})
                self.append_history(case_id, "review_queued", pipe=pipe, now=now, attempt=attempt,
                                    deadline=iso(deadline))
            elif retention_s >= 0:
                pipe.zadd(self.k_retention, {f"{case_id}:{attempt}": now + retention_s})
            if delivery_id is not None and enqueue is not None:
                pipe.hset(self.k_delivery(case_id, attempt, "verdict"),
                          mapping={"delivery_id": delivery_id, "state": "pending", "tries": 0,
                                   "created_at": iso(now)})
                enqueue(pipe)

        stored = self._write_once(vkey, write)
        return (True, verdict) if stored is None else (False, json.loads(stored))

    def record_decision(self, case_id: str, attempt: int, decision: dict[str, Any], *,
                        retention_s: float, delivery_id: str | None,
                        enqueue: Callable[[Pipeline], None] | None, now: float | None = None) -> None:
        """Store a reviewer's decision once (AlreadyDecided otherwise) and take the case off the queue."""
        now = time.time() if now is None else now
        dkey = self.k_decision(case_id, attempt)

        def write(pipe: Pipeline) -> None:
            pipe.multi()
            pipe.set(dkey, json.dumps(decision, sort_keys=True))
            pipe.zrem(self.k_review_queue, case_id)
            pipe.hset(self.k_review_item(case_id), mapping={"state": "decided", "decided_at": iso(now)})
            pipe.hset(self.k_case(case_id), mapping={"status": decision["status"], "updated_at": iso(now)})
            self.append_history(case_id, "decision", pipe=pipe, now=now, attempt=attempt,
                                status=decision["status"], reviewer=decision["reviewer"],
                                reason=decision["reason"])
            if retention_s >= 0:
                pipe.zadd(self.k_retention, {f"{case_id}:{attempt}": now + retention_s})
            if delivery_id is not None and enqueue is not None:
                pipe.hset(self.k_delivery(case_id, attempt, "decision"),
                          mapping={"delivery_id": delivery_id, "state": "pending", "tries": 0,
                                   "created_at": iso(now)})
                enqueue(pipe)

        if self._write_once(dkey, write) is not None:
            raise AlreadyDecided(f"case {case_id} attempt {attempt} is already decided")

    def record_rejected(self, job_id: str, result: dict[str, Any], ttl_s: int = 30 * 86400) -> None:
        """Keep the failed result of a request that names no usable case."""
        self.r.set(self.k_rejected(job_id), json.dumps(result, sort_keys=True), ex=ttl_s)

    def update_delivery(self, case_id: str, attempt: int, event: str, **fields: Any) -> None:
        self.r.hset(self.k_delivery(case_id, attempt, event), mapping=fields)

    def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        """A token when the lock was free (then held for ttl_s at most), else None."""
        token = uuid.uuid4().hex
        ok = self.r.set(self.k_lock(name), token, nx=True, px=max(1, int(ttl_s * 1000)))
        return token if ok else None

    def release_lock(self, name: str, token: str) -> None:
        """Release a lock only if this token still holds it."""
        script = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
                  "else return 0 end")
        self.r.eval(script, 1, self.k_lock(name), token)


def _media_of(request: dict[str, Any]) -> list[str]:
    return [str(request[name]) for name in ("document_video", "selfie_video") if request.get(name)]
