"""Customer identity: consent at intake, the bank's events, expiry, withdrawal, and reading a customer.

Each verification request names its customer (`customer_id`) and carries the customer's explicit
consent to filming and biometric processing; without them nothing is decoded (`check_request`).
Status changes follow `lifecycle` and are written by `Store` in one transaction with the fact that
caused them, each with a numbered `customer.status_changed` event delivered like a verdict (signed,
retried, one delivery id). Bank events (revocations, a fresh strong authentication) are idempotent
by their event id. See docs/identity-status.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from redis import Redis

from kycengine.errors import InvalidRequest
from kycengine.schema import VerificationRequest

from . import lifecycle, retention, status_events
from .config import WorkerConfig
from .lifecycle import Change, IllegalTransition
from .queues import delivery_enqueuer
from .states import CustomerStatus, DeliveryKind, FailureCode, RevocationReason
from .store import CustomerUpdate, Store, iso


class ConsentRequired(InvalidRequest):
    """No explicit consent to filming and biometric processing: the request is not decoded."""

    code = FailureCode.CONSENT_REQUIRED.value


class CustomerRequired(InvalidRequest):
    """A request without the customer it verifies."""

    code = FailureCode.CUSTOMER_REQUIRED.value


class UnknownCustomer(InvalidRequest):
    """No record of this customer."""

    code = "unknown_customer"


def check_request(request: VerificationRequest, config: WorkerConfig, now: float | None = None) -> str:
    """The request's customer id, once its consent is explicit; raises before anything is decoded."""
    if request.customer_id is None:
        raise CustomerRequired("customer_id: required (the customer whose identity is verified)")
    consent = request.consent
    if consent is None or not consent.explicit:
        raise ConsentRequired("consent: the customer's explicit consent to filming and to biometric processing "
                              "is required (text_version, given_at, channel, filming: true, "
                              "biometric_processing: true); nothing was decoded")
    given = consent.given_at if consent.given_at.tzinfo else consent.given_at.replace(tzinfo=dt.timezone.utc)
    if given.timestamp() > (time.time() if now is None else now) + config.clock_skew_s:
        raise ConsentRequired(f"consent.given_at {given.isoformat()}: in the future")
    return request.customer_id


def update(config: WorkerConfig, connection: Redis, customer_id: str,
           plan: Callable[[dict[str, str], dict[str, str]], Change]) -> CustomerUpdate:
    """A customer update for `Store`: the plan, the event body, and the signed delivery of the event."""
    def enqueue(sequence: int, delivery_id: str) -> Any:
        return delivery_enqueuer(config, connection, customer_id, sequence, DeliveryKind.STATUS, delivery_id)

    return CustomerUpdate(customer_id, plan, partial(status_events.build, config=config), enqueue)


def _store(config: WorkerConfig, connection: Redis) -> Store:
    return Store(connection, config.key_prefix)


def _result(change: Change | None, store: Store, customer_id: str) -> dict[str, Any]:
    record = store.get_customer(customer_id) or {}
    return {"customer_id": customer_id, "status": record.get("status"), "sequence": int(record.get("sequence") or 0),
            "changed": bool(change and change.changed), "duplicate": change is None}


def revoke(config: WorkerConfig, connection: Redis, customer_id: str, reason: str, *, event_id: str,
           note: str = "", actor: str = "bank", now: float | None = None) -> dict[str, Any]:
    """Apply a bank's revocation event (idempotent by `event_id`); IllegalTransition unless verified."""
    now = time.time() if now is None else now
    if reason not in {r.value for r in RevocationReason}:
        raise InvalidRequest(f"revocation reason {reason!r}: one of {', '.join(r.value for r in RevocationReason)}")
    if reason == RevocationReason.OTHER and not note.strip():
        raise InvalidRequest("revocation reason 'other': say why in a note")
    if not event_id.strip():
        raise InvalidRequest("event_id: required (the bank's id of the event, for idempotency)")
    store = _store(config, connection)
    if store.get_customer(customer_id) is None:
        raise IllegalTransition(f"customer {customer_id} is unverified: only a verified customer can be revoked")
    plan = partial(_only_record, partial(lifecycle.revocation, customer_id, reason=reason, event_id=event_id,
                                         note=note, actor=actor, config=config, now=now))
    change = store.move_customer(update(config, connection, customer_id, plan), event_id=event_id, now=now)
    return _result(change, store, customer_id)


