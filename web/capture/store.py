"""Live capture sessions held by one web process: limits, expiry and back-pressure.

A session answers one frame at a time and keeps no queue: a frame that arrives while the previous
one is being analysed, or sooner than the session's frame interval, is refused (HTTP 429 with the
wait), so a slow server lowers the client's frame rate instead of piling frames up. The interval
each answer asks for (counted from the answer) is the configured minimum or the time the last
frames took, whichever is longer. A session silent for `capture_idle_s` is dropped, and at most `capture_max_sessions` live
at once (the next one is refused with 503). Frames of all sessions are analysed one at a time, and
the time a frame waited for the others counts in the interval its session is asked for.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from kycengine.capture import Feedback
from kycengine.capture.document import DocumentSession
from kycengine.capture.selfie import SelfieSession

Session: TypeAlias = DocumentSession | SelfieSession
_EWMA = 0.3  # weight of the latest frame's analysis time in the interval asked for


class Busy(Exception):
    """The session cannot take a frame now; `retry_ms` says when it can."""

    def __init__(self, retry_ms: int) -> None:
        super().__init__(f"retry in {retry_ms} ms")
        self.retry_ms = retry_ms


class Full(Exception):
    """As many sessions are live as the configuration allows."""


@dataclass(eq=False)
class Live:
    """One session and what the store knows of it."""

    id: str
    kind: str
    session: Session
    client: str  # the bank's client that opened it
    last_seen: float
    interval_s: float  # the wait asked of the client between frames
    answered_at: float = float("-inf")  # when the last frame's answer left
    busy: threading.Lock = field(default_factory=threading.Lock)
    video: Path | None = None  # written when the session closed

    @property
    def next_frame_ms(self) -> int:
        """The wait asked of the client before its next frame."""
        return round(1000 * self.interval_s)


class SessionStore:
    """The process's live sessions (thread-safe: the frame endpoint runs in a thread pool)."""

    def __init__(self, *, max_sessions: int, idle_s: float, min_interval_s: float, folder: Path) -> None:
        self.max_sessions, self.idle_s, self.min_interval_s, self.folder = max_sessions, idle_s, min_interval_s, folder
        self._lock = threading.Lock()
        # One frame analysed at a time in the process (Tesseract's API is not thread-safe, and a web
        # process runs on one core as a worker does): at most one frame per session waits here.
        self._analysis = threading.Lock()
        self._live: dict[str, Live] = {}

    def _sweep(self, now: float) -> None:
        for key in [k for k, live in self._live.items() if now - live.last_seen > self.idle_s]:
            del self._live[key]

    def open(self, kind: str, session: Session, client: str) -> Live:
        """Register a new session; raises Full at the limit."""
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            if len(self._live) >= self.max_sessions:
                raise Full(f"{self.max_sessions} capture sessions are live")
            live = Live(secrets.token_urlsafe(16), kind, session, client, now, self.min_interval_s)
            self._live[live.id] = live
            return live

    def get(self, key: str) -> Live | None:
        """The live session, or None (unknown or expired)."""
        with self._lock:
            self._sweep(time.monotonic())
            return self._live.get(key)

    def drop(self, key: str) -> None:
        """Forget a session (its written video stays)."""
        with self._lock:
            self._live.pop(key, None)

    def feed(self, live: Live, image: Any, t: float) -> Feedback:
        """One frame through the session, or Busy when it must wait (see the module's description)."""
        now = time.monotonic()
        early = live.answered_at + live.interval_s - now
        if early > 0:
            raise Busy(round(1000 * early))
        if not live.busy.acquire(blocking=False):
            raise Busy(live.next_frame_ms)
        try:
            started = time.perf_counter()
            with self._analysis:
                answer = live.session.feed(image, t)
            took = time.perf_counter() - started  # the wait for the other sessions' frames included
            live.interval_s = max(self.min_interval_s, (1 - _EWMA) * live.interval_s + _EWMA * took)
            live.last_seen = live.answered_at = time.monotonic()
            if answer.closed and live.video is None and len(live.session.recording):
                self.folder.mkdir(parents=True, exist_ok=True)
                live.video = live.session.recording.write(self.folder / f"{live.id}-{live.kind}.mp4")
            return answer
        finally:
            live.busy.release()
