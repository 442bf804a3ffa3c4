"""The library entry point: two videos in, a Verdict out. Models load once per Verifier."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

import numpy as np

from .decision import decide
from .document.analyser import DocumentAnalyser
from .errors import InvalidMedia
from .face import FaceMatcher
from .face.track import FaceTrack
from .face.cross_check import cross_check
from .liveness import LivenessChecker
from .models import Registry, default_registry
from .reasons import Reason
from .schema import (
    DeclaredIdentity,
    DocumentEvidence,
    FaceEvidence,
    LivenessEvidence,
    StageState,
    Verdict,
)
from .settings import Settings
from .video import Video, decode

log = logging.getLogger(__name__)
E = TypeVar("E", DocumentEvidence, FaceEvidence, LivenessEvidence)

try:
    ENGINE_VERSION = version("kycengine")
except PackageNotFoundError:  # running from a source tree that is not installed
    ENGINE_VERSION = "0+unknown"


@contextmanager
def _stopwatch(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the block's wall time in milliseconds as `timings[name]`, however it ends."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round((time.perf_counter() - start) * 1000, 1)


def _timed(timings: dict[str, float], name: str, run: Callable[[], E], failed: Callable[..., E]) -> E:
    """Run one stage, record its wall time, and turn an unexpected crash into a FAILED evidence."""
    with _stopwatch(timings, name):
        try:
            return run()
        except Exception as exc:  # a stage bug must become a reviewable verdict, not a lost case
            log.exception("stage %s crashed", name)
            return failed(state=StageState.FAILED, reasons=(Reason.INTERNAL_ERROR,),
                          note=f"{name} stage error: {exc.__class__.__name__}")


class Verifier:
    """Holds the loaded stages; call `verify` as often as needed (one Verifier per worker process)."""

    def __init__(self, settings: Settings | None = None, registry: Registry | None = None) -> None:
        self.settings = settings or Settings()
        self.registry = registry or default_registry()
        self.document = DocumentAnalyser(self.registry, self.settings)
        self.face = FaceMatcher(self.registry, self.settings)
        self.face_check = (FaceMatcher(self.registry, replace(self.settings,
                                                              face_backend=self.settings.face_cross_check))
                           if self.settings.face_cross_check else None)
        self.liveness = LivenessChecker(self.registry, self.settings)
        self.models = tuple(f"{spec.id}@{spec.reference}" for spec in
                            map(self.registry.spec, dict.fromkeys((
                                *self.document.model_ids, *self.face.model_ids,
                                *(self.face_check.model_ids if self.face_check else ()),
                                *self.liveness.model_ids))))

    def _match(self, selfie: Video, portrait: np.ndarray | None, track: FaceTrack | None) -> FaceEvidence:
        """The configured backend's comparison, cross-checked by a second backend when set (both on
        the same face track: only the embedder differs)."""
        evidence = self.face.match(selfie, portrait, track)
        return evidence if self.face_check is None else cross_check(
            evidence, self.face_check.match(selfie, portrait, track))

    def _track(self, selfie: Video, timings: dict[str, float]) -> FaceTrack | None:
        """The selfie's face track, computed once for both stages (None if it crashed: each stage
        then tracks for itself and reports its own failure)."""
        with _stopwatch(timings, "face_track"):
            try:
                return self.face.tracker.track(selfie.frames)
            except Exception:  # the stages below turn the same crash into FAILED evidence
                log.exception("face tracking crashed")
                return None

    def _decode(self, path: str | os.PathLike[str], fps: float,
                timings: dict[str, float], name: str) -> Video | InvalidMedia:
        with _stopwatch(timings, name):
            try:
                return decode(path, max_side=self.settings.max_side, target_fps=fps)
            except InvalidMedia as exc:
                return exc

    def verify(self, document_video: str | os.PathLike[str], selfie_video: str | os.PathLike[str], *,
               declared: DeclaredIdentity | None = None, case_id: str = "local", attempt: int = 1,
               today: dt.date | None = None) -> Verdict:
        """Verify one attempt. Unreadable videos and stage errors become reasons, never exceptions."""
        timings: dict[str, float] = {}
        today = today or dt.date.today()
        doc_video = self._decode(document_video, self.settings.document_fps, timings, "decode_document")
        selfie = self._decode(selfie_video, self.settings.selfie_fps, timings, "decode_selfie")

        if isinstance(doc_video, InvalidMedia):
            document = DocumentEvidence(state=StageState.FAILED, reasons=(Reason.VIDEO_UNREADABLE,),
                                        note=doc_video.message)
        else:
            video = doc_video
            document = _timed(timings, "document", lambda: self.document.analyse(video, today=today),
                              DocumentEvidence)
        if isinstance(selfie, InvalidMedia):
            unreadable = (Reason.VIDEO_UNREADABLE,)
            face = FaceEvidence(state=StageState.FAILED, reasons=unreadable, note=selfie.message)
            liveness = LivenessEvidence(state=StageState.FAILED, reasons=unreadable, note=selfie.message)
        else:
            frames = selfie
            track = self._track(frames, timings)
            face = _timed(timings, "face", lambda: self._match(frames, document.portrait, track), FaceEvidence)
            liveness = _timed(timings, "liveness", lambda: self.liveness.assess(frames, track), LivenessEvidence)

        status, reasons = decide(document, face, liveness)
        return Verdict(case_id=case_id, attempt=attempt, status=status, reasons=reasons,
                       document=document, face=face, liveness=liveness,
                       scores={**document.scores, **face.scores, **liveness.scores},
                       models=self.models,
                       timings_ms={**timings, "total": round(sum(timings.values()), 1)},
                       engine_version=ENGINE_VERSION,
                       created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def verify(document_video: str | os.PathLike[str], selfie_video: str | os.PathLike[str], *,
           declared: DeclaredIdentity | None = None, settings: Settings | None = None) -> Verdict:
    """One-shot verification (builds a Verifier; keep one around for repeated calls)."""
    return Verifier(settings).verify(document_video, selfie_video, declared=declared)
