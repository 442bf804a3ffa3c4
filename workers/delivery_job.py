"""The delivery job: `deliver_job(case_id, attempt, kind)` POSTs one stored outcome, signed.

The payload is built from the store at delivery time (`build_payload`, the one place that shapes a
webhook body); the POST goes to a checked address of the callback (`egress`); a delivery is marked
`delivered` after a 2xx and never POSTed again, and retried through rq's `Retry` otherwise, until
`KYC_DELIVERY_MAX_TRIES`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis import Redis
from rq import Retry

from kycengine.reasons import Effect, Status, explain

from . import delivery, status_events
from .config import WorkerConfig
from .context import context, current_connection
from .egress import CallbackPolicy
from .queues import delivery_enqueuer
from .states import DeliveryKind, DeliveryState, OutcomeStatus
from .store import Store, iso

log = logging.getLogger(__name__)

EVENTS = {DeliveryKind.VERDICT: "verification.completed", DeliveryKind.FAILED: "verification.failed",
          DeliveryKind.DECISION: "review.decided", DeliveryKind.STATUS: status_events.EVENT}


def build_payload(store: Store, case_id: str, attempt: int, kind: DeliveryKind,
                  delivery_id: str) -> tuple[str, dict[str, Any]] | None:
    """(callback URL, JSON body) of a delivery, or None when there is nothing to send. For a status
    event `case_id` is the customer id and `attempt` the event's sequence number."""
    if kind == DeliveryKind.STATUS:
        event = store.status_event(case_id, attempt)
        url = (store.get_delivery(case_id, attempt, kind) or {}).get("callback_url")
        return (url, {**event, "delivery_id": delivery_id}) if event is not None and url else None
    record = store.get_attempt(case_id, attempt) or {}
    request = record.get("request") or {}
    url = request.get("callback_url")
    if not url:
        return None
    body: dict[str, Any] = {"event": EVENTS[kind], "delivery_id": delivery_id, "case_id": case_id,
                            "attempt": attempt}
    if kind == DeliveryKind.VERDICT:
        verdict = store.get_verdict(case_id, attempt)
        if verdict is None:
            return None
        effects = verdict.get("effects") or {}
        body.update(status=verdict["status"], verdict=verdict,
                    reasons=[explain(code, effects.get(code)) for code in verdict.get("reasons", [])])
        if verdict["status"] == Status.MANUAL_REVIEW.value:
            body["review_deadline"] = (store.get_review_item(case_id) or {}).get("deadline")
    elif kind == DeliveryKind.DECISION:
        decision = store.get_decision(case_id, attempt)
        if decision is None:
            return None
        effect = {Status.REFUSED.value: Effect.REFUSE, Status.RETRY_REQUIRED.value: Effect.RETRY}.get(decision["status"])
        body.update(status=decision["status"], decision=decision,
                    reasons=[explain(code, effect.value) for code in decision.get("reason_codes", [])
                             if effect is not None])
    else:
        body.update(status=OutcomeStatus.FAILED.value, reason=record.get("failed_reason"),
                    detail=record.get("failed_detail"))
    return url, body


def _final(record: dict[str, str]) -> dict[str, Any] | None:
    state = record.get("state")
    if state in (DeliveryState.DELIVERED, DeliveryState.GAVE_UP):
        return {"state": state, "delivery_id": record.get("delivery_id"), "duplicate": True}
    return None


