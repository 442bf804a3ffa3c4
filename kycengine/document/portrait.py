"""Crop the holder's photo from the rectified document, for the face stage to match."""

from __future__ import annotations

import numpy as np

from .layout import Layout

# Margin added around the printed photo's box, as a share of its size on each side: enough for a
# face detector to see the whole head and for 1-2 mm of rectification error.
PORTRAIT_MARGIN = 0.12


def crop_portrait(card: np.ndarray, layout: Layout, px_per_mm: float, margin: float = PORTRAIT_MARGIN) -> np.ndarray:
    """BGR crop of the portrait box of `layout` on `card` (the upright document at `px_per_mm`)."""
    x, y, w, h = layout.portrait_mm
    x0, y0 = (x - margin * w) * px_per_mm, (y - margin * h) * px_per_mm
    x1, y1 = (x + w * (1 + margin)) * px_per_mm, (y + h * (1 + margin)) * px_per_mm
    rows, cols = card.shape[:2]
    top, bottom = max(0, int(round(y0))), min(rows, int(round(y1)))
    left, right = max(0, int(round(x0))), min(cols, int(round(x1)))
    return np.ascontiguousarray(card[top:bottom, left:right])
