"""Find MRZ bands in a photo or rectified card: 2-3 fixed-pitch lines of equal length, evenly stacked.

Classic morphology (black-hat to lift dark print off light backgrounds, horizontal closing to merge
characters into line blobs) as in PassportEye and OpenCV's MRZ tutorials, on the image's brightest
channel (MRZs are printed black; stamps, overprints and guilloches are coloured and fade there).
Level lines are looked for first; then a half-size copy turned in 15-degree steps (the closing
tolerates lines up to one step off level) gives the angles of other line groups, and the image is
turned by each so that its band lies level and is analysed again. Lines are grouped by geometry:
same angle and height, left edges aligned, equal lengths, even spacing. Each line's pitch is taken
from the autocorrelation of its ink profile at the pitch of each ICAO length (30, 36, 44
characters); groups whose lines all repeat at one of them, in that format's number of lines, rank
first. So extra text rows, shorter OCR-B lines and annotation boxes beside the MRZ are not taken for
its lines. The crop is deskewed by the band's own angle and blanked above its first line and below
its last; it is upright or upside down (the geometry cannot tell), so readers may also try
`MRZBand.flipped()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import combinations

import cv2
import numpy as np

WORK_WIDTH = 1200  # images are analysed with this longer side: MRZ characters ~16-25 px tall on a card
_STEP_DEGREES = 15  # coarse search step; the line closing tolerates half of it
ICAO_LINES = {30: 3, 36: 2, 44: 2}  # characters per line -> lines in the format (TD1, TD2/CNI, TD3)
_GAP_SLACK = 0.6  # a band's last glyph ends ~0.6 pitch before the next cell would (OCR-B glyph width)
_LAG_SLACK = 0.09  # the pitch peak is looked for this far (relative) around an ICAO length's pitch
_KEEP_REACH = 1.1  # rows kept beyond the first and last line's centre, in line heights
_LOOSE = (1.0, 1.6)  # the second look's extra margin and reach, in line heights
_CROP_LINE_HEIGHT = 48  # pixels per line in the crop: ~30 px characters for the recogniser
_MAX_BANDS = 4
_ANGLES_REFINED = 3  # band angles from the coarse search analysed again at full size
_MIN_PERIODICITY = 0.3  # below: a line's pitch is not trusted to give its length (MRZ lines: >= 0.42)


@dataclass(frozen=True, eq=False)
class MRZBand:
    """An upright (or upside-down) crop of the MRZ lines (grey), how many lines, their length in
    characters as measured from the pitch (0 if unsure), how periodic they are, the corners, and a
    looser crop for a second look (OCR slips differ with the margins on small, blurred frames)."""

    image: np.ndarray = field(repr=False)
    line_count: int
    corners: np.ndarray = field(repr=False)  # 4x2 float32, in input-image pixels (x, y), clockwise
    loose: np.ndarray = field(repr=False)  # the same crop with more room around the lines
    characters: int = 0
    periodicity: float = 0.0  # weakest line's autocorrelation at its pitch (1.0: perfectly periodic)

    @property
    def icao_shaped(self) -> bool:
        """True when line count and characters per line are those of an ICAO format."""
        return ICAO_LINES.get(self.characters) == self.line_count

    def flipped(self) -> MRZBand:
        """The same band turned 180 degrees (corners renumbered so that the first is top-left)."""
        return replace(self, image=np.ascontiguousarray(self.image[::-1, ::-1]),
                       corners=np.roll(self.corners, -2, axis=0), loose=np.ascontiguousarray(self.loose[::-1, ::-1]))


@dataclass(frozen=True)
class _Line:
    cx: float
    cy: float
    length: float
    thickness: float
    angle: float  # degrees, in (-45, 45]

    @property
    def left(self) -> float:
        return self.cx - self.length / 2


@dataclass(frozen=True)
class _Pitch:
    characters: int  # 0 when no ICAO length fits
    periodicity: float  # autocorrelation of the ink profile at the pitch
    estimate: float  # characters as measured


def _unit(width: int) -> int:
    return max(3, int(round(width / 120)))  # ~ one character's width at card scale


def _ink(grey: np.ndarray, unit: int) -> np.ndarray:
    """Binary mask of dark print on lighter ground (black-hat + Otsu)."""
    blackhat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT,
                                cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 2, unit)))
    _, binary = cv2.threshold(blackhat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return binary


def _line_blobs(binary: np.ndarray, unit: int) -> list[_Line]:
    """Long thin blobs left after closing characters into lines and opening away thin strokes."""
    closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 4, 1)))
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
        if hh < 3 or w < 12 * hh or hh > binary.shape[0] / 3 or abs(angle) > _STEP_DEGREES:
            continue
        lines.append(_Line(cx, cy, w, hh, angle))
    return lines


def _pitch(binary: np.ndarray, line: _Line) -> _Pitch:
    """Characters in `line`, from the lag at which its column ink profile repeats best."""
    pad = line.thickness
    size = (int(round(line.length + 2 * pad)), max(3, int(round(line.thickness))))
    matrix = cv2.getRotationMatrix2D((line.cx, line.cy), line.angle, 1.0)
    matrix[0, 2] += size[0] / 2 - line.cx
    matrix[1, 2] += size[1] / 2 - line.cy
    strip = cv2.warpAffine(binary, matrix, size, flags=cv2.INTER_LINEAR)
    profile = strip.astype(np.float32).mean(axis=0)
    profile -= profile.mean()
    energy = float(profile @ profile)
    if energy <= 0:
        return _Pitch(0, 0.0, 0.0)
    auto = np.correlate(profile, profile, "full")[len(profile) - 1:] / energy
    best = _Pitch(0, 0.0, 0.0)
    for characters in ICAO_LINES:  # the ICAO length whose pitch repeats best (a true peak of it)
        lag = line.length / (characters - 1 + _GAP_SLACK)
        low, high = int(lag * (1 - _LAG_SLACK)), int(np.ceil(lag * (1 + _LAG_SLACK)))
        window = auto[low:high + 1]
        if window.size < 3 or not 0 < int(np.argmax(window)) < window.size - 1:
            continue
        if window.max() > best.periodicity:
            best = _Pitch(characters, float(window.max()), line.length / (low + int(np.argmax(window))) + 1 - _GAP_SLACK)
    return best if best.periodicity >= _MIN_PERIODICITY else _Pitch(0, best.periodicity, best.estimate)


def _compatible(a: _Line, b: _Line) -> bool:
    """Two lines (a above b) that could be consecutive lines of one MRZ."""
    thickness = (a.thickness + b.thickness) / 2
    gap = b.cy - a.cy
    return (abs(a.angle - b.angle) < 4 and 0.85 < b.length / a.length < 1.18
            and 0.6 < b.thickness / a.thickness < 1.6 and 1.2 * thickness < gap < 3.5 * thickness
            and abs(a.left - b.left) < 1.5 * thickness)


def _groups(lines: list[_Line]) -> list[tuple[_Line, ...]]:
    """Every pair of compatible lines and evenly spaced triple of them, top to bottom."""
    ordered = sorted(lines, key=lambda line: line.cy)
    pairs = [(a, b) for a, b in combinations(ordered, 2) if _compatible(a, b)]
    linked = set(pairs)
    triples = [(a, b, c) for a, b in pairs for c in ordered if (b, c) in linked
               and 0.8 < (c.cy - b.cy) / (b.cy - a.cy) < 1.25 and 0.85 < c.length / a.length < 1.18]
    return [*pairs, *triples]


@dataclass(frozen=True)
class _Candidate:
    corners: np.ndarray  # in work pixels, ordered along the band: top-left, top-right, bottom-right, bottom-left
    lines: tuple[_Line, ...]  # in the turned frame
    characters: int
    periodicity: float
    length: float
    centre: tuple[float, float]  # in work pixels

    @property
    def rank(self) -> tuple[bool, float, float]:
        return (ICAO_LINES.get(self.characters) == len(self.lines), self.periodicity, self.length)


def _candidate(group: tuple[_Line, ...], pitches: dict[_Line, _Pitch], inverse: np.ndarray) -> _Candidate:
    counts = {pitches[line].characters for line in group}
    length = max(line.length for line in group)
    thickness = float(np.median([line.thickness for line in group]))
    angle = float(np.mean([line.angle for line in group]))
    cx = float(np.mean([line.cx for line in group]))
    cy = (group[0].cy + group[-1].cy) / 2
    height = group[-1].cy - group[0].cy + thickness * 3.2
    box = cv2.boxPoints(((cx, cy), (length + thickness * 4, height), angle)).astype(np.float32)
    s, d = box.sum(axis=1), np.diff(box, axis=1).ravel()
    ordered = np.array([box[np.argmin(s)], box[np.argmin(d)], box[np.argmax(s)], box[np.argmax(d)]], np.float32)
    back = cv2.transform(ordered[None], inverse)[0]
    centre = cv2.transform(np.array([[[cx, cy]]], np.float32), inverse)[0, 0]
    return _Candidate(back, group, counts.pop() if len(counts) == 1 else 0,
                      min(pitches[line].periodicity for line in group), length, (float(centre[0]), float(centre[1])))


def turn_canvas(size: tuple[int, int], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2x3 map turning an image of `size` (width, height) `degrees` counter-clockwise about its
    centre onto a canvas that holds all of it, and that canvas's size."""
    w, h = size
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    canvas = (int(round(w * cos + h * sin)), int(round(w * sin + h * cos)))
    matrix[0, 2] += (canvas[0] - w) / 2
    matrix[1, 2] += (canvas[1] - h) / 2
    return matrix, canvas


