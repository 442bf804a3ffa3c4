"""Is the document damaged? Its outline, creases and tears, measured on several rectified frames.

Each view is the document warped upright at 5 px/mm with 4 mm of the surface around it. The design
of the document is not known here: what tells damage from print is that damage breaks the outline,
runs from edge to edge or starts at an edge, while the print keeps clear of the edges; and what
tells the document from the scene is that it stays put in the rectified views while glare, shadows
and the surface move.
- outline: on every outline sample (every 0.5 mm, from 3 mm off each corner, so that a rounded
  corner is not a missing one) the edge is the outermost strong colour step across the side, looked
  for from 8 mm outside the corners the document stage found (on a pale surface those may follow a
  row of print) to 8 mm inside; but on a side along which a straight edge runs within 2 mm of the
  corners' outline, that edge is the side's: a clear sleeve's edge lies 2-5 mm outside the card's all
  around, and taken for the card's edge on part of a side it left the rest of that side "missing". A straight line is fitted to each side's samples (robustly: a
  missing stretch does not pull it), the view is warped again on those lines, and where the edge
  lies at least 1 mm inside its line in most views (a corner torn off, a slice cut, a notch), the
  edge is missing; where glare saturates the document next to its edge, it is not judged. The
  score is the length of edge missing (mm, stretches of 1 mm and more).
- crease: a fold leaves a thin straight line (a stress-whitened ridge, a crack) from edge to edge.
  Thin lines (brighter or darker than both flanks 0.4 mm away: a step edge, such as the portrait's
  border, is neither) are found on the mean of the views, where the noise and the moving glare
  average out, and voted into Hough transforms (one per orientation, so that print of other
  orientations does not compete). Each candidate line is scored piece by piece (its two ends, the
  3 mm next to the edges where no print is, and four pieces between) by the median thin-line
  contrast at its quiet points (no print crossing the line around them); the weakest piece is the
  line's strength, so the design's straight features, which never run from edge to edge, score low. The two halves of a fold left at an angle are also lit differently as
  the document tilts: every view's brightness is divided by the views' median (the print cancels)
  and the spread over the views of the step across a line is measured, on the best thin line and on
  the straightest lighting edges.
- tear: a rip starts at an edge and runs in as a thin jagged line (the surface seen through it, its
  white lips), looked for on the mean view at two scales because it opens towards the edge; the
  score is how deep (mm from the edge) the deepest strong thin piece starting at the edge reaches.
  Printed text keeps clear of the edges, so nothing printed starts there.
The views come from the frames the document stage already has (`gather_views`); corners are ordered
with the MRZ at the bottom when the MRZ was read, so that the regions (mrz, portrait) are named.
Thresholds are the caller's (`damage_kinds` with `Settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
from scipy import ndimage

from ..records import Record
from ..settings import Settings
from .card import GLARE_LEVEL, card_homography, rotate_quad
from .card_mrz import FrameReading
from .layout import Layout
from .quality import FrameScan, rank_for_reading
from .types import DocumentType

PX_PER_MM = 5.0  # the rectified views the damage is measured on
MARGIN_MM = 4.0  # of surface kept around the document in them
_SEARCH_MM = 8.0  # how far outside the corners' outline the document's edge is looked for
_NEAR_MM = 2.0  # ... when an edge runs along the whole side there (then a sleeve's edge, 2-5 mm out, is not it)
_STRAIGHT_SHARE = 0.8  # share of a side's samples within _STRAIGHT_MM of its median for an edge to run along it
_STRAIGHT_MM = 0.5
_SEARCH_PAGE_MM = 1.2  # the same for a passport's data page (its cover's edge is 2 mm further out)
_EDGE_SHARE = 0.4  # a step at least this share of the outline's typical strongest step is an edge
MAX_VIEWS = 5  # frames measured: enough for most of them to outvote glare and the moving surface
# A scanned outline fills a view only if its area is within this ratio of the nearest read page's: an
# open passport's two pages (176 x 125 mm) have a page's aspect (125 x 88), so the outline of the
# whole booklet passes every shape test, and warped as the page it draws the fold across the view.
_SAME_AREA = (0.7, 1.4)
CORNER_MM = 3.0  # the outline is judged from this far from a corner: a rounding of up to 5 mm radius departs
# from the square corner by less than 0.45 mm there (ID-1 cards: 3.18 mm, under 0.01 mm)
_INWARD_MIN_MM = 1.0  # an edge lying this far inside its side's line is missing there
_INWARD_MAX_MM = 8.0  # how far inside the line the edge is looked for
_OUTLINE_STEP_MM = 0.5  # outline sample spacing
_TOUCH_MM = 1.0  # a thin piece this close to the edge starts at it
_LINE_SMOOTH = 0.5  # px: lines are looked for on the view smoothed this much (noise, aliasing)
_LINE_MIN = 0.025  # thin-line contrast (over the print's grey range) of a pixel on a line
_LINE_STRONG = 0.1  # ... of print (text, photo) and of a rip, which shows the surface through it
_BUSY_MM = 2.5  # print is looked for this far around a point (a box this wide)
_BUSY_MAX = 0.1  # share of strong line pixels crossing a line's direction above which a point is print
_QUIET_MIN = 0.3  # share of a line's points that must be quiet (not print) for it to be judged
_SEGMENTS = 4  # pieces of a line judged on their own between its ends
_END_MM = 3.0  # the ends of a line, next to the document's edges, judged on their own
_CONTRAST_MIN = 50.0  # grey levels: a document always carries dark print; a blank one is not judged on its noise
_HOUGH_MIN = 0.2  # votes a candidate line needs, as a share of the document's height in pixels
_HOUGH_LINES = 6  # candidates kept per orientation and span
_INSET_MM = 2.0  # a crease is judged this far inside the edges
_FOLD_MM = 3.0  # a booklet's fold: a thin line along it, this close to the page's top, is the fold itself


@dataclass(frozen=True)
class DamageMeasure(Record):
    """What the damage check measured (thresholds are applied by the caller, see `damage_kinds`)."""

    views: int  # rectified frames measured
    oriented: bool  # the MRZ was read, so the document's way up (and its regions) is known
    outline_missing_mm: float  # length of edge (mm) lying 1 mm or more inside its side's line in most views
    outline_views: int  # views in which that edge is missing
    outline_region: str  # "corner" or "edge" (where the longest missing stretch is), "" when none
    crease_strength: float  # thin-line contrast along the best straight line from edge to edge (over the print's range)
    crease_shading: float  # spread over the views of the brightness step across that line (log units)
    crease_views: int  # views in which that line is seen at half the strength a crease needs
    crease_regions: tuple[str, ...]  # "mrz", "portrait" when the line crosses them
    tear_depth_mm: float  # how deep the deepest thin piece starting at an edge reaches (mm)
    tear_views: int  # views in which that piece is seen
    tear_regions: tuple[str, ...]  # "edge", and "mrz", "portrait" when the piece enters them

    def scores(self) -> dict[str, float]:
        """The four measurements, for the evidence's scores."""
        return {"damage_outline_mm": self.outline_missing_mm, "damage_crease": self.crease_strength,
                "damage_crease_shading": self.crease_shading, "damage_tear_mm": self.tear_depth_mm}

    def summary(self, kinds: Sequence[str]) -> str:
        """One line for a check's detail: what was found where, and on how many of the views."""
        parts = {"outline": f"edge missing over {self.outline_missing_mm} mm ({self.outline_region}, "
                            f"{self.outline_views}/{self.views} views)",
                 "crease": f"crease across {', '.join(self.crease_regions) or 'the document'} (line "
                           f"{self.crease_strength:.3f}, shading {self.crease_shading:.3f}, {self.crease_views}/{self.views} views)",
                 "tear": f"tear {self.tear_depth_mm} mm in from the edge ({', '.join(self.tear_regions)}, "
                         f"{self.tear_views}/{self.views} views)"}
        return "; ".join(parts[k] for k in kinds) or (
            f"no damage seen on {self.views} views (edge missing {self.outline_missing_mm} mm, crease line "
            f"{self.crease_strength:.3f}, shading {self.crease_shading:.3f}, tear {self.tear_depth_mm} mm)")


