"""Head turn and blink, the two things the customer is asked to do, measured from the face track.

Turn: a yaw per frame from five landmarks (`landmarks.plane_yaw`), the nose tip's sideways offset
from the eyes' midpoint in the affine frame of the eyes and the mouth, in half eye spans (0 facing
the camera, about +-0.6 at 30 degrees; > 0 nose towards the image's right). A flat picture, however
it is tilted, keeps it: measured along the eye axis instead (`yaw_index`), a print rocked fast in 3D
read its foreshortening as a turn both ways. Only changes count: the rest pose (median of the
first and last tenth of the video) is subtracted, so a face that is a little turned at rest is not
penalised; a turn is the 5th / 95th percentile on each side of it (one bad frame does not make a turn).

Blink: eyes that shut for 100-400 ms are a transient, unlike a head turn that changes their look
smoothly. Each frame's grey face crop (the face FACE_PX wide, see `frames.face_crops`) is aligned
on its two eye centres into a canonical strip; each eye's window is compared (normalised
cross-correlation, best over a small search) with the frames 0.2 s before and after (two frames at
10 fps). With d = 1 - NCC, the score is the detour the eye's look takes through the frame between
its two neighbours, (d(t-2, t) + d(t, t+2) - d(t-2, t+2)) / 2, averaged over both eyes, each weighted
by how much of it the camera sees (`eye_visibility`: a near-profile face's far eye hides behind the
nose, and its window, all cheek, halved every blink when the eyes counted alike): a look that
changes once and stays (a step) scores 0, a smooth change (a head turn: d grows about as the square
of the change) below 0, and a look that leaves and comes back above 0. Subtracting all of
d(t-2, t+2) instead (NCC(t-2, t+2) - mean(NCC(t, t-2), NCC(t, t+2))) charges a blink during a head
turn with the turn's whole change between the two neighbours, and hid such blinks. The window is
taller than an open eye so that it still holds the eye, lids and lashes when the eye centre is off
by a fifth of the eye span (YuNet's points sit up to 0.16 eye spans above or below the 106-point
eye centres, depending on the person). (The 106-point eye aspect ratio was measured too: on
rendered eyelids it dips only 0.15-0.35 and jitters as much on open eyes, so it is not used.) The
eye centres come from the 106-point model (insightface backend) or YuNet's five points (opencv
backend, smoothed over time first: a running median drops their one- or two-frame jumps, as when
the lids shut, then a Savitzky-Golay filter their jitter of a few pixels), so the opencv backend
never touches the non-commercial 106-point weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.landmarks import plane_yaw, yaw_index
from ..face.track import FaceTrack
from .frames import Crops

REST_FRACTION = 0.1  # the first and last tenth of the frames (at least 3 each) give the rest pose
TURN_QUANTILE = 5.0  # percentile taken as the turn's extreme on each side, in a selfie of TURN_REFERENCE_S
# The percentile stands for a time the head holds its turn (5 % of 5 s: 0.25 s): a longer selfie (a
# capture session's challenge lasts 9-15 s, with turns of under a second each) takes a smaller one,
# so that a turn asked once is not dropped as an outlier.
TURN_REFERENCE_S = 5.0
# Canonical eye strip: the eyes 40 px apart on a horizontal line, a window around each eye.
STRIP = (120, 60)
EYES = np.array([[40.0, 30.0], [80.0, 30.0]])
EYE_WINDOW = (20, 18)  # (w, h) px around an eye centre at 40 px between the eyes: eye, lids, lashes
EYE_SEARCH = 6  # px of search around it in the other frame (landmark jitter)
BLINK_GAP_S = 0.2  # seconds between the frame examined and its neighbours (2 frames at 10 fps)
MEDIAN_WINDOW = 5  # running median (frames) over jittery eye centres: drops jumps of 1-2 frames
SMOOTH_WINDOW = 7  # then a Savitzky-Golay window (frames) over them (opencv backend)


@dataclass(frozen=True)
class Turn:
    """How far the head turned each way from its rest pose (yaw index units), and where."""

    left: float  # towards the image's left, >= 0 when it happened
    right: float
    rest: float
    left_frame: int  # position in the video of the most-turned frame on that side (-1: none)
    right_frame: int
    frames: int  # frames with a face


def head_turn(track: FaceTrack, seconds: float | None = None) -> Turn:
    """Turn amplitude on each side, from the track's trusted five landmarks; `seconds`: the selfie's
    length (None: the reference length)."""
    found = track.trusted
    yaw = np.array([plane_yaw(s.landmarks5) for s in found])
    keep = np.isfinite(yaw)
    yaw, positions = yaw[keep], [s.position for s, k in zip(found, keep) if k]
    if len(yaw) < 5:
        return Turn(0.0, 0.0, 0.0, -1, -1, len(yaw))
    rest_n = max(3, int(round(REST_FRACTION * len(yaw))))
    rest = float(np.median(np.r_[yaw[:rest_n], yaw[-rest_n:]]))
    quantile = TURN_QUANTILE * min(1.0, TURN_REFERENCE_S / seconds) if seconds else TURN_QUANTILE
    low, high = np.percentile(yaw, [quantile, 100 - quantile])
    return Turn(left=float(rest - low), right=float(high - rest), rest=rest,
                left_frame=positions[int(np.argmin(yaw))], right_frame=positions[int(np.argmax(yaw))],
                frames=len(yaw))


def _smoothed(values: np.ndarray) -> np.ndarray:
    """Running median then Savitzky-Golay (quadratic) along axis 0; short series are returned as they
    are. The median first: a least-squares filter spreads a landmark's jump over its whole window."""
    if len(values) < SMOOTH_WINDOW:
        return values
    from scipy.ndimage import median_filter
    from scipy.signal import savgol_filter

    steady = median_filter(values, size=(MEDIAN_WINDOW, *(1,) * (values.ndim - 1)), mode="nearest")
    return savgol_filter(steady, SMOOTH_WINDOW, 2, axis=0, mode="interp")


