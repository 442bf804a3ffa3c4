"""Follow the selfie's face through the frames: one box and five landmarks per frame, cheaply.

With the insightface backend the detector (SCRFD, a fixed 640x640 input: ~15 ms a frame) runs only
every DETECT_EVERY frames; in between the 106-point landmark model (~4 ms, on the face crop only)
both follows the face and gives the landmarks the pose and blink cues need. With the opencv backend
YuNet runs on every frame of a copy whose long side is TRACK_SIDE (a few ms) and its five
landmarks are used; the 106-point model (non-commercial weights) is not loaded at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from .backends import DetectedFace, FaceBackend
from ..video import Frame
from .landmarks import Landmarker106, five_points

DETECT_EVERY = 10  # insightface: detector every 10th frame (1 s at 10 fps), landmarks follow in between
TRACK_SIDE = 480  # opencv: YuNet runs on a copy this wide (a selfie face is still >= 60 px there)
MIN_FACE_PX = 24  # smaller detections are not the selfie's subject


@dataclass(frozen=True, eq=False)
class Sighting:
    """The subject's face in one frame: box (x1, y1, x2, y2) and landmarks in frame pixels.

    `landmarks5`: left eye, right eye, nose tip, left and right mouth corner (as seen in the image);
    `landmarks106` only with the insightface backend; `faces` is how many faces the detector found
    when it ran on this frame (0 when it did not run).
    """

    position: int  # index into video.frames
    box: np.ndarray = field(repr=False)
    landmarks5: np.ndarray = field(repr=False)
    landmarks106: np.ndarray | None = field(default=None, repr=False)
    detected: bool = False
    faces: int = 0

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return float(self.box[2] - self.box[0])


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
    def face_width(self) -> float:
        """Median face box width over the frames with a face (0 when none)."""
        widths = [s.width for s in self.found]
        return float(np.median(widths)) if widths else 0.0


def _largest(faces: Sequence[DetectedFace], min_px: float = MIN_FACE_PX) -> DetectedFace | None:
    faces = [f for f in faces if min(f.width, f.height) >= min_px]
    return max(faces, key=lambda f: f.area) if faces else None


def _spread(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def track_with_landmarks(frames: Sequence[Frame], backend: FaceBackend, landmarker: Landmarker106) -> FaceTrack:
    """Detector on every DETECT_EVERY-th frame, the 106-point model on every frame's face crop.

    All detections run first, then all landmarks: onnxruntime's detector session keeps its threads
    spinning for a while after each run, which slows a landmark run that follows it several times
    over on a single core.
    """
    keyframes = range(0, len(frames), DETECT_EVERY)
    detections: dict[int, tuple[DetectedFace | None, int]] = {}
    for position in keyframes:
        faces = backend.detect(frames[position].image)
        detections[position] = (_largest(faces), len(faces))
    sightings: list[Sighting | None] = []
    box: np.ndarray | None = None
    offset = np.zeros(2)  # detector box centre - landmark centroid, from the last detection
    ratio = np.ones(2)  # detector box size / landmark spread, from the last detection
    for position, frame in enumerate(frames):
        detected, count = False, 0
        if position in detections:
            face, count = detections[position]
            box = None if face is None else np.array(face.box, np.float64)
            detected = face is not None
        if box is None:
            sightings.append(None)
            continue
        points = landmarker(frame.image, box)
        centre = points.mean(axis=0)
        if detected:
            offset = (box[:2] + box[2:]) / 2 - centre
            ratio = (box[2:] - box[:2]) / max(_spread(points), 1e-6)
        sightings.append(Sighting(position=position, box=box.copy(), landmarks5=five_points(points),
                                  landmarks106=points, detected=detected, faces=count))
        # The next frame's crop follows the landmarks (the head moves little in 0.1 s); a face that
        # left the frame or shrank to nothing is lost until the next detection.
        half = ratio * _spread(points) / 2
        box = np.r_[centre + offset - half, centre + offset + half]
        height, width = frame.image.shape[:2]
        inside = 0 <= centre[0] + offset[0] < width and 0 <= centre[1] + offset[1] < height
        if not inside or min(half) * 2 < MIN_FACE_PX:
            box = None
    return FaceTrack(tuple(sightings), len(detections), sum(s is not None for s in sightings))


def track_with_detector(frames: Sequence[Frame], backend: FaceBackend) -> FaceTrack:
    """The detector (YuNet) on every frame, on a copy at most TRACK_SIDE px wide."""
    sightings: list[Sighting | None] = []
    for position, frame in enumerate(frames):
        image = frame.image
        scale = min(1.0, TRACK_SIDE / max(image.shape[:2]))
        work = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale,
                                                     interpolation=cv2.INTER_AREA)
        faces = backend.detect(work)
        face = _largest(faces, MIN_FACE_PX * scale)
        if face is None:
            sightings.append(None)
            continue
        sightings.append(Sighting(position=position, box=np.array(face.box, np.float64) / scale,
                                  landmarks5=face.landmarks5 / np.float32(scale), detected=True,
                                  faces=len(faces)))
    return FaceTrack(tuple(sightings), len(frames), 0)
