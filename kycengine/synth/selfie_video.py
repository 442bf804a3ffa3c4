"""Synthetic selfie videos, live or attacked, with labels: what the liveness and face stages must say.

A real face photo is cut out and animated as a 3D head (see `head`), put in front of a procedural room
and filmed by a simulated phone: hand-held shake with depth parallax, exposure drift, lens softness,
sensor noise and H.264. Attacks film a printed photo or a screen as a moving plane instead (`media`
says how ink on paper or a panel reproduces the photo), or inject a still image. Everything follows
from the seed.
"""

from __future__ import annotations

import enum
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from .. import video
from ..capture.challenge import Action, Challenge
from ..errors import InvalidInput
from ..reasons import Reason
from ..records import Record
from .documents import rounded_mask
from .faces import PEOPLE
from .head import Head, HeadFrame, HeadPose, make_head
from .media import Display, Printer, Screen

GENERATOR = "selfie-synth/1"
_FOCAL = 0.7  # focal length of a phone's front camera, in frame widths (about 70 degrees across)
_ROOM_DEPTH = 0.45  # how far the room moves for a given shake, relative to the holder's head
_BYSTANDER_DEPTH = 0.75
# print_rocked: how far (degrees, each way) and how fast (seconds per swing back and forth) a hand
# rocks a print about each axis, and how much more the hand-held camera shakes than a live selfie's.
_ROCK_TILT_DEG = (22.0, 32.0)
_ROCK_PERIOD_S = (0.45, 0.8)
_ROCKED_SHAKE = 1.8
_ROCKED_PAPER = (1.1, 1.25)  # the print's height, in frame heights
_Box = tuple[int, int, int, int]


class SelfieVariant(str, enum.Enum):
    """What the selfie video shows: a live holder or one of the attacks and failures to detect."""

    LIVE = "live"
    DIFFERENT_PERSON = "different_person"
    PRINT = "print"
    SCREEN = "screen"
    STILL = "still"
    NOT_TURNED = "not_turned"
    NO_BLINK = "no_blink"
    MULTIPLE_FACES = "multiple_faces"
    PRINT_ROCKED = "print_rocked"
    FACE_SWAP_MIDDLE = "face_swap_middle"
    REPLAY_PHONE = "replay_phone"  # a live selfie video replayed on a phone with a thin white bezel
    REPLAY_MONITOR = "replay_monitor"  # ... on a monitor filling the frame: no bezel, no visible pixel grid
    LOOP = "loop"  # a 1 s clip with a turn and a blink, looped and re-encoded
    LOOP_NOISE = "loop_noise"  # the same with fresh sensor noise on every frame


EXPECTED_REASONS: dict[SelfieVariant, tuple[Reason, ...]] = {
    SelfieVariant.LIVE: (),
    SelfieVariant.DIFFERENT_PERSON: (Reason.FACE_MISMATCH,),
    SelfieVariant.PRINT: (Reason.FACE_PRINT, Reason.FACE_NOT_LIVE),
    SelfieVariant.SCREEN: (Reason.FACE_SCREEN, Reason.FACE_NOT_LIVE),
    SelfieVariant.STILL: (Reason.FACE_NOT_LIVE,),
    SelfieVariant.NOT_TURNED: (Reason.FACE_NOT_TURNED,),
    SelfieVariant.NO_BLINK: (Reason.NO_BLINK,),
    SelfieVariant.MULTIPLE_FACES: (Reason.MULTIPLE_FACES,),
    SelfieVariant.PRINT_ROCKED: (Reason.FACE_PRINT, Reason.FACE_NOT_LIVE),
    SelfieVariant.FACE_SWAP_MIDDLE: (Reason.FACE_SWAPPED_DURING_CAPTURE,),
    SelfieVariant.REPLAY_PHONE: (Reason.FACE_SCREEN, Reason.FACE_NOT_LIVE),
    SelfieVariant.REPLAY_MONITOR: (Reason.FACE_SCREEN, Reason.FACE_NOT_LIVE),
    SelfieVariant.LOOP: (Reason.SUSPICIOUS_CAPTURE,),
    SelfieVariant.LOOP_NOISE: (Reason.SUSPICIOUS_CAPTURE,),
}
LOOP_CLIP_S = 1.0  # length of the clip a loop attack repeats
# Loop attacks, and whether the looped frames get fresh sensor noise (True) or are re-encoded as they are.
_LOOPED = {SelfieVariant.LOOP: False, SelfieVariant.LOOP_NOISE: True}


@dataclass(frozen=True)
class SelfieLabels(Record):
    """Ground truth of a generated selfie video; reasons are relative to a document of `holder`.

    yaw_per_frame is the 3D head yaw in degrees (> 0: nose towards the image's right), 0 where no
    head turns in 3D (print, screen, still); blink_frames are the frames whose shown eyes are at least
    half shut, a replay on a screen included; face_boxes are (x, y, w, h) frame pixels of the shown face.
    """

    generator: str
    seed: int
    variant: SelfieVariant
    holder: str  # whose document the video will be compared with: the `person` argument
    person: str  # whose face is shown
    bystander: str | None
    hard: bool
    fps: float
    frame_count: int
    width: int
    height: int
    yaw_per_frame: tuple[float, ...]
    blink_frames: tuple[int, ...]
    expected_reasons: tuple[Reason, ...]
    face_boxes: tuple[tuple[int, int, int, int], ...]
    intruder: str | None = None  # face_swap_middle: whose face is shown in the middle third instead


@dataclass(frozen=True, eq=False)
class _Plan:
    """Per-frame motion of the head and of the hand holding the phone (or the print, or the screen)."""

    yaw: np.ndarray = field(repr=False)
    pitch: np.ndarray = field(repr=False)
    roll: np.ndarray = field(repr=False)
    closure: np.ndarray = field(repr=False)  # 0 open .. 1 shut
    shake: np.ndarray = field(repr=False)  # (n, 3): dx, dy in frame widths, roll in degrees

    def pose(self, index: int) -> HeadPose:
        """Head pose at frame `index`."""
        return HeadPose(float(self.yaw[index]), float(self.pitch[index]), float(self.roll[index]))


@dataclass(frozen=True)
class _Spec:
    """Everything a renderer needs besides the random stream."""

    variant: SelfieVariant
    person: str
    size: tuple[int, int]
    fps: float
    count: int
    hard: bool
    bystander: str | None  # someone else in the frame (multiple_faces)
    intruder: str | None = None  # someone else shown instead in the middle third (face_swap_middle)
    challenge: Challenge | None = None  # the turns and the blink to perform, when and in what order


