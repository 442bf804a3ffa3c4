"""A time limit on a block of code (SIGALRM), nesting inside an outer one such as a job timeout.

The limit interrupts Python code between bytecodes: a native call that never returns is beyond any
signal (the workers' supervisor kills such a process). Signals reach only the main thread, so in
another thread the block runs without a limit. Written here rather than taken from a library
because it must compose with the host's own alarm: the outer timer keeps its deadline, its handler
still runs at that deadline, and it is re-armed for the time it has left when the block ends.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .errors import TimeLimitExceeded


class TimedOut(TimeLimitExceeded):
    """A block run under `time_limit` (a pipeline stage, a whole job) ran past its limit."""


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(what: str, seconds: float | None) -> Iterator[None]:
    """Raise TimedOut(what) if the block runs longer than `seconds` (no limit when None or 0)."""
    if not seconds or seconds <= 0 or not _can_alarm():
        yield
        return
    outer_handler = signal.getsignal(signal.SIGALRM)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    outer_due = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal outer_due
        if outer_left and time.monotonic() - started >= outer_left - 1e-3:
            outer_due = True  # the outer deadline came first: hand the alarm back to its owner
            signal.signal(signal.SIGALRM, outer_handler)
            if callable(outer_handler):
                outer_handler(signum, frame)
            else:
                signal.setitimer(signal.ITIMER_REAL, 1e-3)  # its default action, as it would have been
            return
        raise TimedOut(what, seconds)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left else seconds)
    try:
        yield
    finally:
        if not outer_due:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, outer_handler)
            if outer_left:
                signal.setitimer(signal.ITIMER_REAL, max(1e-3, outer_left - (time.monotonic() - started)))
