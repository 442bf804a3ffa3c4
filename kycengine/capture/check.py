"""Whether a selfie performed its challenge (`challenge`), from the liveness stage's own cues.

The head's yaw per frame is the pose cue's (`landmarks.plane_yaw` on the trusted sightings of the
face track, against the rest pose `pose.head_turn` found); the blink is the blink cue's strongest one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..face.landmarks import plane_yaw
from ..face.track import FaceTrack
from .challenge import TOLERANCE_S, Action, Challenge


@dataclass(frozen=True)
class Outcome:
    """Which steps were seen in their windows, and the first thing done out of turn (empty if none)."""

    done: tuple[bool, ...]
    stray: str

    @property
    def passed(self) -> bool:
        """Every step done and nothing out of turn."""
        return all(self.done) and not self.stray


# A turn outside every window asking for its side fails the challenge only when it is a turn the
# customer would make: at least STRAY_SHARE of the biggest turn to that side inside its windows (and
# the turn threshold). Between its turns a live head drifts and the landmarks jitter: on generated
# live selfies performing their challenge (7 people x clean/hard, opencv seed 0) such readings
# reached 0.18-0.28, up to 0.51 of the customer's own turn to that side, and failed 5 of 14 at the
# turn threshold alone; a replay performs another challenge's turns, whole ones, at the wrong times.
STRAY_SHARE = 0.6


def turned_sides(track: FaceTrack, rest: float, turn_min: float) -> list[tuple[int, Action, float]]:
    """(position, side, amplitude) of every trusted sighting turned at least `turn_min` from `rest`
    (the yaw index of `liveness.pose`: below the rest pose is a turn to the image's left)."""
    out = []
    for sighting in track.trusted:
        yaw = plane_yaw(sighting.landmarks5)
        if np.isfinite(yaw) and abs(yaw - rest) >= turn_min:
            out.append((sighting.position, Action.TURN_LEFT if yaw < rest else Action.TURN_RIGHT, abs(yaw - rest)))
    return out


def performed(challenge: Challenge, times: Sequence[float], track: FaceTrack, rest: float, turn_min: float,
              blink_frame: int | None) -> Outcome:
    """Whether the selfie did the challenge's steps in their windows: `times` are the frames' seconds
    from the first frame, `rest` the rest pose's yaw and `turn_min` the turn threshold (both as the
    liveness stage measures them), `blink_frame` the position of the strongest blink (None: none)."""
    done = [False] * len(challenge.steps)
    peak = dict.fromkeys((Action.TURN_LEFT, Action.TURN_RIGHT), 0.0)  # biggest turn inside its windows
    strays: list[tuple[float, Action, float]] = []
    for position, side, amplitude in turned_sides(track, rest, turn_min):
        t = times[position]
        asking = [i for i, s in enumerate(challenge.steps)
                  if s.action is side and s.start_s - TOLERANCE_S <= t < s.end_s + TOLERANCE_S]
        for i in asking:
            if challenge.steps[i].start_s <= t < challenge.steps[i].end_s:
                done[i] = True
                peak[side] = max(peak[side], amplitude)
        if not asking:
            strays.append((t, side, amplitude))
    stray = next((f"{side.value.replace('_', ' ')} at {t:.1f} s, outside its windows" for t, side, amplitude
                  in strays if amplitude >= STRAY_SHARE * peak[side]), "")
    for i, step in enumerate(challenge.steps):
        if step.action is Action.BLINK and blink_frame is not None and blink_frame >= 0:
            done[i] = step.start_s <= times[blink_frame] < step.end_s
    return Outcome(tuple(done), stray)