def make_selfie_video(path: str | os.PathLike[str], *, person: str, variant: SelfieVariant | str,
                      seed: int, size: tuple[int, int] = (1280, 720), fps: float = 30,
                      seconds: float = 5.0, hard: bool = False, challenge: Challenge | None = None) -> SelfieLabels:
    """Write a selfie video of `variant` to `path` (H.264 MP4) and its labels to `path`.json.

    `person` (one of faces.PEOPLE) is the document holder; `hard` makes the capture worse (darker,
    noisier, shakier, smaller head turns) and the attacks subtler (finer screen pixels, better prints).
    `challenge`: a head that turns does the challenge's turns in its windows, and a face that blinks
    blinks once, in the blink's window (the video lasts until the challenge's end at least); a replay
    shows a recording that does so, a loop repeats its clip over the challenge's length.
    """
    variant = SelfieVariant(variant)
    if person not in PEOPLE:
        raise InvalidInput(f"unknown person {person!r}; choose one of {', '.join(PEOPLE)}")
    width, height = size[0] - size[0] % 2, size[1] - size[1] % 2
    if min(width, height) < 64 or fps <= 0 or seconds <= 0:
        raise InvalidInput(f"selfie video of {size} px, {fps} fps, {seconds} s is not renderable")
    rng = np.random.default_rng(seed)
    shown = _other(rng, person) if variant is SelfieVariant.DIFFERENT_PERSON else person
    bystander = _other(rng, shown) if variant is SelfieVariant.MULTIPLE_FACES else None
    intruder = _other(rng, shown) if variant is SelfieVariant.FACE_SWAP_MIDDLE else None
    if challenge is not None:
        seconds = max(seconds, challenge.end_s + 1 / fps)  # a frame at its end: a session closes there
    spec = _Spec(variant, shown, (width, height), float(fps), max(1, round(seconds * fps)), hard, bystander,
                 intruder, challenge)
    plan = _plan(rng, spec)
    scene = _RENDERERS[variant](rng, spec, plan)
    camera = _Camera.make(rng, spec)
    boxes: list[_Box] = []
    shut: list[bool] = []

    fresh = _LOOPED.get(variant, True)  # a loop without fresh noise is re-encoded as it was recorded

    def frames() -> Iterator[np.ndarray]:
        for index, (image, box, closure) in enumerate(scene):
            boxes.append(box)
            shut.append(closure >= 0.5)
            yield camera.develop(image, index) if fresh else image

    path = Path(path)
    count = video.write(path, frames(), fps, crf=28 if hard else 23)
    turns = variant not in (SelfieVariant.PRINT, SelfieVariant.SCREEN, SelfieVariant.STILL,
                            SelfieVariant.PRINT_ROCKED)
    turns = turns and variant not in _REPLAYED
    blinks = np.flatnonzero(shut)
    labels = SelfieLabels(
        generator=GENERATOR, seed=seed, variant=variant, holder=person, person=shown,
        bystander=bystander, hard=hard, fps=float(fps), frame_count=count, width=width, height=height,
        yaw_per_frame=tuple(round(float(v), 2) for v in (plan.yaw if turns else np.zeros(count))),
        blink_frames=tuple(int(i) for i in blinks), expected_reasons=EXPECTED_REASONS[variant],
        face_boxes=tuple(boxes), intruder=intruder)
    path.with_suffix(".json").write_text(json.dumps(labels.to_dict(), indent=1))
    return labels


def _other(rng: np.random.Generator, person: str) -> str:
    """Someone else than `person`, drawn from the seed."""
    others = [p for p in PEOPLE if p != person]
    return others[int(rng.integers(len(others)))]


# ---- motion ---------------------------------------------------------------------------------------

def _wander(rng: np.random.Generator, count: int, fps: float, period_s: float) -> np.ndarray:
    """Smooth zero-mean random signal of unit standard deviation, changing over about `period_s`."""
    sigma = max(0.5, period_s * fps / 2)
    reach = int(3 * sigma) + 1
    kernel = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    white = rng.standard_normal(count + 2 * reach)
    return np.convolve(white, kernel / np.linalg.norm(kernel), mode="valid")


def _turn(rng: np.random.Generator, count: int, amplitude: float) -> np.ndarray:
    """Yaw in degrees: face the camera, turn left (-), hold, turn right (+), hold, come back."""
    left, right = amplitude * rng.uniform(0.9, 1.1, 2)
    keys = np.array([0.0, 0.1, 0.32, 0.42, 0.68, 0.76, 0.94, 1.0]) + np.r_[0, rng.uniform(-0.03, 0.03, 6), 0]
    values = np.array([0.0, 0.0, -left, -left, right, right, 0.0, 0.0])
    t = np.linspace(0.0, 1.0, count)
    segment = np.clip(np.searchsorted(keys, t, side="right") - 1, 0, len(keys) - 2)
    local = (t - keys[segment]) / (keys[segment + 1] - keys[segment])
    eased = (1 - np.cos(np.pi * np.clip(local, 0, 1))) / 2
    return values[segment] + (values[segment + 1] - values[segment]) * eased


def _scripted_turns(challenge: Challenge, count: int, fps: float, amplitude: float) -> np.ndarray:
    """Yaw in degrees: facing the camera, but for each turn of the challenge, a turn to its side in
    the middle of its window (eased out over its 2nd fifth, held, back over its 4th)."""
    t = np.arange(count) / fps
    yaw = np.zeros(count)
    for step in challenge.steps:
        if step.action is Action.BLINK:
            continue
        local = (t - step.start_s) / (step.end_s - step.start_s)
        shape = np.clip(np.minimum(local - 0.15, 0.85 - local) / 0.25, 0, 1)
        sign = -1.0 if step.action is Action.TURN_LEFT else 1.0
        yaw += sign * amplitude * (1 - np.cos(np.pi * shape)) / 2
    return yaw


