"""Find the document in a frame, refine its four corners and warp it to an upright canonical image.

Detection works on the grey proxy (long side 320 px): Canny edges at two sensitivities, contours,
their convex hulls simplified to quadrilaterals, each candidate scored by how well its four sides
lie on a consistent brightness step (the card's edge) and by how card-like its true aspect ratio is
(recovered from the perspective quad, Zhang & He 2007, "Whiteboard scanning and image enhancement").
The best candidate is then refined on a larger grey image by a line search per side: every line
near the side (offset and angle) is scored by the mean brightness step across it, so a continuous
card edge wins over text lines, which change sign from stroke to stroke. Corners are the
intersections of the four refined lines (the rounded corners themselves are never used).

All coordinates are (x, y) pixels of the image they name; quads are ordered top-left, top-right,
bottom-right, bottom-left, with a long side on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .layout import MRZ_CAP_HEIGHT_MM, MRZ_PITCH_MM, Layout

# True width/height of a document's outline (long side over short side). One page or card: ID-1
# 85.6/54 = 1.585, ID-2 105/74 = 1.419, ID-3 125/88 = 1.420, and an open passport whose pages are
# stacked across the fold (125 x 176, 1.41); widened for the error of the perspective estimate and
# for a sleeve's margin. Two pages side by side along the fold (250 x 88, 2.84): SPREAD_RANGE.
# Outlines of any other shape are not documents. An outline whose long side runs up the frame (a
# document held long side up) must be at least UPRIGHT_MIN_ASPECT: a portrait photo on a page
# (generator 1.27, ICAO 35 x 45 mm 1.29) stands that way with the 1.3 shape.
ASPECT_RANGE = (1.25, 1.85)
UPRIGHT_MIN_ASPECT = 1.36
SPREAD_RANGE = (2.45, 3.2)
ASPECT_SPLIT = 1.50  # below: the 1.42 designs (old CNI, passport); above: ID-1 (2021 CNI)
# Focal length over the frame's long side when the quad does not determine it (a phone main
# camera, 65-70 degrees across).
DEFAULT_FOCAL = 0.78
MIN_AREA = 0.04  # a document covering less than this fraction of the frame is too small to read
MAX_CANDIDATES = 5  # rough quads refined and judged per frame, largest first
_PROXY_SIDE = 320


@dataclass(frozen=True, eq=False)
class CardQuad:
    """A document found in a frame: its corners in that frame's pixels and how sure we are."""

    corners: np.ndarray = field(repr=False)  # (4, 2) float32, TL, TR, BR, BL
    support: float  # 0..1, the weakest side's share of points on a brightness step
    aspect: float  # estimated true width/height
    frame_size: tuple[int, int]  # (width, height) of the frame the corners are in

    @property
    def width_px(self) -> float:
        """Mean length of the top and bottom sides."""
        c = self.corners
        return float(np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2

    def border_distance(self) -> float:
        """Smallest distance (px) from a corner to the frame's edge; negative when a corner is outside."""
        w, h = self.frame_size
        x, y = self.corners[:, 0], self.corners[:, 1]
        return float(np.min([x, y, w - 1 - x, h - 1 - y]))

    def scaled(self, factor: float, frame_size: tuple[int, int]) -> CardQuad:
        """The same quad in a frame `factor` times larger."""
        return CardQuad((self.corners * factor).astype(np.float32), self.support, self.aspect, frame_size)


def order_quad(points: np.ndarray) -> np.ndarray:
    """Four points ordered clockwise (in image coordinates) from the top-left, with a long side on top.

    Of the two long sides, the higher one is the top when they run across the frame, the left one
    when they run up it (a document held long side up): the same side in every frame either way.
    """
    q = np.asarray(points, np.float64).reshape(4, 2)
    centre = q.mean(axis=0)
    q = q[np.argsort(np.arctan2(q[:, 1] - centre[1], q[:, 0] - centre[0]))]  # clockwise, y down
    sides = np.linalg.norm(np.roll(q, -1, axis=0) - q, axis=1)
    long_first = sides[0] + sides[2] >= sides[1] + sides[3]
    starts = (0, 2) if long_first else (1, 3)
    along = q[(starts[0] + 1) % 4] - q[starts[0]]
    axis = 1 if abs(along[0]) >= abs(along[1]) else 0  # across: compare heights; up: compare x
    middles = [(q[s, axis] + q[(s + 1) % 4, axis]) / 2 for s in starts]
    start = starts[int(np.argmin(middles))]
    return np.roll(q, -start, axis=0).astype(np.float32)


def true_aspect(corners: np.ndarray, frame_size: tuple[int, int]) -> float:
    """Width/height of the rectangle whose perspective image is `corners` (TL, TR, BR, BL).

    Zhang & He: with the principal point at the frame centre the quad fixes the focal length unless
    the card faces the camera squarely, where the aspect barely depends on it; DEFAULT_FOCAL is used
    then.
    """
    w, h = frame_size
    c = np.asarray(corners, np.float64) - (w / 2, h / 2)
    m1, m2, m4, m3 = (np.array([x, y, 1.0]) for x, y in c)  # m1 TL, m2 TR, m3 BL, m4 BR
    den2, den3 = np.dot(np.cross(m2, m4), m3), np.dot(np.cross(m3, m4), m2)
    if abs(den2) < 1e-9 or abs(den3) < 1e-9:
        return _side_aspect(corners)
    k2 = np.dot(np.cross(m1, m4), m3) / den2
    k3 = np.dot(np.cross(m1, m4), m2) / den3
    n2, n3 = k2 * m2 - m1, k3 * m3 - m1
    focal = DEFAULT_FOCAL * max(w, h)
    if abs(n2[2] * n3[2]) > 1e-12:
        f2 = -(n2[0] * n3[0] + n2[1] * n3[1]) / (n2[2] * n3[2])
        if (0.4 * max(w, h)) ** 2 < f2 < (2.0 * max(w, h)) ** 2:
            focal = float(np.sqrt(f2))
    top = (n2[0] ** 2 + n2[1] ** 2) / focal ** 2 + n2[2] ** 2
    bottom = (n3[0] ** 2 + n3[1] ** 2) / focal ** 2 + n3[2] ** 2
    if top <= 0 or bottom <= 0:
        return _side_aspect(corners)
    return float(np.sqrt(top / bottom))


def _side_aspect(corners: np.ndarray) -> float:
    c = np.asarray(corners, np.float64)
    width = np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])
    height = np.linalg.norm(c[3] - c[0]) + np.linalg.norm(c[2] - c[1])
    return float(width / max(float(height), 1e-9))


