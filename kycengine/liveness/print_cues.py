"""Printed photo: a picture of the holder on paper, held up to the camera.

A print is a plane (the parallax cue says so); these cues say it is paper rather than a screen:
- border: the photo's white margin, a thin bright band with straight sides around the face. Thin
  structures brighter than their surroundings (white top-hat) are searched for long straight lines
  left of, right of and above the face (as for a screen's bezel); score: median number of those
  sides found over the sampled frames, divided by 3.
- halftone: a laser printer's dot screen is a periodic lattice printed at 45 degrees; measured by the
  same spectral peak as a screen's moire (`screen.periodic_peak`), restricted to diagonal
  frequencies (a screen's pixel grid lies along the device's edges); median over the frames.
- flat: paper reflects the room's light evenly, between the ink's black (well above a camera's
  black) and the paper's white (no specular highlight above it): the face's tones span a narrow range.
  Score: the face box's 1st over its 99th grey-level percentile, median over the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .frames import Samples
from .screen import bright_thin, periodic_peak, thin_lines_around

TONE_PERCENTILES = (1, 99)  # the face's darkest and brightest grey levels, robust to a few odd pixels


@dataclass(frozen=True)
class PrintCues:
    """Medians over the sampled frames (positions in the video): photo-border sides (0-1), diagonal
    spectral peak (halftone) and dark-to-bright ratio of the face (flat)."""

    border: float
    halftone: float
    flat: float
    frames: tuple[int, ...]


def tone_ratio(image: np.ndarray, box: np.ndarray) -> float:
    """The face box's darkest over its brightest grey level (TONE_PERCENTILES); 0 for an empty box."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    face = image[max(0, y1):min(height, y2), max(0, x1):min(width, x2)]
    if not face.size:
        return 0.0
    dark, bright = np.percentile(cv2.cvtColor(face, cv2.COLOR_BGR2GRAY), TONE_PERCENTILES)
    return float(dark / max(float(bright), 1.0))


def print_cues(samples: Samples) -> PrintCues:
    """Border, halftone and flat scores over the sampled frames."""
    if not samples.positions:
        return PrintCues(0.0, 0.0, 0.0, ())
    border, halftone, flat = [], [], []
    for image, box, grey, scale in zip(samples.images, samples.boxes, samples.proxies, samples.scales):
        border.append(len(thin_lines_around(bright_thin(grey), box * scale)) / 3)
        halftone.append(periodic_peak(image, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), diagonal=True))
        if samples.faces_seen:  # a face's tones: without one, the frame's middle is anything
            flat.append(tone_ratio(image, box))
    return PrintCues(float(np.median(border)), float(np.median(halftone)), float(np.median(flat)) if flat else 0.0,
                     samples.positions)
