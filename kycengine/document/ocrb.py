"""Read MRZ lines off a rectified document with OCR-B templates matched at the known pitch.

On a rectified document the MRZ is where its layout says, give or take the rectification error and
the print tolerance: lines at a known spacing, characters at 2.54 mm. Each of the 37 MRZ glyphs is
rendered from the OCR-B font at the document's scale (supersampled, so sub-pixel placement is
right) and blurred to a few softness levels; every glyph is matched against each line strip by
normalised cross-correlation (`cv2.matchTemplate`, one call per glyph and line). The character grid
(left edge and exact pitch) is then fitted to the peaks, and each cell takes the best glyph its
slot allows (digits where the format wants digits). Scores are kept per cell and per glyph so
that frames can be combined by summing evidence rather than by majority of hard decisions.
Tesseract stays the fallback for anything this does not read confidently.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .layout import MRZ_CAP_HEIGHT_MM, MRZ_PITCH_MM, Layout
from .mrz import LAYOUTS as MRZ_LAYOUTS
from .mrz import CharClass

OCRB_FONT = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
GLYPHS = string.ascii_uppercase + string.digits + "<"
_CAP_EM = 0.71  # OCR-B capitals are 0.71 em tall
_SUPERSAMPLE = 4
_BLURS = (0.7, 1.4, 2.2, 3.2)  # template softness levels, in pixels at 8 px/mm (scaled with px/mm)
SEARCH_MM = 3.0  # how far the MRZ may sit from its layout position, vertically and horizontally
_ALLOWED = {
    CharClass.DIGIT: string.digits + "<",
    CharClass.ALPHA: string.ascii_uppercase + "<",
    CharClass.NAME: string.ascii_uppercase + "<",
    CharClass.ALNUM: GLYPHS,
}


@dataclass(frozen=True, eq=False)
class TemplateReading:
    """MRZ lines read by template matching, with the evidence behind each character."""

    lines: tuple[str, ...]
    scores: np.ndarray = field(repr=False)  # (lines, width, 37) best correlation of each glyph per cell
    confidence: float  # mean over cells of the chosen glyph's correlation
    margin: float  # mean over cells of (best - second best) correlation among allowed glyphs
    blur: int  # the template softness level that fitted (index into the levels)


def font_available() -> bool:
    """True when Debian's fonts-ocr-b is installed."""
    return OCRB_FONT.is_file()


@cache
def _templates(px_per_mm: float) -> tuple[np.ndarray, int, int]:
    """(blur levels, 37, h, w) float32 glyph templates, and the baseline row and cap height in them."""
    pitch = MRZ_PITCH_MM * px_per_mm
    cap = MRZ_CAP_HEIGHT_MM * px_per_mm
    w = int(round(pitch * 0.9))
    above, below = 0.35 * cap, 0.25 * cap
    h = int(round(cap + above + below))
    baseline = int(round(cap + above))
    s = _SUPERSAMPLE
    font = ImageFont.truetype(str(OCRB_FONT), int(round(cap / _CAP_EM * s)))
    glyphs = np.empty((len(GLYPHS), h, w), np.float32)
    for i, char in enumerate(GLYPHS):
        canvas = Image.new("L", (w * s, h * s), 255)
        ImageDraw.Draw(canvas).text((w * s / 2, baseline * s), char, font=font, fill=0, anchor="ms")
        glyphs[i] = cv2.resize(np.asarray(canvas, np.float32), (w, h), interpolation=cv2.INTER_AREA)
    scale = px_per_mm / 8.0
    levels = np.stack([np.stack([cv2.GaussianBlur(g, (0, 0), sigma * scale) for g in glyphs]) for sigma in _BLURS])
    return levels, baseline, int(round(cap))


def allowed_masks(layout: Layout) -> list[np.ndarray]:
    """Per line, a (width, 37) boolean mask of the glyphs each position may hold."""
    mrz_layout = MRZ_LAYOUTS[layout.mrz_format]
    masks = [np.ones((layout.mrz_width, len(GLYPHS)), bool) for _ in range(layout.mrz_lines)]
    for row, col, slot in mrz_layout.positions():
        allowed = np.array([c in _ALLOWED[slot.cls] for c in GLYPHS])
        masks[row][col:col + slot.length] = allowed
    return masks


def _ink(grey: np.ndarray, cap: int) -> np.ndarray:
    """Dark print lifted off its background (black-hat), float32."""
    size = max(3, int(cap * 1.4)) | 1
    return cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))).astype(np.float32)


def _find_baselines(ink: np.ndarray, expected: np.ndarray, cap: int, reach: int) -> np.ndarray:
    """Baselines (rows of `ink`) of the lines: the comb of line bands that best fits the ink profile."""
    profile = ink.mean(axis=1)
    best, best_shift = -1.0, 0
    for shift in range(-reach, reach + 1):
        total = 0.0
        for b in expected + shift:
            top, bottom = int(round(b - cap)), int(round(b))
            if top < 0 or bottom > len(profile):
                total = -1.0
                break
            total += profile[top:bottom].sum()
        if total > best:
            best, best_shift = total, shift
    return expected + best_shift


