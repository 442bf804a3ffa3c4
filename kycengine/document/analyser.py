"""Document stage entry point: frames of the document video in, DocumentEvidence out."""

from __future__ import annotations

import datetime as dt

from ..schema import DocumentEvidence, StageState
from ..settings import Settings
from ..video import Video


class DocumentAnalyser:
    """Locates, rectifies and reads the identity document; holds any loaded OCR engines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def analyse(self, video: Video, *, today: dt.date) -> DocumentEvidence:
        """Evidence about the document filmed in `video` (not built yet: says so, never passes)."""
        return DocumentEvidence(state=StageState.NOT_IMPLEMENTED,
                                note="document analysis is not implemented in this version")
