"""Is the filmed object a real document? Colour, screen and tilt signals, each scored and thresholded.

- Colour: the spread of chroma over the rectified document once the global colour cast is removed
  (Lab a*/b* minus their medians, 90th percentile of the chroma). Printed documents carry tinted
  backgrounds, coloured inks and a colour photo; a black-and-white photocopy carries none. When the
  video itself has no colour at all (a monochrome camera or a greyscale upload: no colour anywhere
  in the frame once the encoding's constant cast is removed) the document cannot be judged a
  photocopy: it is only "not in colour".
- Screen: a document shown on a screen and filmed shows the screen's refresh as horizontal bands
  of brightness across the camera's rows, moving from frame to frame (rolling shutter against the
  display's refresh), and often a moire of its pixel grid. The bands are measured on the document
  itself: every frame's rectified document is divided by the median of all of them (the print
  cancels, the lighting remains), the ratio is profiled along the frame's rows, and a sinusoid
  (plus a linear trend, for vignetting and exposure) is fitted over plausible periods; the score is
  the median amplitude over frames. The moire (peakiness of the high-frequency spectrum of the
  document at the frame's own resolution) is reported but does not decide: a document's guilloche
  is periodic too, and on the generator corpus it does not separate (genuine 2.5-3.5, screens
  1.7-3.6, photocopies 2.2-3.6: filming blur removes the pixel grid that banding survives).
- Tilt: asked to tilt the document, a person changes its perspective; a document replayed on a
  flat screen, or slid on a table, only translates, rotates and scales in the image. The quads of all
  the frames are compared pairwise after the best similarity transform (Procrustes); the score is
  the 90th percentile of the leftover corner error over the document's diagonal. (Tracking the
  specular highlight across the rectified frames was tried as a second cue and dropped: on the
  generator corpus the brightest moving spot was as often print or the lamp's reflection at the
  edge as the highlight, and it did not separate tilted from untilted documents.)
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .card import canonical_size, card_homography, rectify

_STACK_PX_PER_MM = 2.0  # the lighting stack is compared at 2 px/mm: the print cancels, the light stays
_STACK_FRAMES = 12  # frames of the stack (spread over the video): enough for a median and its spread


def colour_spread(card_bgr: np.ndarray) -> float:
    """90th percentile of chroma (Lab units) over the document after removing its median colour cast."""
    smooth = cv2.blur(card_bgr, (3, 3)).astype(np.float32) / 255.0
    lab = cv2.cvtColor(smooth, cv2.COLOR_BGR2Lab)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    keep = (lightness > 15) & (lightness < 97)  # chroma is noise in black print and saturated glare
    if keep.sum() < 100:
        return 0.0
    a = a[keep] - np.median(a[keep])
    b = b[keep] - np.median(b[keep])
    return float(np.percentile(np.hypot(a, b), 90))


def frame_colour(frame_bgr: np.ndarray) -> float:
    """99th percentile of chroma (Lab units) over the whole frame after removing its median cast.

    A colour camera sees some colour somewhere (a desk, a shadow, the white balance across the
    frame); a greyscale video carries none but a constant cast from its encoding (measured: colour
    clips 2.7 and more, greyscale H.264 re-encodes 0.3-0.5).
    """
    small = cv2.resize(frame_bgr, (320, max(1, round(320 * frame_bgr.shape[0] / frame_bgr.shape[1]))),
                       interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab)
    a, b = lab[..., 1] - np.median(lab[..., 1]), lab[..., 2] - np.median(lab[..., 2])
    return float(np.percentile(np.hypot(a, b), 99))


def moire_peak(grey: np.ndarray) -> float:
    """log10 of the 99.9th percentile over the median of the high-frequency power of the document's middle."""
    h, w = grey.shape[:2]
    patch = grey[int(h * 0.2):int(h * 0.8), int(w * 0.3):int(w * 0.95)].astype(np.float32)
    if min(patch.shape) < 16:
        return 0.0
    patch = patch - cv2.GaussianBlur(patch, (0, 0), 3)
    window = np.outer(np.hanning(patch.shape[0]), np.hanning(patch.shape[1]))
    power = np.abs(np.fft.fft2(patch * window)) ** 2
    fy = np.fft.fftfreq(patch.shape[0])[:, None]
    fx = np.fft.fftfreq(patch.shape[1])[None, :]
    radius = np.hypot(fx, fy)
    high = power[(radius > 0.15) & (radius < 0.5)]
    return float(np.log10(np.percentile(high, 99.9) / max(float(np.median(high)), 1e-9)))


