"""What the case page shows, built from `workers.review.show` (the one source of a case's facts).

The identity table puts each field's declared value beside the MRZ's and the printed zone's, with
the engine's comparison outcome; the checks list every finding of every stage with its measured
value and threshold (the verdict JSON's findings), the document's named checks, the liveness cues
with their thresholds, and the document and face scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kycengine.reasons import Effect, Reason

IDENTITY_FIELDS = ("surname", "usage_name", "given_names", "birth_date", "birth_place", "document_number",
                   "sex", "nationality", "issuing_state", "expiry_date")
STAGES = ("document", "face", "liveness", "declared")


@dataclass(frozen=True)
class IdentityRow:
    """One identity field: declared, MRZ and printed values and the engine's comparison outcome."""

    name: str
    declared: str
    mrz: str
    printed: str
    outcome: str


@dataclass(frozen=True)
class FindingRow:
    """One finding of one stage: code, measured value, its threshold and the detail."""

    stage: str
    code: str
    value: Any
    limit: Any
    detail: str


@dataclass(frozen=True)
class AttemptView:
    """One attempt of the case as the page shows it."""

    attempt: int
    state: str
    submitted_at: str
    status: str
    reasons: list[str]
    identity: list[IdentityRow]
    mrz_lines: list[str]
    findings: list[FindingRow]
    checks: list[dict[str, Any]]
    scores: dict[str, dict[str, Any]]
    face: dict[str, Any]
    liveness: dict[str, Any]
    decision: dict[str, Any] | None
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReasonChoice:
    """A reason code the reviewer may give, with its customer text in the page's language."""

    code: str
    effect: str
    text: str


def number(value: Any) -> str:
    """A measured value as the page shows it: floats to 4 significant digits, None as nothing."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def identity_rows(declared: dict[str, Any] | None, verdict: dict[str, Any]) -> list[IdentityRow]:
    """Declared, MRZ and printed values side by side, for every field one of them gives."""
    declared = declared or {}
    mrz = (verdict.get("document") or {}).get("fields") or {}
    evidence = verdict.get("declared") or {}
    printed = evidence.get("printed") or {}
    outcomes = {c.get("field"): c.get("outcome") for c in (evidence.get("comparison") or {}).get("fields") or []}
    rows = []
    for name in IDENTITY_FIELDS:
        line = printed.get(name) or {}
        row = IdentityRow(name, _text(declared.get(name)), _text(mrz.get(name)), _text(line.get("value")),
                          _text(outcomes.get(name)))
        if row.declared or row.mrz or row.printed:
            rows.append(row)
    return rows


def finding_rows(verdict: dict[str, Any]) -> list[FindingRow]:
    """Every stage's findings with the value measured and the threshold it was held against."""
    return [FindingRow(stage, _text(f.get("code")), f.get("value"), f.get("limit"), _text(f.get("detail")))
            for stage in STAGES for f in ((verdict.get(stage) or {}).get("findings") or [])]


def attempt_view(record: dict[str, Any], evidence: list[str]) -> AttemptView:
    """One attempt of `workers.review.show` for the page."""
    verdict = record.get("verdict") or {}
    document = verdict.get("document") or {}
    face = verdict.get("face") or {}
    liveness = verdict.get("liveness") or {}
    return AttemptView(
        attempt=int(record["attempt"]), state=_text(record.get("state")),
        submitted_at=_text(record.get("submitted_at")), status=_text(verdict.get("status")),
        reasons=[str(r) for r in verdict.get("reasons") or []],
        identity=identity_rows(record.get("declared"), verdict),
        mrz_lines=[str(x) for x in document.get("mrz_lines") or []],
        findings=finding_rows(verdict), checks=list(document.get("checks") or []),
        scores={stage: (verdict.get(stage) or {}).get("scores") or {} for stage in ("document", "face")}
        | {"verdict": verdict.get("scores") or {}},
        face={k: face.get(k) for k in ("backend", "similarity", "threshold", "decision", "state")},
        liveness={"live": liveness.get("live"), "state": liveness.get("state"),
                  "cues": [(name, value, (liveness.get("thresholds") or {}).get(name))
                           for name, value in sorted((liveness.get("scores") or {}).items())]},
        decision=record.get("decision"), evidence=evidence)


def reason_choices(language: str) -> list[ReasonChoice]:
    """The taxonomy's refuse and retry reasons, the choices of the decision form."""
    return [ReasonChoice(r.value, r.text.effect.value, r.message(language)) for r in Reason
            if r.text.effect in (Effect.REFUSE, Effect.RETRY)]
