"""Follow the selfie's face through the frames once: one box and five landmarks per frame, cheaply.

The track is computed once per selfie (`FaceTracker.track`) and shared by the face stage (which
frames to embed, how many faces) and the liveness stage (pose, blink, parallax): running the
detector for each stage separately cost as much as the rest of the selfie analysis.

With the insightface backend the detector (SCRFD on a TRACK_SIDE square input, ~10 ms on one core) runs only
every DETECT_EVERY frames; in between the 106-point landmark model (~7 ms, on the face crop only,
every LANDMARK_EVERY frames) both follows the face and gives the landmarks the pose and blink cues
need. With the opencv backend YuNet runs on every frame of a copy whose long side is TRACK_SIDE
(a few ms) and its five landmarks are used; the 106-point model (non-commercial weights) is not
loaded at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..models import Registry
from ..video import Frame
from .backends import DetectedFace, FaceBackend, get_backend
from .landmarks import Landmarker106, five_points, get_landmarker

DETECT_EVERY = 10  # insightface: detector every 10th frame (1 s at 10 fps), landmarks follow in between
# insightface: the 106-point model on every 3rd frame (0.3 s at 10 fps), the frames between take
# points interpolated from their neighbours'. Pose and parallax move smoothly over 0.3 s, and the
# blink cue reads the eyes from each frame's own pixels, only placed by the landmarks. Measured on
# 28 generated live selfies and 112 not-live ones (no_blink, not_turned, print, still; 480x360):
# every 2nd or every 3rd frame gave the same verdicts but one (a near-profile no_blink video read
# as blinking), for a third less of the track's cost.
LANDMARK_EVERY = 3
# The detector searches a copy this long (a selfie face is still >= 60 px there, a second person's
# face >= 40 px): YuNet on every frame (opencv), SCRFD on the keyframes (insightface, whose cost grows
# with the square of this side: 480 costs half of its default 640).
TRACK_SIDE = 480
MIN_FACE_PX = 24  # smaller detections are not the selfie's subject
# Another face with at least this fraction of the subject's area is a second person in frame
# (side ratio ~0.63); smaller faces are passers-by far behind or pictures on a wall.
SECOND_FACE_AREA = 0.4


@dataclass(frozen=True, eq=False)
class Sighting:
    """The subject's face in one frame: box (x1, y1, x2, y2) and landmarks in frame pixels.

    `landmarks5`: left eye, right eye, nose tip, left and right mouth corner (as seen in the image);
    `crowded`: where the detector ran on this frame, whether another face was at least
    SECOND_FACE_AREA of the subject's size.
    """

    position: int  # index into video.frames
    box: np.ndarray = field(repr=False)
    landmarks5: np.ndarray = field(repr=False)
    detected: bool = False
    crowded: bool = False
    score: float = 1.0  # detector confidence of the last detection this sighting follows

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return float(self.box[2] - self.box[0])

    def as_face(self) -> DetectedFace:
        """The sighting as a detection, for the backends' landmark-aligned embedding."""
        return DetectedFace(box=(float(self.box[0]), float(self.box[1]), float(self.box[2]), float(self.box[3])),
                            score=self.score, landmarks5=self.landmarks5)


@dataclass(frozen=True, eq=False)
class FaceTrack:
    """One entry per frame of the video: the subject's sighting or None where no face was found."""

    sightings: tuple[Sighting | None, ...]
    detector_runs: int
    landmark_runs: int

    @property
    def found(self) -> list[Sighting]:
        """The frames with a face, in order."""
        return [s for s in self.sightings if s is not None]

    @property
    def detected(self) -> list[Sighting]:
        """The frames where the detector ran and found the subject (the ones that count faces)."""
        return [s for s in self.found if s.detected]

    @property
    def face_width(self) -> float:
        """Median face box width over the frames with a face (0 when none)."""
        widths = [s.width for s in self.found]
        return float(np.median(widths)) if widths else 0.0


@dataclass(frozen=True, eq=False)
class _Detection:
    """The subject (largest face big enough) of one detector run, and whether a second person is in it."""

    face: DetectedFace | None
    crowded: bool


def _detection(faces: Sequence[DetectedFace], min_px: float = MIN_FACE_PX) -> _Detection:
    big = sorted((f for f in faces if min(f.width, f.height) >= min_px), key=lambda f: f.area, reverse=True)
    if not big:
        return _Detection(None, False)
    subject = big[0]
    return _Detection(subject, any(f.area >= SECOND_FACE_AREA * subject.area for f in big[1:]))