def _blinks(rng: np.random.Generator, count: int, fps: float, blinks: int,
            at: tuple[float, float] | None = None) -> np.ndarray:
    """Eyelid closure per frame: `blinks` blinks of 3-5 frames, at random times, apart from each other."""
    closure = np.zeros(count)
    length = int(np.clip(round(fps * rng.uniform(0.1, 0.17)), 3, 5))
    profile = 1 - np.abs(2 * np.arange(1, length + 1) / (length + 1) - 1) ** 1.5
    margin = int(0.3 * fps)
    candidates = np.arange(margin, count - length - margin + 1)
    if at is not None:  # within a window (seconds), away from its edges
        candidates = np.arange(int(np.ceil((at[0] + 0.3) * fps)), int((at[1] - 0.3) * fps) - length + 1)
    if blinks == 0 or count < length:
        return closure
    if candidates.size == 0:
        candidates = np.array([(count - length) // 2])
    starts: list[int] = []
    for start in rng.permutation(candidates):
        if len(starts) < blinks and all(abs(start - s) >= length + max(2, fps // 3) for s in starts):
            starts.append(int(start))
    for start in starts:
        closure[start:start + length] = profile
    return closure


def _plan(rng: np.random.Generator, spec: _Spec) -> _Plan:
    """Head turn, blinks and hand shake for the variant (attacks that are planes get them unused)."""
    if spec.variant in _LOOPED:
        return _looped_plan(rng, spec)
    n, fps, hard = spec.count, spec.fps, spec.hard
    variant = spec.variant
    if variant is SelfieVariant.NOT_TURNED:
        yaw = np.clip(2.0 * _wander(rng, n, fps, 1.5), -4.5, 4.5)
    else:
        amplitude = rng.uniform(22, 26) if hard else rng.uniform(28, 34)
        yaw = _turn(rng, n, amplitude) if spec.challenge is None else _scripted_turns(spec.challenge, n, fps,
                                                                                       amplitude)
        yaw = yaw + 0.8 * _wander(rng, n, fps, 0.6)
    pitch = 2.5 * _wander(rng, n, fps, 1.2)
    roll = 2.0 * _wander(rng, n, fps, 1.5)
    shown_blinks = variant not in (SelfieVariant.NO_BLINK, SelfieVariant.PRINT, SelfieVariant.STILL,
                                   SelfieVariant.PRINT_ROCKED)
    blinks = int(rng.integers(1, 4)) if shown_blinks else 0
    asked = [(st.start_s, st.end_s) for st in spec.challenge.steps if st.action is Action.BLINK] if spec.challenge else []
    closure = _blinks(rng, n, fps, min(blinks, 1) if asked else blinks, asked[0] if asked else None)
    steady = 0.15 if variant is SelfieVariant.STILL else (1.6 if hard else 1.0)
    if variant is SelfieVariant.PRINT_ROCKED:  # the camera is hand-held too, the other hand rocks the print
        steady *= _ROCKED_SHAKE
    shake = np.stack([
        steady * (0.004 * _wander(rng, n, fps, 0.8) + 0.0012 * _wander(rng, n, fps, 0.15)),
        steady * (0.004 * _wander(rng, n, fps, 0.8) + 0.0012 * _wander(rng, n, fps, 0.15)),
        steady * 0.5 * _wander(rng, n, fps, 1.0)], axis=1)
    return _Plan(yaw=yaw, pitch=pitch, roll=roll, closure=closure, shake=shake)


# ---- the room and the people in it ----------------------------------------------------------------

_WALLS = ((222, 228, 232), (190, 210, 225), (205, 215, 210), (170, 185, 200), (215, 205, 195),
          (180, 195, 185), (150, 160, 175))  # BGR: white, beige, sage, warm grey, pale blue...


def _room(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An out-of-focus room: lit wall, maybe a corner and ceiling, a window or door, a frame, a shelf."""
    w, h = max(16, width // 4), max(16, height // 4)  # drawn coarse: it is out of focus anyway
    wall = np.array(_WALLS[int(rng.integers(len(_WALLS)))], np.float32) * rng.uniform(0.85, 1.05)
    side = rng.choice((-1.0, 1.0))
    gx, gy = np.meshgrid(np.linspace(-1, 1, w, dtype=np.float32), np.linspace(0, 1, h, dtype=np.float32))
    light = 1 + 0.18 * side * gx - 0.15 * gy
    room = wall * light[..., None] + rng.normal(0, 3, (h, w, 3)).astype(np.float32)
    if rng.random() < 0.6:  # a corner where two walls meet: the far one is in shade
        corner = int(rng.uniform(0.1, 0.35) * w) if side > 0 else int(rng.uniform(0.65, 0.9) * w)
        shade = slice(0, corner) if side > 0 else slice(corner, w)
        room[:, shade] *= 0.82
    if rng.random() < 0.5:  # ceiling
        room[: int(rng.uniform(0.05, 0.15) * h)] *= 1.08
    for draw in rng.permutation(_FURNITURE)[: int(rng.integers(2, 4))]:
        draw(rng, room)
    room = cv2.GaussianBlur(room, (0, 0), 1.2)
    return np.clip(cv2.resize(room, (width, height), interpolation=cv2.INTER_LINEAR), 0, 255).astype(np.uint8)


def _colour(rng: np.random.Generator, low: float, high: float) -> tuple[float, float, float]:
    """A random BGR colour with every channel in [low, high)."""
    b, g, r = rng.uniform(low, high, 3)
    return float(b), float(g), float(r)


def _window(rng: np.random.Generator, room: np.ndarray) -> None:
    """A bright window with its frame and a curtain."""
    h, w = room.shape[:2]
    x0, y0 = int(rng.uniform(0.02, 0.7) * w), int(rng.uniform(0.05, 0.25) * h)
    x1, y1 = x0 + int(rng.uniform(0.15, 0.28) * w), y0 + int(rng.uniform(0.35, 0.6) * h)
    sky = np.array([250, 238, 225], np.float32) * rng.uniform(0.9, 1.0)
    cv2.rectangle(room, (x0, y0), (x1, y1), tuple(float(v) for v in sky), -1)
    frame_colour = (235.0, 238.0, 240.0)
    cv2.rectangle(room, (x0, y0), (x1, y1), frame_colour, max(1, w // 120))
    cv2.line(room, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), frame_colour, max(1, w // 160))
    curtain = _colour(rng, 60, 200)
    cv2.rectangle(room, (x1, y0 - h // 20), (x1 + int(0.05 * w), y1 + h // 10), curtain, -1)


def _door(rng: np.random.Generator, room: np.ndarray) -> None:
    """A tall door, a shade darker or lighter than the wall, with its handle."""
    h, w = room.shape[:2]
    x0 = int(rng.uniform(0.0, 0.8) * w)
    x1, y0 = x0 + int(0.16 * w), int(rng.uniform(0.05, 0.2) * h)
    colour = _colour(rng, 120, 230)
    cv2.rectangle(room, (x0, y0), (x1, h), colour, -1)
    cv2.rectangle(room, (x0, y0), (x1, h), (245.0, 245.0, 245.0), max(1, w // 150))
    cv2.circle(room, (x1 - w // 50, int(0.6 * h)), max(1, w // 160), (60.0, 60.0, 70.0), -1)


def _picture(rng: np.random.Generator, room: np.ndarray) -> None:
    """A framed abstract picture: a few soft colour fields."""
    h, w = room.shape[:2]
    x0, y0 = int(rng.uniform(0.02, 0.8) * w), int(rng.uniform(0.05, 0.35) * h)
    x1, y1 = x0 + int(rng.uniform(0.1, 0.18) * w), y0 + int(rng.uniform(0.15, 0.3) * h)
    cv2.rectangle(room, (x0, y0), (x1, y1), _colour(rng, 200, 250), -1)
    for _ in range(4):
        cx, cy = int(rng.uniform(x0, x1)), int(rng.uniform(y0, y1))
        axes = (max(1, int(rng.uniform(0.1, 0.4) * (x1 - x0))),
                max(1, int(rng.uniform(0.1, 0.3) * (y1 - y0))))
        cv2.ellipse(room[y0:y1, x0:x1], (cx - x0, cy - y0), axes, 0, 0, 360,
                    _colour(rng, 30, 230), -1)
    cv2.rectangle(room, (x0, y0), (x1, y1), _colour(rng, 20, 90), max(1, w // 100))


def _shelf(rng: np.random.Generator, room: np.ndarray) -> None:
    """A wall shelf with a row of books."""
    h, w = room.shape[:2]
    x0, y = int(rng.uniform(0.0, 0.7) * w), int(rng.uniform(0.3, 0.7) * h)
    x1 = x0 + int(rng.uniform(0.2, 0.35) * w)
    cv2.rectangle(room, (x0, y), (x1, y + max(2, h // 60)), _colour(rng, 60, 160), -1)
    x = x0 + 2
    while x < x1 - 4:
        book_w, book_h = int(rng.integers(2, max(3, w // 60))), int(rng.uniform(0.06, 0.12) * h)
        cv2.rectangle(room, (x, y - book_h), (x + book_w, y), _colour(rng, 30, 220), -1)
        x += book_w + int(rng.integers(0, 2))


def _plant(rng: np.random.Generator, room: np.ndarray) -> None:
    """A potted plant: a pot and a cluster of green leaves."""
    h, w = room.shape[:2]
    cx, base = int(rng.uniform(0.05, 0.95) * w), int(rng.uniform(0.75, 1.0) * h)
    pot = max(2, w // 30)
    cv2.rectangle(room, (cx - pot, base - 2 * pot), (cx + pot, base), _colour(rng, 40, 200), -1)
    for _ in range(14):
        leaf = (cx + int(rng.normal(0, 2 * pot)), base - 2 * pot - int(abs(rng.normal(2 * pot, 2 * pot))))
        green = (float(rng.uniform(30, 70)), float(rng.uniform(90, 150)), float(rng.uniform(40, 80)))
        cv2.ellipse(room, leaf, (pot, max(1, pot // 2)), float(rng.uniform(0, 180)), 0, 360, green, -1)


_FURNITURE = np.array([_window, _door, _picture, _shelf, _plant], dtype=object)


def _over(base: np.ndarray, image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """`image` over `base` with the matte `alpha` (float32 0-1)."""
    return cv2.blendLinear(image, base, alpha, 1 - alpha)


def _shake_matrix(shake: np.ndarray, size: tuple[int, int], depth: float) -> np.ndarray:
    """Affine image motion of a hand-held phone's shake for things at relative `depth` (1 = the head)."""
    width, height = size
    matrix = np.asarray(cv2.getRotationMatrix2D((width / 2, height / 2), float(shake[2]), 1.0), np.float64)
    matrix[:, 2] += np.array([shake[0], shake[1]]) * width * depth
    return matrix


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Affine `second` after `first` (both 2x3)."""
    return (np.vstack([second, (0, 0, 1)]) @ np.vstack([first, (0, 0, 1)]))[:2]


@dataclass(frozen=True, eq=False)
class _Stage:
    """The holder (and maybe a bystander) in front of a room, as a phone at arm's length frames them."""

    size: tuple[int, int]
    room: np.ndarray = field(repr=False)
    head: Head
    anchor: np.ndarray = field(repr=False)  # head canvas -> frame at rest
    bystander: Head | None = None
    bystander_anchor: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def make(cls, rng: np.random.Generator, person: str, size: tuple[int, int], *,
             bystander: str | None = None, hard: bool = False) -> _Stage:
        """Frame `person`'s face at 28-36 % of the height, centred, shoulders down to the bottom edge."""
        width, height = size
        room = _room(rng, width, height)
        head = make_head(person, int(round(height * rng.uniform(0.28, 0.36))))
        x, y, w, h = head.face_box
        # Face top at 18-28 % of the height, lower (to 34 %) if that keeps the photo down to the bottom
        # edge; below the photo the torso is drawn on.
        top = min(max(rng.uniform(0.18, 0.28) * height, 1.02 * height - (head.photo_bottom - y)),
                  0.34 * height)
        anchor = np.array([[1, 0, width * rng.uniform(0.47, 0.53) - (x + w / 2)], [0, 1, top - y]])
        if bystander is None:
            return cls(size, room, head, anchor)
        further = rng.uniform(0.45, 0.55) if hard else rng.uniform(0.6, 0.75)  # their face / the holder's
        other = make_head(bystander, int(round(h * further)))
        ox, oy, ow, oh = other.face_box
        side = rng.choice((-1.0, 1.0))
        centre_x = width * rng.uniform(0.47, 0.53) + side * w * rng.uniform(1.2, 1.4)
        centre_x = float(np.clip(centre_x, 0.7 * ow, width - 0.7 * ow))
        other_anchor = np.array([[1, 0, centre_x - (ox + ow / 2)], [0, 1, top + 0.1 * h - oy]])
        return cls(size, room, head, anchor, other, other_anchor)

    def shot(self, pose: HeadPose, closure: float, shake: np.ndarray,
             other_pose: HeadPose = HeadPose()) -> tuple[np.ndarray, _Box]:
        """Frame with the head at `pose` and the phone moved by `shake`; also the face box."""
        frame = cv2.warpAffine(self.room, _shake_matrix(shake, self.size, _ROOM_DEPTH), self.size,
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        if self.bystander is not None and self.bystander_anchor is not None:
            placement = _then(self.bystander_anchor, _shake_matrix(shake, self.size, _BYSTANDER_DEPTH))
            _out_of_focus(self.bystander.render(other_pose, placement=placement, size=self.size)).over(frame)
        placement = _then(self.anchor, _shake_matrix(shake, self.size, 1.0))
        near = self.head.render(pose, closure, placement=placement, size=self.size)
        return near.over(frame), near.face_box


def _out_of_focus(far: HeadFrame) -> HeadFrame:
    """Someone standing behind: softly defocused, fading out below the shoulders (hidden by the holder's)."""
    x, y, w, h = far.face_box
    sigma = max(0.5, 0.012 * h)
    rows = np.arange(far.alpha.shape[0], dtype=np.float32) + far.origin[1]
    fade = np.clip((y + 2.3 * h - rows) / (0.6 * h), 0, 1)
    alpha = cv2.GaussianBlur(far.alpha, (0, 0), sigma) * fade[:, None]
    return HeadFrame(image=cv2.GaussianBlur(far.image, (0, 0), sigma), alpha=alpha, origin=far.origin,
                     face_box=far.face_box)


# ---- renderers: one per kind of scene -------------------------------------------------------------

_Scene = Iterator[tuple[np.ndarray, _Box, float]]  # frame, face box, how shut the shown eyes are


def _live(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A live head turning and blinking (and, for multiple_faces, someone else looking on)."""
    stage = _Stage.make(rng, spec.person, spec.size, bystander=spec.bystander, hard=spec.hard)
    other_yaw = 8 * _wander(rng, spec.count, spec.fps, 1.5)
    for index in range(spec.count):
        closure = float(plan.closure[index])
        image, box = stage.shot(plan.pose(index), closure, plan.shake[index],
                                HeadPose(float(other_yaw[index])))
        yield image, box, closure


def _still(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """One still selfie injected as every frame: only the (tiny) shake and the sensor change."""
    stage = _Stage.make(rng, spec.person, spec.size)
    image, box = stage.shot(HeadPose(), 0.0, np.zeros(3))
    for index in range(spec.count):
        matrix = _shake_matrix(plan.shake[index], spec.size, 1.0)
        moved = cv2.warpAffine(image, matrix, spec.size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        yield moved, _move_box(box, matrix), 0.0


def _media_rng(rng: np.random.Generator, spec: _Spec) -> np.random.Generator:
    """The stream a print's or a screen's properties are drawn from: it also depends on who is shown, so
    that people rendered with the same seed are not all shown on the same kind of print or screen."""
    return np.random.default_rng([int(rng.integers(2 ** 31)), zlib.crc32(spec.person.encode())])


def _print(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A printed photo of the person held up to the camera and moved by hand: a plane."""
    width, height = spec.size
    rocked = spec.variant is SelfieVariant.PRINT_ROCKED
    # A rocked print is held close enough to fill the frame: its border swings in and out of view.
    paper_h = height * (rng.uniform(*_ROCKED_PAPER) if rocked else
                        rng.uniform(0.95, 1.1) if spec.hard else rng.uniform(0.75, 0.9))
    content_h = int(round(paper_h * 1.05))  # printed a little finer than the camera sees it
    content_size = (int(round(content_h * 0.72)), content_h)
    stage = _Stage.make(rng, spec.person, content_size)
    photo, box = stage.shot(HeadPose(yaw=float(rng.uniform(-4, 4))), 0.0, np.zeros(3))
    printer = Printer.make(_media_rng(rng, spec), spec.hard)
    printed = printer.render(rng, photo, rng.uniform(85, 140) / content_h)  # a picture 85-140 mm tall
    card = _Card.make(rng, printed, border=0.03 if spec.hard else 0.05, border_colour=printer.paper,
                      fingers=1 if spec.hard else int(rng.integers(1, 3)))
    scale = paper_h / card.paper_size[1]
    motion = (_PlaneMotion.rocking(rng, spec, height=paper_h) if rocked
              else _PlaneMotion.make(rng, spec, tilt_deg=6 if spec.hard else 10, height=paper_h))
    room = _room(rng, width, height)
    for index in range(spec.count):
        homography = motion.homography(index, card.image.shape[1::-1], scale, plan.shake[index])
        frame = _shake_room(room, plan.shake[index], spec.size)
        layer, alpha = card.warp(homography, spec.size)
        layer = _reflect(layer, alpha, _sheen(motion.tilt(index), printer.gloss), spec.size)
        yield _over(frame, layer, alpha), _project_box(box, card.offset, 1.0, homography), 0.0


def _screen(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """The person's photo or a replayed live video of them on a tablet filmed by the camera."""
    width, height = spec.size
    pitch = rng.uniform(0.8, 0.95) if spec.hard else rng.uniform(1.2, 1.5)  # frame px per screen px
    device_h = height * rng.uniform(0.85, 0.95)
    panel_h = int(round(device_h * 0.9 / pitch))
    panel = (int(round(panel_h * 0.75)), panel_h)
    stage = _Stage.make(rng, spec.person, panel)
    replay = spec.hard or rng.random() < 0.5
    screen = Screen.make(_media_rng(rng, spec), panel, pitch, spec.hard)
    card = _Card.make(rng, np.zeros((3 * panel[1], 3 * panel[0], 3), np.uint8), border=0.05,
                      border_colour=(22, 22, 24), fingers=int(rng.integers(0, 3)))
    panel_area = np.zeros(card.alpha.shape, np.uint8)  # where the panel's own light comes from
    x, y = card.offset
    panel_area[y:y + 3 * panel[1], x:x + 3 * panel[0]] = 255
    scale = device_h / card.paper_size[1]
    motion = _PlaneMotion.make(rng, spec, tilt_deg=7, height=device_h)
    room = _room(rng, width, height)
    photo = None if replay else stage.shot(HeadPose(), 0.0, np.zeros(3))
    for index in range(spec.count):
        closure = float(plan.closure[index]) if replay else 0.0
        content, box = photo or stage.shot(plan.pose(index), closure, 0.3 * plan.shake[index])
        card.fill(screen.show(content))
        homography = motion.homography(index, card.image.shape[1::-1], scale, plan.shake[index])
        layer, alpha = card.warp(homography, spec.size)
        lit = cv2.warpPerspective(panel_area, homography, spec.size, flags=cv2.INTER_LINEAR)
        layer = screen.pulse(layer, lit.astype(np.float32) * (1 / 255), index / spec.fps)
        layer = _reflect(layer, alpha, _window_glare(motion.tilt(index), 25 if spec.hard else 50), spec.size)
        yield (_over(_shake_room(room, plan.shake[index], spec.size), layer, alpha),
               _project_box(box, card.offset, 3.0, homography), closure)


def _swapped(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A live head turning and blinking whose face is someone else's (`spec.intruder`) during the middle
    third, in the same room, framed the same way: a face swapped in mid-capture."""
    stage = _Stage.make(rng, spec.person, spec.size, hard=spec.hard)
    assert spec.intruder is not None, "face_swap_middle needs an intruder"
    swap = replace(_Stage.make(rng, spec.intruder, spec.size, hard=spec.hard), room=stage.room)
    first, last = spec.count // 3, spec.count - spec.count // 3
    for index in range(spec.count):
        closure = float(plan.closure[index])
        shown = swap if first <= index < last else stage
        image, box = shown.shot(plan.pose(index), closure, plan.shake[index])
        yield image, box, closure


# ---- replays of a recorded live selfie: on a phone, on a monitor, looped ------------------------------

def _looped_plan(rng: np.random.Generator, spec: _Spec) -> _Plan:
    """A live plan for a LOOP_CLIP_S clip (a turn each way and a blink in it), repeated over the video
    (a challenge's length, when it has one: the clip was recorded before, so it follows no challenge)."""
    clip = max(2, round(LOOP_CLIP_S * spec.fps))
    one = _plan(rng, replace(spec, variant=SelfieVariant.LIVE, count=clip, challenge=None))
    tile = np.arange(spec.count) % clip
    return _Plan(yaw=one.yaw[tile], pitch=one.pitch[tile], roll=one.roll[tile], closure=one.closure[tile],
                 shake=one.shake[tile])


def _recording(rng: np.random.Generator, spec: _Spec, size: tuple[int, int],
               plan: _Plan) -> Iterator[tuple[np.ndarray, _Box, float]]:
    """A live selfie of the person recorded earlier at `size` by a hand-held phone (its own shake,
    exposure and sensor noise): the content a replay attack shows."""
    stage = _Stage.make(rng, spec.person, size)
    camera = _Camera.make(rng, replace(spec, variant=SelfieVariant.LIVE, size=size))
    shake = np.stack([_wander(rng, spec.count, spec.fps, 0.8) for _ in range(3)], axis=1) * (0.004, 0.004, 0.5)
    for index in range(spec.count):
        closure = float(plan.closure[index])
        image, box = stage.shot(plan.pose(index), closure, shake[index])
        yield camera.develop(image, index), box, closure


def _replay_phone(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A recorded live selfie (portrait) played on a phone with a thin white bezel, held up by hand; the
    phone's pixels are finer than the camera resolves (no moire), its bezel is bright, not dark."""
    width, height = spec.size
    device_h = height * rng.uniform(0.82, 0.95)
    edge = rng.uniform(0.02, 0.035)  # the bezel, in panel widths
    panel_h = int(round(device_h / (1 + 2 * edge * 9 / 16)))
    panel = (int(round(panel_h * 9 / 16)), panel_h)
    recording = _recording(rng, spec, panel, plan)
    display = Display.make(_media_rng(rng, spec), spec.hard)
    white = float(rng.uniform(225, 250))
    card = _Card.make(rng, np.zeros((panel[1], panel[0], 3), np.uint8), border=edge,
                      border_colour=(int(white - 3), int(white - 1), int(white)), fingers=int(rng.integers(1, 3)))
    panel_area = np.zeros(card.alpha.shape, np.uint8)
    x, y = card.offset
    panel_area[y:y + panel[1], x:x + panel[0]] = 255
    motion = _PlaneMotion.make(rng, spec, tilt_deg=7, height=device_h)
    room = _room(rng, width, height)
    glare = rng.uniform(15, 45)
    for index, (content, box, closure) in enumerate(recording):
        card.fill(display.show(content))
        homography = motion.homography(index, card.image.shape[1::-1], 1.0, plan.shake[index])
        layer, alpha = card.warp(homography, spec.size)
        lit = cv2.warpPerspective(panel_area, homography, spec.size, flags=cv2.INTER_LINEAR)
        layer = display.pulse(layer, lit.astype(np.float32) * (1 / 255), index / spec.fps)
        layer = _reflect(layer, alpha, _window_glare(motion.tilt(index), glare), spec.size)
        yield (_over(_shake_room(room, plan.shake[index], spec.size), layer, alpha),
               _project_box(box, card.offset, 1.0, homography), closure)


def _replay_monitor(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A recorded live selfie played full screen on a monitor filmed from so close that the panel fills
    the frame: no bezel, no edge, no visible pixel grid; the hand-held camera moves and tilts over it."""
    width, height = spec.size
    overfill = rng.uniform(1.25, 1.35)  # the panel reaches this far beyond the frame, so no edge shows
    panel = (int(round(width * overfill)), int(round(height * overfill)))
    recording = _recording(rng, spec, panel, plan)
    display = Display.make(_media_rng(rng, spec), spec.hard)
    card = _Card.make(rng, np.zeros((panel[1], panel[0], 3), np.uint8), border=0.0, border_colour=(0, 0, 0),
                      fingers=0)
    motion = _PlaneMotion.make(rng, spec, tilt_deg=4, height=panel[1])
    glare = rng.uniform(8, 30)  # a monitor's anti-glare coating: a dim, broad reflection
    for index, (content, box, closure) in enumerate(recording):
        card.fill(display.show(content))
        homography = motion.homography(index, card.image.shape[1::-1], 1.0, plan.shake[index])
        layer, alpha = card.warp(homography, spec.size)
        layer = display.pulse(layer, alpha, index / spec.fps)
        layer = _reflect(layer, alpha, _window_glare(motion.tilt(index), glare), spec.size)
        yield layer, _project_box(box, card.offset, 1.0, homography), closure


def _loop(rng: np.random.Generator, spec: _Spec, plan: _Plan) -> _Scene:
    """A live LOOP_CLIP_S clip (turn and blink), recorded and encoded once, then repeated over the video
    (`plan` is already the clip's, tiled); the writer re-encodes it, with or without fresh noise."""
    clip = max(2, round(LOOP_CLIP_S * spec.fps))
    stage = _Stage.make(rng, spec.person, spec.size)
    camera = _Camera.make(rng, replace(spec, variant=SelfieVariant.LIVE))
    shots = [stage.shot(plan.pose(index), float(plan.closure[index]), plan.shake[index]) for index in range(clip)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        video.write(path, (camera.develop(image, index) for index, (image, _) in enumerate(shots)), spec.fps)
        recorded = [frame.image for frame in video.decode(path, max_side=None).frames]
    for index in range(spec.count):
        at = index % min(clip, len(recorded))
        yield recorded[at], shots[at][1], float(plan.closure[index])


_REPLAYED = (SelfieVariant.REPLAY_PHONE, SelfieVariant.REPLAY_MONITOR)  # a head turning in 2D, on a screen

_RENDERERS: dict[SelfieVariant, Callable[[np.random.Generator, _Spec, _Plan], _Scene]] = {
    SelfieVariant.LIVE: _live,
    SelfieVariant.DIFFERENT_PERSON: _live,
    SelfieVariant.NOT_TURNED: _live,
    SelfieVariant.NO_BLINK: _live,
    SelfieVariant.MULTIPLE_FACES: _live,
    SelfieVariant.STILL: _still,
    SelfieVariant.PRINT: _print,
    SelfieVariant.SCREEN: _screen,
    SelfieVariant.PRINT_ROCKED: _print,
    SelfieVariant.FACE_SWAP_MIDDLE: _swapped,
    SelfieVariant.REPLAY_PHONE: _replay_phone,
    SelfieVariant.REPLAY_MONITOR: _replay_monitor,
    SelfieVariant.LOOP: _loop,
    SelfieVariant.LOOP_NOISE: _loop,
}


# ---- planes held by hand: a print, a screen -------------------------------------------------------

def _shake_room(room: np.ndarray, shake: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The room behind, moved by the phone's shake (less than near things: it is farther)."""
    return cv2.warpAffine(room, _shake_matrix(shake, size, _ROOM_DEPTH), size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


def _move_box(box: _Box, matrix: np.ndarray) -> _Box:
    """Bounding box of `box` moved by a 2x3 affine."""
    x, y, w, h = box
    corners = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32)
    return _bounds(cv2.transform(corners, matrix)[0])


def _project_box(box: _Box, offset: tuple[int, int], scale: float, homography: np.ndarray) -> _Box:
    """Bounding box in the frame of a box in content pixels, on a card at `offset`, `scale` px per px."""
    x, y, w, h = (v * scale for v in box)
    corners = np.array([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]], np.float32) + np.array(offset, np.float32)
    return _bounds(cv2.perspectiveTransform(corners, homography)[0])


def _bounds(points: np.ndarray) -> _Box:
    """Integer (x, y, w, h) around points."""
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))


@dataclass(frozen=True, eq=False)
class _PlaneMotion:
    """How a hand moves a held plane: tilt about both axes, in-plane turn, drift and distance."""

    size: tuple[int, int]
    angles: np.ndarray = field(repr=False)  # (n, 3) degrees about x, y, z
    drift: np.ndarray = field(repr=False)  # (n, 3): dx, dy in frame widths, relative distance change

    @classmethod
    def make(cls, rng: np.random.Generator, spec: _Spec, tilt_deg: float, height: float) -> _PlaneMotion:
        """Random smooth hand motion for `spec.count` frames of a plane `height` frame px tall, held
        low enough that the hand under it stays mostly below the frame."""
        n, fps = spec.count, spec.fps
        angles = np.stack([tilt_deg * _wander(rng, n, fps, 1.2), tilt_deg * _wander(rng, n, fps, 1.2),
                           3 * _wander(rng, n, fps, 1.5)], axis=1)
        drift = np.stack([0.02 * _wander(rng, n, fps, 1.0), 0.015 * _wander(rng, n, fps, 1.0),
                          0.03 * _wander(rng, n, fps, 1.5)], axis=1)
        low = max(0.0, (spec.size[1] - height) / 2 - 0.02 * spec.size[1]) / spec.size[0]
        return cls(spec.size, angles, drift + (0, low, 0))

    @classmethod
    def rocking(cls, rng: np.random.Generator, spec: _Spec, height: float) -> _PlaneMotion:
        """A print rocked fast in 3D at arm's length: tilts of ROCK_TILT_DEG about both axes swinging back
        and forth every ROCK_PERIOD_S, with an in-plane turn and a drift that follow the arm."""
        n, fps = spec.count, spec.fps
        t = np.arange(n) / fps
        swings = []
        for _ in range(2):  # about the x and the y axis, each at its own pace
            period, phase = rng.uniform(*_ROCK_PERIOD_S), rng.uniform(0, 2 * np.pi)
            swings.append(rng.uniform(*_ROCK_TILT_DEG) * np.sin(2 * np.pi * t / period + phase)
                          + 3 * _wander(rng, n, fps, 0.4))
        angles = np.stack([*swings, 6 * _wander(rng, n, fps, 0.6)], axis=1)
        drift = np.stack([0.03 * _wander(rng, n, fps, 0.5), 0.02 * _wander(rng, n, fps, 0.5),
                          0.05 * _wander(rng, n, fps, 0.8)], axis=1)
        low = max(0.0, (spec.size[1] - height) / 2 - 0.02 * spec.size[1]) / spec.size[0]
        return cls(spec.size, angles, drift + (0, low, 0))

    def tilt(self, index: int) -> tuple[float, float]:
        """Tilt about the x and y axes at frame `index`, degrees."""
        return float(self.angles[index, 0]), float(self.angles[index, 1])

    def homography(self, index: int, card_size: tuple[int, int], scale: float,
                   shake: np.ndarray) -> np.ndarray:
        """Card pixels -> frame pixels at frame `index`: one pinhole view of the rotated, moved plane."""
        width, height = self.size
        cw, ch = card_size
        rx, ry, rz = np.radians(self.angles[index] + (0, 0, shake[2]))
        rot_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
        rot_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
        rot_z = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
        corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float64)
        plane = np.c_[(corners - (cw / 2, ch / 2)) * scale, np.zeros(4)]
        focal = _FOCAL * width
        points = plane @ (rot_z @ rot_y @ rot_x).T + (0, 0, focal * (1 + self.drift[index, 2]))
        centre = np.array([width / 2, height / 2]) + (self.drift[index, :2] + shake[:2]) * width
        projected = focal * points[:, :2] / points[:, 2:] + centre
        return cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))


@dataclass(frozen=True, eq=False)
class _Card:
    """A flat thing held up by hand: a picture in a border, thumbs over the border, transparent around."""

    image: np.ndarray = field(repr=False)  # BGR canvas (the picture area is overwritten by `fill`)
    alpha: np.ndarray = field(repr=False)  # uint8 matte of the card and fingers
    offset: tuple[int, int]  # where the picture's top-left corner sits on the canvas
    paper_size: tuple[int, int]  # the card with its border, canvas px

    @classmethod
    def make(cls, rng: np.random.Generator, picture: np.ndarray, *, border: float,
             border_colour: tuple[int, int, int], fingers: int) -> _Card:
        """Put `picture` inside a border of `border` x its width, with `fingers` thumbs on the edges."""
        ph, pw = picture.shape[:2]
        edge = max(2, int(round(border * pw)))
        margin = int(0.12 * pw)
        paper = (pw + 2 * edge, ph + 2 * edge)
        alpha = cv2.copyMakeBorder(rounded_mask(paper, max(1, edge // 2)), margin, margin, margin, margin,
                                   cv2.BORDER_CONSTANT, value=0)
        image = np.zeros((*alpha.shape, 3), np.uint8)
        image[alpha > 0] = border_colour
        offset = (margin + edge, margin + edge)
        image[offset[1]:offset[1] + ph, offset[0]:offset[0] + pw] = picture
        for _ in range(fingers):
            _thumb(rng, image, alpha, (margin, margin, margin + paper[0], margin + paper[1]), edge)
        return cls(image, alpha, offset, paper)

    def fill(self, picture: np.ndarray) -> None:
        """Replace the picture (a screen's next frame); the canvas is this card's own buffer."""
        x, y = self.offset
        self.image[y:y + picture.shape[0], x:x + picture.shape[1]] = picture

    def warp(self, homography: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The card seen through `homography`: BGR layer and float32 matte, frame-sized."""
        layer = cv2.warpPerspective(self.image, homography, size, flags=cv2.INTER_LINEAR)
        alpha = cv2.warpPerspective(self.alpha, homography, size, flags=cv2.INTER_LINEAR)
        return layer, alpha.astype(np.float32) * (1 / 255)


_SKIN = ((150, 175, 225), (120, 150, 205), (95, 125, 180), (70, 95, 145), (50, 70, 110))  # BGR


def _thumb(rng: np.random.Generator, image: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int],
           edge: int) -> None:
    """A thumb coming up from below the card over its bottom edge, its tip on the border, with a nail."""
    x0, _, x1, y1 = box
    width = x1 - x0
    radius = max(2.0, 0.05 * width)
    tip = np.array([rng.uniform(x0 + 0.1 * width, x1 - 0.1 * width), y1 - 0.7 * edge])
    direction = np.array([rng.uniform(-0.45, 0.45), -1.0])
    direction /= np.linalg.norm(direction)
    length = (image.shape[0] - tip[1]) / -direction[1] + 2 * radius  # from below the canvas
    base = tip - direction * length
    lo = np.floor(np.minimum(tip, base) - 2 * radius).astype(int).clip(0)
    hi = np.ceil(np.maximum(tip, base) + 2 * radius).astype(int).clip(0, (image.shape[1], image.shape[0]))
    ys, xs = np.mgrid[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
    rel = np.stack([xs - base[0], ys - base[1]], axis=-1)
    along = np.clip(rel @ direction / length, 0, 1)
    offset = rel - along[..., None] * length * direction
    across = offset @ np.array([-direction[1], direction[0]])
    cover = np.clip((1 - np.hypot(offset[..., 0], offset[..., 1]) / radius) * radius / 1.5, 0, 1)
    skin = np.array(_SKIN[int(rng.integers(len(_SKIN)))], np.float32)
    shade = 1 - 0.35 * np.clip(across / radius, -1, 1) ** 2
    from_tip = (1 - along) * length / radius  # radii back from the tip
    nail = np.clip((0.5 - np.hypot((from_tip - 0.9) / 0.8, across / (0.6 * radius))) * 4, 0, 1)
    colour = skin * shade[..., None] * (1 + 0.2 * nail[..., None])
    patch = image[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
    image[lo[1]:hi[1], lo[0]:hi[0]] = np.clip(patch + (colour - patch) * cover[..., None], 0, 255)
    held = alpha[lo[1]:hi[1], lo[0]:hi[0]]
    held[:] = np.maximum(held, cover * 255)


_Light = Callable[[np.ndarray, np.ndarray], np.ndarray]  # grey levels over frame (x, y) in [0, 1]


def _reflect(layer: np.ndarray, alpha: np.ndarray, light: _Light, size: tuple[int, int]) -> np.ndarray:
    """Add a reflection, `light(x, y)` grey levels over frame coordinates in [0, 1] (drawn coarse:
    reflections are smooth), onto the layer wherever its matte is."""
    width, height = size
    gx, gy = np.meshgrid(np.linspace(0, 1, max(8, width // 8), dtype=np.float32),
                         np.linspace(0, 1, max(8, height // 8), dtype=np.float32))
    shine = cv2.resize(light(gx, gy).astype(np.float32), size, interpolation=cv2.INTER_LINEAR) * alpha
    return cv2.add(layer, cv2.cvtColor(shine, cv2.COLOR_GRAY2BGR), dtype=cv2.CV_8U)


def _sheen(tilt: tuple[float, float], strength: float) -> _Light:
    """A soft sheen on glossy paper that slides across it as it tilts."""
    cx, cy = 0.6 + 0.012 * tilt[1], 0.3 + 0.012 * tilt[0]
    return lambda x, y: strength * np.exp(-(((x - cx) / 0.3) ** 2 + ((y - cy) / 0.45) ** 2))


def _window_glare(tilt: tuple[float, float], strength: float) -> _Light:
    """A window's reflection on a screen's glass: a bright diagonal band that moves as it tilts."""
    shift = 0.75 + 0.02 * tilt[1] + 0.015 * tilt[0]

    def band(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        along = 0.8 * x + 0.6 * y - shift
        return strength * (np.exp(-(along / 0.07) ** 2) + 0.25 * np.exp(-(along / 0.3) ** 2))
    return band


# ---- the phone's camera ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Camera:
    """What the phone does to the light: exposure drift, white balance, lens softness, sensor noise."""

    gains: np.ndarray = field(repr=False)  # (n, 3) per-channel gain
    noise: float
    blur: float
    seed: int

    @classmethod
    def make(cls, rng: np.random.Generator, spec: _Spec) -> _Camera:
        """Random drifts for `spec.count` frames; darker and noisier when hard."""
        n, fps = spec.count, spec.fps
        level = rng.uniform(0.7, 0.85) if spec.hard else rng.uniform(0.95, 1.05)
        steady = spec.variant is SelfieVariant.STILL and not spec.hard
        exposure = level * (1 + (0.0 if steady else 0.04) * _wander(rng, n, fps, 1.5))
        balance = 1 + 0.012 * np.stack([_wander(rng, n, fps, 2.0) for _ in range(3)], axis=1)
        return cls(exposure[:, None] * balance, 5.0 if spec.hard else 2.5, 0.9 if spec.hard else 0.6,
                   int(rng.integers(2 ** 31)))

    def develop(self, image: np.ndarray, index: int) -> np.ndarray:
        """The frame as the phone records it."""
        height, width = image.shape[:2]
        out = cv2.GaussianBlur(image, (0, 0), self.blur)
        gains = tuple(float(g) for g in self.gains[index]) + (0.0,)  # a per-channel scalar, as OpenCV takes it
        out = cv2.multiply(out, gains, dtype=cv2.CV_8U)  # type: ignore[call-overload]  # stub: arrays only
        rng = np.random.default_rng((self.seed, index))
        noise = rng.standard_normal((max(1, height // 2), max(1, width // 2)), dtype=np.float32) * self.noise
        grain = cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR)
        return cv2.add(out, cv2.cvtColor(grain, cv2.COLOR_GRAY2BGR).astype(np.int16), dtype=cv2.CV_8U)
