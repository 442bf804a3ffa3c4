"""The manual review queue: list, show, decide, escalate, re-verify.

A `manual_review` verdict puts its case in `{p}review:queue` (a sorted set scored by the deadline:
submission time + KYC_REVIEW_DEADLINE_HOURS, 72 h by default). A reviewer's decision is written once
(`{p}decision:{case}:{n}`; a second decision is refused) and appended to the case's audit trail with
who, when and why; the verdict itself is never changed. Overdue cases are escalated (once, with an
audit entry) and reported; they stay decidable. Re-verification runs the engine again with
`Settings().strict()` on the case's media and appends the result to the audit trail as evidence for
the reviewer; it does not decide the case. With `KYC_REVIEW_TWO_REVIEWERS`, approving an automatic
refusal takes two different reviewers: the first approval is kept as pending (`approval_pending` in
the audit trail) and the decision is recorded when a second reviewer approves too. The queue shows each case's customer with their
identity status and earlier attempts; a decision moves the customer (`lifecycle.decision`), in the
same transaction, and is refused unless the customer is in review on that very attempt.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from redis import Redis
from tqdm import tqdm

from kycengine.capture.challenge import Challenge
from kycengine.errors import InvalidInput, InvalidRequest
from kycengine.reasons import Reason, Status
from kycengine.schema import DeclaredIdentity

from . import identity, lifecycle, media
from .config import WorkerConfig
from .context import VerifierLike, context, current_connection
from .isolation import call_in_child
from .queues import delivery_enqueuer
from .states import CustomerStatus, DeliveryKind, MediaState, ReviewState
from .store import AlreadyDecided, Store, iso, new_delivery_id

log = logging.getLogger(__name__)

DECISIONS = {"approve": Status.APPROVED.value, "refuse": Status.REFUSED.value, "retry": Status.RETRY_REQUIRED.value}
PENDING_APPROVAL = "pending_approval"  # the status `decide` answers for a first approval (two-reviewer rule)


class ReviewError(InvalidRequest):
    """A review command that cannot be carried out (unknown case, not queued, already decided)."""

    code = "review_error"


def list_queue(config: WorkerConfig, connection: Redis, now: float | None = None) -> list[dict[str, Any]]:
    """Queued cases, earliest deadline first, with `overdue` and the verdict's reasons."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    out = []
    for case_id, deadline in store.review_queue():
        item = store.get_review_item(case_id) or {}
        attempt = int(item.get("attempt", 0) or 0)
        verdict = store.get_verdict(case_id, attempt) or {}
        out.append({"case_id": case_id, "attempt": attempt, "deadline": iso(deadline),
                    "overdue": deadline <= now, "hours_left": round((deadline - now) / 3600, 1),
                    "state": item.get("state", ReviewState.PENDING.value), "escalated_at": item.get("escalated_at"),
                    "reasons": verdict.get("reasons", []), **_customer_summary(store, case_id, attempt)})
    return out


def _customer_summary(store: Store, case_id: str, attempt: int) -> dict[str, Any]:
    """The case's customer, their identity status and their other attempts (for the reviewer)."""
    customer_id = (store.get_case(case_id) or {}).get("customer_id")
    if not customer_id:
        return {"customer_id": None, "customer_status": None, "earlier_attempts": []}
    record = store.get_customer(customer_id) or {}
    earlier = [a for a in identity.attempts_of(store, customer_id)
               if (a["case_id"], a["attempt"]) != (case_id, attempt)]
    return {"customer_id": customer_id, "customer_status": record.get("status"),
            "refusals": int(record.get("refusals") or 0), "earlier_attempts": earlier}


def escalate_overdue(config: WorkerConfig, connection: Redis, now: float | None = None) -> list[dict[str, Any]]:
    """Mark every queued case past its deadline as escalated (once each); returns those escalated now."""
    now = time.time() if now is None else now
    store = Store(connection, config.key_prefix)
    escalated = []
    for case_id, deadline in store.review_queue(until=now):
        item = store.escalate(case_id, deadline, now)
        if item is None:
            continue  # escalated before
        log.warning("review of case %s is overdue since %s: escalated", case_id, iso(deadline))
        escalated.append({"case_id": case_id, "attempt": int(item.get("attempt", 0)), "deadline": iso(deadline)})
    return escalated


