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

from .capture.challenge import Challenge
from .decision import StageEvidence, decide
from .declared_check import check_declared_identity
from .document.analyser import DocumentAnalyser
from .errors import InvalidMedia
from .evidence import document_images, selfie_images
from .face import FaceMatcher
from .face.cross_check import cross_check
from .face.track import FaceTrack
from .findings import Finding, FindingCode
from .liveness import LivenessChecker
from .models import Registry, default_registry
from .schema import (
    DeclaredEvidence,
    DeclaredIdentity,
    DocumentEvidence,
    FaceEvidence,
    LivenessEvidence,
    StageState,
    Verdict,
)
from .selfie import StreamedSelfie, stream_selfie
from .settings import Settings
from .timelimit import TimedOut, time_limit
from .video import Keep, Video, decode

log = logging.getLogger(__name__)
E = TypeVar("E", DocumentEvidence, DeclaredEvidence, FaceEvidence, LivenessEvidence)
T = TypeVar("T")

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


def _limited(timings: dict[str, float], name: str, limit: float, run: Callable[[], T]) -> T | Finding:
    """Run one step under its time limit, recording its wall time; a timeout becomes a finding."""
    with _stopwatch(timings, name):
        try:
            with time_limit(name, limit):
                return run()
        except TimedOut as exc:
            if exc.what != name:
                raise
            log.warning("%s", exc)
            return Finding(FindingCode.STAGE_TIMED_OUT, str(exc), limit=limit)


def _timed(timings: dict[str, float], name: str, limit: float, run: Callable[[], E],
           failed: Callable[..., E]) -> E:
    """Run one stage under its time limit; a timeout or an unexpected crash becomes FAILED evidence
    (a reviewable verdict, never a lost case). An outer time limit (the host's job timeout) is a
    TimeLimitExceeded, a BaseException: it is never caught here and ends the verification."""
    try:
        result = _limited(timings, name, limit, run)
    except Exception as exc:  # a stage bug must become a reviewable verdict, not a lost case
        log.exception("stage %s crashed", name)
        result = Finding(FindingCode.STAGE_CRASHED, f"{name} stage error: {exc.__class__.__name__}")
    if isinstance(result, Finding):
        return failed(state=StageState.FAILED, findings=(result,), note=result.detail)
    return result


def _evidence_images(timings: dict[str, float], name: str, pick: Callable[[], dict[str, bytes]]) -> dict[str, bytes]:
    """Evidence images for people (kycengine.evidence), timed; making them never costs the verdict."""
    with _stopwatch(timings, name):
        try:
            return pick()
        except Exception:  # a picture for a reviewer is not worth a lost case
            log.exception("evidence images (%s) could not be made", name)
            return {}


