"""A selfie capture session: frames in as they arrive, the challenge's prompts out, until it is done.

Each frame goes through the face stage's own tracker (`FaceTracker.track` on that one frame: the
detector and the landmarks the offline track would give it), so the guidance sees the face the
verdict will see. The prompts follow the session's challenge (`challenge`), drawn when the session
opens; progress counts the steps seen in their windows so far (`challenge.performed`, with the rest
pose of the frames before the first window). When the challenge's time is over the session closes
and runs the liveness stage itself (`LivenessChecker.assess`) on its frames, their face track and
the challenge: done when the stage saw the turns, the blink and every step of the challenge in its
window.

A client that samples a few frames a second for the guidance can miss a blink (100-300 ms); it
records the camera alongside and says when the recording started on the samples' clock
(`recording_from`): the samples are then placed on the recording's clock, the challenge's end
answers SENDING without closing, and `finish` closes the session on the recording, streamed as the
offline verifier streams a selfie (`kycengine.selfie.stream_selfie`), so the recording is what the
verdict reads and the session decided on.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ..errors import InvalidInput, InvalidMedia
from ..face.landmarks import plane_yaw
from ..face.track import FaceTrack, Sighting
from ..findings import FindingCode
from ..liveness import LivenessChecker
from ..schema import LivenessEvidence
from ..selfie import stream_selfie
from ..video import Video, planned_count
from .challenge import TOLERANCE_S, Action, Challenge, draw
from .check import Outcome, performed
from .guidance import Feedback, Guidance
from .recording import Recording
from .session import Session

# Samples a window (with its tolerance, 2.1 s) needs before a recorded session calls its turn missed,
# i.e. samples at most ~0.7 s apart; the page's 3-10 a second give 6-20. Sparser samples fall either
# side of a turn's extreme: generated live selfies of 5 challenges, sampled 1.1-1.25 s apart, were
# asked to film again at 19 of the 20 phases tried, though each recording performed its challenge.
WATCHED_MIN = 4
_PROMPTS = {Action.TURN_LEFT: Guidance.TURN_LEFT, Action.TURN_RIGHT: Guidance.TURN_RIGHT,
            Action.BLINK: Guidance.BLINK}
# What the customer failed to do (film again); any other finding is for the verdict to judge.
_NOT_DONE = frozenset({FindingCode.NO_FACE, FindingCode.TOO_FEW_FACE_FRAMES, FindingCode.HEAD_NOT_TURNED,
                       FindingCode.NO_BLINK, FindingCode.CHALLENGE_FAILED})


class SelfieSession(Session):
    """Guides one selfie through a challenge; `feed` each frame, then `recording` holds what the
    verdict uses (or `video`, the recording it closed on with `finish`) and `challenge` goes with the case."""

    def __init__(self, checker: LivenessChecker, *, challenge: Challenge | None = None,
                 recording_from: float | None = None) -> None:
        """`recording_from`: when a recording follows, its start on the clock of the frames' times."""
        self.checker = checker
        self.challenge = challenge if challenge is not None else draw()
        self.recorded = recording_from is not None
        self.recording = Recording(checker.settings, origin=recording_from)
        self.sightings: list[Sighting | None] = []
        self.runs = [0, 0]  # detector and landmark runs, as a track counts them
        self.evidence: LivenessEvidence | None = None
        self.video: Path | None = None
        self.last = Feedback(Guidance.SHOW_FACE, 0.0)

    @property
    def sending(self) -> bool:
        """True while the session waits for its recording (`finish`)."""
        return self.last.code is Guidance.SENDING

    def feed(self, image: np.ndarray, t: float) -> Feedback:
        """Guidance after one more frame (BGR, `t` seconds); frames after the close, or while the
        recording is awaited, are ignored."""
        if self.sending:
            return self.last
        frame = self._take(image, t)
        if isinstance(frame, Feedback):  # closed, or over the session's limits before the challenge's end
            return frame
        seen = self.checker.tracker.track([frame])
        sighting = seen.sightings[0]
        position = len(self.sightings)
        self.sightings.append(None if sighting is None else dataclasses.replace(sighting, position=position))
        self.runs = [self.runs[0] + seen.detector_runs, self.runs[1] + seen.landmark_runs]
        if frame.t >= self.challenge.end_s:
            return self._answer(Guidance.SENDING) if self.recorded else self._close(self._samples(), self.track)
        so_far = self._so_far()
        if self._missed(so_far, frame.t):  # film again now rather than at the end
            return self._answer(Guidance.TRY_AGAIN, closed=True, so_far=so_far)
        step = self.challenge.step_at(frame.t)
        if sighting is None:
            code = Guidance.SHOW_FACE
        elif sighting.crowded:
            code = Guidance.ONE_FACE
        else:
            code = _PROMPTS[step.action] if step is not None else Guidance.FACE_CAMERA
        return self._answer(code, so_far=so_far)

    @property
    def track(self) -> FaceTrack:
        """The face track of the frames so far."""
        return FaceTrack(tuple(self.sightings), *self.runs)

    def _so_far(self) -> Outcome | None:
        """The turns seen in their windows so far, against the rest pose of the frames before the
        first window (None before there is one)."""
        first = self.challenge.steps[0].start_s
        track = self.track
        times = [f.t for f in self.recording.frames]
        rest = [plane_yaw(s.landmarks5) for s in track.trusted if times[s.position] < first]
        if not rest:
            return None
        turn_min, _ = self.checker.thresholds
        return performed(self.challenge, times, track, float(np.nanmedian(rest)), turn_min, None)

    def _missed(self, outcome: Outcome | None, now: float) -> bool:
        """True once the challenge cannot be performed any more: a turn out of turn, a turn's window
        (and its tolerance) over without it, or no face to measure the rest pose on when the first
        window opened; with a recording to come, only what the samples watched closely (`_watched`)."""
        first = self.challenge.steps[0].start_s
        if outcome is None:
            return now >= first and self._watched(0.0, first)
        return bool(outcome.stray) or any(
            not done and step.action is not Action.BLINK and now >= step.end_s + TOLERANCE_S
            and self._watched(step.start_s - TOLERANCE_S, step.end_s + TOLERANCE_S)
            for step, done in zip(self.challenge.steps, outcome.done, strict=True))

    def _watched(self, start: float, end: float) -> bool:
        """Whether the samples between `start` and `end` were close enough to tell that something did
        not happen: always without a recording; with one, WATCHED_MIN samples (a slow server's samples
        may fall either side of a turn that the recording holds, and the recording decides)."""
        return not self.recorded or sum(start <= f.t <= end for f in self.recording.frames) >= WATCHED_MIN

    def finish(self, path: str | os.PathLike[str]) -> Feedback:
        """Close on the recording at `path` (see the module): done, or film again. Raises InvalidMedia,
        the session closed, for a file that is not a readable video within the limits (a video's, and
        the session's frame count at the selfie's analysis rate, counted before decoding)."""
        if not self.sending:
            raise InvalidInput("the session is not waiting for its recording")
        settings = self.checker.settings
        try:
            if planned_count(Path(path), settings.selfie_fps) > settings.capture_max_frames:
                raise InvalidMedia(f"the recording is longer than the session's {settings.capture_max_frames} frames")
            streamed = stream_selfie(path, self.checker.tracker, max_side=settings.max_side,
                                     target_fps=settings.selfie_fps)
        except InvalidMedia:
            self._answer(Guidance.TRY_AGAIN, closed=True)
            raise
        self.video = Path(path)
        return self._close(streamed.video, streamed.track)

    def _samples(self) -> Video:
        """The session's frames as a video."""
        frames = tuple(self.recording.frames)
        height, width = frames[0].image.shape[:2]
        return Video(frames=frames, fps=self.recording.fps, width=width, height=height,
                     frame_count=len(frames), codec="raw")

    def _close(self, clip: Video, track: FaceTrack | None) -> Feedback:
        """The liveness stage on the selfie (the frames or the recording) and its track: done, or film again."""
        self.evidence = self.checker.assess(clip, track, challenge=self.challenge)
        missed = {f.code for f in self.evidence.findings} & _NOT_DONE
        # done only when the stage itself saw every step in its window (an attack it found first
        # leaves the challenge unchecked: not done either)
        performed_all = self.evidence.scores.get("challenge_steps_done") == len(self.challenge.steps)
        return self._answer(Guidance.DONE if performed_all and not missed else Guidance.TRY_AGAIN, closed=True)

    def _answer(self, code: Guidance, *, closed: bool = False, so_far: Outcome | None = None) -> Feedback:
        """The feedback, progress never going back (1.0 once done): a face seen, then each step."""
        if code is Guidance.DONE:
            progress = 1.0
        else:
            ready = any(s is not None for s in self.sightings)
            done = sum(so_far.done) if so_far is not None else 0
            progress = max(self.last.progress, min(0.99, (ready + done) / (len(self.challenge.steps) + 2)))
        self.last = Feedback(code, round(progress, 3), closed)
        return self.last
