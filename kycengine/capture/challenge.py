"""The selfie's challenge: head turns and a blink, in a drawn order, each inside a drawn time window.

A session draws one when it opens (`draw`, from the `secrets` module) and guides the customer through
it; the case stores it, and the offline liveness stage checks the selfie video against it again
(`check.performed`). Time runs in slots of SLOT_S seconds from the video's first frame: slot 0 is spent
facing the camera (the rest pose), then TURNS turns, each to a drawn side (both sides at least once:
the liveness stage asks for a turn each way) and 1 or 2 slots after the one before, then a blink 1 or
2 slots after the last turn, then one more slot facing the camera. That makes
K = 6 side orders x 2^3 turn timings x 2 blink timings = 96 challenges.

A step is performed when a frame inside its window shows it: a head turned to that side by at least
the liveness stage's turn threshold from the rest pose, or the stage's strongest blink. A turn to a
side outside every window asking for that side (TOLERANCE_S either way; a whole turn, not a drift:
`check.STRAY_SHARE`) fails the challenge: so a
recording of one challenge passes only that challenge, and a replayed video passes a fresh draw with
probability 1/K (about 1 %).
"""

from __future__ import annotations

import enum
import itertools
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidRequest
from ..records import Record

SLOT_S = 1.5  # one step's window: time to see the prompt, turn slowly and come back
TURNS = 3
TOLERANCE_S = 0.3  # a turn may spill this far out of its window (the prompt is late, the head slow)
MAX_STEPS = 8  # bounds on a stored challenge (hostile input)
MAX_END_S = 60.0


class Action(str, enum.Enum):
    """What one step asks; sides are the image's, as the liveness stage measures them (the image's
    left is the customer's own right)."""

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    BLINK = "blink"


@dataclass(frozen=True)
class Step(Record):
    """One action and the window (seconds from the video's first frame) it must be done in."""

    action: Action
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Challenge(Record):
    """The ordered steps of a challenge and when the selfie ends (after a last rest slot)."""

    steps: tuple[Step, ...]
    end_s: float

    def __post_init__(self) -> None:
        # A stored challenge comes back in a request body: hostile until checked.
        if not 1 <= len(self.steps) <= MAX_STEPS:
            raise InvalidRequest(f"challenge: 1 to {MAX_STEPS} steps, got {len(self.steps)}")
        edges = [v for s in self.steps for v in (s.start_s, s.end_s)] + [self.end_s]
        if not all(math.isfinite(v) and 0 <= v <= MAX_END_S for v in edges):
            raise InvalidRequest(f"challenge: times must lie within 0-{MAX_END_S:.0f} s")
        if any(b < a for a, b in itertools.pairwise(edges)) or any(s.end_s <= s.start_s for s in self.steps):
            raise InvalidRequest("challenge: steps must be non-empty windows, in order, before its end")

    @property
    def key(self) -> tuple[tuple[str, float], ...]:
        """What tells two challenges apart: each step's action and start."""
        return tuple((s.action.value, s.start_s) for s in self.steps)

    def step_at(self, t: float) -> Step | None:
        """The step whose window holds `t` (None between windows)."""
        return next((s for s in self.steps if s.start_s <= t < s.end_s), None)


def _sides() -> list[tuple[Action, ...]]:
    """Every order of TURNS turns that goes each way at least once."""
    return [order for order in itertools.product((Action.TURN_LEFT, Action.TURN_RIGHT), repeat=TURNS)
            if len(set(order)) == 2]


def _build(sides: Sequence[Action], gaps: Sequence[int]) -> Challenge:
    """The challenge of these turn sides and slot gaps (the last gap is the blink's)."""
    slot, steps = 0, []
    for action, gap in zip((*sides, Action.BLINK), gaps, strict=True):
        slot += gap
        steps.append(Step(action, slot * SLOT_S, (slot + 1) * SLOT_S))
    return Challenge(tuple(steps), (slot + 2) * SLOT_S)


def every_challenge() -> list[Challenge]:
    """All K challenges `draw` chooses among (for the odds and for tests)."""
    return [_build(sides, gaps) for sides in _sides() for gaps in itertools.product((1, 2), repeat=TURNS + 1)]


def draw() -> Challenge:
    """A challenge drawn uniformly with the operating system's randomness (`secrets`): a video
    recorded before the session opened cannot know it."""
    sides = secrets.choice(_sides())
    return _build(sides, [1 + secrets.randbelow(2) for _ in range(TURNS + 1)])


K = len(every_challenge())
