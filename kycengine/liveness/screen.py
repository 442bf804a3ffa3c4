"""Screen replay: a phone or tablet held up to the camera, showing a photo or a video of the holder.

Five measured cues, each from SAMPLE_FRAMES frames spread over the video:
- moire: a screen's pixel grid, sampled again by the camera, leaves sharp periodic peaks in the
  spectrum of the face region (native resolution). Score: the strongest peak over the mean log power
  of its spectral neighbourhood, log10 (see `periodic_peak`), median over the frames.
- bezel: the device's dark frame around the picture. Thin dark structures (dark pixels left once
  blobs wider than BEZEL_MAX_PX are removed: hair, clothes) are searched for long straight lines
  (Hough) to the left of, to the right of and above the face; score: median number of those three
  sides found, divided by 3. Hands or the frame's bottom often hide the fourth side.
- flicker and banding: a screen's light pulses (refresh, PWM dimming), a rolling-shutter camera
  records the pulses as horizontal bands drifting from frame to frame, and the reflections on its
  glass slide as the hand tilts it; a face lit by the room changes smoothly. Each sampled frame's
  log-grey is compared with its neighbours' at STEPS, the face's shift taken out (`light_change`).
  Flicker: how far the face centre's change, less the room's, strays from its smooth trend over the
  steps (`flicker_banding`); banding: the row structure the left and right halves of the region
  around the face share (bands cross the whole screen, motion residue and noise do not). Medians
  over the frames, natural-log units.
- gamut: a screen's white is bluer than the room light a face is lit by. Score: median blue over
  median red of the face's centre, median over the frames.
- background: a screen that fills the frame has no bezel and, its pixels finer than the camera
  resolves, no moire; but its "background" is part of the picture too. A real room's light holds
  still from one frame to the next once the camera's shift is taken out; a filmed screen's does
  not: its pulsing bands, the reflections sliding on its glass as the hand tilts it, and the
  perspective of a tilting plane all change it. Score: the spatial spread (standard deviation
  about the median) of the smoothed log-grey change of the strips left and right of the face
  (beyond BACKGROUND_REACH face widths), the shift between the frames taken out (phase
  correlation); median over each sampled frame's two neighbours, strips and frames. Strips reach
  from the top down to the face's bottom only: shoulders move with the head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..image import shrink
from ..video import Frame
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
DIAGONAL_SPREAD = 20  # degrees: a diagonal peak (a halftone's) lies within this of 45 or 135 degrees
FACE_CORE = 0.2  # the face's centre is its box less this fraction of its size on each side
LIGHT_FACE_PX = 80  # the face's light is compared on copies where the face is at most this wide
BAND_REACH = 0.6  # face widths the flicker and banding region reaches beyond the face box, left and right
ROOM_REACH = 1.6  # the room is read beyond this many face widths from the face's centre, left and right
ROOM_STEP = 4  # the room's change is read on every 4th pixel of every 4th row: a median needs no more
ROOM_MIN_PX = 100  # fewer room pixels than this: the room is taken as unchanged
BAND_SMOOTH = 2.0  # rows: a row profile is smoothed this much (moire and sensor noise are finer than bands)
STEPS = (-3, -2, -1, 1, 2, 3)  # neighbours (kept frames) whose light each sampled frame is compared with
LOG_OFFSET = 8.0  # grey levels added before the log, so that noise in the darks does not dominate changes
BACKGROUND_REACH = 1.6  # the background strips start this many face widths left and right of the face's centre
BACKGROUND_WIDTH = 240  # the strips are compared on a copy of the frame this wide (px)
BACKGROUND_MIN_PX = 12  # a strip narrower than this (px on that copy) is not compared
BACKGROUND_SMOOTH = 3.0  # px: the change is smoothed this much (sensor noise is finer than light changes)


def periodic_peak(image: np.ndarray, centre: tuple[float, float], diagonal: bool = False) -> float:
    """log10 of the strongest spectral peak over its neighbourhood's (geometric) mean power, in BAND, for a
    high-passed Hann-windowed PATCH of `image` (BGR, native resolution) around `centre`; `diagonal`: only
    peaks within DIAGONAL_SPREAD degrees of a diagonal (the angle a printer's dot lattice is laid at)."""
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
    fx, fy = np.meshgrid(freq, freq)
    radius = np.hypot(fx, fy)
    inside = (radius >= BAND[0]) & (radius <= BAND[1])
    if diagonal:
        inside &= np.abs(np.degrees(np.arctan2(np.abs(fy), np.abs(fx))) - 45) <= DIAGONAL_SPREAD
    return float((log_power - background)[inside].max())


def _core(box: np.ndarray) -> np.ndarray:
    """The face's centre: `box` (x1, y1, x2, y2) less FACE_CORE of its size on each side, integer px."""
    box = np.asarray(box, np.float64)
    inset = FACE_CORE * (box[2:] - box[:2])
    return np.r_[box[:2] + inset, box[2:] - inset].astype(int)


def _row_profile(change: np.ndarray) -> np.ndarray:
    """Median of each row of `change`, smoothed by BAND_SMOOTH rows, its linear trend removed."""
    reach = 2 * int(3 * BAND_SMOOTH) + 1
    rows = cv2.GaussianBlur(np.median(change, axis=1).astype(np.float32)[:, None], (1, reach), 0,
                            sigmaY=BAND_SMOOTH, borderType=cv2.BORDER_REFLECT)[:, 0]
    # The least-squares line in closed form: np.polyfit's general solver costs more than the rest here.
    place = np.arange(len(rows), dtype=np.float32) - (len(rows) - 1) / 2
    slope = float(place @ (rows - rows.mean())) / max(float(place @ place), 1e-12)
    return rows - rows.mean() - slope * place


@dataclass(frozen=True, eq=False)
class Light:
    """A frame's light around a face: log grey (plus LOG_OFFSET) of the region around it, shrunk so
    that the face is at most LIGHT_FACE_PX wide (bands and a face's light are coarser than that), the
    region's top-left corner (frame px) and shrink, and log grey of the room's pixels."""

    region: np.ndarray
    corner: tuple[int, int]
    scale: float
    room: np.ndarray

    @classmethod
    def read(cls, image: np.ndarray, box: np.ndarray) -> Light:
        """The light around the face `box` (x1, y1, x2, y2) in `image` (BGR): the region spans the face's
        rows and BAND_REACH face widths beyond it left and right; the room is every ROOM_STEP-th pixel
        beyond ROOM_REACH face widths from the face's centre."""
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        face_w = max(x2 - x1, 1.0)
        left, right = int(max(0, x1 - BAND_REACH * face_w)), int(min(width, x2 + BAND_REACH * face_w))
        top, bottom = int(max(0, y1)), int(min(height, y2))
        scale = min(1.0, LIGHT_FACE_PX / face_w)
        centre, reach = (x1 + x2) / 2, ROOM_REACH * face_w
        room = np.concatenate([image[::ROOM_STEP, columns].reshape(-1, 1, 3)
                               for columns in (slice(0, int(max(0, centre - reach)), ROOM_STEP),
                                               slice(int(min(width, centre + reach)), None, ROOM_STEP))])
        room_grey = cv2.cvtColor(room, cv2.COLOR_BGR2GRAY).ravel() if room.size else np.zeros(0, np.uint8)
        size = (round((right - left) * scale), round((bottom - top) * scale))
        if min(size) < 1:
            region = np.zeros((0, 0), np.float32)
        else:
            grey = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_BGR2GRAY)
            region = np.log(shrink(grey, scale).astype(np.float32) + LOG_OFFSET)
        return cls(region, (left, top), scale, np.log(room_grey.astype(np.float32) + LOG_OFFSET))