# ---- candidates on the proxy ---------------------------------------------------------------------

def _gradients(grey: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    blurred = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), sigma) if sigma > 0 else grey.astype(np.float32)
    return (cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3) / 8)


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear samples of a float32 image at (..., 2) points (x, y); 0 outside."""
    flat = points.reshape(-1, 2).astype(np.float32)
    values = cv2.remap(image, flat[:, 0].reshape(1, -1), flat[:, 1].reshape(1, -1), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return values.reshape(points.shape[:-1])


def _side_frames(corners: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float]]:
    """(midpoint, unit direction, outward unit normal, length) of each side of a clockwise quad."""
    out = []
    for k in range(4):
        a, b = corners[k].astype(np.float64), corners[(k + 1) % 4].astype(np.float64)
        length = float(np.linalg.norm(b - a))
        d = (b - a) / max(length, 1e-9)
        out.append(((a + b) / 2, d, np.array([d[1], -d[0]]), length))
    return out


def edge_support(gx: np.ndarray, gy: np.ndarray, corners: np.ndarray, *, threshold: float,
                 samples: int = 24, slack: float = 1.5) -> np.ndarray:
    """Per side, the share of points (10-90 % along it) with a brightness step across it.

    A point counts when, within `slack` pixels across the side, the gradient along the outward
    normal exceeds `threshold` grey levels a pixel, with the side's majority sign.
    """
    t = np.linspace(-0.4, 0.4, samples)
    offsets = np.linspace(-slack, slack, 5)
    shares = np.zeros(4)
    for k, (mid, d, n, length) in enumerate(_side_frames(corners)):
        points = mid + (t[:, None, None] * length) * d + offsets[None, :, None] * n  # (samples, 5, 2)
        across = _sample(gx, points) * n[0] + _sample(gy, points) * n[1]
        strongest = np.take_along_axis(across, np.abs(across).argmax(axis=1)[:, None], axis=1)[:, 0]
        positive = np.count_nonzero(strongest > threshold)
        negative = np.count_nonzero(strongest < -threshold)
        shares[k] = max(positive, negative) / samples
    return shares


def _polygons(mask: np.ndarray, mode: int, min_area: float) -> list[np.ndarray]:
    """Quadrilaterals simplified from the convex hulls of a binary mask's contours."""
    found = []
    contours, _ = cv2.findContours(mask, mode, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        hull = cv2.convexHull(contour)
        if cv2.contourArea(hull) < min_area:
            continue
        perimeter = cv2.arcLength(hull, True)
        for eps in (0.02, 0.035, 0.05):
            poly = cv2.approxPolyDP(hull, eps * perimeter, True)
            if len(poly) == 4:
                found.append(order_quad(poly))
                break
    return found


def _quad_candidates(grey: np.ndarray) -> list[np.ndarray]:
    """Rough quads from edges (two Canny sensitivities) and from the bright regions (Otsu)."""
    h, w = grey.shape
    blurred = cv2.GaussianBlur(grey, (0, 0), 1.2)
    min_area = MIN_AREA * h * w
    kernel = np.ones((3, 3), np.uint8)
    found: list[np.ndarray] = []
    for low, high in ((20, 60), (40, 120)):
        edges = cv2.dilate(cv2.Canny(blurred, low, high), kernel)
        found += _polygons(edges, cv2.RETR_LIST, min_area)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, kernel, iterations=2)
    found += _polygons(bright, cv2.RETR_EXTERNAL, min_area)
    unique: list[np.ndarray] = []
    for quad in found:
        if all(np.abs(quad - other).max() > 2.0 for other in unique):
            unique.append(quad)
    return unique


