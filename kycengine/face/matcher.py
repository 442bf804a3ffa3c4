"""Face stage entry point: selfie frames and document portrait in, FaceEvidence out."""

from __future__ import annotations

import numpy as np

from ..models import Registry
from ..schema import FaceEvidence, StageState
from ..settings import Settings
from ..video import Video


class FaceMatcher:
    """Detects, aligns and embeds faces with the configured backend; models load once here."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    def match(self, selfie: Video, portrait: np.ndarray | None) -> FaceEvidence:
        """Compare the selfie's faces with the document portrait (not built yet: says so)."""
        return FaceEvidence(state=StageState.NOT_IMPLEMENTED, backend=self.settings.face_backend,
                            note="face matching is not implemented in this version")