def light_change(before: Light, after: Light, box: np.ndarray) -> tuple[float, float]:
    """How the light around the face `box` changed between two frames.

    The region's change once the face's shift between the frames is taken out (phase correlation).
    Returns its median over the face's centre less the room's median change, and the row structure
    the region's left and right halves share (root of the mean product of their row profiles): bands
    cross the whole screen, while motion residue and noise differ between the halves.
    """
    a, b = before.region, after.region
    if min(a.shape) < 32:
        return 0.0, 0.0
    size = a.shape[::-1]
    (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(size, cv2.CV_32F))
    back = cv2.warpAffine(b, np.array([[1, 0, -dx], [0, 1, -dy]], np.float32), size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
    edge = int(np.ceil(max(abs(dx), abs(dy)))) + 1  # rows and columns the shift filled in
    change = (back - a)[edge:-edge, edge:-edge]
    if min(change.shape) < 16:
        return 0.0, 0.0
    left, top = before.corner
    cx1, cy1, cx2, cy2 = ((_core(box) - (left, top, left, top)) * before.scale).astype(int) - edge
    core = change[max(0, cy1):max(0, cy2), max(0, cx1):max(0, cx2)]
    level = float(np.median(core)) if core.size else 0.0
    if before.room.size >= ROOM_MIN_PX:
        level -= float(np.median(after.room - before.room))
    half = change.shape[1] // 2
    shared = float(np.mean(_row_profile(change[:, :half]) * _row_profile(change[:, half:])))
    return level, float(np.sqrt(max(0.0, shared)))


def flicker_banding(frames: Sequence[Frame], position: int, box: np.ndarray) -> tuple[float, float] | None:
    """Flicker and banding of the frames around `position`, whose light is compared with its own at STEPS
    (`light_change`); None where the video is too short around it.

    Flicker: mean absolute deviation of the face's light changes (0 for the frame itself) from their
    trend over the steps (Theil-Sen line), the largest deviation left out. A face lit by the room
    brightens or darkens smoothly (exposure, turning towards a lamp), a pulsing screen's light and the
    reflections sliding on its glass jump from frame to frame; the robust trend and the deviation left
    out keep one step whose face shift was misread (a fast turn) from counting. Banding: median
    shared row structure of the changes.
    """
    steps = [k for k in STEPS if 0 <= position + k < len(frames)]
    if len(steps) < 2:
        return None
    here = Light.read(frames[position].image, box)
    changes = [light_change(here, Light.read(frames[position + k].image, box), box) for k in steps]
    from scipy.stats import theilslopes

    offsets = np.array([0, *steps], np.float64)
    levels = np.array([0.0, *(level for level, _ in changes)])
    residual = levels - theilslopes(levels, offsets).slope * offsets
    deviations = np.sort(np.abs(residual - np.median(residual)))[:-1]
    return float(np.mean(deviations)), float(np.median([bands for _, bands in changes]))


def blue_cast(image: np.ndarray, box: np.ndarray) -> float:
    """Median blue over median red of the face's centre."""
    x1, y1, x2, y2 = np.maximum(_core(box), 0)
    core = image[y1:y2, x1:x2].reshape(-1, 3)
    if not core.size:
        return 0.0
    blue, _, red = np.median(core, axis=0)
    return float(blue / max(float(red), 1.0))


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
    return dark & (1 - np.asarray(cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel), np.uint8))


