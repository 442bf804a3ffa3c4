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


def turned_sides(track: FaceTrack, rest: float, turn_min: float) -> list[tuple[int, Action]]:
    """(position, side) of every trusted sighting turned at least `turn_min` from `rest` (the yaw
    index of `liveness.pose`: below the rest pose is a turn to the image's left)."""
    out = []
    for sighting in track.trusted:
        yaw = plane_yaw(sighting.landmarks5)
        if np.isfinite(yaw) and abs(yaw - rest) >= turn_min:
            out.append((sighting.position, Action.TURN_LEFT if yaw < rest else Action.TURN_RIGHT))
    return out


def performed(challenge: Challenge, times: Sequence[float], track: FaceTrack, rest: float, turn_min: float,
              blink_frame: int | None) -> Outcome:
    """Whether the selfie did the challenge's steps in their windows: `times` are the frames' seconds
    from the first frame, `rest` the rest pose's yaw and `turn_min` the turn threshold (both as the
    liveness stage measures them), `blink_frame` the position of the strongest blink (None: none)."""
    done = [False] * len(challenge.steps)
    stray = ""
    for position, side in turned_sides(track, rest, turn_min):
        t = times[position]
        asking = [i for i, s in enumerate(challenge.steps)
                  if s.action is side and s.start_s - TOLERANCE_S <= t < s.end_s + TOLERANCE_S]
        for i in asking:
            done[i] = done[i] or challenge.steps[i].start_s <= t < challenge.steps[i].end_s
        if not asking and not stray:
            stray = f"{side.value.replace('_', ' ')} at {t:.1f} s, outside its windows"
    for i, step in enumerate(challenge.steps):
        if step.action is Action.BLINK and blink_frame is not None and blink_frame >= 0:
            done[i] = step.start_s <= times[blink_frame] < step.end_s
    return Outcome(tuple(done), stray)
