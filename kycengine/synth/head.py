"""Animate a 2D face photo as a live head: depth-parallax head turns and eyelid blinks.

A person is cut out of a photo (GrabCut inside a head-and-shoulders prior), given a depth map (an
ellipsoid head with a nose bump on a shallow torso) and re-projected for each pose: every pixel moves
by its own depth, so the nose shifts more than the ears and the outline, unlike a planar photo whose
frames are related by one homography. Eyes are found with OpenCV's Haar eye cascade; a blink paints a
soft eyelid made from the surrounding skin over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache

import cv2
import cv2.data
import numpy as np

from .faces import load_face

GRID = 4  # the displacement field is solved on a grid this many pixels apart, then upsampled
BODY_TURN = 0.15  # fraction of the head's rotation the shoulders follow
_SOLVE_STEPS = 4  # fixed-point iterations that invert the forward displacement
_LIDS_MEET = 0.85  # where closed lids meet: 0 at the eye's top, 1 at its bottom
_IDENTITY = np.array([[1, 0, 0], [0, 1, 0]], np.float64)


@dataclass(frozen=True)
class HeadPose:
    """Head rotation in degrees: yaw > 0 turns the nose to the image's right, pitch > 0 down, roll > 0
    clockwise (as seen in the image)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass(frozen=True)
class Eye:
    """An eye as an ellipse in canvas pixels: centre (x, y) and half-axes (rx, ry)."""

    center: tuple[float, float]
    axes: tuple[float, float]


@dataclass(frozen=True, eq=False)
class HeadFrame:
    """One rendered pose: BGR image and matte (float32 0-1) of the output region the head covers,
    that region's top-left corner (x, y) in the output, and the face box (x, y, w, h) in the output."""

    image: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    origin: tuple[int, int]
    face_box: tuple[int, int, int, int]

    def over(self, base: np.ndarray) -> np.ndarray:
        """`base` (modified in place and returned) with the head composited on it."""
        x, y = self.origin
        h, w = self.alpha.shape
        if h and w:
            region = base[y:y + h, x:x + w]
            region[:] = cv2.blendLinear(self.image, region, self.alpha, 1 - self.alpha)
        return base


