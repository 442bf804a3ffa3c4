"""Replays of a recorded live selfie: looped clips (re-encoded, with or without fresh noise), a phone with
a thin white bezel, a monitor filling the frame (no bezel, no moire: its room grows and shrinks with
the picture); each is refused, and live selfies pass.

Videos are small (480x360, 10 fps, 4 s) from seeds the thresholds were not calibrated on
(calibration: seeds 100-101).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.face.track import FaceTrack, Sighting
from kycengine.liveness import default_checker
from kycengine.liveness.loop import loop_cue
from kycengine.liveness.scene import scene_scale
from kycengine.reasons import Reason
from kycengine.schema import LivenessEvidence
from kycengine.settings import Settings
from kycengine.synth.selfie_video import LOOP_CLIP_S, make_selfie_video
from tests.support import reasons_of

SIZE, FPS, SECONDS = (480, 360), 10, 4.0

# name -> (person, variant, seed, hard)
CASES = {
    "live": ("group_a", "live", 11, False),
    "live_hard": ("yaoming", "live", 12, True),
    "loop": ("astronaut", "loop", 11, False),
    "loop_noise_hard": ("team_b", "loop_noise", 12, True),
    "live_other": ("group_d", "live", 13, False),
    "replay_phone": ("group_c", "replay_phone", 11, False),
    "replay_monitor": ("team_b", "replay_monitor", 11, False),
    "replay_monitor_hard": ("group_d", "replay_monitor", 12, True),
    "replay_monitor_other": ("yaoming", "replay_monitor", 13, False),
}
EXPECTED = {
    "loop": Reason.SUSPICIOUS_CAPTURE,
    "loop_noise_hard": Reason.SUSPICIOUS_CAPTURE,
    "replay_phone": Reason.FACE_SCREEN,
    "replay_monitor": Reason.FACE_SCREEN,
    "replay_monitor_hard": Reason.FACE_SCREEN,
    "replay_monitor_other": Reason.FACE_SCREEN,
}
LIVE = ("live", "live_hard", "live_other")


@pytest.fixture(scope="module")
def decoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, video.Video]:
    folder = tmp_path_factory.mktemp("replay")
    settings = Settings()
    out = {}
    for name, (person, variant, seed, hard) in CASES.items():
        path = folder / f"{name}.mp4"
        make_selfie_video(path, person=person, variant=variant, seed=seed, size=SIZE, fps=FPS, seconds=SECONDS,
                          hard=hard)
        out[name] = video.decode(path, max_side=settings.max_side, target_fps=settings.selfie_fps)
    return out


@pytest.fixture(scope="module")
def assessed(decoded) -> dict[str, LivenessEvidence]:
    checker = default_checker()
    return {name: checker.assess(clip) for name, clip in decoded.items()}


def test_looped_frames_differ_yet_repeat_with_the_clip_period(decoded) -> None:
    """Re-encoding leaves no duplicate frame, but the loop cue finds the clip's period."""
    threshold = Settings().liveness_loop_min
    for name in ("loop", "loop_noise_hard"):
        clip = decoded[name]
        first, again = clip.frames[0].image, clip.frames[round(LOOP_CLIP_S * FPS)].image
        assert float(np.abs(first.astype(np.int16) - again).mean()) > 0.15  # not a duplicate frame
        found = loop_cue(clip.frames)
        assert found.repeat >= threshold
        assert found.period_s == pytest.approx(LOOP_CLIP_S, abs=0.11)
    for name in ("live", "live_hard", "replay_phone"):
        assert loop_cue(decoded[name].frames).repeat < threshold / 2


