"""Replays of a recorded live selfie: looped clips (re-encoded, with or without fresh noise), a phone with
a thin white bezel; each is refused, and live selfies pass (a monitor filling the frame is measured by
the liveness benchmark: its cue is weak).

Videos are small (480x360, 10 fps, 4 s) from seeds the thresholds were not calibrated on
(calibration: seeds 100-101).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.capture.challenge import every_challenge
from kycengine.liveness import default_checker
from kycengine.liveness.loop import loop_cue
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
    # a near-profile face: its far eye hides behind the nose (the blink cue weights the eyes by how much of
    # each is seen; counted alike, this one read 0.049 and was asked to blink again)
    "live_near_profile": ("team_c", "live", 2, True),
    "loop": ("astronaut", "loop", 11, False),
    "loop_noise_hard": ("team_b", "loop_noise", 12, True),
    "replay_phone": ("group_c", "replay_phone", 11, False),
}
EXPECTED = {
    "loop": Reason.SUSPICIOUS_CAPTURE,
    "loop_noise_hard": Reason.SUSPICIOUS_CAPTURE,
    "replay_phone": Reason.FACE_SCREEN,
}


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


# A monitor filling the frame (replay_monitor) is not here: the background cue misses most of them (see
# settings.liveness_background_min); benchmarks/liveness.py reports that class.
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replays_are_refused_with_their_reason(assessed, name: str) -> None:
    evidence = assessed[name]
    assert evidence.live is False
    assert EXPECTED[name] in reasons_of(evidence)


@pytest.mark.parametrize("name", ["live", "live_hard", "live_near_profile"])
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


def test_a_loop_asked_for_a_challenge_repeats_its_own_clip_over_the_challenge(tmp_path: Path) -> None:
    """A looped clip was recorded before any challenge was drawn: with one it still turns each way within
    its clip, repeated for as long as the challenge lasts (it cannot follow the challenge's windows)."""
    challenge = every_challenge()[0]
    labels = make_selfie_video(tmp_path / "l.mp4", person="astronaut", variant="loop", seed=1, size=(160, 120),
                               fps=FPS, seconds=2.0, challenge=challenge)
    period = round(LOOP_CLIP_S * FPS)
    yaw = np.array(labels.yaw_per_frame)
    assert labels.frame_count >= challenge.end_s * FPS
    assert yaw[:period].min() < -15 and yaw[:period].max() > 15
    assert np.array_equal(yaw[:period], yaw[-period - labels.frame_count % period:][:period])


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