def read_mrz_zone(grey: np.ndarray, layout: Layout, px_per_mm: float, origin_mm: tuple[float, float],
                  blur: int | None = None) -> TemplateReading | None:
    """Read the MRZ of `layout` from `grey`, a rectified crop whose top-left is `origin_mm` on the document.

    `grey` must cover the MRZ box with `SEARCH_MM` to spare. Returns None when the crop is too small.
    """
    levels, base_row, cap = _templates(px_per_mm)
    th, tw = levels.shape[2:]
    pitch = MRZ_PITCH_MM * px_per_mm
    ink = _ink(grey, cap)
    expected = (np.array(layout.mrz_baselines_mm()) - origin_mm[1]) * px_per_mm
    reach = int(round(SEARCH_MM * 0.6 * px_per_mm))
    baselines = _find_baselines(ink, expected, cap, reach)
    slack = max(2, int(round(0.3 * cap)))
    image = grey.astype(np.float32)
    x_expected = (layout.mrz_left_mm - origin_mm[0]) * px_per_mm  # left edge of the first cell
    masks = allowed_masks(layout)
    lines, all_scores = [], []
    chosen_scores, margins = [], []
    for row, baseline in enumerate(baselines):
        top = int(round(baseline - base_row - slack))
        bottom = top + th + 2 * slack
        if top < 0 or bottom > image.shape[0]:
            return None
        strip = image[top:bottom]
        if strip.shape[1] < tw + 2:
            return None
        tries = range(len(levels)) if blur is None else (blur,)
        decoded = [_decode_line(strip, levels[k], masks[row], x_expected, pitch, tw, px_per_mm) for k in tries]
        pick = int(np.argmax([d[2].mean() for d in decoded]))  # the softness that separates glyphs best
        if blur is None:
            blur = tries[pick]
        text, cells, margin, chosen = decoded[pick]
        lines.append(text)
        chosen_scores.append(chosen)
        margins.append(margin)
        all_scores.append(cells)
    assert blur is not None, "set by the first line; every layout has two or three"
    return TemplateReading(tuple(lines), np.stack(all_scores), float(np.concatenate(chosen_scores).mean()),
                           float(np.concatenate(margins).mean()), int(blur))


def _decode_line(strip: np.ndarray, glyphs: np.ndarray, mask: np.ndarray, x_expected: float, pitch: float,
                 tw: int, px_per_mm: float) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """One line: (text, per-cell glyph scores, per-cell margin, per-cell chosen score)."""
    full = np.stack([cv2.matchTemplate(strip, t, cv2.TM_CCOEFF_NORMED) for t in glyphs])  # (37, rows, x)
    best_any = full.max(axis=0)  # (rows, x)
    width = mask.shape[0]
    # the row the line sits on: where the strongest `width` peaks add up most; then +-1 row
    row_scores = np.sort(best_any, axis=1)[:, -width * 3:].sum(axis=1)
    r = int(np.argmax(row_scores))
    responses = full[:, max(r - 1, 0):r + 2].max(axis=1)  # (37, x): x is the template's left edge
    x0, p = _fit_grid(responses.max(axis=0), x_expected + (pitch - tw) / 2, pitch, width,
                      int(round(SEARCH_MM * px_per_mm)))
    cells = np.full((width, len(GLYPHS)), -1.0, np.float32)
    for col in range(width):
        centre = x0 + col * p
        lo, hi = max(int(np.floor(centre - 1)), 0), min(int(np.ceil(centre + 1)) + 1, responses.shape[1])
        if lo < hi:
            cells[col] = responses[:, lo:hi].max(axis=1)
    allowed = np.where(mask, cells, -2.0)
    order = np.argsort(-allowed, axis=1)
    idx = np.arange(width)
    chosen = allowed[idx, order[:, 0]]
    return "".join(GLYPHS[i] for i in order[:, 0]), cells, chosen - allowed[idx, order[:, 1]], chosen


def _fit_grid(best: np.ndarray, x_expected: float, pitch: float, count: int, reach: int) -> tuple[float, float]:
    """Left template position of the first cell and the pitch that put the cells on correlation peaks."""
    # a cell scores the best correlation within one pixel of where the grid puts it
    dilated = cv2.dilate(best.reshape(1, -1), np.ones((1, 3), np.float32)).ravel()
    positions = np.arange(len(dilated))
    scales = np.linspace(0.98, 1.02, 9) * pitch
    starts = np.arange(x_expected - reach, x_expected + reach + 0.25, 0.5)
    xs = starts[None, :, None] + scales[:, None, None] * np.arange(count)[None, None, :]  # (P, S, count)
    scores = np.interp(xs, positions, dilated, left=-1.0, right=-1.0).sum(axis=2)
    p, s = np.unravel_index(int(scores.argmax()), scores.shape)
    return float(starts[s]), float(scales[p])
