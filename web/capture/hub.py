"""The live captures of this process: one-time tokens opened through the bank API, and each capture's
state (its step, the session being filmed, the sessions done), within the `capture_*` limits of `WebConfig`.

Captures live in the memory of the process that serves them (their frames are images in memory):
`kyc serve` runs one process, and a deployment with several must route a token to one of them. A
token is stored only as its SHA-256, and a capture is dropped with its frames as soon as it expires
(its lifetime, or `capture_idle_s` without a frame while filming); an expired one answers 410 for one
more lifetime, then 404 like a token never issued.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from kycengine.capture import Challenge, Feedback, Guidance, draw
from kycengine.capture.document import DocumentSession
from kycengine.capture.selfie import SelfieSession

from ..clients import Client
from ..config import WebConfig
from ..problems import NotFound
from .engines import Stages
from .errors import CaptureBusy, CaptureExpired, SlowDown, WrongStep

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 random bits
JITTER = 0.8  # frames may arrive this much closer than 1/max_fps (the network bunches them)
Session: TypeAlias = DocumentSession | SelfieSession


class Step(str, enum.Enum):
    """Where a capture is: filming the document, then the selfie, then handed to the workers."""

    DOCUMENT = "document"
    SELFIE = "selfie"
    SUBMITTED = "submitted"


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(eq=False)
class Capture:
    """One customer's capture; changed only under the hub's lock, its frames analysed under `busy`."""

    client: Client
    request: dict[str, Any]  # the submission without its videos (checked when it was opened)
    language: str
    expires_at: float  # on the hub's clock
    next_challenge: Challenge  # the next selfie session's; a fresh draw for each new session
    step: Step = Step.DOCUMENT
    session: Session | None = None
    done: dict[Step, Session] = field(default_factory=dict)
    last: Feedback | None = None
    last_seen: float = 0.0
    last_frame: float = -math.inf
    analysis_s: float = 0.0  # running mean of the analysis time of a frame
    expired: bool = False
    case: tuple[str, int] | None = None  # the case and attempt submitted
    busy: threading.Lock = field(default_factory=threading.Lock)

    @property
    def filming(self) -> bool:
        """A step is being filmed: a session open and not closed."""
        return self.session is not None and not self.session.closed and not self.expired

    def drop(self) -> None:
        """Forget every frame (the sessions hold them)."""
        self.session = None
        self.done.clear()


class CaptureHub:
    """The captures of this process, by token."""

    def __init__(self, config: WebConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._captures: dict[str, Capture] = {}

    def open(self, client: Client, request: dict[str, Any], language: str) -> tuple[str, Capture]:
        """A new capture and its one-time token (shown once: only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        capture = Capture(client, request, language, now + self.config.capture_lifetime_s, draw(), last_seen=now)
        with self._lock:
            self._sweep(now)
            self._captures[_key(token)] = capture
        return token, capture

    def find(self, token: str) -> Capture:
        """The capture of a token; NotFound for any other string, CaptureExpired once it expired."""
        if not TOKEN.match(token):
            raise NotFound("no such capture")
        with self._lock:
            self._sweep(self.clock())
            capture = self._captures.get(_key(token))
        if capture is None:
            raise NotFound("no such capture")
        if capture.expired:
            raise CaptureExpired("this capture has expired: ask for a new link")
        return capture

    def start(self, capture: Capture, step: Step, stages: Stages) -> Feedback:
        """Open (or open again) the session of the capture's current step; CaptureBusy when this
        process films as many steps as it may."""
        with self._lock:
            if capture.step is not step or step is Step.SUBMITTED:
                raise WrongStep(f"this capture is at the {capture.step.value} step")
            if not capture.filming and sum(c.filming for c in self._captures.values()) >= self.config.capture_max_sessions:
                raise CaptureBusy("too many captures at once: try again in a moment",
                                  max(1, round(self.config.capture_idle_s)))
            session: Session
            if step is Step.DOCUMENT:
                session = DocumentSession(stages.document)
            else:  # the page records the selfie and times its frames from the recorder's start
                session = SelfieSession(stages.liveness, challenge=capture.next_challenge, recording_from=0.0)
                capture.next_challenge = draw()  # a retry must not know its challenge in advance
            capture.session, capture.last = session, session.last
            capture.last_seen = self.clock()
            capture.last_frame = -math.inf
            return capture.last

    def interval_s(self, capture: Capture) -> float:
        """The interval the browser should keep between frames: the rate limit, or the running mean
        analysis time when that is longer (the page then sends each frame as the last is answered)."""
        return max(1.0 / self.config.capture_max_fps, capture.analysis_s)

    def admit(self, capture: Capture, step: Step) -> Session:
        """Let one frame in: the step is being filmed, the rate is kept and no frame is being
        analysed (SlowDown otherwise). The caller releases `capture.busy` when done with it."""
        now = self.clock()
        with self._lock:
            if capture.step is not step or capture.session is None or not capture.filming:
                raise WrongStep(f"no {step.value} step is being filmed: start it first")
            if now - capture.last_frame < JITTER / self.config.capture_max_fps:
                raise SlowDown("frames come faster than the rate allows", self.interval_s(capture))
            if not capture.busy.acquire(blocking=False):
                raise SlowDown("the last frame is still being analysed", self.interval_s(capture))
            capture.last_frame = capture.last_seen = now
            return capture.session

    def admit_recording(self, capture: Capture) -> SelfieSession:
        """Let the selfie's recording in: its session waits for it and nothing of it is being analysed
        (WrongStep otherwise). The caller releases `capture.busy` when done with it."""
        with self._lock:
            session = capture.session
            if not (capture.filming and isinstance(session, SelfieSession) and session.sending):
                raise WrongStep("no selfie is waiting for its recording")
            if not capture.busy.acquire(blocking=False):
                raise WrongStep("the selfie's recording is already being checked")
            capture.last_seen = self.clock()
            return session

    def analysed(self, capture: Capture, session: Session, feedback: Feedback, seconds: float | None) -> None:
        """Record one frame's answer (the caller holds `capture.busy`; `seconds`, the frame's analysis
        time, None for the recording's): a session done moves the capture to its next step; a session
        closed without enough is dropped with its frames."""
        with self._lock:
            if seconds is not None:
                capture.analysis_s = seconds if capture.analysis_s == 0 else 0.7 * capture.analysis_s + 0.3 * seconds
            capture.last_seen = self.clock()
            if capture.session is not session or capture.expired:
                return  # expired, or started again, while this frame was analysed
            capture.last = feedback
            if feedback.closed:
                capture.session = None
                if feedback.code is Guidance.DONE:
                    capture.done[capture.step] = session
                    capture.step = Step.SELFIE if capture.step is Step.DOCUMENT else Step.SUBMITTED

    def refused(self, capture: Capture, session: SelfieSession) -> None:
        """The selfie's recording was refused or unreadable: its session closes, to be filmed again."""
        self.analysed(capture, session, Feedback(Guidance.TRY_AGAIN, session.last.progress, closed=True), None)

    def submitted(self, capture: Capture) -> None:
        """The case is with the workers: the frames are dropped, the outcome stays readable one more
        lifetime."""
        with self._lock:
            capture.drop()
            capture.expires_at = self.clock() + self.config.capture_lifetime_s

    def _sweep(self, now: float) -> None:
        """Expire captures past their lifetime or silent while filming (a frame or the recording being
        analysed is no silence); forget them a lifetime later."""
        for key, capture in list(self._captures.items()):
            if now >= capture.expires_at + (self.config.capture_lifetime_s if capture.expired else 0):
                if capture.expired or capture.step is Step.SUBMITTED:
                    del self._captures[key]
                    continue
                self._expire(capture)
            elif capture.filming and not capture.busy.locked() and now - capture.last_seen > self.config.capture_idle_s:
                self._expire(capture)

    def _expire(self, capture: Capture) -> None:
        capture.expired = True
        capture.expires_at = self.clock()
        capture.drop()