def test_loop_cue_needs_two_periods() -> None:
    """Too few frames for two shortest periods: no period, a neutral score."""
    frames = tuple(video.Frame(index=i, t=i / FPS, image=np.full((24, 32, 3), 10 * i, np.uint8))
                   for i in range(5))
    found = loop_cue(frames)
    assert (found.repeat, found.period) == (1.0, 0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replays_are_refused_with_their_reason(assessed, name: str) -> None:
    evidence = assessed[name]
    assert evidence.live is False
    assert EXPECTED[name] in reasons_of(evidence)


@pytest.mark.parametrize("name", LIVE)
def test_live_selfies_still_pass(assessed, name: str) -> None:
    evidence = assessed[name]
    assert evidence.live is True, reasons_of(evidence)
    assert "loop_repeat" in evidence.scores and "loop_repeat" in evidence.thresholds


def test_replay_scores_are_in_the_evidence(assessed) -> None:
    evidence = assessed["loop"]
    assert evidence.scores["loop_period_s"] == pytest.approx(LOOP_CLIP_S, abs=0.11)
    assert evidence.scores["loop_repeat"] >= evidence.thresholds["loop_repeat"]


def test_loop_labels_repeat_with_the_clip(tmp_path: Path) -> None:
    """A loop attack has as many frames as asked for, and its labels repeat with the clip."""
    labels = make_selfie_video(tmp_path / "l.mp4", person="astronaut", variant="loop_noise", seed=1, size=(160, 120),
                               fps=FPS, seconds=2.0)
    assert labels.frame_count == 2 * FPS
    period = round(LOOP_CLIP_S * FPS)
    assert labels.yaw_per_frame[:period] == labels.yaw_per_frame[period:2 * period]


def test_background_change_ignores_a_shift_but_sees_a_sliding_reflection() -> None:
    """A room shifted by the camera changes nothing once the shift is out; a band of light sliding over
    a screen (or its bands rolling) does."""
    from kycengine.liveness.screen import background_strips, strip_change

    rng = np.random.default_rng(0)
    room = cv2.GaussianBlur(rng.uniform(60, 200, (360, 520)).astype(np.float32), (0, 0), 6)
    room = cv2.cvtColor(np.clip(room, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    box = np.array([190.0, 100.0, 290.0, 220.0])
    before, shifted = room[:, 20:500], room[:, 23:503]

    def glare(image: np.ndarray, at: float) -> np.ndarray:
        xs = np.arange(image.shape[1], dtype=np.float32)
        band = 40 * np.exp(-((xs - at) / 25) ** 2)
        return np.clip(image + band[None, :, None], 0, 255).astype(np.uint8)

    still = [strip_change(a, b) for a, b in zip(background_strips(before, box), background_strips(shifted, box))]
    sliding = [strip_change(a, b) for a, b in zip(background_strips(glare(before, 60), box),
                                                  background_strips(glare(shifted, 90), box))]
    threshold = Settings().liveness_background_min
    assert len(still) == 2 and all(c is not None and c < threshold / 2 for c in still)
    assert max(c for c in sliding if c is not None) > threshold


def test_a_monitor_filling_the_frame_changes_the_rooms_scale_and_a_live_room_does_not(assessed) -> None:
    """The scene cue itself, not another cue, separates the monitors from the live selfies, by a margin."""
    settings = Settings()
    for name in ("replay_monitor", "replay_monitor_hard", "replay_monitor_other"):
        assert assessed[name].scores["scene_scale"] >= settings.liveness_scene_scale_min
    for name in LIVE:
        assert assessed[name].scores["scene_scale"] < settings.liveness_scene_scale_review


def _room_frames(step: object, blank: bool = False) -> tuple[tuple[video.Frame, ...], FaceTrack]:
    """Frames of a textured room (or a `blank` wall, shaded) around a fixed face box, each moved by
    `step(index)` (a 2x3 affine), with fresh sensor noise."""
    rng = np.random.default_rng(3)
    if blank:
        shade = np.tile(np.linspace(150, 200, 480, dtype=np.float32), (360, 1))
    else:
        texture = np.asarray(cv2.GaussianBlur(rng.uniform(0, 255, (360, 480)).astype(np.float32), (0, 0), 2.5))
        shade = (texture - texture.min()) * (255 / (texture.max() - texture.min()))
    room = cv2.cvtColor(shade.astype(np.uint8), cv2.COLOR_GRAY2BGR)
    box = np.array([200.0, 110.0, 280.0, 210.0])
    frames, sightings = [], []
    for index in range(20):
        image = cv2.warpAffine(room, step(index), (480, 360), borderMode=cv2.BORDER_REFLECT)  # type: ignore[operator]
        noise = cv2.GaussianBlur(rng.normal(0, 5, image.shape[:2]).astype(np.float32), (0, 0), 0.7)
        image = np.clip(image + noise[..., None], 0, 255).astype(np.uint8)
        frames.append(video.Frame(index=index, t=index / FPS, image=image))
        sightings.append(Sighting(position=index, box=box, landmarks5=np.zeros((5, 2))))
    return tuple(frames), FaceTrack(tuple(sightings), 2, 0)


def test_scene_scale_sees_a_zoom_but_not_a_shift_or_a_turn() -> None:
    """A camera drifting towards a plane scales it (2 % over half a second here); shaking and turning the
    camera move a far room without scaling it."""
    threshold = Settings().liveness_scene_scale_min

    def zoom(index: int) -> np.ndarray:
        return np.asarray(cv2.getRotationMatrix2D((240, 180), 0.0, 1.0 + 0.004 * index), np.float64)

    def shake(index: int) -> np.ndarray:
        matrix = np.asarray(cv2.getRotationMatrix2D((240, 180), 1.5 * np.sin(index), 1.0), np.float64)
        matrix[:, 2] += (4 * np.sin(0.7 * index), 3 * np.cos(0.5 * index))
        return matrix

    zoomed, still = scene_scale(*_room_frames(zoom)), scene_scale(*_room_frames(shake))
    assert zoomed.scale >= threshold and zoomed.spans >= 3
    assert still.scale < threshold / 4 and still.spans >= 3


def test_scene_scale_needs_a_face_and_real_corners() -> None:
    """No face: nothing is placed beside it; a blank wall: its "corners" are sensor noise, which once
    read as a zoom. Neither has a score (nan): never a refusal."""
    frames, _ = _room_frames(lambda index: np.eye(2, 3))
    found = scene_scale(frames, FaceTrack((None,) * len(frames), 2, 0))
    assert np.isnan(found.scale) and found.spans == 0
    blank = scene_scale(*_room_frames(lambda index: np.eye(2, 3), blank=True))
    assert np.isnan(blank.scale) and blank.spans == 0
