"""How attack media reproduce a photo of a person, as a phone's camera films them: prints and screens.

Print (`Printer`): the tone range of ink on paper (ink black well above a camera's black, paper white
below a lit face's highlights: a compressed range with no specular highlight), the printing process
(a laser printer's dot screen at 45 degrees and its line pitch, an inkjet's dither far finer than a
camera pixel, or a photo lab's continuous tone), paper grain, and a sheen only glossy paper has.
Screen (`Screen`): the panel's white point and gamut (bluer and less saturated than a face lit by the
room), its black level (backlight leak), its RGB stripe subpixels, and its light's pulsing
(`Flicker`: row scan or PWM dimming) that a rolling-shutter camera records as horizontal bands
drifting from frame to frame. A `Display` is a panel whose pixels are finer than the camera resolves
(a phone at arm's length, a monitor filmed from close up): its colours and light without a grid.
Every strength is drawn from the seed, weak and absent cases included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

SUPERSAMPLE = 4  # a dot screen is drawn this many times finer than the printed picture's pixels
PAPER_FIBRE_MM = 0.15  # size of the paper's mottle
LASER, INKJET, PHOTO = 0, 1, 2


@dataclass(frozen=True)
class Printer:
    """How a print reproduces a photo: grey levels of solid ink and of bare paper, saturation, the dot
    screen's line pitch (mm; 0: no dots a camera could resolve), paper grain (relative standard
    deviation) and gloss (its sheen's peak, grey levels)."""

    black: float
    white: float
    saturation: float
    screen_mm: float
    grain: float
    gloss: float

    @classmethod
    def make(cls, rng: np.random.Generator, hard: bool) -> Printer:
        """A laser print on plain paper, an inkjet print or a photo-lab print (hard: better prints, more
        often from a photo lab)."""
        kind = rng.choice((LASER, INKJET, PHOTO), p=(0.15, 0.35, 0.5) if hard else (0.4, 0.35, 0.25))
        if kind == LASER:  # greyish toner black, an AM dot screen of 35-130 lines per inch, matte paper
            return cls(rng.uniform(28, 55), rng.uniform(215, 235), rng.uniform(0.6, 0.8),
                       25.4 / rng.uniform(35, 130), rng.uniform(0.015, 0.04), rng.uniform(0, 8))
        if kind == INKJET:  # droplets far below a camera pixel: they only add to the paper's mottle
            return cls(rng.uniform(18, 42), rng.uniform(220, 240), rng.uniform(0.7, 0.9), 0.0,
                       rng.uniform(0.01, 0.035), rng.uniform(0, 20))
        return cls(rng.uniform(6, 20), rng.uniform(232, 248), rng.uniform(0.85, 0.98), 0.0,
                   rng.uniform(0.003, 0.012), rng.uniform(15, 40))

    @property
    def paper(self) -> tuple[int, int, int]:
        """BGR of bare paper (a little warm)."""
        return int(self.white - 10), int(self.white - 4), int(self.white)

    def render(self, rng: np.random.Generator, photo: np.ndarray, mm_per_px: float) -> np.ndarray:
        """`photo` (BGR) printed with `mm_per_px` millimetres per pixel: tone range, dots, grain."""
        tone = photo.astype(np.float32) * (1 / 255)
        grey = tone.mean(axis=2, keepdims=True)
        tone = np.clip(grey + (tone - grey) * self.saturation, 0, 1)
        if self.screen_mm > 0:
            tone = dot_screen(tone, self.screen_mm / mm_per_px)
        height, width = tone.shape[:2]
        grain = np.asarray(cv2.GaussianBlur(rng.standard_normal((height, width), dtype=np.float32), (0, 0),
                                            max(0.5, PAPER_FIBRE_MM / mm_per_px)), np.float32)
        grain *= self.grain / max(1e-6, float(grain.std()))
        printed = (self.black + (self.white - self.black) * tone) * (1 + grain)[..., None]
        return np.clip(printed, 0, 255).astype(np.uint8)


def dot_screen(tone: np.ndarray, period: float) -> np.ndarray:
    """`tone` (0-1 per channel) as an AM halftone: round ink dots on a 45-degree lattice `period` px
    apart, growing with the ink needed; drawn SUPERSAMPLE times finer, blurred by the lens a little
    (so that dots finer than a pixel average out rather than alias) and averaged over each pixel."""
    height, width = tone.shape[:2]
    fine = cv2.resize(tone, (width * SUPERSAMPLE, height * SUPERSAMPLE), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:height * SUPERSAMPLE, 0:width * SUPERSAMPLE].astype(np.float32) * (1 / SUPERSAMPLE)
    step = np.float32(2 * np.pi / (period * np.sqrt(2)))
    spot = 0.5 - 0.25 * (np.cos((xs + ys) * step) + np.cos((xs - ys) * step))  # 0 at dot centres
    paper = (spot[..., None] >= 1 - fine).astype(np.float32)  # ink where the spot is below the coverage
    paper = cv2.GaussianBlur(paper, (0, 0), 0.35 * SUPERSAMPLE)
    return cv2.resize(paper, (width, height), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Flicker:
    """A screen's light pulsing at `hz`, as a rolling-shutter camera records it: each sensor row is read
    `readout_s` x its height later than the top one, so the pulses become horizontal bands that drift
    as the pulses beat against the frame rate; `depth` is the modulation the exposure leaves."""

    hz: float
    depth: float
    readout_s: float

    @classmethod
    def make(cls, rng: np.random.Generator, hard: bool) -> Flicker:
        """A 60 Hz row scan (nearly locked to the frame rate: slow drift) or PWM dimming at 90-500 Hz, or
        none (a DC-dimmed backlight); each row's exposure (longer in a dark room) averages the pulses
        down by |sinc(hz x exposure)|."""
        hz = 60 * rng.uniform(0.997, 1.003) if rng.random() < 0.35 else rng.uniform(90, 500)
        pulsing = rng.uniform(0.15, 0.9) if rng.random() < 0.8 else 0.0
        exposure = rng.uniform(1 / 80, 1 / 30) if hard else rng.uniform(1 / 400, 1 / 60)
        return cls(hz, pulsing * abs(float(np.sinc(hz * exposure))), rng.uniform(0.012, 0.03))

    def loss(self, t: float, rows: int) -> np.ndarray:
        """Share of the screen's light missing from each of `rows` frame rows at time `t` (float32)."""
        phase = 2 * np.pi * self.hz * (t + self.readout_s * np.arange(rows) / rows)
        return (self.depth * (0.5 + 0.5 * np.cos(phase))).astype(np.float32)


def panel_colours(rng: np.random.Generator) -> np.ndarray:
    """A panel's colours as a 3x4 affine on BGR: its white point (bluer than the room's light, by up to
    12 %), its gamut (78-95 % saturation) and its black level (an OLED's, or an LCD's backlight leak)."""
    cool = rng.uniform(0, 1)  # how much bluer its white is than the room's light (0: a warm night mode)
    cast = np.diag(1 + cool * np.array([0.12, 0.01, -0.1]))  # BGR
    saturation = rng.uniform(0.78, 0.95)
    grey = np.full((3, 3), 1 / 3) * (1 - saturation)
    black = rng.uniform(0, 4) if rng.random() < 0.35 else rng.uniform(6, 18)  # OLED, else LCD leak
    return np.c_[cast @ (np.eye(3) * saturation + grey), np.full(3, black)]


@dataclass(frozen=True, eq=False)
class Display:
    """A panel whose pixels the camera does not resolve (a phone's 400 ppi at arm's length, a monitor
    filmed from close up): only its colours and its light's pulsing reach the picture."""

    colours: np.ndarray = field(repr=False)  # 3x4 affine on BGR
    flicker: Flicker

    @classmethod
    def make(cls, rng: np.random.Generator, hard: bool) -> Display:
        """A panel's colours and light, drawn from the seed."""
        return cls(panel_colours(rng), Flicker.make(rng, hard))

    def show(self, content: np.ndarray) -> np.ndarray:
        """The panel displaying `content` (BGR), pixel for pixel."""
        return cv2.transform(content, self.colours)

    def pulse(self, layer: np.ndarray, lit: np.ndarray, t: float) -> np.ndarray:
        """`layer` (the filmed device, frame-sized) with the flicker's bands at time `t` wherever `lit`
        (float32 0-1: the panel's area in the frame) shows the panel's own light."""
        shade = 1 - lit * self.flicker.loss(t, layer.shape[0])[:, None]
        return (layer * shade[..., None]).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class Screen:
    """How a tablet shows a picture: a `Display` with RGB stripe subpixels (3x3 px each) large enough
    for the camera to see, and the camera lens's blur on them."""

    display: Display
    subpixels: np.ndarray = field(repr=False)  # (3h, 3w, 3) uint8 mask
    softness: float  # the camera lens's blur, in subpixel-canvas px (it tames, not removes, the moire)

    @classmethod
    def make(cls, rng: np.random.Generator, panel: tuple[int, int], pitch: float, hard: bool) -> Screen:
        """A panel of `panel` (width, height) pixels, each `pitch` frame px wide."""
        colours = panel_colours(rng)
        stripe = np.full((3, 3, 3), 0.35 if hard else 0.2)
        for channel, column in ((2, 0), (1, 1), (0, 2)):  # R, G, B stripes left to right
            stripe[:, column, channel] = 1.0
        stripe[2] *= 0.8 if hard else 0.6  # the black matrix between pixel rows
        gain = 2 / (stripe.mean(axis=(0, 1)) + 1)  # between keeping the brightness and never clipping
        cell = np.clip(stripe * gain * 255 / 2.2, 0, 255).astype(np.uint8)
        subpixels = np.tile(cell, (panel[1], panel[0], 1))
        lens = rng.uniform(0.45, 0.55) if hard else rng.uniform(0.12, 0.2)  # frame px
        return cls(Display(colours, Flicker.make(rng, hard)), subpixels, 3 * lens / pitch)

    def show(self, content: np.ndarray) -> np.ndarray:
        """The panel displaying `content`: its colours on its subpixels, through the lens."""
        big = cv2.resize(self.display.show(content), None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        return cv2.GaussianBlur(cv2.multiply(big, self.subpixels, scale=2.2 / 255), (0, 0), self.softness)

    def pulse(self, layer: np.ndarray, lit: np.ndarray, t: float) -> np.ndarray:
        """The display's flicker bands on `layer` (see `Display.pulse`)."""
        return self.display.pulse(layer, lit, t)