def confirm_strong_authentication(config: WorkerConfig, connection: Redis, customer_id: str, *, event_id: str,
                                  actor: str = "bank", now: float | None = None) -> dict[str, Any]:
    """The bank's fresh strong authentication of a customer revoked for a reason that allows it."""
    now = time.time() if now is None else now
    store = _store(config, connection)
    plan = partial(_only_record, partial(lifecycle.strong_authentication, customer_id, event_id=event_id,
                                         actor=actor, config=config, now=now))
    change = store.move_customer(update(config, connection, customer_id, plan), event_id=event_id, now=now)
    return _result(change, store, customer_id)


def expire_due(config: WorkerConfig, connection: Redis, now: float | None = None) -> list[str]:
    """Move every verified customer past their validity to `expired`; returns those moved."""
    now = time.time() if now is None else now
    store = _store(config, connection)
    moved = []
    for customer_id in store.validity_due(now):
        plan = partial(_only_record, partial(lifecycle.expiry, customer_id, now=now))
        change = store.move_customer(update(config, connection, customer_id, plan), now=now)
        if change is not None and change.changed:
            moved.append(customer_id)
    return moved


def withdraw_consent(config: WorkerConfig, connection: Redis, customer_id: str, *, channel: str,
                     at: str | None = None, now: float | None = None) -> dict[str, Any]:
    """Record a consent withdrawal and delete the customer's media at once (every attempt of every case).

    The purge deletes the attempts' evidence images for reviewers too (`retention.purge_attempt`); the
    engine keeps no embeddings or face crops (transient fields, never stored), so those are the
    customer's last biometric data. Verdicts and audit trails stay (they hold no biometric data).
    """
    now = time.time() if now is None else now
    store = _store(config, connection)
    if store.get_customer(customer_id) is None:
        raise UnknownCustomer(f"unknown customer {customer_id!r}")
    plan = partial(_only_record, partial(lifecycle.withdrawal, customer_id, channel=channel, at=at or iso(now),
                                         now=now))
    change = store.move_customer(update(config, connection, customer_id, plan), now=now)
    removed = 0
    for case_id in store.customer_cases(customer_id):
        for attempt in store.attempts(case_id):
            removed += retention.purge_attempt(config, connection, case_id, attempt, now)
    return {**_result(change, store, customer_id), "duplicate": False, "files_deleted": removed}


def show(config: WorkerConfig, connection: Redis, customer_id: str) -> dict[str, Any]:
    """The customer's record, next action, and their cases' attempts (outcome, media state)."""
    store = _store(config, connection)
    record = store.get_customer(customer_id)
    if record is None:
        raise UnknownCustomer(f"unknown customer {customer_id!r}")
    status = CustomerStatus(record["status"])
    return {"customer": record,
            "next_action": status_events.next_action(status, record.get("restore") or None, config),
            "attempts": attempts_of(store, customer_id)}


def attempts_of(store: Store, customer_id: str) -> list[dict[str, Any]]:
    """Every attempt of the customer's cases: case, attempt, outcome, media state."""
    return [{"case_id": case_id, "attempt": n, "outcome": store.outcome(case_id, n),
             "media_state": (store.get_attempt(case_id, n) or {}).get("media_state")}
            for case_id in store.customer_cases(customer_id) for n in store.attempts(case_id)]


def history(config: WorkerConfig, connection: Redis, customer_id: str) -> list[dict[str, Any]]:
    """The customer's audit trail, oldest first."""
    return _store(config, connection).customer_history(customer_id)


def events(config: WorkerConfig, connection: Redis, customer_id: str) -> list[dict[str, Any]]:
    """The customer's status events in sequence order, each with its delivery's state."""
    store = _store(config, connection)
    last = int((store.get_customer(customer_id) or {}).get("sequence") or 0)
    out = []
    for sequence in range(1, last + 1):
        body = store.status_event(customer_id, sequence) or {"sequence": sequence}
        record = store.get_delivery(customer_id, sequence, DeliveryKind.STATUS)
        out.append({**body, "delivery": record})
    return out


def _only_record(plan: Callable[[dict[str, str]], Change], record: dict[str, str], case: dict[str, str]) -> Change:
    return plan(record)
