"""Film a flat document as a phone would: a smooth 3-D camera path, lighting, optics and sensor.

The document is a plane seen by a pinhole camera (focal length of a phone's main camera). Its pose
over time is a sum of slow random sinusoids: tilt about both axes, in-plane roll, distance and drift.
Each frame composites the perspective-warped subject over a moving textured backdrop with a soft
shadow, then applies what the scene and the camera add: exposure and white balance, vignetting, a
specular glare whose position follows the mirror geometry of a fixed lamp (so it moves as the card
tilts and stays put when it does not), defocus, motion blur along the motion, and sensor noise.
Frames are produced one at a time, so a long video never sits in memory.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import skimage.data

from ..errors import InvalidInput
from .documents import CardRender, rounded_mask

Quad = tuple[tuple[float, float], ...]  # four (x, y) frame pixels: top-left, top-right, bottom-right, bottom-left
_LOWRES = 4  # lighting maps are computed on a grid this many times coarser than the frame
_FOCAL = 0.78  # focal length over the frame's long side: a phone main camera, about 65 degrees wide


COVER = (45, 30, 100)  # BGR of a passport's burgundy cover


class Surface(str, enum.Enum):
    """How the filmed object reflects light."""

    LAMINATE = "laminate"  # plastic card or laminated page: a glossy highlight that moves with tilt
    PAPER = "paper"  # a photocopy: matte
    SCREEN = "screen"  # glass over an emissive pixel grid: a sharp reflection, refresh banding


@dataclass(frozen=True)
class Fold:
    """A crease across a subject: a point of it, the unit normal (subject pixels) pointing into the
    half that stays turned about the crease, and by how much (degrees; the sign says which way)."""

    point: tuple[float, float]
    normal: tuple[float, float]
    angle_deg: float


@dataclass(frozen=True, eq=False)
class Subject:
    """A flat object to film (BGR + alpha) and where the document lies on it, in its pixels."""

    image: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)  # 255 on the object
    px_per_mm: float
    document_box: tuple[float, float, float, float]  # x, y, width, height of the document
    surface: Surface
    # True when the outline is not the bounding rectangle's (a damaged card): its shadow and glare
    # then follow the alpha rather than the rectangle
    exact_outline: bool = False
    fold: Fold | None = None  # a crease whose two halves the lamp lights differently

    @property
    def document_size_mm(self) -> tuple[float, float]:
        """(width, height) of the document in millimetres."""
        return (self.document_box[2] / self.px_per_mm, self.document_box[3] / self.px_per_mm)

    def resized(self, px_per_mm: float) -> Subject:
        """The same subject sampled at `px_per_mm` (area-averaged, so the camera does not alias it)."""
        scale = px_per_mm / self.px_per_mm
        size = (max(1, round(self.image.shape[1] * scale)), max(1, round(self.image.shape[0] * scale)))
        x, y, w, h = self.document_box
        fold = self.fold and Fold((self.fold.point[0] * scale, self.fold.point[1] * scale), self.fold.normal,
                                  self.fold.angle_deg)
        return Subject(cv2.resize(self.image, size, interpolation=cv2.INTER_AREA),
                       cv2.resize(self.alpha, size, interpolation=cv2.INTER_AREA), px_per_mm,
                       (x * scale, y * scale, w * scale, h * scale), self.surface, self.exact_outline, fold)


def card_subject(render: CardRender, surface: Surface = Surface.LAMINATE) -> Subject:
    """A card or page on its own: the subject is the document."""
    h, w = render.image.shape[:2]
    return Subject(render.image, render.mask, render.px_per_mm, (0.0, 0.0, float(w), float(h)), surface)


def booklet_subject(render: CardRender, facing: np.ndarray, *, flush: bool = False) -> Subject:
    """An open passport seen flat: the data page below its `facing` page, both on the burgundy cover.

    `flush`: the pages meet at the fold with no gap and little shading and the cover barely shows,
    so that the only clear outline is the whole open booklet's (a tall shape, 2 pages high).
    """
    ppm = render.px_per_mm
    h, w = render.image.shape[:2]
    gap, rim = (0, round(0.8 * ppm)) if flush else (round(1.0 * ppm), round(2.0 * ppm))
    image = np.empty((2 * h + gap + 2 * rim, w + 2 * rim, 3), np.uint8)
    image[:] = COVER
    image[rim:rim + h, rim:rim + w] = facing
    image[rim + h + gap:rim + 2 * h + gap, rim:rim + w] = render.image
    fold = rim + h + gap / 2
    rows = np.abs(np.arange(image.shape[0]) - fold) / ppm
    depth = 0.12 if flush else 0.35
    image[:] = (image * (1 - depth * np.exp(-rows / 4.0))[:, None, None]).astype(np.uint8)  # pages curve into the spine
    alpha = rounded_mask((image.shape[1], image.shape[0]), round(4.0 * ppm))
    return Subject(image, alpha, ppm, (float(rim), float(rim + h + gap), float(w), float(h)), Surface.LAMINATE)


def quarter_turned(subject: Subject, turns: int = 1) -> Subject:
    """`subject` turned `turns` quarters counter-clockwise (an open passport held with its fold
    upright; a card held long side up: 1 or 3)."""
    for _ in range(turns % 4):  # a subject pixel (x, y) goes to (y, width - x)
        x, y, w, h = subject.document_box
        width = subject.image.shape[1]
        fold = subject.fold and Fold((subject.fold.point[1], width - subject.fold.point[0]),
                                     (subject.fold.normal[1], -subject.fold.normal[0]), subject.fold.angle_deg)
        subject = Subject(np.ascontiguousarray(np.rot90(subject.image)), np.ascontiguousarray(np.rot90(subject.alpha)),
                          subject.px_per_mm, (y, width - x - w, h, w), subject.surface, subject.exact_outline, fold)
    return subject


def sleeved_subject(subject: Subject, rng: np.random.Generator) -> Subject:
    """`subject` inside a clear plastic sleeve 2-5 mm larger on every side: a faint milky film over
    the document and the desk, and a brighter welded edge, which make a second outline around the
    document's."""
    ppm = subject.px_per_mm
    pad = round(rng.uniform(2.0, 5.0) * ppm)
    edge = max(1, round(0.8 * ppm))
    h, w = subject.image.shape[:2]
    haze = np.float32(rng.uniform(0.06, 0.12))
    image = np.full((h + 2 * pad, w + 2 * pad, 3), 235, np.uint8)
    inner = subject.image.astype(np.float32) * (1 - haze) + 235 * haze
    image[pad:pad + h, pad:pad + w] = np.clip(inner, 0, 255).astype(np.uint8)
    film = rounded_mask((w + 2 * pad, h + 2 * pad), round(3.0 * ppm)).astype(np.float32) / 255
    alpha = film * rng.uniform(50, 80)  # the film alone lets most of the desk through
    alpha[edge:-edge, edge:-edge] *= 0.6
    alpha[pad:pad + h, pad:pad + w] = np.maximum(alpha[pad:pad + h, pad:pad + w], subject.alpha.astype(np.float32))
    x, y, dw, dh = subject.document_box
    fold = subject.fold and Fold((subject.fold.point[0] + pad, subject.fold.point[1] + pad), subject.fold.normal,
                                 subject.fold.angle_deg)
    return Subject(image, np.clip(alpha, 0, 255).astype(np.uint8), ppm, (x + pad, y + pad, dw, dh), subject.surface,
                   fold=fold)


