"""Policy: the stages' findings in, reasons with their effects and the verdict's status out.

The only place where evidence becomes reasons (the stages report findings with measured values).
Every finding maps to one or more reasons; each reason has a default effect (`reasons.TEXTS`) that
the document policy in Settings may change for some findings (an MRZ inconsistency refused or sent
to review, a damaged card refused or filmed again). The verdict keeps every reason with its own
effect; the strongest effect present gives the status (refuse > retry > review), and no reason at
all is an approval. A stage that did not complete and found nothing is never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .findings import Finding, FindingCode
from .reasons import EFFECT_PRECEDENCE, TEXTS, Effect, Reason, Status
from .records import Record
from .schema import StageState
from .settings import Settings

F = FindingCode
_REASONS: dict[FindingCode, tuple[Reason, ...]] = {
    F.VIDEO_UNREADABLE: (Reason.VIDEO_UNREADABLE,),
    F.STAGE_CRASHED: (Reason.INTERNAL_ERROR,),
    F.STAGE_TIMED_OUT: (Reason.VERIFICATION_INCOMPLETE,),
    F.CHECK_NOT_RUN: (Reason.VERIFICATION_INCOMPLETE,),
    F.DOCUMENT_NOT_FOUND: (Reason.DOCUMENT_NOT_FOUND,),
    F.DOCUMENT_CUT_OFF: (Reason.DOCUMENT_CUT_OFF,),
    F.DOCUMENT_GLARE: (Reason.DOCUMENT_GLARE,),
    F.DOCUMENT_BLURRY: (Reason.DOCUMENT_BLURRY,),
    F.DOCUMENT_NOT_TILTED: (Reason.DOCUMENT_NOT_TILTED,),
    F.MRZ_NOT_FOUND: (Reason.MRZ_UNREADABLE,),
    F.MRZ_UNSTABLE: (Reason.MRZ_UNREADABLE,),
    F.MRZ_CHECK_DIGIT_FAILED: (Reason.MRZ_INCONSISTENT,),
    F.MRZ_DOCUMENT_CODE_FORBIDDEN: (Reason.MRZ_INCONSISTENT,),
    F.MRZ_ISSUE_DATE_IMPOSSIBLE: (Reason.MRZ_INCONSISTENT,),
    F.MRZ_DATE_INVALID: (Reason.MRZ_INVALID_DATE,),
    F.PRINTED_FIELD_MISMATCH: (Reason.MRZ_VIZ_MISMATCH,),
    F.MRZ_UNCERTAIN: (Reason.MRZ_UNCERTAIN,),
    F.DOCUMENT_TYPE_NOT_ACCEPTED: (Reason.DOCUMENT_NOT_ACCEPTED,),
    F.ISSUING_STATE_NOT_ACCEPTED: (Reason.DOCUMENT_NOT_ACCEPTED,),
    F.DOCUMENT_EXPIRED: (Reason.DOCUMENT_EXPIRED,),
    F.EXPIRY_UNCERTAIN: (Reason.DOCUMENT_VALIDITY_UNCERTAIN,),
    F.HOLDER_UNDERAGE: (Reason.HOLDER_UNDERAGE,),
    F.HOLDER_AGE_UNCERTAIN: (Reason.HOLDER_AGE_UNCERTAIN,),
    F.DOCUMENT_PHOTOCOPY: (Reason.DOCUMENT_PHOTOCOPY,),
    F.DOCUMENT_NOT_IN_COLOR: (Reason.DOCUMENT_NOT_IN_COLOR,),
    F.DOCUMENT_SCREEN: (Reason.DOCUMENT_SCREEN,),
    F.DOCUMENT_DAMAGED: (Reason.DOCUMENT_DAMAGED,),
    F.DECLARED_MISMATCH: (Reason.DECLARED_IDENTITY_MISMATCH,),
    F.DECLARED_UNCERTAIN: (Reason.DECLARED_IDENTITY_UNVERIFIED,),
    F.NO_FACE: (Reason.NO_FACE_DETECTED,),
    F.MULTIPLE_FACES: (Reason.MULTIPLE_FACES,),
    F.NO_PORTRAIT: (Reason.VERIFICATION_INCOMPLETE,),
    F.FACE_MISMATCH: (Reason.FACE_MISMATCH,),
    F.FACE_UNCERTAIN: (Reason.FACE_MATCH_UNCERTAIN,),
    F.FACE_SWAPPED: (Reason.FACE_SWAPPED_DURING_CAPTURE,),
    F.SCREEN_REPLAY: (Reason.FACE_SCREEN, Reason.FACE_NOT_LIVE),
    F.REPLAY_SUSPECTED: (Reason.LIVENESS_UNCERTAIN,),
    F.PRINTED_PHOTO: (Reason.FACE_PRINT, Reason.FACE_NOT_LIVE),
    F.STILL_PICTURE: (Reason.FACE_NOT_LIVE, Reason.SUSPICIOUS_CAPTURE),
    F.FLAT_FACE: (Reason.FACE_NOT_LIVE,),
    F.ANTISPOOF_REJECTED: (Reason.FACE_NOT_LIVE,),
    F.STREAM_ANOMALY: (Reason.SUSPICIOUS_CAPTURE,),
    F.HEAD_NOT_TURNED: (Reason.FACE_NOT_TURNED,),
    F.NO_BLINK: (Reason.NO_BLINK,),
    F.CHALLENGE_FAILED: (Reason.CHALLENGE_FAILED, Reason.FACE_NOT_LIVE),
    F.TOO_FEW_FACE_FRAMES: (Reason.FACE_NOT_TURNED, Reason.NO_BLINK),
}
# Findings whose effect is document policy: the Settings field that holds it.
_POLICY: dict[FindingCode, Callable[[Settings], Effect]] = {
    F.MRZ_CHECK_DIGIT_FAILED: lambda s: s.mrz_check_digit_effect,
    F.MRZ_DOCUMENT_CODE_FORBIDDEN: lambda s: s.mrz_document_code_effect,
    F.MRZ_ISSUE_DATE_IMPOSSIBLE: lambda s: s.mrz_issue_date_effect,
    F.MRZ_DATE_INVALID: lambda s: s.mrz_date_effect,
    F.DOCUMENT_DAMAGED: lambda s: s.document_damaged_effect,
}
_RANK = {effect: rank for rank, effect in enumerate(EFFECT_PRECEDENCE)}


class StageEvidence(Protocol):
    """What decide reads of a stage's evidence."""

    @property
    def state(self) -> StageState: ...

    @property
    def findings(self) -> tuple[Finding, ...]: ...


