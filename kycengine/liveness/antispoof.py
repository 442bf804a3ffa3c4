"""Optional learned cue: a MiniFASNet-style anti-spoofing model the operator supplies.

No package ships such weights, so the registry entry `antispoof_minifasnet` is optional: when the
operator puts the ONNX file and its manifest entry in $KYC_MODEL_DIR the cue runs, otherwise it is
skipped (and the evidence says so). Input as in Silent-Face-Anti-Spoofing's `CropImage`: the face
box scaled CROP_SCALE times around its centre (less where the frame is too small), shifted to stay
inside the frame, resized to the model's input (80x80), BGR, raw 0-255 values with the manifest's
mean/std; the output's softmax over 3 classes, class 1 = real.
"""

from __future__ import annotations

import threading
from functools import cache

import cv2
import numpy as np

from ..models import Registry
from .frames import Samples

MODEL_ID = "antispoof_minifasnet"
CROP_SCALE = 2.7
REAL_CLASS = 1


class AntiSpoof:
    """The operator's MiniFASNet, loaded once per registry."""

    model_id = MODEL_ID

    def __init__(self, registry: Registry) -> None:
        spec = registry.spec(MODEL_ID)
        width, height = (int(v) for v in spec.input.size[:2])
        self.size = (width, height)
        self.mean, self.std = float(spec.input.mean), float(spec.input.std)
        self.swap_rb = spec.input.colour.upper() == "RGB"
        self._session = registry.onnx_session(MODEL_ID)
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def crop(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The scaled face crop, resized to the model's input."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        box_w, box_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        scale = min((height - 1) / box_h, (width - 1) / box_w, CROP_SCALE)
        new_w, new_h = box_w * scale, box_h * scale
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left = int(np.clip(cx - new_w / 2, 0, width - 1 - new_w))
        top = int(np.clip(cy - new_h / 2, 0, height - 1 - new_h))
        crop = image[top:top + int(new_h) + 1, left:left + int(new_w) + 1]
        return cv2.resize(crop, self.size, interpolation=cv2.INTER_LINEAR)

    def real_probability(self, image: np.ndarray, box: np.ndarray) -> float:
        """Softmax probability of the 'real' class for the face in `box`."""
        blob = cv2.dnn.blobFromImage(self.crop(image, box), 1.0 / self.std, self.size,
                                     (self.mean, self.mean, self.mean), swapRB=self.swap_rb)
        with self._lock:
            logits = np.asarray(self._session.run(None, {self._input: blob})[0], np.float64).ravel()
        exp = np.exp(logits - logits.max())
        return float(exp[REAL_CLASS] / exp.sum())

    def score(self, samples: Samples) -> float:
        """Mean real probability over the sampled frames (nan when no face was seen)."""
        if not samples.faces_seen:
            return float("nan")
        return float(np.mean([self.real_probability(image, box)
                              for image, box in zip(samples.images, samples.boxes)]))


@cache
def _build(registry: Registry) -> AntiSpoof:
    return AntiSpoof(registry)


def get_antispoof(registry: Registry) -> AntiSpoof | None:
    """The operator's model for `registry`, loaded once; None when it is not installed."""
    if not registry.available(MODEL_ID):
        return None
    return _build(registry)