def show(config: WorkerConfig, connection: Redis, case_id: str) -> dict[str, Any]:
    """Everything about a case: its attempts with verdicts, decisions, deliveries, and the audit trail."""
    store = Store(connection, config.key_prefix)
    case = store.get_case(case_id)
    if case is None:
        raise ReviewError(f"unknown case {case_id!r}")
    attempts = []
    for n in store.attempts(case_id):
        record = store.get_attempt(case_id, n) or {}
        attempts.append({
            "attempt": n, "state": record.get("state"), "submitted_at": record.get("submitted_at"),
            "media": record.get("media") or [], "media_state": record.get("media_state"),
            "failed_reason": record.get("failed_reason"), "failed_detail": record.get("failed_detail"),
            "declared": (record.get("request") or {}).get("declared"),
            "verdict": store.get_verdict(case_id, n), "decision": store.get_decision(case_id, n),
            "deliveries": {k.value: d for k in DeliveryKind if (d := store.get_delivery(case_id, n, k))},
        })
    item = store.get_review_item(case_id) or {}
    return {"case": case, "review": store.get_review_item(case_id), "attempts": attempts,
            "customer": _customer_summary(store, case_id, int(item.get("attempt") or 0)),
            "history": store.history(case_id)}


def decide(config: WorkerConfig, connection: Redis, case_id: str, decision: str, *, reason: str,
           reviewer: str, now: float | None = None) -> dict[str, Any]:
    """Record a reviewer's decision on a queued case and deliver it; raises ReviewError when it cannot."""
    now = time.time() if now is None else now
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    reason, reviewer = (reason or "").strip(), (reviewer or "").strip()
    if not reason:
        raise ReviewError("--reason: say why (it goes into the audit trail)")
    if not reviewer:
        raise ReviewError("--reviewer: say who decides")
    store = Store(connection, config.key_prefix)
    customer_id = (store.get_case(case_id) or {}).get("customer_id")
    status = lifecycle.status_of(store.get_customer(customer_id) or {}) if customer_id else None
    if status not in (None, CustomerStatus.IN_REVIEW):
        raise ReviewError(f"customer {customer_id} is {status.value if status else '?'}, not in review: a decision "
                          f"on case {case_id} cannot change their status (a new verification is needed)")
    item = store.get_review_item(case_id)
    if item is None:
        raise ReviewError(f"case {case_id!r} is not in the review queue")
    attempt = int(item["attempt"])
    verdict = store.get_verdict(case_id, attempt) or {}
    codes = [c for c in (part.strip() for part in reason.replace(";", ",").split(","))
             if c in Reason._value2member_map_]
    record = {"case_id": case_id, "attempt": attempt, "status": DECISIONS[decision], "reviewer": reviewer,
              "reason": reason, "reason_codes": codes, "decided_at": iso(now),
              "verdict_status": verdict.get("status"), "verdict_reasons": verdict.get("reasons", []),
              "escalated": bool(item.get("escalated_at"))}
    if decision == "approve" and config.review_two_reviewers and verdict.get("status") == Status.REFUSED.value:
        first = _second_approval(store, record, now)
        if first is None:
            return {**record, "status": PENDING_APPROVAL}
        record.update(first_reviewer=first["reviewer"], first_reason=first["reason"])
    request = (store.get_attempt(case_id, attempt) or {}).get("request") or {}
    delivery_id = enqueue = None
    if request.get("callback_url"):
        delivery_id = new_delivery_id()
        enqueue = delivery_enqueuer(config, connection, case_id, attempt, DeliveryKind.DECISION, delivery_id)
    customer = None
    if customer_id:
        cid = customer_id

        def plan(current: dict[str, str], case: dict[str, str]) -> lifecycle.Change:
            return lifecycle.decision(cid, current, case_id=case_id, attempt=attempt, decision=record,
                                      verdict=verdict, config=config, now=now)

        customer = identity.update(config, connection, cid, plan)
    try:
        store.record_decision(case_id, attempt, record, retention_s=config.retention_s,
                              delivery_id=delivery_id, enqueue=enqueue, now=now, customer=customer)
    except AlreadyDecided as exc:
        raise ReviewError(str(exc)) from None
    except lifecycle.IllegalTransition as exc:
        raise ReviewError(exc.message) from None
    return record