@dataclass(frozen=True)
class Decision(Record):
    """Status, every reason (strongest effect first, then in the order found) and each one's effect."""

    status: Status
    reasons: tuple[Reason, ...] = ()
    effects: dict[Reason, Effect] = field(default_factory=dict)


def reasons_for(finding: FindingCode, settings: Settings) -> dict[Reason, Effect]:
    """The reasons one finding gives and the effect of each under `settings`' policy."""
    policy = _POLICY.get(finding)
    return {r: policy(settings) if policy else TEXTS[r].effect for r in _REASONS[finding]}


def _stage_findings(evidence: StageEvidence) -> Iterable[FindingCode]:
    yield from (f.code for f in evidence.findings)
    if evidence.state is not StageState.COMPLETE and not evidence.findings:
        yield F.STAGE_CRASHED if evidence.state is StageState.FAILED else F.CHECK_NOT_RUN


def decide(*evidence: StageEvidence, settings: Settings | None = None) -> Decision:
    """The decision over the stages' evidence under the document policy of `settings`."""
    settings = settings or Settings()
    effects: dict[Reason, Effect] = {}
    for stage in evidence:
        for code in _stage_findings(stage):
            for reason, effect in reasons_for(code, settings).items():
                if reason not in effects or _RANK[effect] < _RANK[effects[reason]]:
                    effects[reason] = effect
    if not effects:
        return Decision(Status.APPROVED)
    ordered = sorted(effects, key=lambda r: _RANK[effects[r]])  # stable: keeps the order found
    return Decision(effects[ordered[0]].status, tuple(ordered), {r: effects[r] for r in ordered})