def bright_thin(grey: np.ndarray) -> np.ndarray:
    """Thin structures brighter than their surroundings by BRIGHT_CONTRAST (a photo's white border)."""
    kernel = np.ones((BEZEL_MAX_PX, BEZEL_MAX_PX), np.uint8)
    return (cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel) > BRIGHT_CONTRAST).astype(np.uint8)


def background_strips(image: np.ndarray, box: np.ndarray) -> list[np.ndarray]:
    """Log grey (plus LOG_OFFSET) of the frame's strips left and right of the face `box` beyond
    BACKGROUND_REACH face widths, from the top down to the face's bottom (the shoulders below move
    with the head), on a copy BACKGROUND_WIDTH px wide; strips narrower than BACKGROUND_MIN_PX left out."""
    scale = min(1.0, BACKGROUND_WIDTH / image.shape[1])
    grey = shrink(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), scale)
    width = grey.shape[1]
    x1, _, x2, y2 = (float(v) * scale for v in box)
    grey = grey[:max(2 * BACKGROUND_MIN_PX, int(y2))]
    centre, reach = (x1 + x2) / 2, BACKGROUND_REACH * (x2 - x1)
    spans = ((0, int(max(0.0, centre - reach))), (int(min(width, centre + reach)), width))
    return [np.log(grey[:, lo:hi].astype(np.float32) + LOG_OFFSET) for lo, hi in spans if hi - lo >= BACKGROUND_MIN_PX]