def _second_approval(store: Store, record: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The two-reviewer rule: None when `record` is the attempt's first approval (now kept as pending),
    else the first one, which `record` confirms; ReviewError when the same reviewer approves twice."""
    first_now, first = store.record_pending_approval(record["case_id"], record["attempt"], {
        "reviewer": record["reviewer"], "reason": record["reason"], "at": record["decided_at"]}, now=now)
    if first_now:
        return None
    if first["reviewer"] == record["reviewer"]:
        raise ReviewError(f"{record['reviewer']} approved this automatic refusal already: a second, different "
                          "reviewer must confirm it")
    return first


def strict_verifier(backend: str = "insightface") -> VerifierLike:
    """The re-verification engine: `Verifier(Settings(face_backend=backend).strict())`, with
    single-threaded model sessions (each case runs in a forked child: onnxruntime's thread pool would
    not survive the fork)."""
    from kycengine.models.registry import Registry
    from kycengine.pipeline import Verifier
    from kycengine.settings import Settings

    return Verifier(Settings(face_backend=backend).strict(), registry=Registry.load(threads=1))


def _strict_verdict(verifier: VerifierLike, config: WorkerConfig, request: dict[str, Any], case_id: str,
                    attempt: int) -> dict[str, Any]:
    declared, challenge = request.get("declared"), request.get("challenge")
    with media.open_media((request["document_video"], request["selfie_video"]), config) as paths:
        return verifier.verify(paths[0], paths[1], declared=DeclaredIdentity.from_dict(declared) if declared else None,
                               case_id=case_id, attempt=attempt,
                               challenge=Challenge.from_dict(challenge) if challenge else None).to_dict()


def reverify(config: WorkerConfig, connection: Redis, case_ids: Iterable[str] | None = None, *,
             verifier_factory: Callable[[], VerifierLike] | None = None, now: float | None = None,
             progress: bool = False) -> list[dict[str, Any]]:
    """Re-run the strict engine (with the workers' face backend, `KYC_FACE_BACKEND`) on queued cases
    (all when `case_ids` is None); evidence, not decisions.

    The models load once, here; each case runs in a forked child (`isolation`), so memory stays at
    one case's whatever the number of cases. With `progress`, a bar on stderr shows case n/N and
    the time elapsed.
    """
    store = Store(connection, config.key_prefix)
    queued = [case_id for case_id, _ in store.review_queue()]
    targets = queued if case_ids is None else list(case_ids)
    verifier: VerifierLike | None = None
    results = []
    for case_id in tqdm(targets, desc="reverify", unit="case", disable=not progress, file=sys.stderr):
        item = store.get_review_item(case_id)
        if item is None or item.get("state") == ReviewState.DECIDED or case_id not in queued:
            results.append({"case_id": case_id, "skipped": "not in the review queue"})
            continue
        attempt = int(item["attempt"])
        record = store.get_attempt(case_id, attempt) or {}
        request = record.get("request") or {}
        if record.get("media_state") == MediaState.PURGED:
            results.append({"case_id": case_id, "attempt": attempt, "skipped": "media purged"})
            continue
        try:
            media.check_uri(request["document_video"], config)
            media.check_uri(request["selfie_video"], config)
            verifier = verifier or (verifier_factory or partial(strict_verifier, config.face_backend))()
            data = call_in_child(functools.partial(_strict_verdict, verifier, config, request, case_id, attempt))
        except (InvalidInput, KeyError) as exc:
            results.append({"case_id": case_id, "attempt": attempt, "skipped": f"media unusable: {exc}"})
            continue
        except ChildProcessError as exc:
            results.append({"case_id": case_id, "attempt": attempt, "skipped": str(exc)})
            continue
        store.record_reverification(case_id, attempt, data, now=time.time() if now is None else now)
        results.append({"case_id": case_id, "attempt": attempt, "status": data["status"],
                        "reasons": data["reasons"], "scores": data.get("scores", {})})
    return results


def reverify_job(case_id: str) -> list[dict[str, Any]]:
    """rq job: a strict re-verification of one queued case, asked for from the review console."""
    connection, _ = current_connection()
    return reverify(context().config, connection, [case_id])
