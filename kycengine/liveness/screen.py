"""Screen replay: a phone or tablet held up to the camera, showing a photo or a video of the holder.

Two measured cues, each from SAMPLE_FRAMES frames spread over the video:
- moire: a screen's pixel grid, sampled again by the camera, leaves sharp periodic peaks in the
  spectrum of the face region (native resolution). Score: the strongest peak over the mean log power
  of its spectral neighbourhood, log10 (see `periodic_peak`), median over the frames.
- bezel: the device's dark frame around the picture. Thin dark structures (dark pixels left once
  blobs wider than BEZEL_MAX_PX are removed: hair, clothes) are searched for long straight lines
  (Hough) to the left of, to the right of and above the face; score: median number of those three
  sides found, divided by 3. Hands or the frame's bottom often hide the fourth side.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .frames import Samples, grey_patch

PATCH = 128  # native-resolution patch (px) whose spectrum is examined, centred on the face
BAND = (0.06, 0.5)  # radial frequencies (cycles / px) searched for peaks: periods of 2-16 px
PEAK_NEIGHBOURHOOD = 9  # spectral bins around a frequency its power is compared with (mean log power)
DARK_FRACTION = 0.35  # a bezel pixel is darker than this fraction of the frame's median grey
DARK_MIN = 20  # ... and than this grey level at least (very dark scenes)
BEZEL_MAX_PX = 13  # structures wider than this (proxy px at 320) are blobs, not a bezel
LINE_MIN = 0.4  # a bezel side is at least this fraction of the proxy's height long
SIDE_REACH = 3.0  # and lies within this many face widths of the face box
VERTICAL_DEG = 65  # lines steeper than this are sides; flatter than 90 - this the top
BRIGHT_CONTRAST = 25  # grey levels a thin bright line stands above its surroundings (photo border)


def periodic_peak(image: np.ndarray, centre: tuple[float, float]) -> float:
    """log10 of the strongest spectral peak over its neighbourhood's (geometric) mean power, in BAND, for a
    high-passed Hann-windowed PATCH of `image` (BGR, native resolution) around `centre`."""
    patch = grey_patch(image, centre, PATCH)
    size = patch.shape[0]
    if size < 32:
        return 0.0
    patch -= cv2.GaussianBlur(patch, (0, 0), 2.0)
    window = np.outer(np.hanning(size), np.hanning(size)).astype(np.float32)
    power = np.abs(np.fft.fftshift(np.fft.fft2(patch * window))) ** 2
    log_power = np.log10(power + 1e-6)
    background = cv2.blur(log_power.astype(np.float32), (PEAK_NEIGHBOURHOOD, PEAK_NEIGHBOURHOOD),
                          borderType=cv2.BORDER_REFLECT)
    freq = np.fft.fftshift(np.fft.fftfreq(size))
    radius = np.hypot(*np.meshgrid(freq, freq))
    inside = (radius >= BAND[0]) & (radius <= BAND[1])
    return float((log_power - background)[inside].max())


def thin_lines_around(mask: np.ndarray, face: np.ndarray) -> set[str]:
    """Which of "left", "right", "top" of the face box have a long straight line of `mask` (proxy px)."""
    height = mask.shape[0]
    length = int(LINE_MIN * height)
    lines = cv2.HoughLinesP(mask * 255, 1, np.pi / 180, threshold=max(10, length // 2), minLineLength=length,
                            maxLineGap=10)
    sides: set[str] = set()
    if lines is None:
        return sides
    x1, y1, x2, _ = face
    width, centre = x2 - x1, (x1 + x2) / 2
    for a, b, c, d in lines[:, 0]:
        angle = np.degrees(np.arctan2(abs(d - b), abs(c - a)))
        if angle > VERTICAL_DEG:
            if x1 - SIDE_REACH * width < min(a, c) and max(a, c) < x1 - 0.1 * width:
                sides.add("left")
            if x2 + 0.1 * width < min(a, c) and max(a, c) < x2 + SIDE_REACH * width:
                sides.add("right")
        elif angle < 90 - VERTICAL_DEG and max(b, d) < y1 and min(a, c) < centre < max(a, c):
            sides.add("top")
    return sides


def dark_thin(grey: np.ndarray) -> np.ndarray:
    """Dark pixels that belong to thin structures (a bezel), not to wide dark blobs (uint8 0/1)."""
    dark = (grey < max(DARK_MIN, DARK_FRACTION * float(np.median(grey)))).astype(np.uint8)
    kernel = np.ones((BEZEL_MAX_PX, BEZEL_MAX_PX), np.uint8)
    return dark & (1 - cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel))


def bright_thin(grey: np.ndarray) -> np.ndarray:
    """Thin structures brighter than their surroundings by BRIGHT_CONTRAST (a photo's white border)."""
    kernel = np.ones((BEZEL_MAX_PX, BEZEL_MAX_PX), np.uint8)
    return (cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel) > BRIGHT_CONTRAST).astype(np.uint8)


@dataclass(frozen=True)
class ScreenCues:
    """Median moire peak and bezel sides (0-1) over the sampled frames (positions in the video)."""

    moire: float
    bezel: float
    frames: tuple[int, ...]


def screen_cues(samples: Samples) -> ScreenCues:
    """Moire and bezel scores over the sampled frames."""
    if not samples.positions:
        return ScreenCues(0.0, 0.0, ())
    moire, bezel = [], []
    for image, box, grey, scale in zip(samples.images, samples.boxes, samples.proxies, samples.scales):
        moire.append(periodic_peak(image, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)))
        bezel.append(len(thin_lines_around(dark_thin(grey), box * scale)) / 3)
    return ScreenCues(float(np.median(moire)), float(np.median(bezel)), samples.positions)
