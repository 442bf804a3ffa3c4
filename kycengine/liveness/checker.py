"""Liveness stage entry point: selfie frames in, LivenessEvidence out."""

from __future__ import annotations

from ..models import Registry
from ..schema import LivenessEvidence, StageState
from ..settings import Settings
from ..video import Video


class LivenessChecker:
    """Scores motion parallax, head turn, blink and replay cues of a selfie video."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    def assess(self, selfie: Video) -> LivenessEvidence:
        """Whether the selfie shows a live person (not built yet: says so, never passes)."""
        return LivenessEvidence(state=StageState.NOT_IMPLEMENTED,
                                note="liveness is not implemented in this version")