def plausible_aspect(aspect: float) -> bool:
    """True when an outline of this true aspect can be a document: one page, or two side by side."""
    return ASPECT_RANGE[0] <= aspect <= ASPECT_RANGE[1] or SPREAD_RANGE[0] <= aspect <= SPREAD_RANGE[1]


def _plausible(corners: np.ndarray, frame_size: tuple[int, int]) -> float | None:
    """True aspect of a candidate, or None when it cannot be a document seen by a phone."""
    c = corners.astype(np.float64)
    top = c[1] - c[0]
    upright = abs(top[1]) > abs(top[0])
    sides = np.linalg.norm(np.roll(c, -1, axis=0) - c, axis=1)
    if sides.min() < 0.1 * max(frame_size):
        return None
    for k in range(4):  # corner angles between 45 and 135 degrees
        a, b = c[k - 1] - c[k], c[(k + 1) % 4] - c[k]
        cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
        if abs(cos) > 0.71:
            return None
    aspect = true_aspect(c, frame_size)
    return aspect if plausible_aspect(aspect) and not (upright and aspect < UPRIGHT_MIN_ASPECT) else None


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    contour = outer.reshape(-1, 1, 2).astype(np.float32)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in inner)


def detect_card(grey_proxy: np.ndarray, *, min_support: float = 0.6, max_area: float = 0.85) -> CardQuad | None:
    """The most document-like quadrilateral of a grey proxy image, in its pixels; None if none is.

    Every rough candidate is refined on the proxy before it is judged. Documents held long side
    up are looked for too (`UPRIGHT_MIN_ASPECT`). A good candidate nested in
    another (a card shown on a screen inside the screen's outline; a passport data page inside the
    open booklet) is preferred to the one around it.
    """
    h, w = grey_proxy.shape[:2]
    gradients = _gradients(grey_proxy, 1.0)
    judged: list[CardQuad] = []
    plausible = [q for q in _quad_candidates(grey_proxy) if _plausible(q, (w, h)) is not None]
    # the largest few are judged: a document is one of the big quads of its frame
    plausible.sort(key=lambda q: cv2.contourArea(q), reverse=True)
    for rough in plausible[:MAX_CANDIDATES]:
        width = float(np.linalg.norm(rough[1] - rough[0]))
        corners, _ = refine_corners(gradients, rough, reach=max(3.0, 0.05 * width), passes=QUICK_PASSES,
                                    samples=24)
        aspect = _plausible(corners, (w, h))
        if aspect is None or cv2.contourArea(corners) > max_area * w * h:
            continue
        support = float(edge_support(*gradients, corners, threshold=4.0).min())
        if support >= min_support and all(np.abs(corners - q.corners).max() > 2.0 for q in judged):
            judged.append(CardQuad(corners, support, aspect, (w, h)))
    if not judged:
        return None

    def score(quad: CardQuad) -> float:
        return quad.support + 0.2 * cv2.contourArea(quad.corners) / (w * h)

    best = max(judged, key=score)
    nested = [q for q in judged if q is not best and _inside(q.corners, best.corners)
              and cv2.contourArea(q.corners) > 0.35 * cv2.contourArea(best.corners)
              and q.support >= best.support - 0.15]
    best = max(nested, key=score) if nested else best
    grown = _absorb_glare(grey_proxy, gradients, best.corners)
    if grown is best.corners:
        return best
    aspect = _plausible(grown, (w, h))
    return best if aspect is None else CardQuad(grown, best.support, aspect, (w, h))


