"""Follow the selfie's face through the frames once: one box and five landmarks per frame, cheaply.

The track is computed once per selfie (`FaceTracker.track`) and shared by the face stage (which
frames to embed, how many faces) and the liveness stage (pose, blink, parallax): running the
detector for each stage separately cost as much as the rest of the selfie analysis. It is computed
as the frames arrive (`FaceTracker.start`), so that the selfie is decoded, tracked and let go of
frame by frame (`kycengine.selfie`); a frame is held only until no later frame can change its sighting.

With the insightface backend the detector (SCRFD on a TRACK_SIDE square input, ~10 ms on one core) runs only
every DETECT_EVERY frames; in between the 106-point landmark model (~7 ms, on the face crop only,
every LANDMARK_EVERY frames) both follows the face and gives the landmarks the pose and blink cues
need. With the opencv backend YuNet runs on every frame of a copy whose long side is TRACK_SIDE
(a few ms) and its five landmarks are used; the 106-point model (non-commercial weights) is not
loaded at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
# insightface: the 106-point model's five points are rejected when they sit further than this (mean,
# in face widths) from the detector's on the same frame. Measured on generated selfies (480x360,
# 10 fps): 0.02-0.05 on frontal and turning live faces (p90 0.08, max 0.17 on the near-profile
# team_c) and on rocked prints when the crop is right; a crop that lost the face reads 0.2 and more.
LANDMARK_AGREE_MAX = 0.12
# Face motion (box centre shift + size change, face widths per frame) above which the face moves
# fast: landmarks on every frame and the detector on every FAST_DETECT_EVERY-th. Live selfies move
# 0.014-0.03 a frame (p90 0.03-0.045; 0.085 for the near-profile team_c), prints rocked fast 0.06-0.15.
FAST_MOTION = 0.05
FAST_DETECT_EVERY = 2
# A followed face that moved this far (face widths) since the last measurement is measured again
# from a detection on the same frame: its crop was placed from where the face no longer is.
JUMP_MAX = 0.25


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
    # Whether the landmarks can be believed: checked against the detector's points, or followed from
    # a checked sighting without a jump (liveness cues read only trusted sightings).
    trusted: bool = True

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
    def trusted(self) -> list[Sighting]:
        """The frames with a face whose landmarks can be believed, in order."""
        return [s for s in self.found if s.trusted]

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


def disagreement(landmarks5: np.ndarray, detected5: np.ndarray, width: float) -> float:
    """Mean distance between two sets of five points (landmark model's and detector's), in face widths."""
    return float(np.linalg.norm(landmarks5 - detected5, axis=1).mean() / max(width, 1e-6))


@dataclass
class _Follower:
    """The 106-point model following the face from crop to crop, and what it has measured so far."""

    frames: Mapping[int, Frame]  # the frames it may still look at, by position
    backend: FaceBackend
    landmarker: Landmarker106
    detections: dict[int, _Detection]
    measured: dict[int, Sighting] = field(default_factory=dict)
    box: np.ndarray | None = None
    score: float = 0.0
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))  # box centre - landmark centroid
    ratio: np.ndarray = field(default_factory=lambda: np.ones(2))  # box size / landmark spread

    def detect(self, position: int) -> _Detection:
        """The detector's run on this frame (the batched keyframes', or run now: an extra keyframe)."""
        if position not in self.detections:
            self.detections[position] = _detection(self.backend.detect(self.frames[position].image, TRACK_SIDE))
        return self.detections[position]

    def measure(self, position: int, run: _Detection | None, trusted: bool) -> Sighting | None:
        """Landmarks on this frame's crop (placed by `run` when the detector ran); None when lost. A
        sighting the detector saw is trusted when its landmarks agree with the detector's points,
        a followed one when `trusted` (its predecessor was, and the face did not jump)."""
        if run is not None:
            self.box = None if run.face is None else np.array(run.face.box, np.float64)
            self.score = run.face.score if run.face is not None else 0.0
        if self.box is None:
            self.measured.pop(position, None)
            return None
        image = self.frames[position].image
        box = self.box
        points = self.landmarker(image, box)
        centre, five = points.mean(axis=0), five_points(points)
        if run is not None and run.face is not None:
            self.offset = (box[:2] + box[2:]) / 2 - centre
            self.ratio = (box[2:] - box[:2]) / max(_spread(points), 1e-6)
            trusted = disagreement(five, run.face.landmarks5, run.face.width) <= LANDMARK_AGREE_MAX
        # Where the landmarks put the face: this frame's box (the crop's was where it last was) and the
        # next crop's; a face that left the frame or shrank to nothing is lost until the next detection.
        half = self.ratio * _spread(points) / 2
        self.box = np.r_[centre + self.offset - half, centre + self.offset + half]
        sighting = Sighting(position=position, box=box.copy() if run is not None else self.box.copy(),
                            landmarks5=five, detected=run is not None, crowded=bool(run and run.crowded),
                            score=self.score, trusted=trusted)
        self.measured[position] = sighting
        height, width = image.shape[:2]
        inside = 0 <= centre[0] + self.offset[0] < width and 0 <= centre[1] + self.offset[1] < height
        if not inside or min(half) * 2 < MIN_FACE_PX:
            self.box = None
        return sighting


    def revisit(self, position: int, box: np.ndarray, trusted: bool) -> None:
        """Landmarks on a frame the slow schedule skipped, on a crop between its measured neighbours'
        (the face moved too fast there for interpolated points); the follower's own crop stays."""
        points = self.landmarker(self.frames[position].image, box)
        centre, half = points.mean(axis=0), self.ratio * _spread(points) / 2
        self.measured[position] = Sighting(position=position, box=np.r_[centre + self.offset - half,
                                                                         centre + self.offset + half],
                                           landmarks5=five_points(points), score=self.score, trusted=trusted)


