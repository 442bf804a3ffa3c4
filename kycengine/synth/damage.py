"""Damage a document before it is filmed: a tear, a straight cut, a crease or a torn-off corner.

Every function takes the flat subject the camera will film (`filming.Subject`: a card, or an open
passport whose data page is its `document_box`), the document's `CardRender` (where its MRZ and
portrait are) and a random generator, and returns the damaged subject with a `DamageLabel`. Geometry
is drawn in document millimetres and stays clear of the MRZ (except a crease meant to cross it), so
that the damage is what a reader must notice, not something that hides the document.

What each damage looks like:
- tear: a jagged rip running in from an edge; its two sides are pulled apart (open at the edge,
  closing towards the tip) so the print no longer meets, one side is lifted (lit a little
  differently) and the torn laminate shows its white core along the lips.
- cut: a straight scissor cut through a corner, either a corner slice or a long thin strip off an
  edge; the cut face shows a faint light line (the core).
- corner_missing: a corner torn off along a ragged line with a white torn lip.
- crease: a straight fold line across the whole object: a thin stress-whitened ridge beside a dark
  crack line, and the two halves left at a small angle, so the lamp lights them differently
  (`filming.Fold`, which the camera applies per frame).
An ID card is one layer: what is removed shows the surface it lies on. A passport data page lies on
the booklet's cover: a torn page shows the cover through it, while a cut (the clipped corner of a
cancelled passport) goes through the whole booklet. Passport damage stays on the page's outer edges
(its bottom corners, left and right sides); a crease crosses the whole booklet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from ..document.types import DocumentType
from ..records import Record
from .documents import CardRender
from .filming import COVER, Fold, Subject

Point = tuple[float, float]
_CORE = 246.0  # grey level of a card's white core where its laminate is torn or cut
_TRIES = 200


@dataclass(frozen=True)
class DamageLabel(Record):
    """Ground truth of a damage: its kind, what it touches and where it runs (document millimetres)."""

    kind: str  # "tear", "cut", "corner_missing" or "crease"
    regions: tuple[str, ...]  # of "edge", "corner", "mrz", "portrait"
    path_mm: tuple[Point, ...]  # the rip, the cut line, the torn edge or the crease, from its start
    removed_mm2: float  # area of the document that no longer shows it (the opening of a tear included)


@dataclass(frozen=True)
class _Frame:
    """Document millimetres <-> subject pixels, and the document's zones in millimetres."""

    subject: Subject
    size_mm: tuple[float, float]
    mrz_mm: tuple[float, float, float, float]
    portrait_mm: tuple[float, float, float, float]
    on_cover: bool  # a passport page lying on its booklet's cover

    @classmethod
    def of(cls, subject: Subject, render: CardRender) -> _Frame:
        def mm(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
            return tuple(v / render.px_per_mm for v in box)  # type: ignore[return-value]

        return cls(subject, render.size_mm, mm(render.mrz_box), mm(render.portrait_box),
                   render.document_type is DocumentType.PASSPORT)

    def px(self, points_mm: np.ndarray) -> np.ndarray:
        x, y = self.subject.document_box[:2]
        return np.asarray(points_mm, np.float64) * self.subject.px_per_mm + (x, y)

    def touches(self, points_mm: np.ndarray, box: tuple[float, float, float, float], pad: float) -> bool:
        """True when any of `points_mm` lies within `pad` mm of `box` (pass a densified outline)."""
        x, y, w, h = box
        p = np.asarray(points_mm)
        near = (p[:, 0] > x - pad) & (p[:, 0] < x + w + pad) & (p[:, 1] > y - pad) & (p[:, 1] < y + h + pad)
        return bool(near.any())

    def page(self) -> np.ndarray:
        """1.0 on the document's box in the subject, 0 elsewhere (float32)."""
        x, y, w, h = (int(round(v)) for v in self.subject.document_box)
        inside = np.zeros(self.subject.alpha.shape, np.float32)
        inside[y:y + h, x:x + w] = 1
        return inside

    def regions(self, points_mm: np.ndarray, *base: str) -> tuple[str, ...]:
        found = list(base)
        if self.touches(points_mm, self.mrz_mm, 0.0):
            found.append("mrz")
        if self.touches(points_mm, self.portrait_mm, 0.0):
            found.append("portrait")
        return tuple(found)


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    """The polyline `points` resampled every `step` along its length (same units)."""
    lengths = np.r_[0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]
    at = np.arange(0, lengths[-1] + step / 2, step)
    return np.stack([np.interp(at, lengths, points[:, 0]), np.interp(at, lengths, points[:, 1])], axis=1)


def _ragged(rng: np.random.Generator, start: np.ndarray, end: np.ndarray, roughness: float) -> np.ndarray:
    """A torn line from `start` to `end` (mm): a random bulge plus jagged detail of `roughness` mm."""
    length = float(np.linalg.norm(end - start))
    t = np.linspace(0, 1, max(8, int(length / 0.2)))[:, None]
    normal = np.array([-(end - start)[1], (end - start)[0]]) / length
    bulge = rng.uniform(-0.12, 0.12) * length * np.sin(np.pi * t)
    detail = np.zeros_like(t)
    for cells, weight in ((4, 1.0), (12, 0.6), (40, 0.35)):  # three octaves of jaggedness
        knots = rng.normal(0, weight, cells + 1)
        detail[:, 0] += np.interp(t[:, 0], np.linspace(0, 1, cells + 1), knots)
    detail *= roughness * np.sin(np.pi * t) ** 0.3
    return start + t * (end - start) + (bulge + detail) * normal


def _extend(path: np.ndarray, reach: float) -> np.ndarray:
    """`path` lengthened by `reach` (mm) at both ends along its end directions (to close a region)."""
    head = path[0] - reach * (path[1] - path[0]) / np.linalg.norm(path[1] - path[0])
    tail = path[-1] + reach * (path[-1] - path[-2]) / np.linalg.norm(path[-1] - path[-2])
    return np.vstack([head, path, tail])


def _polygon_mask(frame: _Frame, polygon_mm: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage (float32 0..1, subject-sized) of a polygon given in document mm."""
    mask = np.zeros(frame.subject.alpha.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(frame.px(polygon_mm) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    return mask.astype(np.float32) / 255


def _lip(removed: np.ndarray, width_px: float) -> np.ndarray:
    """Weight (0..1) of a band `width_px` wide just outside the `removed` coverage (the torn or cut face)."""
    distance = cv2.distanceTransform((removed < 0.5).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(1.0 - (distance - width_px) / 1.0, 0, 1) * (removed < 0.5)


def _blend(image: np.ndarray, weight: np.ndarray, colour: tuple[float, float, float] | float) -> np.ndarray:
    """`image` (uint8) moved towards `colour` by `weight` (0..1 per pixel)."""
    w = weight[..., None]
    return np.clip(image * (1 - w) + np.asarray(colour, np.float32) * w, 0, 255).astype(np.uint8)


def _remove(frame: _Frame, removed: np.ndarray, through: bool) -> Subject:
    """The subject with `removed` (coverage 0..1) taken away: the surface shows through a card or a
    cut booklet (alpha), the cover through a passport's torn page."""
    subject = frame.subject
    if through or not frame.on_cover:
        alpha = (subject.alpha * (1 - removed)).astype(np.uint8)
        return dataclasses.replace(subject, alpha=alpha, exact_outline=True)
    cover = np.asarray(COVER, np.float32) * 0.85  # in the page's shadow
    shade = (float(cover[0]), float(cover[1]), float(cover[2]))
    return dataclasses.replace(subject, image=_blend(subject.image, removed * frame.page(), shade))


def _legs(rng: np.random.Generator, frame: _Frame, strip: bool) -> tuple[int, float, float]:
    """A corner (0 TL, 1 TR, 2 BR, 3 BL) and the lengths (mm) along its horizontal and vertical edges.

    Cards lose a top corner (the MRZ is at the bottom); a passport page its bottom corners (the top
    ones are at the binding), kept narrow along the bottom edge, beside the MRZ. A strip runs along
    at most 40 % of its edge, so that the rest of the edge still shows where the document was.
    """
    w, h = frame.size_mm
    if frame.on_cover:
        corner = int(rng.choice([2, 3]))
        return (corner, rng.uniform(3.5, 5.5), rng.uniform(0.25, 0.4) * h) if strip else (
            corner, rng.uniform(4.0, 9.0), rng.uniform(10, 22))
    corner = int(rng.choice([0, 1]))
    return (corner, rng.uniform(0.25, 0.4) * w, rng.uniform(4.0, 7.0)) if strip else (
        corner, rng.uniform(8, 18), rng.uniform(6, 13))


def _corner_points(frame: _Frame, corner: int, along: float, down: float) -> tuple[np.ndarray, ...]:
    """The corner's point and the points `along` mm along its horizontal edge and `down` mm along its vertical one."""
    w, h = frame.size_mm
    cx, cy = (0.0, w, w, 0.0)[corner], (0.0, 0.0, h, h)[corner]
    sx, sy = (1, -1, -1, 1)[corner], (1, 1, -1, -1)[corner]  # into the document
    return np.array([cx, cy]), np.array([cx + sx * along, cy]), np.array([cx, cy + sy * down])


def _beyond(frame: _Frame, a: np.ndarray, b: np.ndarray, corner_pt: np.ndarray) -> np.ndarray:
    """Coverage (anti-aliased) of the half-plane beyond the line through `a` and `b` (mm) on `corner_pt`'s side."""
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
    if normal @ (corner_pt - a) < 0:
        normal = -normal
    h, w = frame.subject.alpha.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    origin = frame.px(a)
    return np.clip(0.5 + (xs - origin[0]) * normal[0] + (ys - origin[1]) * normal[1], 0, 1).astype(np.float32)


def _outline(*parts: np.ndarray) -> np.ndarray:
    """The closed polyline through the points of `parts` (mm), densified for `_Frame.touches`."""
    points = np.vstack([np.atleast_2d(part) for part in parts])
    return _densify(np.vstack([points, points[:1]]), 0.25)


def cut(subject: Subject, render: CardRender, rng: np.random.Generator) -> tuple[Subject, DamageLabel]:
    """A straight cut through a corner: a slice of it, or (one time in two) a long thin strip off an edge."""
    frame = _Frame.of(subject, render)
    strip = bool(rng.random() < 0.5)
    for _ in range(_TRIES):
        corner, along, down = _legs(rng, frame, strip)
        corner_pt, a, b = _corner_points(frame, corner, along, down)
        if not frame.touches(_outline(corner_pt, a, b), frame.mrz_mm, 1.0):
            break
    else:
        raise AssertionError("cut: no cut clear of the MRZ")
    removed = _beyond(frame, a, b, corner_pt)  # a straight cut goes on through whatever it meets
    face = _lip(removed, rng.uniform(0.08, 0.18) * subject.px_per_mm)
    subject = dataclasses.replace(subject, image=_blend(subject.image, 0.45 * face, _CORE))
    label = DamageLabel("cut", frame.regions(_outline(corner_pt, a, b), "edge" if strip else "corner"),
                        (tuple(a.round(2)), tuple(b.round(2))), round(along * down / 2, 1))
    return _remove(frame, removed, through=True), label


def corner_missing(subject: Subject, render: CardRender, rng: np.random.Generator) -> tuple[Subject, DamageLabel]:
    """A corner torn off along a ragged line, the torn lip showing the white core."""
    frame = _Frame.of(subject, render)
    for _ in range(_TRIES):
        corner, along, down = _legs(rng, frame, strip=False)
        corner_pt, a, b = _corner_points(frame, corner, along, down)
        edge = _ragged(rng, a, b, rng.uniform(0.25, 0.5))
        if not frame.touches(_outline(corner_pt, edge), frame.mrz_mm, 1.0):
            break
    else:
        raise AssertionError("corner_missing: no tear clear of the MRZ")
    outside = corner_pt - 3.0 * np.sign(np.array(frame.size_mm) / 2 - corner_pt)  # 3 mm beyond the corner
    removed = _polygon_mask(frame, np.vstack([_extend(edge, 3.0), outside]))
    lip = _lip(removed, rng.uniform(0.2, 0.45) * subject.px_per_mm) * frame.page()
    subject = dataclasses.replace(subject, image=_blend(subject.image, 0.85 * lip, _CORE))
    area = float(cv2.contourArea(np.vstack([corner_pt, edge]).astype(np.float32)))
    label = DamageLabel("corner_missing", frame.regions(_outline(corner_pt, edge), "corner"),
                        tuple(map(tuple, edge.round(2))), round(area, 1))
    return _remove(frame, removed, through=False), label


def _rip(rng: np.random.Generator, frame: _Frame) -> np.ndarray:
    """The path (mm) of a rip from an edge, starting 1.5 mm outside the document, clear of the MRZ."""
    w, h = frame.size_mm
    sides = ("left", "right") if frame.on_cover else ("top", "left", "right")
    for _ in range(_TRIES):
        side = str(rng.choice(sides))
        if side == "top":
            start, heading = np.array([rng.uniform(0.25, 0.75) * w, 0.0]), np.pi / 2
        else:
            y = rng.uniform(0.2, 0.55) * h
            start, heading = (np.array([0.0, y]), 0.0) if side == "left" else (np.array([w, y]), np.pi)
        heading += rng.uniform(-0.45, 0.45)
        length, step = rng.uniform(12, 25), 0.3
        angles = [heading]
        for _ in range(int(length / step)):  # a wandering heading, pulled back to the rip's direction
            angles.append(angles[-1] + rng.normal(0, 0.3) - 0.3 * (angles[-1] - heading))
        steps = step * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        path = start + np.vstack([[0, 0], np.cumsum(steps, axis=0)])
        path = np.vstack([start - 1.5 * steps[0] / step, path])
        inside = (path[:, 0] > 1) & (path[:, 0] < w - 1) & (path[:, 1] > 1) & (path[:, 1] < h - 1)
        if inside[8:].all() and not frame.touches(path, frame.mrz_mm, 2.0):  # in after 2 mm
            return path
    raise AssertionError("tear: no rip clear of the MRZ")


def tear(subject: Subject, render: CardRender, rng: np.random.Generator) -> tuple[Subject, DamageLabel]:
    """A jagged rip in from an edge, its sides pulled apart and one of them lifted."""
    frame = _Frame.of(subject, render)
    ppm = subject.px_per_mm
    path_mm = _rip(rng, frame)
    path = _densify(frame.px(path_mm), 0.4)
    along = np.r_[0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    along -= 1.5 * ppm  # 0 where the rip crosses the edge
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    opening = rng.uniform(1.0, 2.2) * ppm * np.clip(1 - along / along[-1], 0, 1) ** 1.2  # px, at each point
    falloff, lip_px = 4.0 * ppm, rng.uniform(0.15, 0.35) * ppm
    lifted, lift = rng.choice([-1.0, 1.0]), rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.12)

    reach = opening.max() / 2 + falloff + 2
    x0, y0 = np.maximum(np.floor(path.min(axis=0) - reach), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(path.max(axis=0) + reach), subject.alpha.shape[::-1]).astype(int)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    pixels = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float64)
    distance, nearest = cKDTree(path).query(pixels)
    offset = pixels - path[nearest]
    side = np.sign(tangent[nearest, 0] * offset[:, 1] - tangent[nearest, 1] * offset[:, 0])
    half = opening[nearest] / 2
    gap = np.clip(half - distance + 0.5, 0, 1)  # anti-aliased opening
    pull = half * np.clip(1 - (distance - half) / falloff, 0, 1)  # each side pulled away from the rip
    source = pixels - offset / np.maximum(distance, 1e-6)[:, None] * pull[:, None]
    shape = (y1 - y0, x1 - x0)
    map_x, map_y = (source[:, k].reshape(shape).astype(np.float32) for k in (0, 1))
    image = cv2.remap(subject.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.remap(subject.alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    open_lip = (distance >= half) & (distance < half + lip_px) & (half > 0.3)
    lip = (open_lip * 0.85).reshape(shape)
    shade = 1 + lift * np.exp(-np.maximum(distance - half, 0) / (2.5 * ppm)) * (side == lifted)
    image = _blend((image * shade.reshape(shape)[..., None]).clip(0, 255), lip, _CORE)

    full_image, full_alpha = subject.image.copy(), subject.alpha.copy()
    full_image[y0:y1, x0:x1], full_alpha[y0:y1, x0:x1] = image, alpha
    removed = np.zeros(subject.alpha.shape, np.float32)
    removed[y0:y1, x0:x1] = gap.reshape(shape)
    subject = dataclasses.replace(subject, image=full_image, alpha=full_alpha)
    in_document = path_mm[(path_mm[:, 0] >= 0) & (path_mm[:, 0] <= frame.size_mm[0])
                          & (path_mm[:, 1] >= 0) & (path_mm[:, 1] <= frame.size_mm[1])]
    x, y, w, h = subject.document_box
    opened = float(removed[int(y):int(y + h), int(x):int(x + w)].sum()) / ppm ** 2
    label = DamageLabel("tear", frame.regions(in_document, "edge"), tuple(map(tuple, in_document.round(2))),
                        round(opened, 1))
    return _remove(dataclasses.replace(frame, subject=subject), removed, through=False), label


def _crease_line(rng: np.random.Generator, frame: _Frame, across: str) -> tuple[np.ndarray, np.ndarray]:
    """A point and a unit direction (mm) of a fold line crossing the MRZ (near-vertical, beside the
    portrait) or the portrait (near-horizontal, above the MRZ)."""
    w, h = frame.size_mm
    px, py, pw, ph = frame.portrait_mm
    for _ in range(_TRIES):
        if across == "mrz":
            mx, my, mw, mh = frame.mrz_mm
            point = np.array([rng.uniform(max(0.35 * w, px + pw + 6), 0.75 * w), my + mh / 2])
            angle = np.pi / 2 + rng.uniform(-0.35, 0.35)
        else:
            point = np.array([px + pw / 2, py + rng.uniform(0.3, 0.7) * ph])
            angle = rng.uniform(-0.26, 0.26)
        direction = np.array([np.cos(angle), np.sin(angle)])
        ends = point + np.outer([-2 * w, 2 * w], direction)
        chord = _clip_to_box(ends, (0.0, 0.0, w, h))
        if across == "mrz" and not frame.touches(_densify(chord, 0.5), frame.portrait_mm, 2.0):
            return point, direction
        if across == "portrait" and not frame.touches(_densify(chord, 0.5), frame.mrz_mm, 1.0):
            return point, direction
    raise AssertionError(f"crease: no fold line across the {across} alone")


def _clip_to_box(ends: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The part of the segment `ends` (2x2) inside `box` (Liang-Barsky)."""
    x, y, w, h = box
    start, delta = ends[0], ends[1] - ends[0]
    low, high = 0.0, 1.0
    for p, q in ((-delta[0], start[0] - x), (delta[0], x + w - start[0]),
                 (-delta[1], start[1] - y), (delta[1], y + h - start[1])):
        if abs(p) < 1e-12:
            continue
        t = q / p
        low, high = (max(low, t), high) if p < 0 else (low, min(high, t))
    return np.vstack([start + low * delta, start + high * delta])


def crease(subject: Subject, render: CardRender, rng: np.random.Generator, *,
           across: str) -> tuple[Subject, DamageLabel]:
    """A fold line across the whole object, crossing the MRZ or the portrait (`across`)."""
    frame = _Frame.of(subject, render)
    ppm = subject.px_per_mm
    point_mm, direction = _crease_line(rng, frame, across)
    point = frame.px(point_mm)
    normal = np.array([-direction[1], direction[0]])
    if normal @ (np.array(frame.size_mm) / 2 - point_mm) > 0:
        normal = -normal  # the smaller part of the document is the turned half
    h, w = subject.alpha.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    across_px = (xs - point[0]) * normal[0] + (ys - point[1]) * normal[1]
    along_px = (xs - point[0]) * direction[0] + (ys - point[1]) * direction[1]
    knots = rng.uniform(0.6, 1.0, 12)  # the whitening is patchy along the fold
    patchy = np.interp(along_px, np.linspace(-w - h, w + h, 12), knots).astype(np.float32)
    ridge_w, crack_w = rng.uniform(0.25, 0.4) * ppm, rng.uniform(0.2, 0.3) * ppm
    whiten = patchy * (rng.uniform(0.5, 0.7) * np.exp(-(across_px / ridge_w) ** 2)
                       + 0.08 * np.exp(-(across_px / (1.5 * ppm)) ** 2))
    crack = rng.uniform(0.35, 0.5) * np.exp(-((across_px - 0.55 * ppm) / crack_w) ** 2)
    image = subject.image.astype(np.float32)
    image = image + (255 - image) * whiten[..., None]
    image *= (1 - crack)[..., None]
    fold = Fold((float(point[0]), float(point[1])), (float(normal[0]), float(normal[1])),
                float(rng.choice([-1.0, 1.0]) * rng.uniform(6, 12)))
    subject = dataclasses.replace(subject, image=np.clip(image, 0, 255).astype(np.uint8), fold=fold)
    chord = _clip_to_box(point_mm + np.outer([-2, 2], direction) * sum(frame.size_mm), (0, 0, *frame.size_mm))
    label = DamageLabel("crease", frame.regions(_densify(chord, 0.5)), tuple(map(tuple, chord.round(2))), 0.0)
    return subject, label


Damager = Callable[[Subject, CardRender, np.random.Generator], tuple[Subject, DamageLabel]]
