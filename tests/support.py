"""Small helpers shared by test modules."""

from __future__ import annotations

from kycengine.decision import StageEvidence, decide
from kycengine.reasons import Reason


def reasons_of(evidence: StageEvidence) -> tuple[Reason, ...]:
    """The reasons kycengine.decision gives for one stage's evidence (its findings, under the
    default policy)."""
    return decide(evidence).reasons
