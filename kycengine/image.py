"""Read a still image (photo or scan of a document) with the same limits as videos."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .errors import InvalidMedia
from .video import MAX_SIDE, check_media_file


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """BGR uint8 image; raises InvalidMedia for a missing, empty, oversized or undecodable file."""
    path = Path(path)
    check_media_file(path)
    data = np.fromfile(path, dtype=np.uint8)
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        raise InvalidMedia(f"{path}: not a readable image")
    if max(header.shape) * 8 > MAX_SIDE + 8:  # the 1/8 preview bounds the size before a full decode
        raise InvalidMedia(f"{path}: larger than {MAX_SIDE} px on a side")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidMedia(f"{path}: not a readable image")
    return image
