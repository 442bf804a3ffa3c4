"""Find the MRZ band in a photo or rectified card: 2-3 long, parallel, evenly spaced text lines.

Classic morphology (black-hat to lift dark print off light backgrounds, horizontal closing to merge
characters into line blobs) as in PassportEye and OpenCV's MRZ tutorials; lines are then grouped
by geometry rather than guessed from one blob, so the band is found at any position and up to
~20 degrees of rotation, and upside-down cards are handled by the caller trying the flipped image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

WORK_WIDTH = 1200  # images are analysed at this width: MRZ characters ~16-25 px tall on a card


@dataclass(frozen=True, eq=False)
class MRZBand:
    """An upright crop of the MRZ lines (grey), the number of lines seen and the band's corners."""

    image: np.ndarray = field(repr=False)
    line_count: int
    corners: np.ndarray = field(repr=False)  # 4x2 float32, in input-image pixels (x, y), clockwise


@dataclass(frozen=True)
class _Line:
    cx: float
    cy: float
    length: float
    thickness: float
    angle: float  # degrees, in (-45, 45]


def _line_blobs(grey: np.ndarray) -> list[_Line]:
    h = grey.shape[0]
    unit = max(3, int(round(grey.shape[1] / 120)))  # ~ one character's width at card scale
    blackhat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 2, unit)))
    _, binary = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 4, 1)))
    closed = cv2.morphologyEx(closed, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 3, max(2, unit // 2))))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    lines = []
    for contour in contours:
        (cx, cy), (w, hh), angle = cv2.minAreaRect(contour)
        if w < hh:
            w, hh, angle = hh, w, angle - 90
        if angle <= -45:
            angle += 180
        if angle > 45:
            angle -= 180
        if hh < 3 or w < 12 * hh or hh > h / 6:
            continue
        lines.append(_Line(cx, cy, w, hh, angle))
    return lines


def _group(lines: list[_Line]) -> list[list[_Line]]:
    """Sets of 2-3 lines of similar length/height/angle, stacked at regular spacing."""
    groups = []
    ordered = sorted(lines, key=lambda l: l.cy)
    for i, first in enumerate(ordered):
        group = [first]
        for other in ordered[i + 1:]:
            last = group[-1]
            gap = other.cy - last.cy
            if (abs(other.angle - first.angle) < 4 and 0.6 < other.length / first.length < 1.6
                    and 0.5 < other.thickness / first.thickness < 2.0
                    and 1.2 * first.thickness < gap < 3.5 * first.thickness
                    and abs(other.cx - first.cx) < 0.25 * first.length):
                group.append(other)
                if len(group) == 3:
                    break
        if len(group) >= 2:
            groups.append(group)
    return groups


def find_mrz_band(image: np.ndarray) -> MRZBand | None:
    """The most MRZ-like line group of a BGR or grey image, cropped upright; None if there is none."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    scale = WORK_WIDTH / grey.shape[1]
    work = cv2.resize(grey, None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    groups = _group(_line_blobs(work))
    if not groups:
        return None
    # Prefer longer lines (MRZ lines span the document), then more lines, then lower on the page.
    bucket = work.shape[1] / 10
    best = max(groups, key=lambda g: (round(min(l.length for l in g) / bucket), len(g), g[0].cy))
    length = max(l.length for l in best)
    thickness = float(np.median([l.thickness for l in best]))
    angle = float(np.mean([l.angle for l in best]))
    cx = float(np.mean([l.cx for l in best]))
    cy = (best[0].cy + best[-1].cy) / 2
    height = best[-1].cy - best[0].cy + thickness * 3.2
    width = length + thickness * 4
    box = cv2.boxPoints(((cx, cy), (width, height), angle)).astype(np.float32)
    # order corners: top-left, top-right, bottom-right, bottom-left
    s, d = box.sum(axis=1), np.diff(box, axis=1).ravel()
    ordered = np.array([box[np.argmin(s)], box[np.argmin(d)], box[np.argmax(s)], box[np.argmax(d)]],
                       np.float32)
    out_h = int(round(48 * len(best)))  # ~ 30 px characters for the recogniser
    out_w = int(round(out_h * width / height))
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(ordered / scale, target)
    crop = cv2.warpPerspective(grey, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    return MRZBand(image=crop, line_count=len(best), corners=ordered / scale)