def _failed_selfie(finding: Finding) -> tuple[FaceEvidence, LivenessEvidence]:
    """Face and liveness evidence for a selfie that left them nothing to work on."""
    return (FaceEvidence(state=StageState.FAILED, findings=(finding,), note=finding.detail),
            LivenessEvidence(state=StageState.FAILED, findings=(finding,), note=finding.detail))


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

    def _stream_selfie(self, path: str | os.PathLike[str], timings: dict[str, float]) -> StreamedSelfie | Finding:
        """The selfie decoded and its face tracked in one pass, few frames held (`kycengine.selfie`):
        a Finding when it is unreadable or ran out of time (both stages then fail with it). A crash
        while tracking falls back to decoding every frame, each stage then tracking for itself and
        reporting its own failure."""
        started = time.perf_counter()
        limit = 2 * self.settings.stage_time_limit_s  # two steps in one: decoding and the face track
        try:
            streamed = _limited(timings, "decode_selfie", limit,
                                lambda: stream_selfie(path, self.face.tracker, max_side=self.settings.max_side,
                                                      target_fps=self.settings.selfie_fps))
        except InvalidMedia as exc:
            return Finding(FindingCode.VIDEO_UNREADABLE, exc.message)
        except Exception:  # the stages below turn the same crash into FAILED evidence
            log.exception("face tracking crashed")
            video = self._decode(path, self.settings.selfie_fps, timings, "decode_selfie")
            return video if isinstance(video, Finding) else StreamedSelfie(video, None, 0.0)
        if not isinstance(streamed, Finding):  # the decode and the track, each its own share of the time
            timings["face_track"] = round(streamed.tracking_s * 1000, 1)
            timings["decode_selfie"] = round((time.perf_counter() - started - streamed.tracking_s) * 1000, 1)
        return streamed

    def _document_stage(self, path: str | os.PathLike[str], today: dt.date,
                        timings: dict[str, float]) -> DocumentEvidence:
        """Decode the document video and analyse it: only the frames the analyser reads in full are
        kept (`DocumentAnalyser.keep`), and those are released on return."""
        video = self._decode(path, self.settings.document_fps, timings, "decode_document", self.document.keep)
        if isinstance(video, Finding):
            return DocumentEvidence(state=StageState.FAILED, findings=(video,), note=video.detail)
        return _timed(timings, "document", self.settings.stage_time_limit_s,
                      lambda: self.document.analyse(video, today=today), DocumentEvidence)

    def _selfie_stages(self, selfie: StreamedSelfie | Finding, portrait: np.ndarray | None,
                       timings: dict[str, float], challenge: Challenge | None = None,
                       ) -> tuple[FaceEvidence, LivenessEvidence, dict[str, bytes]]:
        """The face and liveness stages on one shared face track (both fail with the finding that
        left them nothing to work on: an unreadable selfie, a face track over its time limit), and
        the selfie's evidence images (none without a shared track)."""
        if isinstance(selfie, Finding):
            return (*_failed_selfie(selfie), {})
        frames, shared = selfie.video, selfie.track
        limit = self.settings.stage_time_limit_s
        face = _timed(timings, "face", limit, lambda: self._match(frames, portrait, shared), FaceEvidence)
        liveness = _timed(timings, "liveness", limit, lambda: self.liveness.assess(frames, shared, challenge),
                          LivenessEvidence)
        smooth = self.liveness.tracker.landmarker is None  # the liveness stage's blink setting
        images = {} if shared is None else _evidence_images(
            timings, "evidence_selfie", lambda: selfie_images(frames.frames, shared, face, smooth=smooth))
        return face, liveness, images

    def _decode(self, path: str | os.PathLike[str], fps: float, timings: dict[str, float],
                name: str, keep: Keep | None = None) -> Video | Finding:
        """The decoded video (every frame kept, or those of `keep`), or the finding that says why there is none."""
        try:
            return _limited(timings, name, self.settings.stage_time_limit_s,
                            lambda: decode(path, max_side=self.settings.max_side, target_fps=fps, keep=keep))
        except InvalidMedia as exc:
            return Finding(FindingCode.VIDEO_UNREADABLE, exc.message)

    def verify(self, document_video: str | os.PathLike[str], selfie_video: str | os.PathLike[str], *,
               declared: DeclaredIdentity | None = None, case_id: str = "local", attempt: int = 1,
               today: dt.date | None = None, challenge: Challenge | None = None) -> Verdict:
        """Verify one attempt. Unreadable videos, stage errors and stage timeouts become findings
        (and reasons), never exceptions; a host's own time limit (TimeLimitExceeded) ends it.
        `challenge`: the one a capture session asked the selfie to perform (`kycengine.capture`)."""
        timings: dict[str, float] = {}
        today = today or dt.date.today()
        document = self._document_stage(document_video, today, timings)
        document_evidence = _evidence_images(timings, "evidence_document", lambda: document_images(document))
        declared_evidence = None if declared is None else _timed(
            timings, "declared", self.settings.stage_time_limit_s,
            lambda: check_declared_identity(declared, document, self.document.read_printed, today=today),
            DeclaredEvidence)
        # The document video's frames are gone by now: one decoded video in memory at a time. The
        # selfie is streamed: its face tracked while it decodes, few full-resolution frames kept.
        selfie = self._stream_selfie(selfie_video, timings)
        face, liveness, selfie_evidence = self._selfie_stages(selfie, document.portrait, timings, challenge)
        stages: list[StageEvidence] = [document, face, liveness]
        if declared_evidence is not None:
            stages.insert(1, declared_evidence)
        decision = decide(*stages, settings=self.settings)
        return Verdict(case_id=case_id, attempt=attempt, status=decision.status, reasons=decision.reasons,
                       effects=decision.effects, document=document, face=face, liveness=liveness,
                       declared=declared_evidence,
                       scores={**document.scores, **face.scores, **liveness.scores},
                       models=self.models,
                       timings_ms={**timings, "total": round(sum(timings.values()), 1)},
                       engine_version=ENGINE_VERSION,
                       created_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
                       evidence_images={**document_evidence, **selfie_evidence})


def verify(document_video: str | os.PathLike[str], selfie_video: str | os.PathLike[str], *,
           declared: DeclaredIdentity | None = None, settings: Settings | None = None) -> Verdict:
    """One-shot verification (builds a Verifier; keep one around for repeated calls)."""
    return Verifier(settings).verify(document_video, selfie_video, declared=declared)
