"""A frame from the customer's browser: a JPEG checked for size (bytes, then the dimensions its
header declares) before a pixel is decoded, so no frame costs more memory than the limits allow."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from kycengine.errors import InvalidMedia

from ..config import WebConfig
from .errors import FrameTooLarge

MIN_SIDE = 64


def decode(data: bytes, config: WebConfig) -> np.ndarray:
    """The BGR image of one JPEG frame; FrameTooLarge over the limits, InvalidMedia if it is not a
    JPEG of sensible dimensions."""
    if len(data) > config.capture_max_frame_bytes:
        raise FrameTooLarge(f"a frame of {len(data)} bytes is over the {config.capture_max_frame_bytes} byte limit")
    if not data.startswith(b"\xff\xd8\xff"):
        raise InvalidMedia("a frame must be a JPEG image")
    try:  # Pillow reads the header only: the dimensions are known before any decoding
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as header:
            width, height = header.size
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidMedia(f"unreadable JPEG frame: {exc}") from None
    if max(width, height) > config.capture_max_frame_side:
        raise FrameTooLarge(f"a frame of {width}x{height} px is over the {config.capture_max_frame_side} px limit")
    if min(width, height) < MIN_SIDE:
        raise InvalidMedia(f"a frame of {width}x{height} px is under {MIN_SIDE} px")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.shape[:2] != (height, width):
        raise InvalidMedia("the JPEG frame could not be decoded")
    return image
