"""The body of a customer's status event (`customer.status_changed`): what changed, why, and what the
customer must do next, with customer-safe texts in English and French.

Built once, when the change is written (`Store` keeps it under its sequence number), so that every
try of its delivery sends the same body; `deliver_job` adds the delivery id.
"""

from __future__ import annotations

from typing import Any

from kycengine.reasons import Effect, explain

from .config import WorkerConfig
from .lifecycle import Change
from .states import Cause, CustomerStatus, Restore

EVENT = "customer.status_changed"

# status (or revoked + what restores it) -> (next action code, en, fr); {hours}: the review deadline
_NEXT: dict[str, tuple[str, str, str]] = {
    CustomerStatus.UNVERIFIED.value: ("verify", "Please verify your identity from your account.",
                                      "Veuillez vérifier votre identité depuis votre espace client."),
    CustomerStatus.PENDING.value: ("wait", "Your identity verification is in progress.",
                                   "La vérification de votre identité est en cours."),
    CustomerStatus.VERIFIED.value: ("none", "Your identity is verified.", "Votre identité est vérifiée."),
    CustomerStatus.ACTION_REQUIRED.value: (
        "retry", "Please restart the verification from your account.",
        "Veuillez recommencer la vérification depuis votre espace client."),
    CustomerStatus.IN_REVIEW.value: (
        "wait_for_review", "Our partner will get back to you within {hours} hours.",
        "Notre partenaire reviendra vers vous sous {hours} heures."),
    CustomerStatus.REFUSED.value: (
        "contact_bank", "Your identity could not be verified. Please contact your bank.",
        "Votre identité n'a pas pu être vérifiée. Veuillez contacter votre banque."),
    CustomerStatus.EXPIRED.value: (
        "reverify", "Your identity verification has expired. Please verify your identity again.",
        "La vérification de votre identité a expiré. Veuillez vérifier à nouveau votre identité."),
    Restore.NEW_VIDEO.value: (
        "reverify", "For your security, please verify your identity again with a new video.",
        "Pour votre sécurité, veuillez vérifier à nouveau votre identité avec une nouvelle vidéo."),
    Restore.STRONG_AUTHENTICATION.value: (
        "strong_authentication", "For your security, please confirm your identity with your bank's "
        "strong authentication.", "Pour votre sécurité, veuillez confirmer votre identité avec "
        "l'authentification forte de votre banque."),
}


def next_action(status: CustomerStatus, restore: str | None, config: WorkerConfig) -> dict[str, Any]:
    """What the customer must do next: a code and the texts (en, fr)."""
    key = restore if status == CustomerStatus.REVOKED and restore else status.value
    code, en, fr = _NEXT[key if key in _NEXT else Restore.NEW_VIDEO.value]
    hours = f"{config.review_deadline_hours:g}"
    return {"code": code, "message": {"en": en.format(hours=hours), "fr": fr.format(hours=hours)}}


def _reasons(change: Change) -> list[dict[str, Any]]:
    codes = change.audit.get("reasons") or []
    if change.cause == Cause.DECISION:
        return [explain(code, Effect.REFUSE.value) for code in codes if change.status == CustomerStatus.REFUSED]
    effects = change.audit.get("effects") or {}
    return [explain(code, effects.get(code)) for code in codes]


def build(change: Change, config: WorkerConfig) -> dict[str, Any]:
    """The event body of a status change, without `sequence`, `at` and `delivery_id` (the store and
    the delivery add them)."""
    audit = change.audit
    restore = str(change.fields.get("restore") or "") or None
    body: dict[str, Any] = {
        "event": EVENT, "customer_id": change.customer_id, "status": change.status.value,
        "previous_status": change.previous.value, "cause": change.cause.value,
        "case_id": audit.get("case_id"), "attempt": audit.get("attempt"), "reasons": _reasons(change),
        "next_action": next_action(change.status, restore, config)}
    if change.status == CustomerStatus.IN_REVIEW:
        body["review_deadline"] = change.fields.get("review_deadline")
    if change.status == CustomerStatus.VERIFIED:
        body["valid_until"] = change.fields.get("valid_until") or None
    if change.cause == Cause.REVOCATION:
        body["revocation"] = {"reason": audit["reason"], "event_id": audit["event_id"], "restore": restore,
                              "note": audit.get("note") or ""}
    return body
