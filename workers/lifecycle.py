"""The customer identity status machine: which change each fact causes, as data (`TRANSITIONS`).

Pure functions of the customer's stored record (`{p}customer:{id}`, a hash of strings), the fact
(a submission, a verdict, a failure, a decision, a revocation, an expiry, a consent withdrawal) and
the rules in `WorkerConfig`. They return a `Change` for `Store` to write atomically with the fact,
or raise `IllegalTransition` / `CustomerNotAllowed`; they never touch Redis. The diagram is in
docs/identity-status.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from kycengine.errors import InvalidRequest
from kycengine.reasons import Status

from .config import WorkerConfig
from .states import Cause, CustomerStatus, Restore

S = CustomerStatus

# Every allowed (from, to, cause); anything else is refused. Tests walk each one.
TRANSITIONS: frozenset[tuple[CustomerStatus, CustomerStatus, Cause]] = frozenset({
    *((s, S.PENDING, Cause.SUBMISSION) for s in (S.UNVERIFIED, S.ACTION_REQUIRED, S.EXPIRED, S.REVOKED,
                                                  S.VERIFIED)),
    (S.PENDING, S.VERIFIED, Cause.VERDICT), (S.PENDING, S.ACTION_REQUIRED, Cause.VERDICT),
    (S.PENDING, S.IN_REVIEW, Cause.VERDICT), (S.PENDING, S.ACTION_REQUIRED, Cause.FAILURE),
    (S.IN_REVIEW, S.VERIFIED, Cause.DECISION), (S.IN_REVIEW, S.REFUSED, Cause.DECISION),
    (S.IN_REVIEW, S.ACTION_REQUIRED, Cause.DECISION),
    (S.VERIFIED, S.REVOKED, Cause.REVOCATION), (S.REVOKED, S.VERIFIED, Cause.STRONG_AUTHENTICATION),
    (S.VERIFIED, S.EXPIRED, Cause.EXPIRY),
    *((s, S.UNVERIFIED, Cause.CONSENT_WITHDRAWN) for s in (S.PENDING, S.VERIFIED, S.ACTION_REQUIRED,
                                                           S.IN_REVIEW, S.REVOKED, S.EXPIRED)),
})


class IllegalTransition(InvalidRequest):
    """A fact that the customer's current status does not allow (e.g. revoking an unverified customer)."""

    code = "illegal_transition"


class CustomerNotAllowed(InvalidRequest):
    """The customer's status takes no new attempt now (in review, refused, cooling down, verified)."""

    code = "customer_not_allowed"


@dataclass(frozen=True)
class Change:
    """What one fact does to a customer: the new status (may equal the old one: then no event), the
    record's fields to set, the audit entry's details, and whether the case attempt goes to review."""

    customer_id: str
    previous: CustomerStatus
    status: CustomerStatus
    cause: Cause
    fields: dict[str, str | int | float] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    review: bool = False

    @property
    def changed(self) -> bool:
        return self.status != self.previous


def status_of(record: dict[str, str]) -> CustomerStatus:
    """The stored status, `unverified` for a customer never seen."""
    return CustomerStatus(record.get("status") or S.UNVERIFIED.value)


def _move(customer_id: str, record: dict[str, str], to: CustomerStatus, cause: Cause, **kw: Any) -> Change:
    previous = status_of(record)
    if previous != to and (previous, to, cause) not in TRANSITIONS:
        raise IllegalTransition(f"customer {customer_id} is {previous.value}: {cause.value} cannot make it "
                                f"{to.value}")
    return Change(customer_id, previous, to, cause, **kw)


def _unchanged(customer_id: str, record: dict[str, str], cause: Cause, note: str, **audit: Any) -> Change:
    status = status_of(record)
    return Change(customer_id, status, status, cause, audit={"note": note, **audit})


def _add_months(ts: float, months: int) -> float:
    day = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])).timestamp()


def valid_until(verdict: dict[str, Any], config: WorkerConfig, now: float) -> float | None:
    """When a verification made now stops being valid: after `validity_months`, or when the verified
    document expires (`expire_with_document`), whichever comes first; None when never."""
    limits = [_add_months(now, config.validity_months)] if config.validity_months else []
    expiry = ((verdict.get("document") or {}).get("fields") or {}).get("expiry_date")
    if config.expire_with_document and expiry:
        try:
            limits.append(dt.datetime.fromisoformat(str(expiry)).replace(tzinfo=dt.timezone.utc).timestamp())
        except ValueError:
            pass  # an unreadable date never extends validity; the months still apply
    return min(limits) if limits else None


