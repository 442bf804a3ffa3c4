"""Printed photo: a picture of the holder on paper, held up to the camera.

A print is a plane (the parallax cue says so); these cues say it is paper rather than a screen:
- border: the photo's white margin, a thin bright band with straight sides around the face. Thin
  structures brighter than their surroundings (white top-hat) are searched for long straight lines
  left of, right of and above the face (as for a screen's bezel); score: median number of those
  sides found over the sampled frames, divided by 3.
- halftone: a printer's dot screen is a periodic texture; it is measured by the same spectral peak
  as a screen's moire (`screen.periodic_peak`) and only read as print where no bezel is seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import Samples
from .screen import bright_thin, thin_lines_around


@dataclass(frozen=True)
class PrintCues:
    """Median photo-border sides (0-1) over the sampled frames (positions in the video)."""

    border: float
    frames: tuple[int, ...]


def print_cues(samples: Samples) -> PrintCues:
    """Border score over the sampled frames."""
    border = [len(thin_lines_around(bright_thin(grey), box * scale)) / 3
              for box, grey, scale in zip(samples.boxes, samples.proxies, samples.scales)]
    return PrintCues(float(np.median(border)) if border else 0.0, samples.positions)
