"""The 106-point face landmark model (insightface `2d106det`), run on a face crop with onnxruntime.

Built explicitly from its registry id (`landmark_2d106`) with the input spec of the manifest, and
cached per registry: building a checker twice loads the model once. The crop follows insightface's
`Landmark.get`: centred on the face box, scaled so that 1.5x the box's long side fills the 192 px
input. The weights are InsightFace's: non-commercial research use only (the opencv backend does not
load them).

Points used here (as seen in the image, "left" = the subject's right): eye corners 35, 39 (left)
and 89, 93 (right), nose tip 86, mouth corners 52 and 61. `yaw_index` reads the head's turn from
any five points (these or a detector's); the face stage's frontality and the liveness stage's turn
both derive from it.
"""

from __future__ import annotations

import threading
from functools import cache

import cv2
import numpy as np

from ..models import Registry

MODEL_ID = "landmark_2d106"
CROP_SCALE = 1.5  # insightface's Landmark.get: the crop spans 1.5x the box's long side

LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS = (35, 39), (89, 93)
MOUTH_CORNERS = (52, 61)
NOSE_TIP = 86


class Landmarker106:
    """106 (x, y) landmarks of a face given its box, in input-image pixels."""

    model_id = MODEL_ID

    def __init__(self, registry: Registry) -> None:
        spec = registry.spec(MODEL_ID)
        self.size = int(spec.input.size[0])
        self.mean = float(spec.input.mean)
        self.std = float(spec.input.std)
        self.swap_rb = spec.input.colour.upper() == "RGB"  # frames are BGR
        # One thread: the model is small (~4 ms a crop), and a thread pool of its own would only
        # spin against the detector's.
        self._session = registry.onnx_session(MODEL_ID, threads=1)
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def crop_matrix(self, box: np.ndarray) -> np.ndarray:
        """2x3 affine from image pixels to the model's input crop for a face box (x1, y1, x2, y2)."""
        x1, y1, x2, y2 = (float(v) for v in box)
        scale = self.size / (max(x2 - x1, y2 - y1) * CROP_SCALE)
        half = self.size / 2
        return np.array([[scale, 0, half - scale * (x1 + x2) / 2],
                         [0, scale, half - scale * (y1 + y2) / 2]], np.float64)

    def __call__(self, image_bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
        """106 x 2 float32 landmarks of the face in `box`, in `image_bgr` pixels."""
        matrix = self.crop_matrix(box)
        crop = cv2.warpAffine(image_bgr, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        blob = cv2.dnn.blobFromImage(crop, 1.0 / self.std, (self.size, self.size),
                                     (self.mean, self.mean, self.mean), swapRB=self.swap_rb)
        with self._lock:
            pred = self._session.run(None, {self._input: blob})[0][0]
        points = (pred.reshape(-1, 2)[-106:] + 1) * (self.size // 2)
        inverse = cv2.invertAffineTransform(matrix)
        return (points @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32)


@cache
def _build(registry: Registry) -> Landmarker106:
    return Landmarker106(registry)


def get_landmarker(registry: Registry) -> Landmarker106:
    """The 106-point model for `registry`, loaded once per process and registry."""
    return _build(registry)


def five_points(points: np.ndarray) -> np.ndarray:
    """SCRFD-style 5 points from the 106: eye centres, nose tip, mouth corners."""
    left_eye = points[list(LEFT_EYE_CORNERS)].mean(axis=0)
    right_eye = points[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    return np.stack([left_eye, right_eye, points[NOSE_TIP], *points[list(MOUTH_CORNERS)]]).astype(np.float32)


def plane_yaw(landmarks5: np.ndarray) -> float:
    """The nose's sideways offset in the affine frame of the eyes and the mouth: nose - eyes' midpoint =
    a x half the eye axis + b x (mouth centre - eyes' midpoint); returns a. Any view of a flat picture
    (tilted, foreshortened, turned in the image) is close to an affine map of it, which leaves a where it
    is, while a head turning moves its nose off the eyes-to-mouth line: a print rocked in 3D reads no
    turn, where `yaw_index` read its foreshortening as one."""
    left, right, nose = (landmarks5[i].astype(np.float64) for i in range(3))
    middle = (left + right) / 2
    basis = np.c_[(right - left) / 2, landmarks5[3:].astype(np.float64).mean(axis=0) - middle]
    if abs(float(np.linalg.det(basis))) < 1e-6:
        return float("nan")
    return float(np.linalg.solve(basis, nose - middle)[0])


def yaw_index(landmarks5: np.ndarray) -> float:
    """Signed nose offset from the eyes' midpoint along the eye axis, in half eye spans."""
    left, right, nose = (landmarks5[i].astype(np.float64) for i in range(3))
    axis = right - left
    span = float(np.linalg.norm(axis))
    if span < 1e-6:
        return float("nan")
    return float(np.dot(nose - (left + right) / 2, axis / span) / (span / 2))