def _on_attempt(record: dict[str, str], case_id: str, attempt: int) -> bool:
    return (status_of(record) in (S.PENDING, S.IN_REVIEW) and record.get("case_id") == case_id
            and record.get("attempt") == str(attempt))


def submission(customer_id: str, record: dict[str, str], *, case_id: str, attempt: int, case_owner: str | None,
               consent: dict[str, Any], callback_url: str | None, config: WorkerConfig, now: float) -> Change:
    """A worker takes a new attempt; CustomerNotAllowed when the customer's status refuses it."""
    status = status_of(record)
    if case_owner not in (None, customer_id):
        raise CustomerNotAllowed(f"case {case_id} belongs to another customer")
    if status == S.REFUSED:
        raise CustomerNotAllowed(f"customer {customer_id} was refused by a reviewer: no new attempt")
    if status == S.IN_REVIEW:
        raise CustomerNotAllowed(f"customer {customer_id} is in review (deadline {record.get('review_deadline')}): "
                                 "a person decides first")
    if status == S.VERIFIED and not config.reverify_after_verified:
        raise CustomerNotAllowed(f"customer {customer_id} is verified (KYC_REVERIFY_AFTER_VERIFIED=0)")
    ready_at = float(record.get("last_outcome_ts") or 0) + config.attempt_cooldown_s
    if status != S.PENDING and now < ready_at:
        raise CustomerNotAllowed(f"customer {customer_id}: next attempt allowed from "
                                 f"{dt.datetime.fromtimestamp(ready_at, dt.timezone.utc).isoformat()} (cool-down)")
    fields: dict[str, str | int | float] = {"case_id": case_id, "attempt": attempt, "consent": _json(consent),
                                            "consent_withdrawn_at": ""}
    if callback_url:
        fields["callback_url"] = callback_url
    audit = {"case_id": case_id, "attempt": attempt, "consent_channel": consent.get("channel"),
             "consent_text_version": consent.get("text_version")}
    if status == S.PENDING:
        return Change(customer_id, status, status, Cause.SUBMISSION, fields=fields, audit=audit)
    return _move(customer_id, record, S.PENDING, Cause.SUBMISSION, fields=fields, audit=audit)


def verdict(customer_id: str, record: dict[str, str], *, case_id: str, attempt: int, verdict: dict[str, Any],
            config: WorkerConfig, now: float, review_deadline: float) -> Change:
    """The engine's verdict on the customer's current attempt; any other verdict is noted, not applied."""
    audit = {"case_id": case_id, "attempt": attempt, "verdict": verdict["status"],
             "reasons": verdict.get("reasons", []), "effects": verdict.get("effects") or {}}
    if not _on_attempt(record, case_id, attempt) or status_of(record) != S.PENDING:
        return _unchanged(customer_id, record, Cause.VERDICT, "not the customer's current attempt", **audit)
    refusals = int(record.get("refusals") or 0)
    fields: dict[str, str | int | float] = {"last_outcome_ts": now}
    status = verdict["status"]
    if status == Status.APPROVED.value:
        until = valid_until(verdict, config, now)
        fields.update(refusals=0, verified_at=_iso(now), verified_case=case_id, verified_attempt=attempt,
                      valid_until=_iso(until) if until else "", valid_until_ts=until or "", restore="")
        return _move(customer_id, record, S.VERIFIED, Cause.VERDICT, fields=fields, audit=audit)
    if status == Status.MANUAL_REVIEW.value or (status == Status.REFUSED.value
                                                and refusals + 1 >= config.refusals_before_review):
        fields.update(refusals=refusals + int(status == Status.REFUSED.value), review_deadline=_iso(review_deadline))
        return _move(customer_id, record, S.IN_REVIEW, Cause.VERDICT, fields=fields,
                     audit={**audit, "review_deadline": _iso(review_deadline)}, review=True)
    fields["refusals"] = refusals + int(status == Status.REFUSED.value)
    return _move(customer_id, record, S.ACTION_REQUIRED, Cause.VERDICT, fields=fields, audit=audit)


def failure(customer_id: str, record: dict[str, str], *, case_id: str, attempt: int, code: str,
            now: float) -> Change:
    """A `failed` result of the current attempt: the request must be sent again."""
    audit = {"case_id": case_id, "attempt": attempt, "failed_reason": code}
    if not _on_attempt(record, case_id, attempt) or status_of(record) != S.PENDING:
        return _unchanged(customer_id, record, Cause.FAILURE, "not the customer's current attempt", **audit)
    return _move(customer_id, record, S.ACTION_REQUIRED, Cause.FAILURE, fields={"last_outcome_ts": now},
                 audit=audit)


