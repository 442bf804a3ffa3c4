"""Liveness and presentation-attack detection from the selfie video.

`LivenessChecker(registry, settings).assess(video, track)` is the stage; it reads the face track
(`kycengine.face.track`, shared with the face stage) and one module per cue: `parallax` (one plane
or a 3D head), `pose` (head turn, blink), `screen` (moire, bezel, flicker, banding, gamut),
`print_cues` (photo border, halftone, flat tones), `capture` (duplicates, timestamps, noise floor,
stillness via parallax motion), `antispoof` (optional operator-supplied MiniFASNet).
`assess_video(path)` decodes a file as the pipeline does and runs a checker built once per process.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import cache

from ..models import default_registry
from ..schema import LivenessEvidence
from ..settings import Settings
from ..video import decode
from .checker import LivenessChecker

__all__ = ["LivenessChecker", "assess_video", "default_checker"]


@cache
def default_checker(backend: str = "insightface") -> LivenessChecker:
    """A checker with the default settings and registry for `backend`, built once per process."""
    return LivenessChecker(default_registry(), replace(Settings(), face_backend=backend))


def assess_video(path: str | os.PathLike[str], *, backend: str = "insightface") -> LivenessEvidence:
    """Decode a selfie video as the pipeline does (settings' max_side and selfie_fps) and assess it.

    Raises InvalidMedia for a file that is not a readable video.
    """
    checker = default_checker(backend)
    video = decode(path, max_side=checker.settings.max_side, target_fps=checker.settings.selfie_fps)
    return checker.assess(video)