def strip_change(before: np.ndarray, after: np.ndarray) -> float | None:
    """Spatial spread of the smoothed change between two strips once their shift is taken out (see the
    module); None where too little is left after the shift."""
    size = before.shape[::-1]
    (dx, dy), _ = cv2.phaseCorrelate(before, after, cv2.createHanningWindow(size, cv2.CV_32F))
    back = cv2.warpAffine(after, np.array([[1, 0, -dx], [0, 1, -dy]], np.float32), size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
    edge = int(np.ceil(max(abs(dx), abs(dy)))) + 2
    change = (back - before)[edge:-edge, edge:-edge]
    if min(change.shape) < BACKGROUND_MIN_PX // 2:
        return None
    smooth = cv2.GaussianBlur(change, (0, 0), BACKGROUND_SMOOTH)
    return float(np.std(smooth - np.median(smooth)))


def background_change(frames: Sequence[Frame], position: int, box: np.ndarray) -> list[float]:
    """Background changes (`strip_change`) between the frame at `position` and its two neighbours."""
    here = background_strips(frames[position].image, box)
    changes = []
    for other in (position - 1, position + 1):
        if 0 <= other < len(frames):
            there = background_strips(frames[other].image, box)
            changes += [c for a, b in zip(here, there) if a.shape == b.shape and (c := strip_change(a, b)) is not None]
    return changes


@dataclass(frozen=True)
class ScreenCues:
    """Medians over the sampled frames (positions in the video): moire peak, bezel sides (0-1), flicker
    and banding (log grey, against the neighbouring frames), gamut (blue over red of the face) and
    background (log grey; nan where no background strip was wide enough)."""

    moire: float
    bezel: float
    flicker: float
    banding: float
    gamut: float
    background: float
    frames: tuple[int, ...]


def screen_cues(samples: Samples, frames: Sequence[Frame]) -> ScreenCues:
    """Moire, bezel, flicker, banding and gamut scores over the sampled frames (`frames`: the whole video,
    for the frames around each sample)."""
    if not samples.positions:
        return ScreenCues(0.0, 0.0, 0.0, 0.0, 0.0, float("nan"), ())
    moire, bezel, gamut, flicker, banding, background = [], [], [], [], [], []
    for position, image, box, grey, scale in zip(samples.positions, samples.images, samples.boxes, samples.proxies,
                                                 samples.scales):
        moire.append(periodic_peak(image, ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)))
        bezel.append(len(thin_lines_around(dark_thin(grey), box * scale)) / 3)
        if samples.faces_seen:  # a face's colour: without one, the frame's middle is anything
            gamut.append(blue_cast(image, box))
        if samples.faces_seen:  # strips beside a face: without one, there is nothing to stand beside
            background += background_change(frames, position, box)
        light = flicker_banding(frames, position, box)
        if light is not None:
            flicker.append(light[0])
            banding.append(light[1])
    return ScreenCues(float(np.median(moire)), float(np.median(bezel)),
                      float(np.median(flicker)) if flicker else 0.0, float(np.median(banding)) if banding else 0.0,
                      float(np.median(gamut)) if gamut else 0.0,
                      float(np.median(background)) if background else float("nan"), samples.positions)