def decision(customer_id: str, record: dict[str, str], *, case_id: str, attempt: int, decision: dict[str, Any],
             verdict: dict[str, Any], config: WorkerConfig, now: float) -> Change:
    """A reviewer's decision: moves only a customer in review on this very attempt."""
    status = status_of(record)
    if status != S.IN_REVIEW or not _on_attempt(record, case_id, attempt):
        raise IllegalTransition(f"customer {customer_id} is {status.value}, not in review on case {case_id} "
                                f"attempt {attempt}: a decision on it cannot change their status")
    audit = {"case_id": case_id, "attempt": attempt, "reviewer": decision["reviewer"], "reason": decision["reason"],
             "reasons": decision.get("reason_codes", [])}
    fields: dict[str, str | int | float] = {"last_outcome_ts": now, "review_deadline": ""}
    if decision["status"] == Status.APPROVED.value:
        until = valid_until(verdict, config, now)
        fields.update(refusals=0, verified_at=_iso(now), verified_case=case_id, verified_attempt=attempt,
                      valid_until=_iso(until) if until else "", valid_until_ts=until or "", restore="")
        return _move(customer_id, record, S.VERIFIED, Cause.DECISION, fields=fields, audit=audit)
    if decision["status"] == Status.RETRY_REQUIRED.value:  # the reviewer asks the customer to film again
        return _move(customer_id, record, S.ACTION_REQUIRED, Cause.DECISION, fields=fields, audit=audit)
    return _move(customer_id, record, S.REFUSED, Cause.DECISION, fields=fields, audit=audit)


def revocation(customer_id: str, record: dict[str, str], *, reason: str, event_id: str, note: str, actor: str,
               config: WorkerConfig, now: float) -> Change:
    """A bank's revocation event: only a verified customer can be revoked."""
    restore = config.restore_after(reason)
    status = status_of(record)
    if status != S.VERIFIED:
        raise IllegalTransition(f"customer {customer_id} is {status.value}: only a verified customer can be "
                                f"revoked ({reason})")
    return _move(customer_id, record, S.REVOKED, Cause.REVOCATION,
                 fields={"revoked_at": _iso(now), "revocation_reason": reason, "restore": restore,
                         "valid_until_ts": ""},
                 audit={"reason": reason, "event_id": event_id, "note": note, "actor": actor, "restore": restore})


def strong_authentication(customer_id: str, record: dict[str, str], *, event_id: str, actor: str,
                          config: WorkerConfig, now: float) -> Change:
    """The bank's fresh strong authentication restores an access revoked for a reason that allows it."""
    status = status_of(record)
    if status != S.REVOKED or record.get("restore") != Restore.STRONG_AUTHENTICATION.value:
        raise IllegalTransition(f"customer {customer_id} is {status.value}"
                                + (f" (revoked for {record.get('revocation_reason')}: a new video is needed)"
                                   if status == S.REVOKED else "")
                                + ": a strong authentication cannot verify them")
    until = record.get("valid_until") or ""
    fields: dict[str, str | int | float] = {"restore": "", "valid_until": until, "valid_until_ts": _ts(until) or ""}
    return _move(customer_id, record, S.VERIFIED, Cause.STRONG_AUTHENTICATION, fields=fields,
                 audit={"event_id": event_id, "actor": actor})


def expiry(customer_id: str, record: dict[str, str], *, now: float) -> Change:
    """A verified customer whose validity has run out: re-verification due."""
    until = record.get("valid_until_ts") or ""
    if status_of(record) != S.VERIFIED or not until or float(until) > now:
        return _unchanged(customer_id, record, Cause.EXPIRY, "not due")
    return _move(customer_id, record, S.EXPIRED, Cause.EXPIRY, fields={"valid_until_ts": ""},
                 audit={"valid_until": record.get("valid_until")})


def withdrawal(customer_id: str, record: dict[str, str], *, channel: str, at: str, now: float) -> Change:
    """Consent withdrawn: the customer is unverified again (a reviewer's refusal stays final)."""
    fields: dict[str, str | int | float] = {"consent": "", "consent_withdrawn_at": at, "valid_until_ts": "",
                                            "review_deadline": ""}
    audit = {"channel": channel, "withdrawn_at": at}
    if status_of(record) in (S.UNVERIFIED, S.REFUSED):
        return Change(customer_id, status_of(record), status_of(record), Cause.CONSENT_WITHDRAWN, fields=fields,
                      audit=audit)
    return _move(customer_id, record, S.UNVERIFIED, Cause.CONSENT_WITHDRAWN, fields=fields, audit=audit)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(int(ts), dt.timezone.utc).isoformat()


def _ts(text: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(text).timestamp() if text else None
    except ValueError:
        return None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)