def deliver_job(case_id: str, attempt: int, event: str = DeliveryKind.VERDICT.value) -> Any:
    """POST one stored outcome to its callback; returns rq `Retry` (with backoff) until acknowledged."""
    config = context().config
    connection, _ = current_connection()
    store = Store(connection, config.key_prefix)
    if event not in {k.value for k in DeliveryKind}:
        return {"state": DeliveryState.UNKNOWN_EVENT.value, "event": event}
    kind = DeliveryKind(event)
    record = store.get_delivery(case_id, attempt, kind)
    if record is None:
        return {"state": DeliveryState.NOTHING_TO_DELIVER.value}
    if (done := _final(record)) is not None:
        return done
    lock_name = f"delivery:{case_id}:{attempt}:{kind.value}"
    token = store.acquire_lock(lock_name, config.delivery_timeout_s + 30)
    if token is None:  # the same delivery is being POSTed by another worker right now
        return {"state": DeliveryState.IN_PROGRESS.value, "delivery_id": record.get("delivery_id")}
    try:
        record = store.get_delivery(case_id, attempt, kind) or record
        if (done := _final(record)) is not None:
            return done
        delivery_id = record["delivery_id"]
        built = build_payload(store, case_id, attempt, kind, delivery_id)
        if built is None:
            store.update_delivery(case_id, attempt, kind, state=DeliveryState.NOTHING_TO_DELIVER)
            return {"state": DeliveryState.NOTHING_TO_DELIVER.value}
        url, body = built
        tries = int(record.get("tries") or 0) + 1
        result = delivery.post(url, delivery.encode_body(body), secret=config.secret_bytes(),
                               delivery_id=delivery_id, timeout_s=config.delivery_timeout_s,
                               policy=CallbackPolicy.from_config(config), event=body["event"])
        now = time.time()
        if result.acknowledged:
            store.update_delivery(case_id, attempt, kind, state=DeliveryState.DELIVERED, tries=tries,
                                  delivered_at=iso(now), http_status=result.status or 0, last_error="")
            _trail(store, kind, case_id, "delivered", now=now, attempt=attempt, kind=kind.value,
                   delivery_id=delivery_id, tries=tries, http_status=result.status)
            return {"state": DeliveryState.DELIVERED.value, "delivery_id": delivery_id, "tries": tries}
        store.update_delivery(case_id, attempt, kind, state=DeliveryState.RETRYING, tries=tries,
                              last_error=result.error, last_try_at=iso(now))
        if tries >= config.delivery_max_tries:
            give_up(store, case_id, attempt, kind, last_error=result.error, now=now)
            return {"state": DeliveryState.GAVE_UP.value, "delivery_id": delivery_id, "tries": tries}
        log.info("delivery %s for case %s not acknowledged (%s); retrying", delivery_id, case_id, result.error)
    finally:
        store.release_lock(lock_name, token)
    # RQ's own return-based retry: re-scheduled by the scheduler after the next backoff interval.
    return Retry(max=config.delivery_max_tries, interval=list(config.delivery_backoff_s))


def _trail(store: Store, delivery_kind: DeliveryKind, owner: str, event: str, **fields: Any) -> None:
    """Append a delivery's audit entry: to the customer's trail for a status event, else the case's."""
    if delivery_kind == DeliveryKind.STATUS:
        store.append_customer_history(owner, event, **fields)
    else:
        store.append_history(owner, event, **fields)


def give_up(store: Store, case_id: str, attempt: int, kind: DeliveryKind, *, last_error: str,
            now: float | None = None) -> None:
    """Mark a delivery given up, with a `delivery_gave_up` audit entry (`redeliver` re-arms it)."""
    now = time.time() if now is None else now
    record = store.get_delivery(case_id, attempt, kind) or {}
    store.update_delivery(case_id, attempt, kind, state=DeliveryState.GAVE_UP)
    _trail(store, kind, case_id, "delivery_gave_up", now=now, attempt=attempt, kind=kind.value,
           delivery_id=record.get("delivery_id"), tries=int(record.get("tries") or 0), last_error=last_error)
    log.error("delivery %s for case %s gave up: %s", record.get("delivery_id"), case_id, last_error)


def redeliver(config: WorkerConfig, connection: Redis, case_id: str, attempt: int,
              event: str = DeliveryKind.VERDICT.value) -> bool:
    """Re-arm a delivery that gave up (same delivery id, tries reset); False when there is none."""
    store = Store(connection, config.key_prefix)
    kind = DeliveryKind(event)
    record = store.get_delivery(case_id, attempt, kind)
    if record is None or record.get("state") == DeliveryState.DELIVERED:
        return False
    store.rearm_delivery(case_id, attempt, kind, delivery_enqueuer(
        config, connection, case_id, attempt, kind, record["delivery_id"] + f"-re{int(time.time())}"))
    return True
