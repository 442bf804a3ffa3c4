"""The `face_recognition` library (dlib ResNet, HOG detector) as a peer on the face-pair benchmark.

Installed by the benchmark's own set-up (`scripts/setup-bench.sh`), never by the main install.
It is scored with its own metric and documented tolerance: 1 - euclidean distance, so its
default `tolerance=0.6` is a threshold of 0.4 on the same "higher is more similar" scale.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from kycengine.face.backends import DetectedFace
from kycengine.face.thresholds import MatchThreshold

from . import face_pairs

THRESHOLD = MatchThreshold(
    backend="face_recognition", model="dlib_face_recognition_resnet_model_v1 (face_recognition_models)",
    cosine=0.4, band=0.0, target_fmr=1e-3,
    source="face_recognition's documented default tolerance 0.6 (euclidean), scored as 1 - distance",
    measured="")


class DlibPeer:
    """face_recognition behind kycengine's FaceBackend interface (detect + embed)."""

    name = "face_recognition"
    model_ids = ("dlib_resnet_v1",)

    def __init__(self) -> None:
        import face_recognition

        self._fr = face_recognition

    def detect(self, image_bgr: np.ndarray) -> list[DetectedFace]:
        """HOG detections, upsampled once (the library's default), largest first."""
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        boxes = self._fr.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
        faces = [DetectedFace(box=(float(l), float(t), float(r), float(b)), score=1.0,
                              landmarks5=np.zeros((5, 2), np.float32)) for t, r, b, l in boxes]
        return sorted(faces, key=lambda f: -f.area)

    def embed(self, image_bgr: np.ndarray, face: DetectedFace) -> np.ndarray:
        """128-d dlib descriptor of the given face."""
        l, t, r, b = (int(round(v)) for v in face.box)
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        return self._fr.face_encodings(rgb, [(t, r, b, l)])[0]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 - euclidean distance: face_recognition's own metric on a higher-is-closer scale."""
    return 1.0 - float(np.linalg.norm(a - b))


def run() -> dict[str, Any]:
    """The face-pair benchmark for the peer."""
    return face_pairs.run("face_recognition", DlibPeer(), THRESHOLD, similarity)