@dataclass(frozen=True, eq=False)
class Head:
    """A person cut out of a photo on a transparent canvas, with the depth and eyes needed to animate it."""

    person: str
    rgba: np.ndarray = field(repr=False)  # BGRA uint8 canvas
    face_box: tuple[int, int, int, int]  # (x, y, w, h) on the canvas
    photo_bottom: int  # canvas row where the photo ends and the drawn-on torso begins
    eyes: tuple[Eye, Eye]
    closed_eyes: tuple[np.ndarray, np.ndarray] = field(repr=False)  # eye patches with the lids shut
    depth: np.ndarray = field(repr=False)  # grid: distance in front of the turning axis, canvas px
    weight: np.ndarray = field(repr=False)  # grid: fraction of the head's rotation each point follows

    @property
    def size(self) -> tuple[int, int]:
        """Canvas (width, height)."""
        return self.rgba.shape[1], self.rgba.shape[0]

    def render(self, pose: HeadPose, closure: float = 0.0, *, placement: np.ndarray | None = None,
               size: tuple[int, int] | None = None) -> HeadFrame:
        """Re-project the head for `pose`, eyelids `closure` shut (0 open, 1 closed), into an image.

        `placement` is the 2x3 affine from canvas to output pixels (identity by default) and `size` the
        output (width, height) (the canvas's by default); both are folded into one resampling.
        """
        placement = _IDENTITY if placement is None else np.asarray(placement, np.float64)
        width, height = self.size if size is None else size
        # Only the part of the output under the canvas is resampled.
        cw, ch = self.size
        corners = cv2.transform(np.array([[[0, 0], [cw, 0], [cw, ch], [0, ch]]], np.float64), placement)[0]
        x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, (width, height))
        x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int), 0, (width, height))
        local = placement - np.array([[0, 0, x0], [0, 0, y0]])
        map_x, map_y = self._source_map(pose, local, (x1 - x0, y1 - y0))
        source = self._with_eyelids(closure) if closure > 0 else self.rgba
        warped = cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0) if map_x.size else np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        alpha = warped[..., 3].astype(np.float32) * (1 / 255)
        return HeadFrame(image=warped[..., :3], alpha=alpha, origin=(int(x0), int(y0)),
                         face_box=self.box_at(pose, placement))

    def box_at(self, pose: HeadPose, placement: np.ndarray | None = None) -> tuple[int, int, int, int]:
        """Face box (x, y, w, h) once the head is at `pose`, in output pixels of `placement`."""
        x, y, w, h = self.face_box
        gx, gy = np.meshgrid(np.linspace(x, x + w, 7), np.linspace(y, y + h, 7))
        points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
        depth, weight = self._sample(points[:, 0], points[:, 1])
        moved = points + self._displacement(points[:, 0], points[:, 1], depth, weight, pose)
        moved = cv2.transform(moved[None], _IDENTITY if placement is None else placement)[0]
        x0, y0 = moved.min(axis=0)
        x1, y1 = moved.max(axis=0)
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))

    def _sample(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depth and rotation weight at canvas points (bilinear on the grid)."""
        gx = np.atleast_2d(_to_grid(xs))
        gy = np.atleast_2d(_to_grid(ys))
        depth = cv2.remap(self.depth, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        weight = cv2.remap(self.weight, gx, gy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return depth.reshape(np.shape(xs)), weight.reshape(np.shape(xs))

    def _displacement(self, xs: np.ndarray, ys: np.ndarray, depth: np.ndarray, weight: np.ndarray,
                      pose: HeadPose) -> np.ndarray:
        """Forward image motion of canvas points with the given depth and weight: rotate, then project."""
        px, py = _pivot(self.face_box)
        yaw = np.float32(np.radians(pose.yaw)) * weight
        pitch = np.float32(np.radians(pose.pitch)) * weight
        roll = np.float32(np.radians(pose.roll)) * weight
        dx = (xs - px) * (np.cos(yaw) - 1) + depth * np.sin(yaw)
        dy = (ys - py) * (np.cos(pitch) - 1) + depth * np.sin(pitch)
        # Roll turns the moved point about the neck, below the face.
        nx, ny = px, self.face_box[1] + 1.3 * self.face_box[3]
        rx, ry = xs + dx - nx, ys + dy - ny
        cos_r, sin_r = np.cos(roll), np.sin(roll)
        return np.stack([nx + rx * cos_r - ry * sin_r - xs, ny + rx * sin_r + ry * cos_r - ys], axis=-1)

    def _source_map(self, pose: HeadPose, placement: np.ndarray,
                    size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Canvas position to sample for every output pixel: the forward motion inverted by fixed point
        on a coarse grid, then upsampled."""
        width, height = size
        rows, cols = -(-height // GRID), -(-width // GRID)
        out_x, out_y = _grid_points((rows, cols))
        inverse = cv2.invertAffineTransform(placement).astype(np.float32)
        want_x = inverse[0, 0] * out_x + inverse[0, 1] * out_y + inverse[0, 2]
        want_y = inverse[1, 0] * out_x + inverse[1, 1] * out_y + inverse[1, 2]
        src_x, src_y = want_x, want_y
        for _ in range(_SOLVE_STEPS):
            depth, weight = self._sample(src_x, src_y)
            motion = self._displacement(src_x, src_y, depth, weight, pose)
            src_x, src_y = want_x - motion[..., 0], want_y - motion[..., 1]
        full = (cols * GRID, rows * GRID)
        map_x = cv2.resize(src_x.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
        map_y = cv2.resize(src_y.astype(np.float32), full, interpolation=cv2.INTER_LINEAR)
        return map_x[:height, :width], map_y[:height, :width]

    def _with_eyelids(self, closure: float) -> np.ndarray:
        """Copy of the canvas with both eyelids lowered `closure` of the way (soft lower edge, lash line)."""
        canvas = self.rgba.copy()
        for eye, closed in zip(self.eyes, self.closed_eyes):
            x0, y0, x1, y1 = _eye_patch(eye)
            (cx, cy), (rx, ry) = eye.center, eye.axes
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
            u, v = (xs - cx) / rx, (ys - cy) / ry
            radius, arc = np.hypot(u, v), ry * np.sqrt(np.clip(1 - u ** 2, 0, 1))
            # The upper lid sweeps down from the eye's upper arc, the lower lid rises a little; they meet
            # below the centre. The upper lid takes its lashes along (the skin above is redrawn).
            upper = cy + arc * (2 * _LIDS_MEET * closure - 1)
            lower = cy + arc * (1 - 2 * (1 - _LIDS_MEET) * closure)
            soft, moved = max(1.0, 0.25 * ry), min(1.0, 4 * closure)
            lid = np.maximum(np.clip((upper - ys) / soft + 0.5, 0, 1) * np.clip((1.5 - radius) / 0.35, 0, 1),
                             np.clip((ys - lower) / soft + 0.5, 0, 1) * np.clip((1.05 - radius) / 0.1, 0, 1))
            taper = np.sqrt(np.clip(1 - (u / 1.05) ** 2, 0, 1))
            lash = taper * np.exp(-((ys - upper) / max(0.7, 0.12 * ry)) ** 2) * 0.45 * closure
            patch = canvas[y0:y1, x0:x1, :3].astype(np.float32)
            mixed = patch + (closed.astype(np.float32) - patch) * (moved * lid)[..., None]
            canvas[y0:y1, x0:x1, :3] = np.clip(mixed * (1 - lash[..., None]), 0, 255).astype(np.uint8)
        return canvas


def _pivot(box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Where the axes of yaw and pitch cross the image: the centre of the skull, seen from the front."""
    x, y, w, h = box
    return x + w / 2, y + 0.45 * h


def _grid_points(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Canvas coordinates of the solver grid's nodes, aligned so that cv2.resize upsamples exactly."""
    rows, cols = shape[:2]
    return np.meshgrid((np.arange(cols, dtype=np.float32) + 0.5) * GRID - 0.5,
                       (np.arange(rows, dtype=np.float32) + 0.5) * GRID - 0.5)


def _to_grid(values: np.ndarray) -> np.ndarray:
    """Canvas coordinates to fractional grid indices (inverse of `_grid_points`)."""
    return ((np.asarray(values, np.float32) + 0.5) / GRID - 0.5).astype(np.float32)


def _eye_patch(eye: Eye) -> tuple[int, int, int, int]:
    """Integer patch (x0, y0, x1, y1) that holds the eye ellipse with a margin."""
    (cx, cy), (rx, ry) = eye.center, eye.axes
    return (int(cx - 1.8 * rx), int(cy - 2.6 * ry), int(np.ceil(cx + 1.8 * rx)),
            int(np.ceil(cy + 2.6 * ry)))


# The neck and shoulders below a face box: (rows below its top, half-width), in face heights and widths.
_SHOULDERS = ((1.05, 0.3), (1.4, 0.5), (1.6, 1.2), (2.6, 1.35))


def _mirrored(lines: np.ndarray) -> int:
    """How many leading lines (rows) are a BORDER_REFLECT_101 padding of the lines after them."""
    same = np.all(lines[:-2] == lines[2:], axis=tuple(range(1, lines.ndim)))  # line i == line i + 2
    for pad in np.flatnonzero(same[: len(lines) // 2]) + 1:
        reach = np.arange(1, min(pad, 6) + 1)
        if np.array_equal(lines[pad - reach], lines[pad + reach]):
            return int(pad)
    return 0


def _photo_extent(image: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the real photo inside a crop that faces.load_face padded by reflection."""
    height, width = image.shape[:2]
    columns = image.transpose(1, 0, 2)
    return (_mirrored(columns), _mirrored(image), width - _mirrored(columns[::-1]),
            height - _mirrored(image[::-1]))


def _person_matte(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Foreground mask (uint8 0/1) of the person whose face is `box`: GrabCut inside a silhouette prior,
    never on the mirrored padding around the real photo."""
    x, y, w, h = box
    cx = x + w / 2
    height, width = image.shape[:2]
    prior = np.full((height, width), cv2.GC_BGD, np.uint8)
    rows = np.r_[[y + r * h for r, _ in _SHOULDERS], max(height, y + _SHOULDERS[-1][0] * h)]
    half = np.r_[[s * w for _, s in _SHOULDERS], _SHOULDERS[-1][1] * w]
    shoulders = np.r_[np.c_[cx + half, rows], np.c_[cx - half, rows][::-1]].astype(np.int32)
    cv2.fillPoly(prior, [shoulders], cv2.GC_PR_FGD)
    cv2.ellipse(prior, (int(cx), int(y + 0.42 * h)), (int(0.78 * w), int(0.98 * h)), 0, 0, 360,
                cv2.GC_PR_FGD, -1)  # head and hair
    cv2.ellipse(prior, (int(cx), int(y + 0.55 * h)), (int(0.4 * w), int(0.55 * h)), 0, 0, 360,
                cv2.GC_FGD, -1)  # face
    cv2.ellipse(prior, (int(cx), int(y + 0.1 * h)), (int(0.38 * w), int(0.3 * h)), 0, 0, 360,
                cv2.GC_FGD, -1)  # forehead and hairline
    cv2.rectangle(prior, (int(cx - 0.2 * w), int(y + 1.1 * h)), (int(cx + 0.2 * w), height),
                  cv2.GC_FGD, -1)  # neck
    cv2.rectangle(prior, (int(cx - 0.6 * w), int(y + 1.6 * h)), (int(cx + 0.6 * w), height),
                  cv2.GC_FGD, -1)  # chest
    x0, y0, x1, y1 = _photo_extent(image)
    outside = np.ones_like(prior, dtype=bool)
    outside[y0:y1, x0:x1] = False
    prior[outside] = cv2.GC_BGD
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models from OpenCV's global RNG
    no_rect = (0, 0, 0, 0)  # what OpenCV makes of None: the mask, not a rectangle, starts the cut
    cv2.grabCut(image, prior, no_rect, np.zeros((1, 65)), np.zeros((1, 65)), 4, cv2.GC_INIT_WITH_MASK)
    mask = np.isin(prior, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # Clothes often match the background (dark on dark): below the shoulder line, trust the silhouette.
    torso = np.zeros_like(mask)
    cv2.fillPoly(torso, [shoulders], 1)
    torso[: int(y + 1.3 * h)] = 0
    mask |= torso  # even over the mirrored padding at the sides: it mirrors the clothes
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    smooth = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    _, labels = cv2.connectedComponents(smooth)
    return (labels == labels[int(y + 0.5 * h), int(cx)]).astype(np.uint8)  # the blob under the face


def _find_eyes(image: np.ndarray, box: tuple[int, int, int, int]) -> tuple[Eye, Eye]:
    """Eyes inside the face box by Haar cascade, else the canonical positions of a frontal face box."""
    x, y, w, h = box
    grey = cv2.cvtColor(image[y:y + int(0.62 * h), x:x + w], cv2.COLOR_BGR2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_eye.xml")
    found = cascade.detectMultiScale(cv2.equalizeHist(grey), scaleFactor=1.05, minNeighbors=4,
                                     minSize=(int(0.14 * w), int(0.14 * w)),
                                     maxSize=(int(0.4 * w), int(0.4 * w)))
    sides: list[Eye | None] = [None, None]
    for ex, ey, ew, eh in sorted(found, key=lambda b: -b[2]):
        centre = (x + ex + ew / 2, y + ey + eh * 0.55)
        side = int(centre[0] > x + w / 2)
        if sides[side] is None and 0.25 * h < centre[1] - y < 0.55 * h:
            sides[side] = Eye(centre, (0.36 * ew, 0.2 * ew))
    canonical = [Eye((x + fx * w, y + 0.39 * h), (0.1 * w, 0.055 * w)) for fx in (0.3, 0.7)]
    left, right = (found_eye or fallback for found_eye, fallback in zip(sides, canonical))
    return left, right


def _closed_eye(image: np.ndarray, eye: Eye) -> np.ndarray:
    """The eye's patch with the eye itself replaced by the skin around it (inpainted)."""
    x0, y0, x1, y1 = _eye_patch(eye)
    patch = np.ascontiguousarray(image[y0:y1, x0:x1])
    hole = np.zeros(patch.shape[:2], np.uint8)
    (cx, cy), (rx, ry) = eye.center, eye.axes
    cv2.ellipse(hole, (int(round(cx - x0)), int(round(cy - y0))),
                (int(np.ceil(rx * 1.45)), int(np.ceil(ry * 1.75))), 0, 0, 360, 1, -1)  # lashes too
    shut = cv2.inpaint(patch, hole, max(3, int(ry)), cv2.INPAINT_TELEA)
    return cv2.GaussianBlur(shut, (0, 0), max(0.8, 0.2 * ry))


def _depth_grid(size: tuple[int, int], box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Depth (px in front of the turning axis) and rotation weight on the solver grid."""
    x, y, w, h = box
    gx, gy = _grid_points((size[1] // GRID, size[0] // GRID))
    cx, cy = _pivot(box)
    u, v = (gx - cx) / (0.58 * w), (gy - cy) / (0.85 * h)
    radius = np.hypot(u, v)
    skull = 0.5 * w * np.clip(1 - radius ** 2, 0, 1)
    nose_x, nose_y = (gx - cx) / (0.09 * w), (gy - (y + 0.6 * h)) / (0.16 * h)
    nose = 0.14 * w * np.exp(-0.5 * (nose_x ** 2 + nose_y ** 2))
    torso = 0.3 * w * np.clip(1 - ((gx - cx) / (1.7 * w)) ** 2, 0, 1)
    in_head = np.clip((1.35 - radius) / 0.35, 0, 1)
    in_head = in_head * in_head * (3 - 2 * in_head)  # smoothstep
    below_chin = np.clip((gy - (y + 1.05 * h)) / (0.3 * h), 0, 1)
    in_head = in_head * (1 - below_chin)
    depth = in_head * (skull + nose) + (1 - in_head) * torso * below_chin
    smooth = cv2.GaussianBlur(depth, (0, 0), 0.05 * w / GRID)
    weight = BODY_TURN + (1 - BODY_TURN) * in_head
    return smooth.astype(np.float32), weight.astype(np.float32)


def _extend_torso(rgba: np.ndarray, box: tuple[int, int, int, int], rows: int) -> np.ndarray:
    """Add `rows` below the photo: its last row fading into the clothes' colour, shaded like a chest,
    cut to the shoulders' silhouette, so the body goes on below a photo that ends early."""
    x, y, w, h = box
    last = rgba[-1].astype(np.float32)
    worn = last[last[:, 3] > 128, :3]
    cloth = np.median(worn, axis=0) if len(worn) else np.array([60.0, 60.0, 60.0])
    ys = np.arange(rgba.shape[0], rgba.shape[0] + rows, dtype=np.float32)[:, None]
    xs = np.arange(rgba.shape[1], dtype=np.float32)[None, :]
    fade = np.clip((ys - rgba.shape[0]) / (0.3 * h), 0, 1)[..., None]
    half = np.interp((ys - y) / h, [r for r, _ in _SHOULDERS], [s for _, s in _SHOULDERS]) * w
    across = np.abs(xs - (x + w / 2)) / half
    shade = 1 - 0.3 * np.clip(across, 0, 1) ** 2
    colour = (last[None, :, :3] * (1 - fade) + cloth * fade) * shade[..., None]
    silhouette = np.clip((1 - across) * half / 2, 0, 1) * 255
    alpha = np.maximum(last[None, :, 3] * (1 - fade[..., 0]), silhouette)
    extension = np.dstack([colour, alpha]).clip(0, 255).astype(np.uint8)
    return np.vstack([rgba, extension])


@cache
def _cutout(person: str) -> tuple[np.ndarray, np.ndarray, tuple[Eye, Eye]]:
    """The source crop down to the real photo's last row, its person matte and the eyes (the slow
    part, done once per person)."""
    source = load_face(person)
    image = source.image[:_photo_extent(source.image)[3]]
    return image, _person_matte(image, source.face_box), _find_eyes(image, source.face_box)


@lru_cache(maxsize=8)
def make_head(person: str, face_height: int) -> Head:
    """Cut out `person` (one of faces.PEOPLE) scaled so the face box is `face_height` px tall."""
    source = load_face(person)
    image, matte, source_eyes = _cutout(person)
    scale = face_height / source.face_box[3]
    x, y, w, h = (v * scale for v in source.face_box)
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    alpha = cv2.resize(matte * 255, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(0.7, 0.012 * w))
    rgba = np.dstack([image, alpha])
    side, top, bottom = int(0.3 * w), int(0.2 * h), int(1.5 * h)
    right = side + (-(rgba.shape[1] + 2 * side) % GRID)  # keep the canvas whole grid cells wide
    rgba = cv2.copyMakeBorder(rgba, top, 0, side, right, cv2.BORDER_CONSTANT, value=0)
    bottom += -(rgba.shape[0] + bottom) % GRID
    photo_bottom = rgba.shape[0]
    box = (int(round(x)) + side, int(round(y)) + top, int(round(w)), int(round(h)))
    rgba = _extend_torso(rgba, box, bottom)
    left, right = (Eye((e.center[0] * scale + side, e.center[1] * scale + top),
                       (e.axes[0] * scale, e.axes[1] * scale)) for e in source_eyes)
    depth, weight = _depth_grid((rgba.shape[1], rgba.shape[0]), box)
    return Head(person=person, rgba=rgba, face_box=box, photo_bottom=photo_bottom, eyes=(left, right),
                closed_eyes=(_closed_eye(rgba[..., :3], left), _closed_eye(rgba[..., :3], right)),
                depth=depth, weight=weight)