def gather_views(readings: Sequence[FrameReading], located: Sequence[FrameScan],
                 count: int = MAX_VIEWS) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool]:
    """Up to `count` (frame image, corners with the MRZ at the bottom), and whether the way up is known.

    The frames whose MRZ was read come first (corners turned the way the reading settled); the
    best-ranked scanned frames fill up, turned like the reading nearest in time, when their outline
    is the size of that reading's page (`_SAME_AREA`).
    """
    views = [(r.image, r.corners) for r in readings[:count]]
    used = {r.frame_index for r in readings}
    for scan in rank_for_reading(located):
        if len(views) >= count:
            break
        if scan.frame.index in used or scan.card is None:
            continue
        corners = scan.card.corners
        if readings:
            nearest = min(readings, key=lambda r: abs(r.frame_index - scan.frame.index))
            area = cv2.contourArea(np.asarray(corners, np.float32)) / max(
                cv2.contourArea(np.asarray(nearest.corners, np.float32)), 1.0)
            if not _SAME_AREA[0] <= area <= _SAME_AREA[1]:
                continue
            turned = rotate_quad(corners, 2)
            if np.abs(turned - nearest.corners).sum() < np.abs(corners - nearest.corners).sum():
                corners = turned
        views.append((scan.frame.image, corners))
        used.add(scan.frame.index)
    return views, bool(readings)


