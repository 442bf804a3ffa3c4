"""Screen cues (flicker, banding, gamut) and print cues (halftone, flat tones) of the liveness stage.

Each cue reaches its threshold on an attack the generator renders with that effect, and stays below
it on live selfies. Selfies are 480x360, 10 fps, 3 s; the laser print and a live selfie are also
filmed at 1280x720 for 2 s, since a printer's dots are finer than a pixel at 480x360. Seeds differ
from the calibration ones (100-102).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.liveness import default_checker
from kycengine.liveness.screen import flicker_banding, periodic_peak
from kycengine.reasons import Reason
from kycengine.schema import LivenessEvidence
from kycengine.settings import Settings
from kycengine.synth.media import Flicker, dot_screen
from kycengine.synth.selfie_video import SelfieLabels, make_selfie_video
from tests.support import reasons_of

SMALL, LARGE = (480, 360), (1280, 720)
NEW_CUES = ("screen_flicker", "screen_banding", "screen_gamut", "print_halftone", "print_flat")

# name -> (person, variant, seed, hard, size, seconds)
CASES = {
    "live": ("astronaut", "live", 3, False, SMALL, 3.0),
    "live_hard": ("yaoming", "live", 5, True, SMALL, 3.0),
    "live_large": ("team_b", "live", 12, False, LARGE, 2.0),
    "screen_pulsing": ("astronaut", "screen", 18, False, SMALL, 3.0),  # PWM at 129 Hz, bands 67 % deep
    "screen_cool": ("yaoming", "screen", 37, False, SMALL, 3.0),  # a blue-white panel
    "print": ("team_b", "print", 5, False, SMALL, 3.0),  # laser toner black at 50 grey levels
    "print_laser": ("team_b", "print", 17, False, LARGE, 2.0),  # a dot screen of 37 lines per inch
}
LIVE = ("live", "live_hard", "live_large")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[video.Video, SelfieLabels]]:
    folder = tmp_path_factory.mktemp("cues")
    settings = Settings()
    out = {}
    for name, (person, variant, seed, hard, size, seconds) in CASES.items():
        path = folder / f"{name}.mp4"
        labels = make_selfie_video(path, person=person, variant=variant, seed=seed, size=size, fps=10,
                                   seconds=seconds, hard=hard)
        out[name] = video.decode(path, max_side=settings.max_side, target_fps=settings.selfie_fps), labels
    return out


@pytest.fixture(scope="module")
def assessed(rendered) -> dict[str, LivenessEvidence]:
    checker = default_checker("insightface")
    return {name: checker.assess(clip) for name, (clip, _) in rendered.items()}


def _reaches(evidence: LivenessEvidence, cue: str) -> bool:
    return evidence.scores[cue] >= evidence.thresholds[cue]


@pytest.mark.parametrize("name", LIVE)
def test_live_selfies_stay_below_every_new_cue(assessed, name: str) -> None:
    evidence = assessed[name]
    assert not [cue for cue in NEW_CUES if _reaches(evidence, cue)], evidence.scores
    assert not {Reason.FACE_SCREEN, Reason.FACE_PRINT, Reason.FACE_NOT_LIVE} & set(reasons_of(evidence))


def test_pulsing_screen_flickers_and_shows_bands(assessed) -> None:
    evidence = assessed["screen_pulsing"]
    assert _reaches(evidence, "screen_flicker") and _reaches(evidence, "screen_banding"), evidence.scores
    assert Reason.FACE_SCREEN in reasons_of(evidence)


def test_cool_screen_shows_its_gamut(assessed) -> None:
    evidence = assessed["screen_cool"]
    assert _reaches(evidence, "screen_gamut"), evidence.scores
    assert Reason.FACE_SCREEN in reasons_of(evidence)


def test_print_tones_are_flat(assessed) -> None:
    evidence = assessed["print"]
    assert _reaches(evidence, "print_flat"), evidence.scores
    assert Reason.FACE_PRINT in reasons_of(evidence)


def test_laser_print_shows_its_halftone(assessed) -> None:
    evidence = assessed["print_laser"]
    assert _reaches(evidence, "print_halftone"), evidence.scores
    assert Reason.FACE_PRINT in reasons_of(evidence)


def test_bands_drawn_over_a_live_face_are_seen(rendered) -> None:
    """The generator's screen flicker laid over a live selfie around the face (where a screen would be):
    flicker and banding rise above their thresholds; the untouched frames stay below."""
    clip, labels = rendered["live"]
    settings = Settings()
    position = round(0.37 * (len(clip.frames) - 1))  # the head holds its turn to the left
    x, y, w, h = labels.face_boxes[position]  # rendered at the decoding rate: frame i is video frame i
    box = np.array([x, y, x + w, y + h], np.float64)
    lit = np.zeros(clip.frames[0].image.shape[:2], np.float32)
    lit[:, max(0, x - w):x + 2 * w] = 1.0
    flicker = Flicker(hz=143.0, depth=0.12, readout_s=0.02)
    pulsed = []
    for frame in clip.frames:
        shade = 1 - lit * flicker.loss(frame.t, lit.shape[0])[:, None]
        pulsed.append(video.Frame(index=frame.index, t=frame.t, image=(frame.image * shade[..., None]).astype(np.uint8)))
    plain = flicker_banding(clip.frames, position, box)
    seen = flicker_banding(pulsed, position, box)
    assert plain is not None and seen is not None
    assert plain[0] < settings.liveness_flicker_min and plain[1] < settings.liveness_banding_min, plain
    assert seen[0] >= settings.liveness_flicker_min and seen[1] >= settings.liveness_banding_min, seen


def test_halftone_is_a_diagonal_peak_that_continuous_tone_lacks() -> None:
    """A mid-grey patch printed with the generator's dot screen (3 px apart) has a diagonal spectral peak
    above the threshold; the same patch in continuous tone, with the same noise, has none."""
    rng = np.random.default_rng(0)
    tone = np.full((160, 160, 3), 0.55, np.float32)
    threshold = Settings().liveness_halftone_min
    noise = rng.normal(0, 2.0, (160, 160, 3))
    dotted = np.clip(dot_screen(tone, 3.0) * 200 + 30 + noise, 0, 255).astype(np.uint8)
    flat = np.clip(tone * 200 + 30 + noise, 0, 255).astype(np.uint8)
    dotted, flat = (cv2.GaussianBlur(image, (0, 0), 0.6) for image in (dotted, flat))
    assert periodic_peak(dotted, (80, 80), diagonal=True) >= threshold
    assert periodic_peak(flat, (80, 80), diagonal=True) < threshold


@pytest.mark.parametrize("variant", ["print", "screen"])
def test_attacks_render_the_same_for_the_same_seed(tmp_path: Path, variant: str,
                                                   written_frames: list[list[np.ndarray]]) -> None:
    runs = written_frames
    for name in ("a", "b", "c"):
        make_selfie_video(tmp_path / f"{name}.mp4", person="astronaut", variant=variant, seed=7 if name < "c" else 8,
                          size=(320, 240), fps=10, seconds=1.0)
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not np.array_equal(runs[0][0], runs[2][0])