def motion(before: Sighting, after: Sighting) -> float:
    """How far the face moved per frame between two sightings: box centre shift plus size change, in face
    widths (a head turning in a selfie moves ~0.02 a frame at 10 fps, a print rocked fast 0.06-0.15)."""
    centre = np.linalg.norm((after.box[:2] + after.box[2:] - before.box[:2] - before.box[2:]) / 2)
    size = abs(np.log(max(after.width, 1e-6) / max(before.width, 1e-6)))
    return float((centre / max(before.width, 1e-6) + size) / max(1, after.position - before.position))


class Tracking:
    """A face track being computed as the frames arrive (`FaceTracker.start`): `push` each frame in
    order, then `finish`. Both hand out the sightings that no later frame can change, in order, as
    (position, sighting or None), so that a caller can read each frame once and let it go."""

    def push(self, frame: Frame) -> list[tuple[int, Sighting | None]]:
        """Take the next frame; the positions settled by it."""
        raise NotImplementedError

    def finish(self) -> tuple[list[tuple[int, Sighting | None]], FaceTrack]:
        """The positions still open, settled now, and the whole track."""
        raise NotImplementedError


class LandmarkTracking(Tracking):
    """Detector on every DETECT_EVERY-th frame, the 106-point model on every LANDMARK_EVERY-th frame's
    face crop while the face moves slowly, the frames between interpolated. Where it moves fast
    (FAST_MOTION face widths a frame), the 106-point model runs on every frame and the detector on
    every FAST_DETECT_EVERY-th: a crop placed from a stale frame loses the face, and the frames the slow
    schedule skipped just before are measured too, not interpolated. A face that jumped (JUMP_MAX) is
    measured again from a detection at once.

    Frames are held only from the last one measured on: a frame is settled once a frame two past it
    was measured (an interpolated sighting lies between measured ones at most LANDMARK_EVERY apart).
    """

    def __init__(self, backend: FaceBackend, landmarker: Landmarker106) -> None:
        self.backend = backend
        self.window: dict[int, Frame] = {}  # the frames since the last one visited
        self.detections: dict[int, _Detection] = {}
        self.follower = _Follower(self.window, backend, landmarker, self.detections)
        self.previous: Sighting | None = None
        self.fast, self.since_detection = False, 0
        self.count, self.visited, self.next_visit, self.settled = 0, -1, 0, 0

    def push(self, frame: Frame) -> list[tuple[int, Sighting | None]]:
        position = self.count
        self.count += 1
        self.window[position] = frame
        if position % DETECT_EVERY == 0:
            self.detections[position] = _detection(self.backend.detect(frame.image, TRACK_SIDE))
        if position == self.next_visit:
            self._visit(position)
        # An interpolated sighting's later end is at most LANDMARK_EVERY - 1 frames after it.
        return self._settle(self.visited - LANDMARK_EVERY + 2)

    def finish(self) -> tuple[list[tuple[int, Sighting | None]], FaceTrack]:
        if 0 <= self.visited < self.count - 1:  # the last frame is always measured
            self._visit(self.count - 1)
        settled = self._settle(self.count)
        measured = self.follower.measured
        track = FaceTrack(tuple(_filled(measured, p) for p in range(self.count)), len(self.detections),
                          len(measured))
        return settled, track

    def _visit(self, position: int) -> None:
        """Measure one frame of the schedule (and the skipped ones before it where the face moved fast)."""
        follower, previous = self.follower, self.previous
        run = self.detections.get(position)
        if run is None and self.fast and self.since_detection >= FAST_DETECT_EVERY - 1:
            run = follower.detect(position)
        sighting = follower.measure(position, run, previous is not None and previous.trusted)
        self.since_detection = 0 if run is not None else self.since_detection + 1
        if sighting is not None and previous is not None:
            moved = motion(previous, sighting)
            if run is None and moved * (position - previous.position) > JUMP_MAX:
                sighting = follower.measure(position, follower.detect(position), False)
                self.since_detection = 0
            self.fast = moved > FAST_MOTION
            if self.fast and sighting is not None:  # the frames skipped before it: measured, not interpolated
                for skipped in range(previous.position + 1, position):
                    weight = (skipped - previous.position) / (position - previous.position)
                    follower.revisit(skipped, (1 - weight) * previous.box + weight * sighting.box,
                                     previous.trusted and sighting.trusted)
        self.previous, self.visited = sighting, position
        self.next_visit = position + 1 if self.fast else _next_scheduled(position)
        for done in [p for p in self.window if p <= position]:
            del self.window[done]

    def _settle(self, below: int) -> list[tuple[int, Sighting | None]]:
        """Hand out the positions below `below` not handed out yet."""
        start, self.settled = self.settled, max(self.settled, min(below, self.count))
        return [(p, _filled(self.follower.measured, p)) for p in range(start, self.settled)]