def screen_subject(render: CardRender, rng: np.random.Generator, pitch_mm: float) -> Subject:
    """The document shown on a monitor or tablet: pixel grid of `pitch_mm` with RGB stripes, bezel.

    The displayed card sits on a dark UI inside the screen, which sits in a black bezel. Each screen
    pixel is 6 subject pixels wide (two per red, green and blue stripe, a dark row between pixels); the
    camera then samples that grid without prefiltering, which gives the moire of a filmed screen.
    """
    doc_w, doc_h = render.size_mm
    margin, bezel = rng.uniform(3, 9), rng.uniform(4, 9)
    cols, rows = round((doc_w + 2 * margin) / pitch_mm), round((doc_h + 2 * margin) / pitch_mm)
    shown = np.full((rows, cols, 3), (30, 27, 25), np.float32)  # dark UI around the picture
    x0, y0 = round(margin / pitch_mm), round(margin / pitch_mm)
    size = (round(doc_w / pitch_mm), round(doc_h / pitch_mm))
    card = cv2.resize(render.image, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = cv2.resize(render.mask, size, interpolation=cv2.INTER_AREA)[..., None] / 255.0
    region = shown[y0:y0 + size[1], x0:x0 + size[0]]
    shown[y0:y0 + size[1], x0:x0 + size[0]] = card * mask + region * (1 - mask)
    shown = np.clip(shown * np.float32([1.07, 1.0, 0.9]) + 10.0, 0, 255).astype(np.uint8)  # bluish, glowing black
    cell = 6
    stripes = np.full((cell, cell, 3), 0.3, np.float32)
    for channel, start in ((2, 0), (1, 2), (0, 4)):  # BGR planes: red, green and blue stripes
        stripes[:, start:start + 2, channel] = 1.0
    stripes[cell - 1] *= 0.6
    pixels = np.repeat(np.repeat(shown, cell, axis=0), cell, axis=1)
    screen = cv2.multiply(pixels, np.tile(np.round(stripes * 255).astype(np.uint8), (rows, cols, 1)), scale=2 / 255)
    ppm = cell / pitch_mm
    pad = round(bezel * ppm)
    device = cv2.copyMakeBorder(screen, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(18, 18, 20))
    alpha = rounded_mask((device.shape[1], device.shape[0]), round(min(bezel, 6.0) * ppm))
    box = (float(pad + x0 * cell), float(pad + y0 * cell), float(size[0] * cell), float(size[1] * cell))
    return Subject(device, alpha, ppm, box, Surface.SCREEN)


MIN_FRAMES = 2  # a trajectory (the document moving and tilting) needs two poses at least


@dataclass(frozen=True)
class Shot:
    """How the video is taken: frame size and rate, length, difficulty and what goes wrong."""

    size: tuple[int, int] = (1280, 720)  # width, height
    fps: float = 30.0
    seconds: float = 4.0
    hard: bool = False  # stronger blur, noise, glare and tilt, less light: still readable by a person
    tilt: bool = True  # False: the document only moves in its plane (constant perspective and glare)
    cut_off: bool = False  # part of the document stays outside the frame in every frame
    # largest tilt (degrees) the path reaches, drawn in this range; None: the mode's (15-25, hard 20-30)
    tilt_range_deg: tuple[float, float] | None = None
    defocus_mm: float | None = None  # defocus sigma on the document; None: the mode's mild defocus
    # x, y, width, height (millimetres on the document) that a strong glare hides in every frame
    glare_box_mm: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        if not (self.fps > 0 and self.seconds > 0) or round(self.fps * self.seconds) < MIN_FRAMES:
            raise InvalidInput(f"a document video of {self.seconds:g} s at {self.fps:g} fps has fewer than "
                               f"{MIN_FRAMES} frames: film at least {MIN_FRAMES / max(self.fps, 1e-9):.2g} s")

    @property
    def frame_count(self) -> int:
        """Frames in the video."""
        return round(self.fps * self.seconds)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """The document's pose in camera coordinates for every frame, and its corners in the frame."""

    rotations: np.ndarray = field(repr=False)  # (n, 3, 3)
    translations: np.ndarray = field(repr=False)  # (n, 3), millimetres, of the document's centre
    focal: float
    size: tuple[int, int]
    corners: tuple[Quad, ...]

    def projection(self, index: int) -> np.ndarray:
        """3x3 homography from document millimetres (origin at its centre, y down) to frame pixels."""
        w, h = self.size
        camera = np.array([[self.focal, 0, w / 2], [0, self.focal, h / 2], [0, 0, 1]])
        rotation = self.rotations[index]
        return camera @ np.column_stack([rotation[:, 0], rotation[:, 1], self.translations[index]])

    def homography(self, index: int, subject: Subject) -> np.ndarray:
        """3x3 homography from `subject` pixels to frame pixels."""
        x, y, w, h = subject.document_box
        to_mm = np.array([[1 / subject.px_per_mm, 0, -(x + w / 2) / subject.px_per_mm],
                          [0, 1 / subject.px_per_mm, -(y + h / 2) / subject.px_per_mm], [0, 0, 1]])
        return self.projection(index) @ to_mm


def _smooth(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """A zero-mean random curve of slow sinusoids (0.12-0.6 Hz), scaled to a peak of 1."""
    freqs, phases, weights = rng.uniform(0.12, 0.6, 3), rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.3, 1, 3)
    curve = (weights[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    curve -= curve.mean()
    return curve / max(float(np.abs(curve).max()), 1e-9)


def _rotations(pitch: np.ndarray, yaw: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Rz(roll) @ Ry(yaw) @ Rx(pitch) for arrays of angles in degrees."""
    a, b, c = np.radians(pitch), np.radians(yaw), np.radians(roll)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rx = np.stack([one, zero, zero, zero, np.cos(a), -np.sin(a), zero, np.sin(a), np.cos(a)], -1)
    ry = np.stack([np.cos(b), zero, np.sin(b), zero, one, zero, -np.sin(b), zero, np.cos(b)], -1)
    rz = np.stack([np.cos(c), -np.sin(c), zero, np.sin(c), np.cos(c), zero, zero, zero, one], -1)
    return rz.reshape(-1, 3, 3) @ ry.reshape(-1, 3, 3) @ rx.reshape(-1, 3, 3)


def _project(rotations: np.ndarray, translations: np.ndarray, focal: float, size: tuple[int, int],
             points_mm: np.ndarray) -> np.ndarray:
    """(n, k, 2) frame pixels of plane points (k, 2) in document millimetres."""
    plane = np.column_stack([points_mm, np.zeros(len(points_mm))])
    camera = np.einsum("nij,kj->nki", rotations, plane) + translations[:, None, :]
    return focal * camera[..., :2] / camera[..., 2:] + np.array(size) / 2


def _outside(corners: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, 4) how far (pixels) each corner lies outside the frame; <= 0 when inside."""
    w, h = size
    x, y = corners[..., 0], corners[..., 1]
    return np.maximum.reduce([-x, x - (w - 1), -y, y - (h - 1)])


def plan(shot: Shot, document_size_mm: tuple[float, float], rng: np.random.Generator) -> Trajectory:
    """A smooth random camera path; the document stays in frame unless `shot.cut_off`."""
    w, h = shot.size
    n = shot.frame_count
    t = np.arange(n) / shot.fps
    doc_w, doc_h = document_size_mm
    focal = _FOCAL * max(w, h)
    cover = min(rng.uniform(0.5, 0.75), 0.8 * h / w * doc_w / doc_h)  # document width / frame width
    low, high = (20.0, 30.0) if shot.hard else (15.0, 25.0)
    max_tilt = rng.uniform(low, high)
    if shot.tilt_range_deg is not None:  # the same draw mapped onto the range: other draws stay as they were
        a, b = shot.tilt_range_deg
        max_tilt = a + (max_tilt - low) / (high - low) * (b - a)
    if shot.tilt:
        pitch = max_tilt * rng.uniform(0.6, 1.0) * _smooth(rng, t)
        yaw = max_tilt * rng.uniform(0.6, 1.0) * _smooth(rng, t)
        if max(np.abs(pitch).max(), np.abs(yaw).max()) < max_tilt * 0.99:  # one axis reaches max_tilt
            yaw *= max_tilt / np.abs(yaw).max()
    else:
        pitch = yaw = np.zeros(n)
    roll = rng.uniform(-8, 8) + rng.uniform(2, 6) * _smooth(rng, t)
    rotations = _rotations(pitch, yaw, roll)
    distance = focal * doc_w / (cover * w) * (1 + 0.06 * _smooth(rng, t))
    drift = np.stack([_smooth(rng, t), _smooth(rng, t)], axis=1) * [0.05 * w, 0.05 * h]
    corners_mm = np.array([[-doc_w / 2, -doc_h / 2], [doc_w / 2, -doc_h / 2],
                           [doc_w / 2, doc_h / 2], [-doc_w / 2, doc_h / 2]])
    margin = 0.02 * w
    for _ in range(60):  # back off and calm the drift until every corner is inside the frame
        translations = np.column_stack([drift * distance[:, None] / focal, distance])
        corners = _project(rotations, translations, focal, shot.size, corners_mm)
        if (_outside(corners, shot.size) <= -margin).all():
            break
        distance, drift = distance * 1.03, drift * 0.9
    if shot.cut_off:
        translations, corners = _cut_off(rng, rotations, translations, focal, shot.size, corners_mm)
    quads = tuple(tuple((round(float(x), 2), round(float(y), 2)) for x, y in frame) for frame in corners)
    return Trajectory(rotations, translations, focal, shot.size, quads)


def _cut_off(rng: np.random.Generator, rotations: np.ndarray, translations: np.ndarray, focal: float,
             size: tuple[int, int], corners_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Push the path towards one edge or corner, per frame just enough that part of the document is out.

    A push of 1 moves the document's centre onto the frame's edge or corner. Each frame's push is the
    smallest that puts a corner `need` pixels out, widened by a running maximum and then smoothed, so
    the document drifts naturally and stays cut off in every frame.
    """
    directions = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, -1), (1, 1), (-1, 1)]
    direction = np.array(directions[int(rng.integers(len(directions)))], np.float64) * np.array(size) / 2
    need = rng.uniform(0.03, 0.07) * size[0]

    def pushed(steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        moved = translations.copy()
        moved[:, :2] += steps[:, None] * direction * translations[:, 2:] / focal
        return moved, _project(rotations, moved, focal, size, corners_mm)

    candidates = np.linspace(0, 1.5, 301)
    enough = np.stack([_outside(pushed(np.full(len(rotations), c))[1], size).max(axis=1) >= need
                       for c in candidates])
    steps = candidates[enough.argmax(axis=0)].astype(np.float32)[None, :]
    window = max(3, len(rotations) // 8) | 1
    steps = cv2.dilate(steps, np.ones((1, window), np.uint8), borderType=cv2.BORDER_REPLICATE)
    steps = cv2.GaussianBlur(steps, (window, 1), 0, borderType=cv2.BORDER_REPLICATE)[0].astype(np.float64)
    for _ in range(20):
        moved, corners = pushed(steps)
        if (_outside(corners, size).max(axis=1) >= need * 0.95).all():
            return moved, corners
        steps += 0.01
    raise AssertionError("cut_off: no push puts the document partly out of frame")


# ---- what the scene and the camera add -----------------------------------------------------------

def _noise_field(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth noise (zero mean, unit-ish spread) with about `cells` blobs across the long side."""
    h, w = shape
    step = max(w, h) / cells
    coarse = rng.normal(0, 1, (max(2, round(h / step)) + 1, max(2, round(w / step)) + 1)).astype(np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _tint(grey: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]) -> np.ndarray:
    """Map a grey image in [0, 1] onto a BGR ramp from `dark` to `light`."""
    g = np.clip(grey, 0, 1)[..., None]
    return (np.float32(dark) * (1 - g) + np.float32(light) * g).astype(np.uint8)


def _wood(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Planks of wood: wavy grain rings, fibre streaks and dark seams."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    warp = _noise_field(rng, shape, 5) * 0.015 * w
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + warp + 0.02 * yy) / (rng.uniform(0.01, 0.025) * w))
    streaks = cv2.resize(rng.normal(0, 1, (max(2, h // 40), w)).astype(np.float32), (w, h))
    grey = 0.55 + 0.18 * rings + 0.08 * streaks + 0.1 * _noise_field(rng, shape, 4)
    plank = max(8, round(w * rng.uniform(0.18, 0.35)))
    grey[:, (np.arange(w) % plank) < 3] *= 0.55
    colours = [((25, 55, 95), (120, 170, 215)), ((20, 35, 60), (75, 110, 150)), ((70, 100, 130), (170, 200, 225))]
    return _tint(grey, *colours[int(rng.integers(len(colours)))])


def _fabric(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A woven cloth: a fine sinusoidal weave with blotches."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(3.0, w / rng.uniform(180, 320))
    weave = np.sin(2 * np.pi * xx / period) * np.sin(2 * np.pi * yy / period)
    grey = 0.5 + 0.12 * weave + 0.12 * _noise_field(rng, shape, 10) + 0.05 * rng.normal(0, 1, shape)
    colours = [((90, 50, 30), (190, 140, 100)), ((40, 40, 40), (150, 150, 150)), ((40, 70, 40), (130, 170, 130)),
               ((40, 40, 110), (120, 130, 210))]
    return _tint(grey, *colours[int(rng.integers(len(colours)))])


def _desk(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A plain black, grey or white desk with a faint uneven finish."""
    base = rng.choice([0.15, 0.55, 0.9])
    grey = base + 0.05 * _noise_field(rng, shape, 3) + 0.015 * rng.normal(0, 1, shape)
    colours = [((20, 20, 20), (235, 235, 235)), ((30, 25, 20), (225, 230, 240))]
    return _tint(grey, *colours[int(rng.integers(len(colours)))])


def _granite(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A stone worktop: scikit-image's gravel texture, tiled and tinted beige."""
    source = skimage.data.gravel()
    tiles = (-(-shape[0] // source.shape[0]), -(-shape[1] // source.shape[1]))
    grey = np.tile(source, tiles)[:shape[0], :shape[1]].astype(np.float32) / 255
    return _tint(grey * 0.8 + 0.1, (50, 60, 75), (190, 205, 222))


def backdrop(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A surface to film on (BGR, 30 % larger than `size` so it can move): wood, fabric, desk or granite."""
    shape = (round(size[1] * 1.3), round(size[0] * 1.3))
    maker = [_wood, _fabric, _desk, _granite][int(rng.integers(4))]
    return cv2.GaussianBlur(maker(rng, shape), (0, 0), 0.6)  # a little out of focus behind the card


@dataclass(frozen=True)
class _Look:
    """The per-video random draws of lighting, optics and sensor."""

    defocus_mm: np.ndarray  # per frame
    shutter: float  # exposure time as a fraction of the frame interval: motion blur length
    gain: np.ndarray  # per-frame exposure
    white_balance: np.ndarray  # BGR gains
    vignette: float
    noise: float  # sensor noise sigma, grey levels
    lamp: np.ndarray  # lamp position in camera coordinates, millimetres
    glare_peak: float
    glare_sigma_mm: float
    shadow: tuple[float, float, float]  # offset x, offset y (fractions of frame width), strength
    follow: float  # how much the backdrop follows the document's motion in the frame


def _look(shot: Shot, distance: float, rng: np.random.Generator) -> _Look:
    """Draw the video's lighting, optics and sensor; `hard` means less light and more of everything bad."""
    t = np.arange(shot.frame_count) / shot.fps
    hard = shot.hard
    defocus = shot.defocus_mm if shot.defocus_mm is not None else (
        rng.uniform(0.08, 0.12) if hard else rng.uniform(0.03, 0.06))
    warm = rng.uniform(-1, 1)
    return _Look(
        defocus_mm=defocus * (1 + 0.25 * _smooth(rng, t)),
        shutter=rng.uniform(0.5, 0.9) if hard else rng.uniform(0.2, 0.45),
        gain=(rng.uniform(0.55, 0.7) if hard else rng.uniform(0.92, 1.05)) * (1 + 0.05 * _smooth(rng, t)),
        white_balance=np.float32([1 - 0.04 * warm, 1.0, 1 + 0.04 * warm]),
        vignette=rng.uniform(0.15, 0.35),
        noise=rng.uniform(5, 8) if hard else rng.uniform(1.5, 3.0),
        lamp=np.array([rng.uniform(-0.6, 0.6), -rng.uniform(0.3, 0.9), rng.uniform(-0.3, 0.2)]) * distance,
        glare_peak=rng.uniform(130, 210) if hard else rng.uniform(60, 120),
        glare_sigma_mm=rng.uniform(7, 13),
        shadow=(rng.uniform(-0.02, 0.02), rng.uniform(0.005, 0.025), rng.uniform(0.25, 0.45)),
        follow=rng.uniform(0.2, 0.7),
    )


def _highlight(rotation: np.ndarray, translation: np.ndarray, lamp: np.ndarray) -> np.ndarray | None:
    """Document millimetres where the lamp's mirror image is seen, or None if it is behind the plane."""
    normal = rotation[:, 2]
    mirrored = lamp - 2 * np.dot(lamp - translation, normal) * normal
    denominator = np.dot(mirrored, normal)
    if abs(denominator) < 1e-9:
        return None
    scale = np.dot(translation, normal) / denominator
    if not 0 < scale < 1:
        return None
    return (rotation.T @ (scale * mirrored - translation))[:2]


class _Camera:
    """Renders the frames of one shot of one subject; holds everything drawn once per video."""

    def __init__(self, subject: Subject, shot: Shot, trajectory: Trajectory, rng: np.random.Generator):
        self.shot, self.trajectory = shot, trajectory
        w, h = shot.size
        corners = np.array(trajectory.corners)
        self.doc_ppm = np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1) / subject.document_size_mm[0]
        if subject.surface is not Surface.SCREEN:  # a screen keeps its grid so the camera aliases it
            subject = subject.resized(min(subject.px_per_mm, 1.3 * float(self.doc_ppm.max())))
        self.subject = subject
        self.look = _look(shot, float(trajectory.translations[:, 2].mean()), rng)
        self.backdrop = backdrop(rng, shot.size)
        self.centres = corners.mean(axis=1)
        gh, gw = -(-h // _LOWRES), -(-w // _LOWRES)
        gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64)
        self.grid = np.stack([(gx + 0.5) * _LOWRES - 0.5, (gy + 0.5) * _LOWRES - 0.5, np.ones_like(gx)], -1)
        radius = ((self.grid[..., 0] - w / 2) ** 2 + (self.grid[..., 1] - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
        self.vignette = (1 - self.look.vignette * radius).astype(np.float32)
        grain = rng.normal(0, 1, (h + 64, w + 64, 3)) + rng.normal(0, 1, (h + 64, w + 64, 1))  # chroma + luma
        self.noise = np.round(grain * (self.look.noise / 1.4)).astype(np.int16)
        self.rng = rng
        x, y, dw, dh = subject.document_box
        oh, ow = subject.image.shape[:2]
        centre = np.array([x + dw / 2, y + dh / 2])
        self.object_mm = (np.array([(0, 0), (ow, oh)]) - centre) / subject.px_per_mm  # its corners, TL and BR

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame of the shot, in order."""
        for index in range(self.shot.frame_count):
            yield self.frame(index)

    def frame(self, index: int) -> np.ndarray:
        """One BGR uint8 frame: composite, light, glare, blur, then sensor noise (all saturating)."""
        image = self._backdrop(index)
        self._composite(image, index)
        light, glare = self._lighting(index)
        image = cv2.add(cv2.multiply(image, light, dtype=cv2.CV_8U), glare)
        image = self._blur(image, index)
        w, h = self.shot.size
        ox, oy = self.rng.integers(0, 64, 2)
        return cv2.add(image, self.noise[oy:oy + h, ox:ox + w], dtype=cv2.CV_8U)

    def _backdrop(self, index: int) -> np.ndarray:
        w, h = self.shot.size
        bh, bw = self.backdrop.shape[:2]
        shift = self.look.follow * (self.centres[index] - self.centres.mean(axis=0))
        matrix = np.array([[1, 0, shift[0] - (bw - w) / 2], [0, 1, shift[1] - (bh - h) / 2]])
        return cv2.warpAffine(self.backdrop, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def _composite(self, image: np.ndarray, index: int) -> None:
        """Warp the subject into `image` (BGR uint8, in place), blended by its anti-aliased outline."""
        w, h = self.shot.size
        homography = self.trajectory.homography(index, self.subject)
        sh, sw = self.subject.image.shape[:2]
        outline = cv2.perspectiveTransform(np.float64([[[0, 0], [sw, 0], [sw, sh], [0, sh]]]), homography)[0]
        x0, y0 = np.maximum(np.floor(outline.min(axis=0)), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(outline.max(axis=0)) + 1, (w, h)).astype(int)
        if x1 <= x0 or y1 <= y0:
            return
        to_roi = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ homography
        size = (int(x1 - x0), int(y1 - y0))
        warped = cv2.warpPerspective(self.subject.image, to_roi, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpPerspective(self.subject.alpha, to_roi, size, flags=cv2.INTER_LINEAR).astype(np.float32)
        roi = image[y0:y1, x0:x1]
        roi[:] = cv2.blendLinear(warped, np.ascontiguousarray(roi), alpha, 255 - alpha)

    def _lighting(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Full-size multiplicative light (float, per channel) and additive glare (uint8), from coarse maps.

        The light carries exposure, white balance, vignetting, the object's soft shadow on the
        backdrop and, for a screen, refresh banding.
        """
        look, shot = self.look, self.shot
        projection = self.trajectory.projection(index)
        mapped = self.grid @ np.linalg.inv(projection).T
        points = mapped[..., :2] / mapped[..., 2:]  # document millimetres of every grid cell
        (left, top), (right, bottom) = self.object_mm
        if self.subject.exact_outline:
            inside = self._coverage(index)
        else:
            inside = ((points[..., 0] > left) & (points[..., 0] < right) & (points[..., 1] > top)
                      & (points[..., 1] < bottom) & (mapped[..., 2] > 0)).astype(np.float32)
        light = self.vignette * float(look.gain[index]) * (1 - self._shadow(inside) * (1 - inside))
        if self.subject.fold is not None:
            light *= self._fold_shading(index, points, inside)
        if self.subject.surface is Surface.SCREEN:
            rows = self.grid[..., 1] / shot.size[1]
            band = 0.5 + 0.5 * np.sin(2 * np.pi * (rows * 2.5 + index * 0.37))
            light *= (1 - 0.18 * band * inside).astype(np.float32)
        glare = self._glare(index, points) * inside * float(look.gain[index])
        glare = np.clip(glare[..., None] * [0.97, 1.0, 1.0], 0, 255).astype(np.uint8)
        return (cv2.resize(light[..., None] * look.white_balance, shot.size, interpolation=cv2.INTER_LINEAR),
                cv2.resize(glare, shot.size, interpolation=cv2.INTER_LINEAR))

    def _coverage(self, index: int) -> np.ndarray:
        """Share (0..1) of each coarse grid cell that the subject's alpha covers in frame `index`."""
        shift = 0.5 / _LOWRES - 0.5  # grid cell centres sit at (g + 0.5) * _LOWRES - 0.5 frame pixels
        to_grid = np.array([[1 / _LOWRES, 0, shift], [0, 1 / _LOWRES, shift], [0, 0, 1]])
        homography = to_grid @ self.trajectory.homography(index, self.subject)
        size = self.grid.shape[1::-1]
        return cv2.warpPerspective(self.subject.alpha, homography, size, flags=cv2.INTER_LINEAR).astype(np.float32) / 255

    def _fold_shading(self, index: int, points: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """Light factor (coarse grid) of a creased subject: its turned half, tilted by the fold's angle
        about the crease, receives the lamp's light at another angle (Lambert's cosine law)."""
        fold, subject = self.subject.fold, self.subject
        if fold is None:
            return np.ones(inside.shape, np.float32)
        x, y, w, h = subject.document_box
        point = (np.array(fold.point) - (x + w / 2, y + h / 2)) / subject.px_per_mm  # document mm
        normal = np.array(fold.normal)
        rotation, translation = self.trajectory.rotations[index], self.trajectory.translations[index]
        axis = rotation @ np.array([-normal[1], normal[0], 0.0])
        to_lamp = self.look.lamp - (rotation @ np.array([*point, 0.0]) + translation)
        to_lamp /= np.linalg.norm(to_lamp)
        front = -rotation[:, 2]  # the printed face looks towards the camera
        angle = np.radians(fold.angle_deg)
        turned = (front * np.cos(angle) + np.cross(axis, front) * np.sin(angle)
                  + axis * np.dot(axis, front) * (1 - np.cos(angle)))  # Rodrigues' rotation
        ratio = float(np.clip(max(np.dot(turned, to_lamp), 0.05) / max(np.dot(front, to_lamp), 0.05), 0.3, 1.6))
        half = (((points - point) @ normal) > 0).astype(np.float32)
        return (1 + (ratio - 1) * half * inside).astype(np.float32)

    def _shadow(self, inside: np.ndarray) -> np.ndarray:
        """Darkening (0..strength) of the object's soft shadow, offset from it, on the coarse grid."""
        dx, dy, strength = self.look.shadow
        w = self.shot.size[0]
        move = np.float32([[1, 0, dx * w / _LOWRES], [0, 1, dy * w / _LOWRES]])
        moved = cv2.warpAffine(inside, move, inside.shape[::-1])
        return strength * cv2.GaussianBlur(moved, (0, 0), 0.02 * w / _LOWRES)

    def _glare(self, index: int, points: np.ndarray) -> np.ndarray:
        """Additive glare on the coarse grid, in grey levels."""
        look, shot = self.look, self.shot
        zeros = np.zeros(points.shape[:2])
        if shot.glare_box_mm is not None:
            x, y, bw, bh = shot.glare_box_mm
            doc_w, doc_h = self.subject.document_size_mm
            wobble = 2.0 * np.sin(index * 0.21 + np.array([0.0, 1.3]))
            cx, cy = x + bw / 2 - doc_w / 2 + wobble[0], y + bh / 2 - doc_h / 2 + wobble[1]
            r2 = ((points[..., 0] - cx) / (0.62 * bw)) ** 2 + ((points[..., 1] - cy) / (0.95 * bh)) ** 2
            return 380.0 * np.exp(-(r2 ** 2))
        if self.subject.surface is Surface.PAPER:
            return zeros
        spot = _highlight(self.trajectory.rotations[index], self.trajectory.translations[index], look.lamp)
        if spot is None:
            return zeros
        sigma = look.glare_sigma_mm * (0.6 if self.subject.surface is Surface.SCREEN else 1.0)
        r2 = ((points - spot) ** 2).sum(axis=-1) / (2 * sigma ** 2)
        return look.glare_peak * (np.exp(-r2) + 0.25 * np.exp(-r2 / 9))

    def _blur(self, image: np.ndarray, index: int) -> np.ndarray:
        """Defocus (Gaussian, in document millimetres) and motion blur along the image motion."""
        sigma = float(self.look.defocus_mm[index] * self.doc_ppm[index])
        if sigma > 0.3:
            image = cv2.GaussianBlur(image, (0, 0), sigma)
        previous = self.centres[max(index - 1, 0)]
        following = self.centres[min(index + 1, len(self.centres) - 1)]
        motion = (following - previous) / 2 * self.look.shutter
        length = float(np.hypot(*motion))
        if length < 1.5:
            return image
        size = int(np.ceil(length)) | 1
        kernel = np.zeros((size + 2, size + 2), np.float32)
        c = (size + 1) / 2
        half = motion / 2
        cv2.line(kernel, (round((c - half[0]) * 16), round((c - half[1]) * 16)),
                 (round((c + half[0]) * 16), round((c + half[1]) * 16)), 1.0, 1, cv2.LINE_AA, 4)
        return cv2.filter2D(image, -1, kernel / kernel.sum())


def frames(subject: Subject, shot: Shot, trajectory: Trajectory, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """The shot's BGR frames, one at a time (deterministic for a given `rng` state)."""
    return _Camera(subject, shot, trajectory, rng).frames()
