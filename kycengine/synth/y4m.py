"""Uncompressed YUV4MPEG2 (.y4m) videos: what Chromium's fake camera plays
(`--use-file-for-fake-video-capture=FILE.y4m`), so a browser test films a generated capture.

The format is a text header line, then per frame `FRAME\\n` and the I420 planes (Y at full size, then
U and V at half size each way). Written here in a few lines with OpenCV's BGR -> I420 conversion: a
muxer would add nothing to a format this simple.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import InvalidInput


def write_y4m(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: float) -> Path:
    """Write BGR uint8 frames (all the same even width and height) to `path` at `fps`; returns it."""
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise InvalidInput(f"y4m: the frame rate must be positive, got {fps}")
    out = Path(path)
    size: tuple[int, ...] | None = None
    with out.open("wb") as stream:
        for image in frames:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise InvalidInput("y4m: frames must be BGR uint8 images")
            if size is None:
                size = image.shape
                height, width = size[:2]
                if height % 2 or width % 2:
                    raise InvalidInput(f"y4m: {width}x{height} px: I420 needs an even width and height")
                header = f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg\n"
                stream.write(header.encode("ascii"))
            elif image.shape != size:
                raise InvalidInput("y4m: every frame must have the size of the first")
            stream.write(b"FRAME\n")
            stream.write(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes())
    if size is None:
        out.unlink()
        raise InvalidInput("y4m: no frame to write")
    return out