GLARE_LEVEL = 245  # grey level at and above which a pixel is saturated by a specular reflection


def _absorb_glare(grey: np.ndarray, gradients: tuple[np.ndarray, np.ndarray], corners: np.ndarray) -> np.ndarray:
    """Move a side that borders a saturated glare out to the glare's far edge.

    A strong reflection on a laminated card is brighter than the print and forms its own edge
    against the card, which a detector can take for the card's border. When the pixels just outside
    a side are mostly saturated, the side is searched for again further out (up to 30 % of the
    document's size) among edges whose inside is saturated; the input is returned unchanged otherwise.
    """
    quad = np.asarray(corners, np.float64)
    gx, gy = gradients
    frames = _side_frames(quad)
    lines = []
    moved = False
    for k, (mid, d, n, length) in enumerate(frames):
        t = np.linspace(-0.4, 0.4, 24) * length
        outside = mid + t[:, None] * d + 2.5 * n
        if np.mean(_sample(grey.astype(np.float32), outside) >= GLARE_LEVEL) < 0.5:
            lines.append((mid, d))
            continue
        across = frames[(k + 1) % 4][3]  # the perpendicular size of the document
        offsets = np.arange(2.0, 0.3 * across, 0.5)
        points = mid + offsets[:, None, None] * n + t[None, :, None] * d  # (S, T, 2)
        step = -(_sample(gx, points) * n[0] + _sample(gy, points) * n[1]).mean(axis=1)
        inside = _sample(grey.astype(np.float32), points - 2.0 * n).mean(axis=1) >= GLARE_LEVEL - 15
        step = np.where(inside, step, -np.inf)
        if not np.isfinite(step).any() or step.max() < 4.0:
            lines.append((mid, d))
            continue
        lines.append((mid + offsets[int(step.argmax())] * n, d))
        moved = True
    if not moved:
        return corners
    new = [_intersect(*lines[k - 1], *lines[k]) for k in range(4)]
    if any(p is None for p in new):
        return corners
    return np.array(new, np.float32)


# ---- refinement ----------------------------------------------------------------------------------

