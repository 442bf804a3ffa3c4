"""The stages a capture session runs, loaded once per process on first need (never at import, never
per request): the document analyser and the liveness checker, as the offline verifier builds them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from kycengine.document.analyser import DocumentAnalyser
from kycengine.liveness import LivenessChecker
from kycengine.models.registry import default_registry
from kycengine.settings import Settings


@dataclass(frozen=True)
class Stages:
    document: DocumentAnalyser
    liveness: LivenessChecker


class Engines:
    """Builds the stages at the first call of `get` (the first frame of the process's first capture
    waits for the models, about as long as a worker's start), then hands out the same ones. Their
    frames are analysed one at a time under `analysis` (Tesseract's API is not thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.analysis = threading.Lock()
        self._lock = threading.Lock()
        self._stages: Stages | None = None

    @classmethod
    def for_limits(cls, max_frames: int) -> Engines:
        """The engine's default settings, with a step's frame limit (a session closes on it)."""
        return cls(replace(Settings(), capture_max_frames=max_frames))

    def get(self) -> Stages:
        with self._lock:
            if self._stages is None:
                registry = default_registry()
                self._stages = Stages(DocumentAnalyser(registry, self.settings),
                                      LivenessChecker(registry, self.settings))
            return self._stages