def _turned(grey: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """`grey` turned `degrees` counter-clockwise, nothing cut, and the map back to `grey`'s pixels."""
    matrix, canvas = turn_canvas((grey.shape[1], grey.shape[0]), degrees)
    turned = cv2.warpAffine(grey, matrix, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return turned, cv2.invertAffineTransform(matrix)


def _candidates_at(work: np.ndarray, degrees: float, unit: int) -> list[_Candidate]:
    """Line groups of `work` turned `degrees` counter-clockwise, in `work`'s own pixels."""
    turned, inverse = (work, np.eye(2, 3)) if degrees == 0 else _turned(work, degrees)
    binary = _ink(turned, unit)
    groups = _groups(_line_blobs(binary, unit))
    pitches = {line: _pitch(binary, line) for line in {line for group in groups for line in group}}
    return [_candidate(group, pitches, inverse) for group in groups]


def _distinct(candidates: list[_Candidate]) -> list[_Candidate]:
    """Best first, one per place and line count (the same lines are met at neighbouring angles)."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: c.rank, reverse=True):
        thickness = min(line.thickness for line in candidate.lines)
        if all(np.hypot(candidate.centre[0] - k.centre[0], candidate.centre[1] - k.centre[1]) > thickness
               or len(k.lines) != len(candidate.lines) for k in kept):
            kept.append(candidate)
    return kept


def _band_angle(candidate: _Candidate) -> float:
    """Direction of the band's lines in work pixels, degrees in [0, 180) (y down: clockwise)."""
    dx, dy = candidate.corners[1] - candidate.corners[0]
    return float(np.degrees(np.arctan2(dy, dx)) % 180)


def _search(work: np.ndarray) -> list[_Candidate]:
    """Every angle: line groups found on a half-size copy turned in coarse steps give the angles at
    which the full-size image is turned so that each band lies level, and is analysed again."""
    half = cv2.resize(work, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    coarse = _distinct([c for degrees in range(_STEP_DEGREES, 180, _STEP_DEGREES)
                        for c in _candidates_at(half, degrees, _unit(max(half.shape)))])
    angles: list[float] = []
    for candidate in coarse:
        angle = _band_angle(candidate)
        if all(min(abs(angle - a), 180 - abs(angle - a)) > 2 for a in angles):
            angles.append(angle)
        if len(angles) == _ANGLES_REFINED:
            break
    unit = _unit(max(work.shape))
    return _distinct([c for angle in angles for c in _candidates_at(work, angle, unit)])


def _work(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The image's brightest channel (MRZs are printed black; overprints, guilloches and stamps are
    coloured), and a copy of it scaled to `WORK_WIDTH` on its longer side, with that scale."""
    grey = image if image.ndim == 2 else cv2.max(cv2.max(image[..., 0], image[..., 1]), image[..., 2])
    scale = WORK_WIDTH / max(grey.shape)
    work = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return grey, work, scale


def band_stages(image: np.ndarray, limit: int = _MAX_BANDS) -> Iterator[list[MRZBand]]:
    """MRZ-like line groups of a BGR or grey image, best first, in two stages computed on demand:
    those lying level (cheap), then those at any other angle (a search over the whole turn)."""
    grey, work, scale = _work(image)
    level = _distinct(_candidates_at(work, 0, _unit(max(work.shape))))
    yield [_crop(grey, c, scale) for c in level[:limit]]
    yield [_crop(grey, c, scale) for c in _search(work)[:limit]]


def find_mrz_bands(image: np.ndarray, limit: int = _MAX_BANDS) -> list[MRZBand]:
    """The most MRZ-like line groups of a BGR or grey image at any angle, best first."""
    grey, work, scale = _work(image)
    unit = _unit(max(work.shape))
    return [_crop(grey, c, scale) for c in _distinct(_candidates_at(work, 0, unit) + _search(work))[:limit]]


def find_mrz_band(image: np.ndarray) -> MRZBand | None:
    """The most MRZ-like line group of a BGR or grey image, cropped along its angle; None if there is none.

    A level band of an ICAO shape is taken without searching other angles."""
    stages = band_stages(image, limit=1)
    level = next(stages)
    if level and level[0].icao_shaped:
        return level[0]
    bands = find_mrz_bands(image, limit=1)
    return bands[0] if bands else None


def _cut(grey: np.ndarray, candidate: _Candidate, scale: float, margin: float, reach: float) -> np.ndarray:
    """The band cut out level along its own angle, grown by `margin` line heights above and below,
    and blanked beyond `reach` line heights from its first and last line's centre."""
    lines = candidate.lines
    thickness = max(line.thickness for line in lines)
    corners = candidate.corners / scale
    down = (corners[3] - corners[0]) / np.linalg.norm(corners[3] - corners[0]) * margin * thickness / scale
    corners = corners + np.array([-down, -down, down, down], np.float32)
    out_h = int(round(_CROP_LINE_HEIGHT * (len(lines) + margin)))
    width = float(np.linalg.norm(corners[1] - corners[0]))
    height = float(np.linalg.norm(corners[3] - corners[0]))
    out_w = int(round(out_h * width / height))
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    crop = cv2.warpPerspective(grey, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    per_px = out_h / height / scale  # crop pixels per turned-work pixel, across the band
    top = (lines[0].cy + lines[-1].cy - height * scale) / 2  # the crop's top edge, in turned-work pixels
    first = int(max(0, (lines[0].cy - top - reach * thickness) * per_px))
    last = int(min(out_h, np.ceil((lines[-1].cy - top + reach * thickness) * per_px)))
    background = int(np.percentile(crop[first:last], 90))
    crop[:first] = background  # print above and below the lines (another text row, a box) is blanked
    crop[last:] = background
    return crop


def _crop(grey: np.ndarray, candidate: _Candidate, scale: float) -> MRZBand:
    """The band's tight and loose crops, its corners in `grey`'s pixels, line count and pitch."""
    return MRZBand(_cut(grey, candidate, scale, 0.0, _KEEP_REACH), len(candidate.lines), candidate.corners / scale,
                   _cut(grey, candidate, scale, *_LOOSE), candidate.characters, candidate.periodicity)