def _strip(grey: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The eye region rotated and scaled so that the eyes land on EYES."""
    source = right - left
    target = EYES[1] - EYES[0]
    scale = float(np.linalg.norm(target) / max(float(np.linalg.norm(source)), 1e-6))
    angle = float(np.arctan2(target[1], target[0]) - np.arctan2(source[1], source[0]))
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = np.c_[rotation, EYES[0] - rotation @ left]
    return cv2.warpAffine(grey, matrix, STRIP, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _similarity(a: np.ndarray, b: np.ndarray, eye: int) -> float:
    """Best normalised cross-correlation of `a`'s window around `eye` within `b` (small search)."""
    cx, cy = EYES[eye].astype(int)
    w, h = EYE_WINDOW
    template = a[cy - h // 2:cy + h // 2, cx - w // 2:cx + w // 2]
    region = b[cy - h // 2 - EYE_SEARCH:cy + h // 2 + EYE_SEARCH, cx - w // 2 - EYE_SEARCH:cx + w // 2 + EYE_SEARCH]
    if float(template.std()) < 1e-3:
        return 1.0
    return float(cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED).max())


def _detour(before: np.ndarray, strip: np.ndarray, after: np.ndarray, eye: int) -> float:
    """(d(before, strip) + d(strip, after) - d(before, after)) / 2 for `eye`'s window, d = 1 - NCC:
    how far the eye's look strays between its neighbours and comes back (see the module's description)."""
    apart = _similarity(before, after, eye)
    return (1 + apart - _similarity(strip, before, eye) - _similarity(strip, after, eye)) / 2


def eye_visibility(landmarks5: np.ndarray) -> tuple[float, float]:
    """How much of each eye (left, right in the image) the camera sees: its distance from the nose
    along the eye axis, in half eye spans (1 each facing the camera; the far eye of a turned head nears
    the nose and hides behind it). Equal weights where the nose cannot be placed."""
    offset = yaw_index(landmarks5)
    if not np.isfinite(offset):
        return 1.0, 1.0
    near = float(np.clip(1 + offset, 0.0, 2.0)), float(np.clip(1 - offset, 0.0, 2.0))
    return near if sum(near) > 0 else (1.0, 1.0)


@dataclass(frozen=True)
class Blink:
    """The strongest eye transient and the frame (position in the video) it was seen at."""

    score: float
    frame: int
    frames: int  # frames examined (a face at t and BLINK_GAP_S before and after)


def blink(crops: Crops, track: FaceTrack, frame_step_s: float, *, smooth: bool) -> Blink:
    """Strongest blink transient in the video (see the module's description), on the grey face crops;
    `frame_step_s` is the time between kept frames; only trusted sightings are read."""
    found = track.trusted
    gap = max(1, int(round(BLINK_GAP_S / max(frame_step_s, 1e-3))))
    if len(found) < 2 * gap + 1:
        return Blink(0.0, -1, 0)
    eyes = np.array([crops.to_work(s.landmarks5[:2]) for s in found], np.float64)
    if smooth:
        eyes = _smoothed(eyes)
    strips = {s.position: _strip(crops.images[s.position], e[0], e[1]) for s, e in zip(found, eyes)}
    seen = {s.position: eye_visibility(s.landmarks5) for s in found}
    best, where, examined = 0.0, -1, 0
    for position, strip in strips.items():
        before, after = strips.get(position - gap), strips.get(position + gap)
        if before is None or after is None:
            continue
        examined += 1
        score = float(np.average([_detour(before, strip, after, eye) for eye in (0, 1)], weights=seen[position]))
        if score > best:
            best, where = score, position
    return Blink(best, where, examined)