@dataclass(frozen=True, eq=False)
class Rectified:
    """One frame's document, upright, and how its outline departs from a straight-sided one."""

    view: np.ndarray  # BGR, PX_PER_MM, MARGIN_MM of surface around the document
    inward: np.ndarray  # per outline sample (`_Outline`): mm the edge lies inside its side's line
    known: np.ndarray  # per outline sample: the edge could be judged (no glare saturating it)


def rectify_view(image: np.ndarray, corners: np.ndarray, layout: Layout) -> Rectified:
    """The document of a frame upright, with its edge traced on every outline sample.

    The frame is first warped with _SEARCH_MM more surface around it and the edge traced there
    (`_trace_edge`); each side's line is fitted to its samples, robustly, so that a missing part (the
    edge lying inside the line) does not move it (`_side_lines`); the document is warped again with
    those lines as its sides, and how far inside its line the edge lies at each sample is kept where
    the surface shows between them (`_surface_shows`).
    """
    size_mm, ppm = layout.size_mm, PX_PER_MM
    outline = _Outline.of(tuple(size_mm))
    search = _SEARCH_MM + MARGIN_MM
    shift = np.array([[1, 0, search * ppm], [0, 1, search * ppm], [0, 0, 1]])
    wide = shift @ card_homography(corners, size_mm, ppm)
    size = tuple(round((s + 2 * search) * ppm) for s in size_mm)
    view = cv2.warpPerspective(image, wide, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # a passport's data page lies on its cover, whose own edge is 2 mm outside the page's
    reach = _SEARCH_PAGE_MM if layout.document_type is DocumentType.PASSPORT else _SEARCH_MM
    edge = _trace_edge(view, outline, reach, search)
    near = _trace_edge(view, outline, min(reach, _NEAR_MM), search)
    for k in range(4):  # a straight edge near the corners' outline: what lies further out is no document's
        side = outline.sides == k
        middle = float(np.median(near[side]))
        if np.mean(np.abs(near[side] - middle) <= _STRAIGHT_MM) >= _STRAIGHT_SHARE:
            edge[side] = near[side]
    lines, inward = _side_lines(edge, outline)
    found = np.array([_meet(*lines[k - 1], *lines[k]) for k in range(4)])
    w, h = size_mm
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    fit = cv2.getPerspectiveTransform(((found + search) * ppm).astype(np.float32),
                                      ((target + MARGIN_MM) * ppm).astype(np.float32))
    out = tuple(round((s + 2 * MARGIN_MM) * ppm) for s in size_mm)
    final = cv2.warpPerspective(image, fit @ wide, out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    grey = cv2.cvtColor(final, cv2.COLOR_BGR2GRAY).astype(np.float32)
    known = _sample(grey, (outline.points + 1.0 * outline.normals + MARGIN_MM) * ppm) < GLARE_LEVEL
    return Rectified(final, np.where(_surface_shows(final, outline, inward), inward, np.minimum(inward, 0.0)), known)


def _trace_edge(view: np.ndarray, outline: _Outline, reach: float, margin_mm: float) -> np.ndarray:
    """Per outline sample, where the edge is (mm, inwards from the expected outline): the outermost
    colour step, from `reach` outside to _INWARD_MAX_MM inside, of at least _EDGE_SHARE of the
    outline's typical edge step, climbed to its peak. Corners found on a pale surface may follow a
    row of print instead of the edge: the edge is outside it."""
    ppm = PX_PER_MM
    smooth = cv2.GaussianBlur(view, (0, 0), 0.7).astype(np.float32)
    offsets = np.arange(-reach, _INWARD_MAX_MM + 1e-6, 0.25)
    points = outline.points[:, None, :] + offsets[None, :, None] * outline.normals[:, None, :]  # (S, U, 2)
    inner = _sample(smooth, ((points + 0.4 * outline.normals[:, None, :] + margin_mm) * ppm).reshape(-1, 2))
    outer = _sample(smooth, ((points - 0.4 * outline.normals[:, None, :] + margin_mm) * ppm).reshape(-1, 2))
    steps = np.linalg.norm(inner - outer, axis=-1).reshape(points.shape[:2]).astype(np.float32)
    near = np.abs(offsets) <= 2.0  # the edge is there on most of the outline; print is further in
    strong = steps >= _EDGE_SHARE * float(np.median(steps[:, near].max(axis=1)))
    first = np.where(strong.any(axis=1), strong.argmax(axis=1), len(offsets) - 1)
    window = np.minimum(first[:, None] + np.arange(5)[None], len(offsets) - 1)  # the step's peak, within 1 mm
    peak = window[np.arange(len(first)), np.take_along_axis(steps, window, axis=1).argmax(axis=1)]
    return offsets[peak]


def _side_lines(edge: np.ndarray, outline: _Outline) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Each side's line (a point and a direction, mm) fitted to the traced edge, samples more than
    1.5 mm from the side's median left out; and how far (mm) inside its line the edge lies at each sample."""
    lines, inward = [], np.zeros(len(edge))
    for k in range(4):
        side = outline.sides == k
        t = np.linalg.norm(outline.points[side] - outline.points[side][0], axis=1)
        keep = np.abs(edge[side] - np.median(edge[side])) < 1.5
        slope, offset = np.polyfit(t[keep], edge[side][keep], 1) if keep.sum() >= 2 else (0.0, 0.0)
        inward[side] = edge[side] - (slope * t + offset)
        start, normal = outline.points[side][0], outline.normals[side][0]
        direction = (outline.points[side][-1] - start) / max(t[-1], 1e-9)
        lines.append((start + offset * normal, direction + slope * normal))
    return lines, inward


def _surface_shows(view: np.ndarray, outline: _Outline, inward: np.ndarray) -> np.ndarray:
    """Per outline sample, whether what lies between the side's line and the edge inside it looks like
    the surface outside the line rather than the document inside the edge: only then is a part of
    the document missing (not a faint stretch of edge with print inside taken for it)."""
    colours = cv2.GaussianBlur(view, (0, 0), 1.0).astype(np.float32)

    def colour(depth: np.ndarray) -> np.ndarray:
        return _sample(colours, (outline.points + depth[:, None] * outline.normals + MARGIN_MM) * PX_PER_MM)

    gap, surface, document = colour(inward / 2), colour(np.full(len(inward), -1.5)), colour(inward + 1.0)
    return np.linalg.norm(gap - surface, axis=-1) < np.linalg.norm(gap - document, axis=-1)


def _meet(p1: np.ndarray, d1: np.ndarray, p2: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Where the lines p1 + s d1 and p2 + t d2 cross."""
    s = np.linalg.solve(np.column_stack([d1, -d2]), p2 - p1)[0]
    return p1 + s * d1


# ---- the geometry of a view ----------------------------------------------------------------------

@dataclass(frozen=True)
class _View:
    """Document millimetres <-> pixels of the rectified views, and where the document is in them."""

    size_mm: tuple[float, float]
    shape: tuple[int, int]  # (rows, columns) of a view
    px_per_mm: float = PX_PER_MM
    margin_mm: float = MARGIN_MM

    def px(self, points_mm: np.ndarray) -> np.ndarray:
        return (np.asarray(points_mm, np.float64) + self.margin_mm) * self.px_per_mm

    def edge_distance(self, bound_top: bool = False) -> np.ndarray:
        """Per pixel, millimetres from the document's nearest edge (negative outside it); `bound_top`:
        the top side is a booklet's fold, not an edge, and the strip within _FOLD_MM of it counts as
        outside (the fold's own line, running along it from side to side, would read as a tear from
        a side edge as deep as half the page)."""
        rows, cols = self.shape
        x = np.arange(cols) / self.px_per_mm - self.margin_mm
        y = np.arange(rows) / self.px_per_mm - self.margin_mm
        across = np.minimum(x, self.size_mm[0] - x)[None, :]
        down = np.minimum(np.where(y < _FOLD_MM, y - _FOLD_MM, np.inf) if bound_top else y,
                          self.size_mm[1] - y)[:, None]
        return np.minimum(across, down).astype(np.float32)


def _sample(image: np.ndarray, points_px: np.ndarray) -> np.ndarray:
    """Bilinear samples of `image` (H, W[, C], float32) at (N, 2) points (x, y)."""
    count = len(points_px)
    width = min(max(count, 1), 4096)  # remap's maps must stay under 32767 a side
    padded = np.zeros((-(-count // width) * width, 2), np.float32)
    padded[:count] = points_px
    maps = padded.reshape(-1, width, 2)
    values = cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return values.reshape(-1, *image.shape[2:])[:count]


def _crosses(points_mm: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    x, y, w, h = box
    p = np.asarray(points_mm)
    return bool(((p[:, 0] >= x) & (p[:, 0] <= x + w) & (p[:, 1] >= y) & (p[:, 1] <= y + h)).any())


def _regions(points_mm: np.ndarray, layout: Layout, oriented: bool, *base: str) -> tuple[str, ...]:
    """`base` plus "mrz" and "portrait" when the points enter those zones (only once the way up is known)."""
    found = list(base)
    if oriented and _crosses(points_mm, layout.mrz_box_mm(pad=0.0)):
        found.append("mrz")
    if oriented and _crosses(points_mm, layout.portrait_mm):
        found.append("portrait")
    return tuple(found)


# ---- outline -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outline:
    """Sample points along the expected edge (mm), their inward normals, sides and distance to a corner zone."""

    points: np.ndarray
    normals: np.ndarray
    sides: np.ndarray  # 0 top, 1 right, 2 bottom, 3 left
    corner_gap: np.ndarray  # mm beyond the nearer corner zone

    @classmethod
    @cache
    def of(cls, size_mm: tuple[float, float]) -> _Outline:
        w, h = size_mm
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        points, normals, sides, gaps = [], [], [], []
        for k in range(4):
            a, b = corners[k], corners[(k + 1) % 4]
            length = float(np.linalg.norm(b - a))
            d = (b - a) / length
            t = np.arange(CORNER_MM, length - CORNER_MM + 1e-6, _OUTLINE_STEP_MM)
            points.append(a + t[:, None] * d)
            normals.append(np.repeat([[-d[1], d[0]]], len(t), axis=0))
            sides.append(np.full(len(t), k))
            gaps.append(np.minimum(t, length - t) - CORNER_MM)
        return cls(np.vstack(points), np.vstack(normals), np.concatenate(sides), np.concatenate(gaps))


def _runs(flags: np.ndarray, sides: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index ranges of consecutive True samples on one side."""
    edges = np.flatnonzero(np.diff(np.r_[0, flags.astype(np.int8), 0]))
    runs = []
    for start, stop in zip(edges[::2], edges[1::2]):
        for side in np.unique(sides[start:stop]):  # a run never spans two sides
            on = np.flatnonzero(sides[start:stop] == side) + start
            runs.append((int(on[0]), int(on[-1]) + 1))
    return runs


# ---- thin lines ----------------------------------------------------------------------------------

def thin_lines(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the contrast of a thin line (brighter or darker than both flanks, 3 px away across
    it; 2 diagonal steps, 2.8 px, for the diagonal normals) and the index of its normal (0: 0, 1: 45,
    2: 90, 3: 135 degrees), the one at right angles to the direction that responds least. A step edge, brighter on one flank only, scores at most 0. Integer shifts
    of a padded copy: no interpolation, and nearly the same flank distance every way."""
    d, k = 2, 2
    pad = d
    padded = cv2.copyMakeBorder(grey, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    rows, cols = grey.shape

    def at(dx: int, dy: int) -> np.ndarray:
        return padded[pad + dy:pad + dy + rows, pad + dx:pad + dx + cols]

    responses = []
    for dx, dy in ((d, 0), (k, k), (0, d), (-k, k)):
        plus, minus = at(dx, dy), at(-dx, -dy)
        bright = cv2.subtract(grey, cv2.max(plus, minus))
        dark = cv2.subtract(cv2.min(plus, minus), grey)
        responses.append(cv2.max(bright, dark))
    # along a line, the flanks lie on the line: the weakest response gives its direction, the normal
    # is the one at right angles (the strongest is ambiguous: any flank off the line responds)
    low = cv2.min(responses[0], responses[1]), cv2.min(responses[2], responses[3])
    along = np.where(low[1] < low[0], 2 + (responses[3] < responses[2]), responses[1] < responses[0])
    strongest = cv2.max(cv2.max(responses[0], responses[1]), cv2.max(responses[2], responses[3]))
    return strongest, ((along + 2) % 4).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class _Lines:
    """Thin lines of the views' mean: the print and any damage stay (they are on the document), the
    noise and the glare moving with the tilt average out. With each pixel's line contrast (over the
    print's grey range), its orientation, and how busy with print of each orientation its
    surroundings are."""

    smooth: np.ndarray  # the mean grey view smoothed by _LINE_SMOOTH, where lines are measured
    contrast: float  # the print's grey range (2nd to 98th percentile) on the document
    level: np.ndarray
    which: np.ndarray
    busy: list[np.ndarray]  # per orientation: share of strong line pixels of it within _BUSY_MM

    @classmethod
    def of(cls, grey: np.ndarray, inside: np.ndarray, px_per_mm: float) -> _Lines:
        values = grey[inside][::7]  # a sample is enough for two percentiles
        contrast = max(float(np.percentile(values, 98) - np.percentile(values, 2)), _CONTRAST_MIN)
        smooth = cv2.GaussianBlur(grey, (0, 0), _LINE_SMOOTH)
        line, which = thin_lines(smooth)
        level = line / contrast
        strong = level > _LINE_STRONG
        size = int(round(_BUSY_MM * px_per_mm)) | 1
        busy = [cv2.blur((strong & (which == o)).astype(np.float32), (size, size)) for o in range(4)]
        return cls(smooth, contrast, level, which, busy)

    def strength(self, points: np.ndarray, normal: np.ndarray, px_per_mm: float,
                 smooth: np.ndarray | None = None) -> float:
        """How surely a thin line runs along the whole chord `points` (normal `normal`): its two ends
        (the _END_MM next to the document's edges, where no print is) and _SEGMENTS pieces between
        are each scored by their median thin-line contrast (over the print's range) at their quiet
        points (no print crossing the line around them), and the weakest counts: the design's
        straight features (text rows, the MRZ and its clear zone) never reach the edges. Measured in
        `smooth` (one view) or else the mean view; pieces mostly through print are not judged, and
        the ends always are."""
        angle = np.degrees(np.arctan2(normal[1], normal[0])) % 180
        crossing = [o for o in range(4) if min(abs(angle - 45 * o), 180 - abs(angle - 45 * o)) >= 44]
        quiet = np.asarray(sum(_sample(self.busy[o], points) for o in crossing) < _BUSY_MAX)
        across = _across(self.smooth if smooth is None else smooth, points, normal) / self.contrast
        end = max(2, int(round(_END_MM * px_per_mm)))
        if len(points) < 4 * end:
            return 0.0
        ends = [np.median(across[:end]), np.median(across[-end:])]
        middle = [np.median(a[q]) for a, q in zip(np.array_split(across[end:-end], _SEGMENTS),
                                                  np.array_split(quiet[end:-end], _SEGMENTS)) if q.mean() >= _QUIET_MIN]
        return float(min(ends + middle))


def _across(smooth: np.ndarray, points: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Thin-line contrast (grey levels) across the line of unit `normal` at `points`: flanks 2 px away,
    the best of the line itself and 1 px either side of it."""
    centre = points[None] + np.array([-1.0, 0.0, 1.0])[:, None, None] * normal  # (3, N, 2)
    here, plus, minus = (_sample(smooth, (centre + s * 2.0 * normal).reshape(-1, 2)).reshape(3, -1)
                         for s in (0, 1, -1))
    return np.maximum(here - np.maximum(plus, minus), np.minimum(plus, minus) - here).max(axis=0)


# ---- crease --------------------------------------------------------------------------------------

def _chord(rho: float, theta: float, geometry: _View) -> tuple[np.ndarray, np.ndarray]:
    """Points 1 px apart of the line x cos(theta) + y sin(theta) = rho (view pixels) inside the document
    shrunk by _INSET_MM (none when it misses it), and the line's unit normal."""
    normal = np.array([np.cos(theta), np.sin(theta)])
    direction = np.array([-normal[1], normal[0]])
    low, high = geometry.px(np.array([[_INSET_MM, _INSET_MM],
                                      [geometry.size_mm[0] - _INSET_MM, geometry.size_mm[1] - _INSET_MM]]))
    start, t0, t1 = rho * normal, -np.inf, np.inf
    for axis in (0, 1):  # Liang-Barsky: the stretch of the line between the box's two bounds on each axis
        if abs(direction[axis]) < 1e-9:
            if not low[axis] <= start[axis] <= high[axis]:
                return np.empty((0, 2)), normal
            continue
        a, b = sorted(((low[axis] - start[axis]) / direction[axis], (high[axis] - start[axis]) / direction[axis]))
        t0, t1 = max(t0, a), min(t1, b)
    if t1 <= t0:
        return np.empty((0, 2)), normal
    return start + np.arange(t0, t1, 1.0)[:, None] * direction, normal


def _candidates(consensus: np.ndarray, orientation: np.ndarray, min_votes: int) -> list[tuple[float, float]]:
    """(rho, theta) of the straightest lines of consensus pixels, searched per orientation of the
    pixels (so that print of other orientations does not compete), a few per orientation."""
    found: list[tuple[float, float]] = []
    for o in range(4):
        pixels = (consensus & (orientation == o)).astype(np.uint8) * 255
        centre = np.radians(45.0 * o)
        spans = [(0.0, np.radians(25)), (np.radians(155), np.pi)] if o == 0 else [
            (centre - np.radians(25), centre + np.radians(25))]
        for low, high in spans:
            lines = cv2.HoughLinesWithAccumulator(pixels, 1, np.pi / 360, min_votes, min_theta=low, max_theta=high)
            if lines is not None:
                found += [(float(rho), float(theta)) for rho, theta, _ in lines[:_HOUGH_LINES, 0]]
    distinct: list[tuple[float, float]] = []
    for rho, theta in found:  # one of each bundle of nearly the same lines
        if all(abs(rho - r) > 3 or abs(theta - t) > np.radians(1.5) for r, t in distinct):
            distinct.append((rho, theta))
    return distinct


def _refine(rho: float, theta: float, level: np.ndarray, geometry: _View) -> tuple[float, float]:
    """The line near (rho, theta) (within 2 px and 1 degree) that runs most on thin line pixels:
    the angle first, then the offset."""
    def support(line: tuple[float, float]) -> float:
        points, _ = _chord(*line, geometry)
        return float(np.minimum(_sample(level, points), _LINE_STRONG).mean()) if len(points) else 0.0

    theta = max((float(theta + np.radians(dt)) for dt in np.arange(-1, 1.01, 0.5)), key=lambda t: support((rho, t)))
    rho = max((float(rho + dr) for dr in np.arange(-2, 2.01, 1.0)), key=lambda r: support((r, theta)))
    return rho, theta


@dataclass(frozen=True, eq=False)
class _Lighting:
    """How each view's lighting departs from the views' median, at half resolution: the print cancels
    (it is the same in every view), the lighting stays (log grey, smoothed)."""

    residuals: np.ndarray  # (views, H/2, W/2)

    @classmethod
    def of(cls, greys: Sequence[np.ndarray]) -> _Lighting:
        half = (greys[0].shape[1] // 2, greys[0].shape[0] // 2)
        logs = np.stack([np.log(cv2.GaussianBlur(cv2.resize(g, half, interpolation=cv2.INTER_AREA), (0, 0), 1.0) + 8.0)
                         for g in greys])
        return cls(logs - np.median(logs, axis=0))

    def step_spread(self, points: np.ndarray, normal: np.ndarray, px_per_mm: float) -> float:
        """Spread over the views (log units) of the brightness step across a line (view pixels): the
        two halves of a fold left at an angle are lit differently as the document tilts. Bands from
        1.5 to 6 mm each side leave out the line itself (and any misregistered print along it)."""
        offsets = np.arange(1.5, 6.01, 0.75) * px_per_mm / 2
        band = points[None] / 2 + offsets[:, None, None] * normal  # (offsets, N, 2) at half resolution
        ahead, behind = band.reshape(-1, 2), (2 * points[None] / 2 - band).reshape(-1, 2)
        steps = [_sample(r, ahead).mean() - _sample(r, behind).mean() for r in self.residuals]
        return float(np.std(steps))

    def step_candidates(self, inside: np.ndarray, min_votes: int) -> list[tuple[float, float]]:
        """(rho, theta), full-resolution view pixels, of the straightest sharp lighting edges: where the
        residuals change most (mean over views of their gradient), strongest 3 %."""
        change = np.mean([np.hypot(cv2.Sobel(r, cv2.CV_32F, 1, 0), cv2.Sobel(r, cv2.CV_32F, 0, 1))
                          for r in self.residuals], axis=0)
        where = cv2.resize(inside.astype(np.uint8), change.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
        edges = ((change >= np.percentile(change[where], 97)) & where).astype(np.uint8) * 255
        lines = cv2.HoughLinesWithAccumulator(edges, 1, np.pi / 180, max(min_votes // 2, 8))
        if lines is None:
            return []
        return [(2 * float(rho), float(theta)) for rho, theta, _ in lines[:_HOUGH_LINES, 0]]


# ---- tear ----------------------------------------------------------------------------------------

def _two_scales(smooth: np.ndarray, thin: np.ndarray | None = None) -> np.ndarray:
    """Thin-line contrast (grey levels) at the view's scale (`thin`, when already at hand) and at half
    of it: a rip opens towards the edge, wider there than the thin lines."""
    if thin is None:
        thin, _ = thin_lines(smooth)
    half, _ = thin_lines(cv2.pyrDown(smooth))
    return np.maximum(thin, cv2.resize(half, smooth.shape[::-1], interpolation=cv2.INTER_LINEAR))


def _tear(lines: _Lines, distance: np.ndarray, exclude: tuple[np.ndarray, np.ndarray] | None,
          ) -> tuple[float, np.ndarray]:
    """Depth (mm) and pixels (x, y) of the deepest strong thin piece that starts at the document's
    edge; `exclude` (points, normal) is a crease already found, whose line does not count."""
    strong = (_two_scales(lines.smooth, lines.level * lines.contrast) / lines.contrast > _LINE_STRONG) & (distance >= 0)
    if exclude is not None:
        points, normal = exclude
        rows, cols = np.indices(distance.shape)
        strong &= np.abs(cols * normal[0] + rows * normal[1] - float(points[0] @ normal)) > 3
    count, labels = cv2.connectedComponents(strong.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[(distance <= _TOUCH_MM) & strong])
    touching = touching[touching > 0]
    if not len(touching):
        return 0.0, np.empty((0, 2))
    depths = ndimage.maximum(distance, labels, touching)
    rows, cols = np.nonzero(labels == touching[int(np.argmax(depths))])
    return float(np.max(depths)), np.stack([cols, rows], axis=1)


# ---- all together --------------------------------------------------------------------------------

def measure_views(views: Sequence[Rectified], layout: Layout, oriented: bool,
                  bound_top: bool = False) -> DamageMeasure:
    """The damage measurements on rectified frames (`rectify_view`) of one document.

    `bound_top`: the top side is a booklet's fold (the data page of an open passport), no edge: its
    outline is not judged."""
    geometry = _View(layout.size_mm, views[0].view.shape[:2])
    distance = geometry.edge_distance()
    # outline: where the edge lies inside its line in most views (where it could be judged)
    outline = _Outline.of(layout.size_mm)
    inward = np.stack([v.inward for v in views])
    known = np.stack([v.known for v in views]) & ~(bound_top & (outline.sides == 0))[None, :]
    judged = known.sum(axis=0) >= min(2, len(views))
    filled = np.where(known, inward, np.nan)
    filled[:, ~known.any(axis=0)] = 0.0  # never judged: not missing
    absent = judged & (np.nanmedian(filled, axis=0) >= _INWARD_MIN_MM)
    runs = _runs(absent, outline.sides)
    long_runs = [(a, b) for a, b in runs if (b - a) * _OUTLINE_STEP_MM >= 1.0]
    missing = sum(b - a for a, b in long_runs) * _OUTLINE_STEP_MM

    def agreeing(run: tuple[int, int]) -> int:
        a, b = run
        return int(np.sum(((inward[:, a:b] >= _INWARD_MIN_MM) | ~known[:, a:b]).mean(axis=1) >= 0.5))

    outline_views, outline_region = 0, ""
    if long_runs:
        longest = max(long_runs, key=lambda r: r[1] - r[0])
        outline_views = agreeing(longest)
        outline_region = "corner" if outline.corner_gap[longest[0]:longest[1]].min() <= 1.0 else "edge"
    images = [v.view for v in views]
    # crease: a thin straight line from edge to edge, and the lighting step across it
    inside = distance >= _INSET_MM
    greys = [cv2.cvtColor(v, cv2.COLOR_BGR2GRAY).astype(np.float32) for v in images]
    lines = _Lines.of(np.mean(greys, axis=0), inside, geometry.px_per_mm)
    min_votes = int(_HOUGH_MIN * min(layout.size_mm) * geometry.px_per_mm)
    long_enough = 0.5 * min(layout.size_mm) * geometry.px_per_mm
    coverage, best = 0.0, None
    for rho, theta in _candidates((lines.level > _LINE_MIN) & inside, lines.which, min_votes):
        points, normal = _chord(*_refine(rho, theta, lines.level, geometry), geometry)
        if len(points) >= long_enough and (strength := lines.strength(points, normal, geometry.px_per_mm)) > coverage:
            coverage, best = strength, (points, normal)
    lighting = _Lighting.of(greys)
    crease_shading, crease_views, crease_line = 0.0, 0, None
    if best is not None:
        points, normal = best
        crease_shading = lighting.step_spread(points, normal, geometry.px_per_mm)
        smooths = [cv2.GaussianBlur(g, (0, 0), _LINE_SMOOTH) for g in greys]
        crease_views = sum(lines.strength(points, normal, geometry.px_per_mm, s) >= _LINE_MIN / 2 for s in smooths)
        crease_line = points
    for rho, theta in lighting.step_candidates(inside, min_votes):
        points, normal = _chord(rho, theta, geometry)
        if len(points) >= long_enough and (spread := lighting.step_spread(points, normal, geometry.px_per_mm)) > crease_shading:
            crease_shading, crease_line = spread, points
    crease_regions = () if crease_line is None else _regions(
        crease_line / geometry.px_per_mm - geometry.margin_mm, layout, oriented)
    # tear: a thin piece running in from the edge (print keeps clear of the edges)
    exclude = best if best is not None and coverage >= _LINE_MIN / 2 else None
    depth, piece = _tear(lines, geometry.edge_distance(bound_top) if bound_top else distance, exclude)
    tear_regions = _regions(piece / geometry.px_per_mm - geometry.margin_mm, layout, oriented, "edge") if len(piece) else ()
    tear_views = 0
    if len(piece):  # views in which the piece is seen: thin lines along most of it
        (x0, y0), (x1, y1) = piece.min(axis=0), piece.max(axis=0) + 1
        for grey in greys:
            level = _two_scales(cv2.GaussianBlur(grey[y0:y1, x0:x1], (0, 0), _LINE_SMOOTH))
            seen = level[piece[:, 1] - y0, piece[:, 0] - x0] / lines.contrast > _LINE_STRONG / 2
            tear_views += int(seen.mean() >= 0.5)
    return DamageMeasure(
        views=len(views), oriented=oriented, outline_missing_mm=round(float(missing), 1),
        outline_views=outline_views, outline_region=outline_region, crease_strength=round(coverage, 3),
        crease_shading=round(crease_shading, 4), crease_views=int(crease_views), crease_regions=crease_regions,
        tear_depth_mm=round(depth, 1), tear_views=tear_views, tear_regions=tear_regions)


def damage_kinds(found: DamageMeasure, settings: Settings) -> tuple[str, ...]:
    """Which damages the measurements show under `settings`' thresholds: "outline", "crease", "tear"."""
    kinds = []
    if found.outline_missing_mm >= settings.document_damage_outline_min_mm:
        kinds.append("outline")
    if (found.crease_strength >= settings.document_damage_crease_min
            or found.crease_shading >= settings.document_damage_crease_shading_min):
        kinds.append("crease")
    if found.tear_depth_mm >= settings.document_damage_tear_min_mm:
        kinds.append("tear")
    return tuple(kinds)


def measure(views: Sequence[tuple[np.ndarray, np.ndarray]], layout: Layout, oriented: bool,
            bound_top: bool = False) -> DamageMeasure:
    """The damage measurements on frames of one document: (frame image, corners) (`gather_views`);
    `bound_top` as in `measure_views`."""
    return measure_views([rectify_view(image, corners, layout) for image, corners in views], layout, oriented,
                         bound_top)