def refresh_banding(images: Sequence[np.ndarray], quads: Sequence[np.ndarray], size_mm: tuple[float, float]) -> float:
    """Median amplitude (log brightness) of row-periodic bands on the document; nan with < 3 frames."""
    if len(images) < 3:
        return float("nan")
    if len(images) > _STACK_FRAMES:
        keep = np.linspace(0, len(images) - 1, _STACK_FRAMES).round().astype(int)
        images, quads = [images[i] for i in keep], [quads[i] for i in keep]
    ppm = _STACK_PX_PER_MM
    width, height = canonical_size(size_mm, ppm)
    grid = np.stack(np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5), -1)
    grid = grid.reshape(-1, 1, 2).astype(np.float32)
    logs, rows = [], []
    for image, quad in zip(images, quads):
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        flat = rectify(grey, quad, size_mm, ppm).astype(np.float32)
        logs.append(np.log(cv2.GaussianBlur(flat, (0, 0), 1.0) + 8.0))
        back = np.linalg.inv(card_homography(quad, size_mm, ppm))
        rows.append(cv2.perspectiveTransform(grid, back).reshape(height, width, 2)[..., 1])
    median = np.median(np.stack(logs), axis=0)
    amplitudes = []
    m = 3  # leave out the edge, where the rectification error shows
    for log, row, frame in zip(logs, rows, images):
        amplitudes.append(_row_sinusoid((log - median)[m:-m, m:-m], row[m:-m, m:-m], frame.shape[0]))
    return float(np.median(amplitudes))


def _row_sinusoid(ratio: np.ndarray, y: np.ndarray, frame_height: int) -> float:
    """Largest amplitude of a sinusoid along frame rows (periods 1/6 to 2/3 of the frame) in `ratio`."""
    bin_height = frame_height / 60
    bins = np.floor(y / bin_height).astype(int).ravel()
    values = ratio.ravel()
    order = np.argsort(bins, kind="stable")
    bins, values = bins[order], values[order]
    edges = np.flatnonzero(np.diff(bins)) + 1
    groups = np.split(values, edges)
    keys = bins[np.concatenate([[0], edges])]
    if len(groups) < 8:
        return 0.0
    profile = np.array([np.median(g) for g in groups])
    centres = (keys + 0.5) * bin_height
    best = 0.0
    for cycles in np.arange(1.5, 6.01, 0.25):
        phase = 2 * np.pi * centres * cycles / frame_height
        design = np.stack([np.ones_like(centres), centres / frame_height, np.sin(phase), np.cos(phase)], axis=1)
        coef = np.linalg.lstsq(design, profile, rcond=None)[0]
        best = max(best, float(np.hypot(coef[2], coef[3])))
    return best


def most_tilted(quads: Sequence[np.ndarray]) -> int:
    """Index of the outline whose shape differs most from the others' (`shape_change`'s residual,
    averaged over the other frames): the frame that shows the document at its tilt; -1 for none."""
    if len(quads) < 2:
        return -1
    z = [np.asarray(q, np.float64) @ np.array([1, 1j]) for q in quads]
    z = [q - q.mean() for q in z]
    mean = [np.mean([np.sqrt(np.mean(np.abs(b - np.vdot(a, b) / np.vdot(a, a) * a) ** 2)) / abs(b[2] - b[0])
                     for j, b in enumerate(z) if j != i]) for i, a in enumerate(z)]
    return int(np.argmax(mean))


def shape_change(quads: Sequence[np.ndarray]) -> float:
    """90th percentile over frame pairs of the corner error left after the best similarity, over the diagonal."""
    if len(quads) < 2:
        return float("nan")
    z = [np.asarray(q, np.float64) @ np.array([1, 1j]) for q in quads]
    z = [q - q.mean() for q in z]
    residuals = []
    for i in range(len(z)):
        for j in range(i + 1, len(z)):
            a, b = z[i], z[j]
            s = np.vdot(a, b) / np.vdot(a, a)
            diagonal = abs(b[2] - b[0])
            residuals.append(float(np.sqrt(np.mean(np.abs(b - s * a) ** 2)) / diagonal))
    return float(np.percentile(residuals, 90))
