"""Face track (insightface backend): landmarks that disagree with the detector are not trusted, the
detector runs more often on a face that moves fast, and lost stretches are not interpolated."""

from __future__ import annotations

import numpy as np
import pytest

from kycengine.face.backends import get_backend
from kycengine.face.landmarks import Landmarker106, get_landmarker
from kycengine.face.track import (
    DETECT_EVERY,
    FAST_MOTION,
    LANDMARK_EVERY,
    FaceTrack,
    Sighting,
    _fill_between,
    motion,
    track_with_landmarks,
)
from kycengine.models import default_registry
from kycengine.synth import faces
from kycengine.video import Frame

SIZE = (480, 360)


def _frames(count: int, step_px: float) -> list[Frame]:
    """`count` frames of the astronaut's head on a plain background, moving `step_px` px right a frame."""
    head = faces.portrait("astronaut", (110, 140))
    frames = []
    for i in range(count):
        image = np.full((SIZE[1], SIZE[0], 3), (95, 110, 125), np.uint8)
        x, y = int(30 + step_px * i), 110
        image[y:y + head.shape[0], x:x + head.shape[1]] = head
        frames.append(Frame(index=i, t=i / 10, image=image))
    return frames


@pytest.fixture(scope="module")
def models() -> tuple:
    registry = default_registry()
    if not all(registry.available(m) for m in ("scrfd_500m", "landmark_2d106")):
        pytest.skip("insightface models are not installed")
    return get_backend("insightface", registry), get_landmarker(registry)


class _Misplaced:
    """The real 106-point model, whose points are moved half a face away on chosen frames (a model
    that lost the face): the thing under test is the track's reaction, not the model."""

    def __init__(self, model: Landmarker106, frames: list[Frame], wrong: set[int]) -> None:
        self.model, self.wrong = model, {id(frames[i].image) for i in wrong}

    def __call__(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        points = self.model(image, box)
        if id(image) in self.wrong:
            points = points + np.float32(0.5 * (box[2] - box[0]))
        return points


def test_a_slow_face_is_trusted_throughout_at_the_slow_schedule(models) -> None:
    backend, landmarker = models
    frames = _frames(20, 1.0)
    track = track_with_landmarks(frames, backend, landmarker)
    assert len(track.found) == 20 and len(track.trusted) == 20
    assert track.detector_runs == len(range(0, 20, DETECT_EVERY))
    assert track.landmark_runs < 20 / LANDMARK_EVERY + 3


def test_a_fast_face_gets_landmarks_on_every_frame_and_more_detections(models) -> None:
    backend, landmarker = models
    frames = _frames(20, 14.0)  # about 0.13 face widths a frame: a print rocked fast
    track = track_with_landmarks(frames, backend, landmarker)
    assert track.detector_runs > len(range(0, 20, DETECT_EVERY))
    assert track.landmark_runs >= 18
    assert len(track.trusted) >= 18
    for sighting in track.trusted:  # the boxes follow the face
        assert abs((sighting.box[0] + sighting.box[2]) / 2 - (30 + 14 * sighting.position + 55)) < 30


def test_landmarks_away_from_the_detectors_points_are_not_trusted(models) -> None:
    backend, landmarker = models
    frames = _frames(20, 1.0)
    track = track_with_landmarks(frames, backend, _Misplaced(landmarker, frames, {10}))  # a keyframe
    assert track.sightings[10] is not None and not track.sightings[10].trusted
    assert track.sightings[0] is not None and track.sightings[0].trusted
    # The crop placed from the rejected landmarks is half a face off: the face seems to jump, so the
    # next frame measured is measured again from a detection, and trusted again.
    following = next(s for s in track.found if s.position > 10 and s.position % LANDMARK_EVERY == 1)
    assert following.detected and following.trusted
    assert track.detector_runs > len(range(0, 20, DETECT_EVERY))


def _sighting(position: int, x: float, trusted: bool = True) -> Sighting:
    return Sighting(position=position, box=np.array([x, 0.0, x + 100, 120]),
                    landmarks5=np.tile([x + 50, 60.0], (5, 1)).astype(np.float32), trusted=trusted)


def test_interpolated_sightings_are_trusted_only_between_trusted_ones() -> None:
    filled = _fill_between({0: _sighting(0, 0), 3: _sighting(3, 6), 6: _sighting(6, 12, trusted=False)}, 7)
    track = FaceTrack(filled, 1, 3)
    assert [s.position for s in track.trusted] == [0, 1, 2, 3]
    assert filled[4] is not None and not filled[4].trusted
    gap = _fill_between({0: _sighting(0, 0), 9: _sighting(9, 0)}, 10)
    assert all(s is None for s in gap[1:9])  # a lost stretch stays lost


def test_motion_is_per_frame_in_face_widths() -> None:
    assert motion(_sighting(0, 0), _sighting(3, 30)) == pytest.approx(0.1)
    assert motion(_sighting(0, 0), _sighting(1, 2)) < FAST_MOTION < motion(_sighting(0, 0), _sighting(1, 10))
