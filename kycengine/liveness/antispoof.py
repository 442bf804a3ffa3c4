"""Optional learned cue: a MiniFASNet-style anti-spoofing model the operator supplies.

No package ships such weights, so the registry entry `antispoof_minifasnet` is optional: when the
operator puts the ONNX file and its manifest entry in $KYC_MODEL_DIR the cue runs, otherwise it is
skipped (and the evidence says so). An operator's entry must then be usable: a missing or altered
file, or a model without the interface below, raises ModelUnavailable when the stage is built.
Input as in Silent-Face-Anti-Spoofing's `CropImage`: the face box scaled CROP_SCALE times around its
centre (less where the frame is too small), shifted to stay inside the frame, resized to the
model's input (80x80), BGR, raw 0-255 values with the manifest's mean/std; one float NCHW input,
one output of CLASSES logits whose softmax gives class REAL_CLASS = real.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import cv2
import numpy as np

from ..errors import ModelUnavailable
from ..models import ModelSpec, Registry
from .frames import Samples

MODEL_ID = "antispoof_minifasnet"
CROP_SCALE = 2.7
CLASSES = 3
REAL_CLASS = 1


def _inside(low: float, high: float, last: int) -> tuple[int, int]:
    """The span low..high moved, not shrunk, to lie within pixels 0..last; as (first, end) pixels,
    end exclusive."""
    if low < 0:
        low, high = 0.0, high - low
    if high > last:
        low, high = low - (high - last), float(last)
    return int(low), int(high) + 1


def crop_box(box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel bounds (left, top, right, bottom; right and bottom exclusive) of the model's crop in a
    width x height frame: `box` scaled CROP_SCALE times about its centre (less where the frame is too
    small), then shifted, not shrunk, to stay inside the frame."""
    x1, y1, x2, y2 = (float(v) for v in box)
    box_w, box_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    scale = min((height - 1) / box_h, (width - 1) / box_w, CROP_SCALE)
    half_w, half_h = box_w * scale / 2, box_h * scale / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, right = _inside(cx - half_w, cx + half_w, width - 1)
    top, bottom = _inside(cy - half_h, cy + half_h, height - 1)
    return left, top, right, bottom


def _fits(shape: Sequence[int | str | None], expected: tuple[int, ...]) -> bool:
    """Whether a declared tensor shape is `expected`; only the batch dimension may be left open."""
    return (len(shape) == len(expected) and (not isinstance(shape[0], int) or shape[0] == expected[0])
            and tuple(shape[1:]) == expected[1:])


def _check_interface(session: Any, spec: ModelSpec, path: str, width: int, height: int) -> None:
    """Refuse a model whose input or output differs from what the crop and the softmax need, at load
    rather than inside the first inference (or, for a wrong class count, never noticed)."""
    wanted_in, wanted_out = (1, 3, height, width), (1, CLASSES)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if (len(inputs) == 1 and inputs[0].type == "tensor(float)" and _fits(inputs[0].shape, wanted_in)
            and outputs and _fits(outputs[0].shape, wanted_out)):
        return
    found = "; ".join(f"{kind} {arg.name!r} {arg.type} {arg.shape}"
                      for kind, args in (("input", inputs), ("output", outputs[:1])) for arg in args)
    raise ModelUnavailable(
        f"model {spec.id}: {path} has {found}; the liveness stage needs one tensor(float) input "
        f"{list(wanted_in)} (NCHW, size from its manifest entry) and a first output {list(wanted_out)} "
        f"(logits, class {REAL_CLASS} = real); {spec.install_hint}")


class AntiSpoof:
    """The operator's MiniFASNet, loaded once per registry and checked against its manifest entry."""

    model_id = MODEL_ID

    def __init__(self, registry: Registry) -> None:
        spec = registry.spec(MODEL_ID)
        width, height = (int(v) for v in spec.input.size[:2])
        self.size = (width, height)
        self.mean, self.std = float(spec.input.mean), float(spec.input.std)
        self.swap_rb = spec.input.colour.upper() == "RGB"
        self._session = registry.onnx_session(MODEL_ID)
        _check_interface(self._session, spec, str(registry.path(MODEL_ID)), width, height)
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def crop(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The scaled face crop (see `crop_box`), resized to the model's input."""
        left, top, right, bottom = crop_box(box, image.shape[1], image.shape[0])
        return cv2.resize(image[top:bottom, left:right], self.size, interpolation=cv2.INTER_LINEAR)

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
    """The model for `registry`, loaded once; None while nobody supplied it. An entry from the
    operator's folder must load: its problems raise ModelUnavailable instead of skipping the cue."""
    if registry.spec(MODEL_ID).origin == "manifest" and not registry.available(MODEL_ID):
        return None
    return _build(registry)
