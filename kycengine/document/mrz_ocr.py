"""OCR of an upright MRZ band with Tesseract's `mrz` model through one persistent API handle.

tesserocr keeps the model loaded between calls (pytesseract would start a process per image, as
PassportEye does); the handle is not thread-safe, so each reader owns one and each worker process
builds its own reader.
"""

from __future__ import annotations

import re

import numpy as np
import tesserocr
from PIL import Image

from ..models import Registry

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_NOT_MRZ = re.compile(r"[^A-Z0-9<]")


class TesseractMRZ:
    """Tesseract LSTM with the `mrz` traineddata (model id `tesseract_mrz` in the manifest)."""

    model_id = "tesseract_mrz"

    def __init__(self, registry: Registry) -> None:
        traineddata = registry.path(self.model_id)
        self._api = tesserocr.PyTessBaseAPI(path=str(traineddata.parent), lang=traineddata.stem,
                                            psm=tesserocr.PSM.SINGLE_BLOCK)
        self._api.SetVariable("tessedit_char_whitelist", _ALPHABET)
        self._api.SetVariable("load_system_dawg", "0")
        self._api.SetVariable("load_freq_dawg", "0")

    def read(self, band: np.ndarray) -> tuple[str, ...]:
        """Raw text lines of a grey band image, spaces removed, empty lines dropped."""
        self._api.SetImage(Image.fromarray(band))
        text = self._api.GetUTF8Text().upper().replace(" ", "")
        return tuple(line for line in (_NOT_MRZ.sub("", l) for l in text.splitlines()) if line)

    def close(self) -> None:
        """Release Tesseract's memory."""
        self._api.End()


def line_variants(line: str, width: int) -> tuple[str, ...]:
    """Ways to bring one OCR line to `width`: as is, or with one character dropped or one filler
    inserted at each position (Tesseract's usual slips are one extra or one missing glyph)."""
    if len(line) == width:
        return (line,)
    if len(line) == width + 1:
        return tuple(dict.fromkeys(line[:i] + line[i + 1:] for i in range(len(line))))
    if len(line) == width - 1:
        return tuple(dict.fromkeys(line[:i] + "<" + line[i:] for i in range(len(line) + 1)))
    return (line[:width].ljust(width, "<"),)