def _spread(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def track_with_landmarks(frames: Sequence[Frame], backend: FaceBackend, landmarker: Landmarker106) -> FaceTrack:
    """Detector on every DETECT_EVERY-th frame, the 106-point model on every LANDMARK_EVERY-th
    frame's face crop, the frames between interpolated.

    All detections run first, then all landmarks: onnxruntime's detector session keeps its threads
    spinning for a while after each run, which slows a landmark run that follows it several times
    over on a single core.
    """
    keyframes = range(0, len(frames), DETECT_EVERY)
    detections = {position: _detection(backend.detect(frames[position].image, TRACK_SIDE))
                  for position in keyframes}
    measured: dict[int, Sighting] = {}
    box: np.ndarray | None = None
    score = 0.0
    offset = np.zeros(2)  # detector box centre - landmark centroid, from the last detection
    ratio = np.ones(2)  # detector box size / landmark spread, from the last detection
    # Every LANDMARK_EVERY-th frame counted from each keyframe (so keyframes add no extra runs), and the last.
    runs = [p for p in range(len(frames)) if p % DETECT_EVERY % LANDMARK_EVERY == 0 or p == len(frames) - 1]
    for position in runs:
        run = detections.get(position)
        if run is not None:
            box = None if run.face is None else np.array(run.face.box, np.float64)
            score = run.face.score if run.face is not None else 0.0
        if box is None:
            continue
        image = frames[position].image
        points = landmarker(image, box)
        centre = points.mean(axis=0)
        if run is not None:
            offset = (box[:2] + box[2:]) / 2 - centre
            ratio = (box[2:] - box[:2]) / max(_spread(points), 1e-6)
        measured[position] = Sighting(position=position, box=box.copy(), landmarks5=five_points(points),
                                      detected=run is not None, crowded=bool(run and run.crowded), score=score)
        # The next crop follows the landmarks (the head moves little in 0.3 s); a face that left
        # the frame or shrank to nothing is lost until the next detection.
        half = ratio * _spread(points) / 2
        box = np.r_[centre + offset - half, centre + offset + half]
        height, width = image.shape[:2]
        inside = 0 <= centre[0] + offset[0] < width and 0 <= centre[1] + offset[1] < height
        if not inside or min(half) * 2 < MIN_FACE_PX:
            box = None
    return FaceTrack(_fill_between(measured, len(frames)), len(detections), len(measured))


def _fill_between(measured: dict[int, Sighting], count: int) -> tuple[Sighting | None, ...]:
    """One entry per frame: the measured sightings, and between two measured ones at most
    LANDMARK_EVERY frames apart, sightings interpolated linearly (None at a gap or an end)."""
    sightings: list[Sighting | None] = [measured.get(position) for position in range(count)]
    ordered = sorted(measured)
    for before, after in zip(ordered, ordered[1:]):
        if after - before > LANDMARK_EVERY:
            continue
        a, b = measured[before], measured[after]
        for position in range(before + 1, after):
            weight = (position - before) / (after - before)
            sightings[position] = Sighting(
                position=position, box=(1 - weight) * a.box + weight * b.box,
                landmarks5=((1 - weight) * a.landmarks5 + weight * b.landmarks5).astype(np.float32), score=a.score)
    return tuple(sightings)


def track_with_detector(frames: Sequence[Frame], backend: FaceBackend) -> FaceTrack:
    """The detector (YuNet) on every frame, on a copy at most TRACK_SIDE px long."""
    sightings: list[Sighting | None] = []
    for position, frame in enumerate(frames):
        run = _detection(backend.detect(frame.image, TRACK_SIDE))
        if run.face is None:
            sightings.append(None)
            continue
        sightings.append(Sighting(position=position, box=np.array(run.face.box, np.float64),
                                  landmarks5=run.face.landmarks5, detected=True, crowded=run.crowded, score=run.face.score))
    return FaceTrack(tuple(sightings), len(frames), 0)


class FaceTracker:
    """The configured backend's track: detector + 106-point landmarks (insightface) or the detector
    alone on every frame (opencv, whose licence-clean set has no landmark model)."""

    def __init__(self, registry: Registry, backend: str) -> None:
        self.backend = get_backend(backend, registry)
        # The 106-point model (non-commercial weights) only goes with the insightface backend.
        self.landmarker = get_landmarker(registry) if self.backend.name == "insightface" else None
        self.model_ids = (*self.backend.model_ids, *((self.landmarker.model_id,) if self.landmarker else ()))

    def track(self, frames: Sequence[Frame]) -> FaceTrack:
        """The subject's face in every frame (None where it was not found)."""
        if self.landmarker is not None:
            return track_with_landmarks(frames, self.backend, self.landmarker)
        return track_with_detector(frames, self.backend)