def _next_scheduled(position: int) -> int:
    """The next frame of the slow schedule: every LANDMARK_EVERY-th counted from each keyframe (so
    keyframes add no extra runs); the last frame of the video is measured too (`finish`)."""
    following = position + 1
    while following % DETECT_EVERY % LANDMARK_EVERY:
        following += 1
    return following


def track_with_landmarks(frames: Sequence[Frame], backend: FaceBackend, landmarker: Landmarker106) -> FaceTrack:
    """The `LandmarkTracking` track of frames already decoded."""
    return _run(LandmarkTracking(backend, landmarker), frames)


def _run(tracking: Tracking, frames: Sequence[Frame]) -> FaceTrack:
    for frame in frames:
        tracking.push(frame)
    return tracking.finish()[1]


def _filled(measured: dict[int, Sighting], position: int) -> Sighting | None:
    """The sighting at `position`: measured, or interpolated linearly between the measured ones either
    side when they are at most LANDMARK_EVERY frames apart and moved slowly (None at a gap, an end or a
    fast jump: a lost or rocking face is not filled with invented motion); an interpolated one is
    trusted only between two trusted ones."""
    if position in measured:
        return measured[position]
    before = next((p for p in range(position - 1, position - LANDMARK_EVERY, -1) if p in measured), None)
    after = next((p for p in range(position + 1, position + LANDMARK_EVERY) if p in measured), None)
    if before is None or after is None or after - before > LANDMARK_EVERY:
        return None
    a, b = measured[before], measured[after]
    if motion(a, b) > FAST_MOTION:
        return None
    weight = (position - before) / (after - before)
    return Sighting(position=position, box=(1 - weight) * a.box + weight * b.box,
                    landmarks5=((1 - weight) * a.landmarks5 + weight * b.landmarks5).astype(np.float32),
                    score=a.score, trusted=a.trusted and b.trusted)


def _fill_between(measured: dict[int, Sighting], count: int) -> tuple[Sighting | None, ...]:
    """One entry per frame of a `count`-frame video (see `_filled`)."""
    return tuple(_filled(measured, position) for position in range(count))


class DetectorTracking(Tracking):
    """The detector (YuNet) on every frame, on a copy at most TRACK_SIDE px long: each frame settles at once."""

    def __init__(self, backend: FaceBackend) -> None:
        self.backend = backend
        self.sightings: list[Sighting | None] = []

    def push(self, frame: Frame) -> list[tuple[int, Sighting | None]]:
        position = len(self.sightings)
        run = _detection(self.backend.detect(frame.image, TRACK_SIDE))
        self.sightings.append(None if run.face is None else Sighting(
            position=position, box=np.array(run.face.box, np.float64), landmarks5=run.face.landmarks5,
            detected=True, crowded=run.crowded, score=run.face.score))
        return [(position, self.sightings[-1])]

    def finish(self) -> tuple[list[tuple[int, Sighting | None]], FaceTrack]:
        return [], FaceTrack(tuple(self.sightings), len(self.sightings), 0)


def track_with_detector(frames: Sequence[Frame], backend: FaceBackend) -> FaceTrack:
    """The `DetectorTracking` track of frames already decoded."""
    return _run(DetectorTracking(backend), frames)


class FaceTracker:
    """The configured backend's track: detector + 106-point landmarks (insightface) or the detector
    alone on every frame (opencv, whose licence-clean set has no landmark model)."""

    def __init__(self, registry: Registry, backend: str) -> None:
        self.backend = get_backend(backend, registry)
        # The 106-point model (non-commercial weights) only goes with the insightface backend.
        self.landmarker = get_landmarker(registry) if self.backend.name == "insightface" else None
        self.model_ids = (*self.backend.model_ids, *((self.landmarker.model_id,) if self.landmarker else ()))

    def start(self) -> Tracking:
        """A track to feed frame by frame (the selfie is streamed through it while it decodes)."""
        if self.landmarker is not None:
            return LandmarkTracking(self.backend, self.landmarker)
        return DetectorTracking(self.backend)

    def track(self, frames: Sequence[Frame]) -> FaceTrack:
        """The subject's face in every frame (None where it was not found)."""
        return _run(self.start(), frames)
