"""Cheap per-frame scores, and the capture problems they explain: blur, glare on the MRZ, cut-off card.

Every scanned frame gets `video.frame_quality` on its grey proxy and a document search on the same
proxy (`card.detect_card`), once as it is and, when no whole document is found, once more with the
proxy padded so that a document running off the frame still closes into a quad. Only the best
few frames are looked at closely. Blur is measured on the document itself, rectified at a fixed
scale, as the width of its sharpest edges in millimetres (`edge_blur_mm`), so that it does not
depend on the document's size in the frame or on exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..video import Frame, FrameQuality, frame_quality, spread_positions
from .card import GLARE_LEVEL, CardQuad, detect_card, proxy_scale, rectify, rotate_quad
from .layout import Layout

SHARPNESS_PX_PER_MM = 4.0  # where glare is measured
BLUR_PX_PER_MM = 8.0  # where blur is measured
_PAD = 0.08  # padding (share of the proxy's long side) for finding a document that runs off the frame


@dataclass(frozen=True, eq=False)
class FrameScan:
    """What the cheap pass saw in one frame; quads are in the frame's own pixels."""

    position: int  # index in `Video.frames`
    frame: Frame
    quality: FrameQuality
    card: CardQuad | None  # a whole document inside the frame
    cut: CardQuad | None  # a document running off the frame (found on the padded proxy)
    card_sharpness: float  # variance of the proxy's Laplacian inside the document's box (0 if none)


def _inside_margin(quad: CardQuad) -> float:
    return 0.005 * max(quad.frame_size)


def _sharpness_in(proxy: np.ndarray, quad: CardQuad) -> float:
    x0, y0 = np.maximum(np.floor(quad.corners.min(axis=0)), 0).astype(int)
    x1, y1 = np.ceil(quad.corners.max(axis=0)).astype(int)
    crop = proxy[y0:y1 + 1, x0:x1 + 1]
    return float(cv2.Laplacian(crop, cv2.CV_32F).var()) if crop.size > 16 else 0.0


def scan_frame(position: int, frame: Frame) -> FrameScan:
    """Proxy quality and document search of one frame."""
    proxy = frame.proxy  # made once while decoding when the video was decoded to a plan
    h, w = frame.image.shape[:2]
    scale = proxy_scale(frame.image)
    quality = frame_quality(proxy)
    found = detect_card(proxy)
    card = cut = None
    if found is not None:
        quad = found.scaled(1 / scale, (w, h))
        if quad.border_distance() > _inside_margin(quad):
            card = quad
        else:
            cut = quad
    if card is None:
        pad = int(round(_PAD * max(proxy.shape)))
        padded = cv2.copyMakeBorder(proxy, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        ph, pw = proxy.shape
        partial = detect_card(padded, max_area=0.85 * pw * ph / padded.size)
        if partial is not None:
            quad = CardQuad((partial.corners - pad) / scale, partial.support, partial.aspect, (w, h))
            if quad.border_distance() <= _inside_margin(quad):
                cut = quad
            else:
                card = quad
    sharp = _sharpness_in(proxy, card.scaled(scale, proxy.shape[::-1])) if card is not None else 0.0
    return FrameScan(position, frame, quality, card, cut, sharp)


def scan_frames(frames: Sequence[Frame], max_frames: int) -> list[FrameScan]:
    """`scan_frame` over at most `max_frames` frames spread evenly over the video."""
    return [scan_frame(p, frames[p]) for p in spread_positions(len(frames), max_frames)]


def motion(scans: Sequence[FrameScan]) -> dict[int, float]:
    """Per scanned frame with a document, how far its corners move per frame (pixels), from its neighbours."""
    located = [(s.position, s.card.corners) for s in scans if s.card is not None]
    out: dict[int, float] = {}
    for i, (position, corners) in enumerate(located):
        steps = []
        for j in (i - 1, i + 1):
            if 0 <= j < len(located):
                other, other_corners = located[j]
                steps.append(float(np.linalg.norm(other_corners - corners, axis=1).mean()) / abs(other - position))
        out[position] = min(steps) if steps else 0.0
    return out


def rank_for_reading(scans: Sequence[FrameScan]) -> list[FrameScan]:
    """Scanned frames with a whole document, sharpest and stillest first."""
    moving = motion(scans)
    located = [s for s in scans if s.card is not None]
    return sorted(located, key=lambda s: s.card_sharpness / (1.0 + 0.05 * moving.get(s.position, 0.0)),
                  reverse=True)


def edge_blur_mm(image: np.ndarray, corners: np.ndarray, size_mm: tuple[float, float]) -> float:
    """How smeared the print is: the Gaussian blur (sigma, millimetres) that its sharpest edges imply.

    A step edge of contrast C blurred by a Gaussian of sigma s has a steepest gradient of
    C / (s * sqrt(2 pi)); with C the document's ink-to-paper range (2nd to 98th percentile) and the
    steepest gradients taken as the 99.5th percentile over the rectified document (glare left out),
    sigma follows. Resolution-independent: measured at 8 px/mm.
    """
    ppm = BLUR_PX_PER_MM
    grey = cv2.cvtColor(rectify(image, corners, size_mm, ppm), cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = grey.shape
    grey = grey[int(h * 0.05):int(h * 0.95), int(w * 0.03):int(w * 0.97)]  # the edge is not print
    keep = grey < GLARE_LEVEL
    if keep.sum() < 0.2 * keep.size:
        return float("inf")
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    steepest = float(np.percentile(np.hypot(gx, gy)[keep], 99.5))
    contrast = float(np.percentile(grey[keep], 98) - np.percentile(grey[keep], 2))
    return float(contrast / (np.sqrt(2 * np.pi) * max(steepest, 1e-6)) / ppm)


def mrz_glare(image: np.ndarray, corners: np.ndarray, layout: Layout, *, both_ways: bool) -> float:
    """Share of saturated pixels on the document's MRZ box; the worse way up when `both_ways`."""
    shares = []
    for turns in ((0, 2) if both_ways else (0,)):
        quad = rotate_quad(corners, turns)
        grey = cv2.cvtColor(rectify(image, quad, layout.size_mm, SHARPNESS_PX_PER_MM), cv2.COLOR_BGR2GRAY)
        x, y, w, h = (v * SHARPNESS_PX_PER_MM for v in layout.mrz_box_mm(pad=0.5))
        zone = grey[int(y):int(np.ceil(y + h)), int(x):int(np.ceil(x + w))]
        shares.append(float(np.mean(zone >= GLARE_LEVEL)) if zone.size else 0.0)
    return max(shares)