def _line_search(gx: np.ndarray, gy: np.ndarray, mid: np.ndarray, d: np.ndarray, n: np.ndarray,
                 length: float, reach: float, max_angle: float, step: float,
                 angle_step: float, samples: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The line near (mid, d) with the strongest mean brightness step across it.

    Returns a point on it, its direction and the mean step (grey levels a pixel; positive when the
    inside is brighter than the outside). Steps that are brighter outside count at 0.6 of their
    strength, so a document on a darker surface keeps its own edge rather than a shadow's far side.
    """
    offsets = np.arange(-reach, reach + step / 2, step)
    angles = np.radians(np.arange(-max_angle, max_angle + angle_step / 2, angle_step))
    t = np.linspace(-0.42, 0.42, samples) * length
    cos, sin = np.cos(angles), np.sin(angles)
    dirs = np.stack([cos * d[0] - sin * d[1], sin * d[0] + cos * d[1]], axis=-1)  # (A, 2)
    normals = np.stack([dirs[:, 1], -dirs[:, 0]], axis=-1)
    centres = mid + offsets[None, :, None] * normals[:, None, :]  # (A, S, 2)
    points = centres[:, :, None, :] + t[None, None, :, None] * dirs[:, None, None, :]  # (A, S, T, 2)
    across = _sample(gx, points) * normals[:, None, None, 0] + _sample(gy, points) * normals[:, None, None, 1]
    strength = -across.mean(axis=2)  # inside brighter -> gradient along the outward normal negative
    score = np.where(strength > 0, strength, -0.6 * strength)
    a, s = np.unravel_index(int(score.argmax()), score.shape)
    offset = offsets[s]
    if 0 < s < len(offsets) - 1:  # parabolic sub-step
        left, centre, right = score[a, s - 1], score[a, s], score[a, s + 1]
        curvature = left - 2 * centre + right
        if curvature < 0:
            offset += step * 0.5 * (left - right) / curvature
    return mid + offset * normals[a], dirs[a], float(strength[a, s])


def _intersect(p1: np.ndarray, d1: np.ndarray, p2: np.ndarray, d2: np.ndarray) -> np.ndarray | None:
    matrix = np.array([[d1[0], -d2[0]], [d1[1], -d2[1]]])
    if abs(np.linalg.det(matrix)) < 1e-9:
        return None
    s = np.linalg.solve(matrix, p2 - p1)[0]
    return p1 + s * d1


FINE_PASSES = ((1.0, 4.0, 1.0), (0.35, 1.5, 0.25))  # (share of reach, max angle, angle step): precise
QUICK_PASSES = ((1.0, 3.0, 1.5), (0.3, 1.0, 0.5))  # for judging candidates on the proxy


def refine_corners(grey: np.ndarray | tuple[np.ndarray, np.ndarray], corners: np.ndarray, *, reach: float,
                   passes: tuple[tuple[float, float, float], ...] = FINE_PASSES, samples: int = 48,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Corners refined on `grey` (in its pixels) and each side's edge strength.

    `grey` may be given as its (gx, gy) gradients when they are at hand. Each pass searches offsets
    within `reach` * its fraction (pixels) and angles within its angle (degrees) at its step
    (degrees), around the previous pass's lines.
    """
    gx, gy = grey if isinstance(grey, tuple) else _gradients(grey, 1.0)
    quad = np.asarray(corners, np.float64)
    strengths = np.zeros(4)
    for fraction, max_angle, angle_step in passes:
        lines = []
        for k, (mid, d, n, length) in enumerate(_side_frames(quad)):
            point, direction, strengths[k] = _line_search(
                gx, gy, mid, d, n, length, reach * fraction, max_angle, max(0.25, reach * fraction / 24),
                angle_step, samples)
            lines.append((point, direction))
        new = [_intersect(*lines[k - 1], *lines[k]) for k in range(4)]
        if any(p is None for p in new):
            break
        candidate = np.array(new)
        if cv2.contourArea(candidate.astype(np.float32)) < 0.5 * cv2.contourArea(quad.astype(np.float32)):
            break
        quad = candidate
    return quad.astype(np.float32), strengths


# ---- pages of an outline -------------------------------------------------------------------------

def halves(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two halves of a quad (TL, TR, BR, BL) split across its top side's middle (in perspective),
    each ordered by `order_quad`."""
    c = np.asarray(corners, np.float64)
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    to_frame = cv2.getPerspectiveTransform(unit, c.astype(np.float32))
    middles = np.array([[[0.5, 0.0], [0.5, 1.0]]], np.float64)
    top, bottom = cv2.perspectiveTransform(middles, to_frame.astype(np.float64))[0]
    return (order_quad(np.array([c[0], top, bottom, c[3]])), order_quad(np.array([top, c[1], c[2], bottom])))


def page_candidates(corners: np.ndarray, frame_size: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Where the page carrying the MRZ may be inside an outline, most likely first.

    An ID-1 card is its outline. An outline of the 1.42 shape is a page (ID-2, ID-3) or an open
    passport held with its fold across the outline's long side (176 x 125, the data page one half,
    turned a quarter); a spread (two pages side by side along their short sides) is one of its halves. Which one carries the MRZ is the reader's
    to say.
    """
    aspect = true_aspect(corners, frame_size)
    if aspect >= SPREAD_RANGE[0]:
        return halves(corners)
    if aspect > ASPECT_SPLIT:
        return (np.asarray(corners, np.float32),)
    return (np.asarray(corners, np.float32), *halves(corners))


# ---- rectification -------------------------------------------------------------------------------

def canonical_size(size_mm: tuple[float, float], px_per_mm: float) -> tuple[int, int]:
    """(width, height) in pixels of a document of `size_mm` at `px_per_mm`."""
    return (round(size_mm[0] * px_per_mm), round(size_mm[1] * px_per_mm))


def card_homography(corners: np.ndarray, size_mm: tuple[float, float], px_per_mm: float) -> np.ndarray:
    """3x3 homography from frame pixels to the canonical card image."""
    w, h = canonical_size(size_mm, px_per_mm)
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return cv2.getPerspectiveTransform(np.asarray(corners, np.float32), target)


def rectify(image: np.ndarray, corners: np.ndarray, size_mm: tuple[float, float],
            px_per_mm: float) -> np.ndarray:
    """The document warped upright (as ordered by `corners`) at `px_per_mm`; outside the frame the edge repeats."""
    return cv2.warpPerspective(image, card_homography(corners, size_mm, px_per_mm),
                               canonical_size(size_mm, px_per_mm), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def rotate_quad(corners: np.ndarray, turns: int) -> np.ndarray:
    """The same quad with its corner order rotated by `turns` (2: the document is upside down)."""
    return np.roll(np.asarray(corners, np.float32), -turns, axis=0)


def quad_from_mrz(band_corners: np.ndarray, layout: Layout) -> np.ndarray:
    """Where the document's corners should be, given its MRZ band's corners (TL, TR, BR, BL) in a frame.

    `mrz_band.find_mrz_band` boxes the MRZ's line blobs with margins (4 blob heights across, 3.2
    down; a blob is about a capital's height, 2.3-2.5 mm). The band's width fixes the scale, its top
    edge the rotation and its centre the position: a similarity from the layout, so perspective far
    from the band is not modelled. A prior to refine, or a bound to test against the frame's
    edges, not a measurement.
    """
    c = np.asarray(band_corners, np.float64)
    blob = 1.05 * MRZ_CAP_HEIGHT_MM
    width_mm = layout.mrz_width * MRZ_PITCH_MM - 0.7 + 4 * blob
    top, bottom = layout.mrz_baselines_mm()[0], layout.mrz_baselines_mm()[-1]
    centre_mm = np.array([layout.size_mm[0] / 2, (top + bottom) / 2 - MRZ_CAP_HEIGHT_MM / 2])
    width_px = (np.linalg.norm(c[1] - c[0]) + np.linalg.norm(c[2] - c[3])) / 2
    scale = width_px / width_mm
    direction = (c[1] - c[0]) + (c[2] - c[3])
    angle = np.arctan2(direction[1], direction[0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dw, dh = layout.size_mm
    card = np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], np.float64) - centre_mm
    return (card @ rotation.T + c.mean(axis=0)).astype(np.float32)


def proxy_scale(image: np.ndarray, side: int = _PROXY_SIDE) -> float:
    """Proxy pixels per image pixel for `video.to_proxy` at `side`."""
    return min(1.0, side / max(image.shape[:2]))
