"""One-to-one face comparison of two still images: the largest face of each, embedded and scored."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInput
from ..models import Registry
from ..records import Record
from ..schema import MatchDecision
from .backends import DetectedFace, FaceBackend, get_backend
from .thresholds import threshold_for


@dataclass(frozen=True)
class FaceComparison(Record):
    """Cosine similarity of two faces and what it means under the backend's threshold and band."""

    score: float
    decision: MatchDecision
    backend: str
    threshold: float
    uncertain_band: float


def require_bgr(image: object, what: str) -> np.ndarray:
    """`image` when it is a non-empty H x W x 3 uint8 array, else InvalidInput naming `what`."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
            or image.shape[2] != 3 or not image.size:
        raise InvalidInput(f"{what}: expected a BGR uint8 image (H x W x 3)")
    return image


def largest_face(backend: FaceBackend, image: np.ndarray, what: str) -> DetectedFace:
    """The largest face in a BGR image; InvalidInput naming `what` when it is no image or has no face."""
    found = backend.detect(require_bgr(image, what))
    if not found:
        raise InvalidInput(f"{what}: no face found")
    return found[0]


def compare_faces(image_a: np.ndarray, image_b: np.ndarray, *, backend: str = "insightface",
                  registry: Registry | None = None) -> FaceComparison:
    """Compare the largest face of each BGR image; an image without a face raises InvalidInput."""
    engine = get_backend(backend, registry)
    embeddings = [engine.embed(image, largest_face(engine, image, what))
                  for image, what in ((image_a, "image A"), (image_b, "image B"))]
    score = float(embeddings[0] @ embeddings[1])
    threshold = threshold_for(backend)
    return FaceComparison(score=score, decision=threshold.decide(score), backend=backend,
                          threshold=threshold.cosine, uncertain_band=threshold.band)
