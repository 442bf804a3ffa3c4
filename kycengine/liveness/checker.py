"""Liveness stage entry point: selfie frames in, LivenessEvidence out.

The face is followed through the frames once (`track`); every cue then reads that track and the
frames: motion parallax (`parallax`), head turn and blink (`pose`), screen (`screen`), print
(`print_cues`), capture (`capture`) and, when the operator installed it, a learned anti-spoofing
model (`antispoof`). Each cue is a score compared with a threshold from Settings; every score, its
threshold and the frames it came from go into the evidence. The stage says `live` only when the
face moved in 3D (parallax), turned both ways, blinked, and no attack cue fired.

Findings (kycengine.decision maps them to reasons): a still picture -> still_picture; a bezel or
moire -> screen_replay; the screen's light or colour cues (flicker, banding, gamut) on a flat or
unturned face -> screen_replay; print cues (border, halftone, flat tones) on a flat or unturned
face -> printed_photo; a face that turned well (2 x the turn threshold) yet moved as one plane ->
flat_face; stream anomalies -> stream_anomaly. A head that does not turn shows no parallax either,
so flatness alone never condemns a face that did not turn: only when no attack is seen are the
customer's own actions judged, head_not_turned (no turn, or too little for parallax to show 3D) and
no_blink, both retryable. A turning face whose parallax could not be measured (too few trackable points) is
PARTIAL: never a pass. With a challenge (`kycengine.capture.challenge`), a face that turned both ways
and blinked must have done so in the challenge's order and windows, else challenge_failed (a replayed
recording cannot know a challenge drawn when the capture began).
"""

from __future__ import annotations

import time

import numpy as np

from ..capture.challenge import Challenge
from ..capture.check import performed
from ..face.landmarks import yaw_index
from ..face.track import FaceTrack, FaceTracker
from ..findings import Finding, FindingCode
from ..models import Registry
from ..schema import LivenessEvidence, StageState
from ..settings import Settings
from ..video import Video
from .antispoof import get_antispoof
from .capture import GAP_FACTOR, capture_cues
from .frames import sample_frames
from .loop import loop_cue
from .parallax import face_crops, parallax
from .pose import blink, head_turn
from .print_cues import print_cues
from .screen import screen_cues

MIN_FACE_FRAMES = 5  # fewer frames with a face than this: nothing to judge liveness on


class LivenessChecker:
    """Scores motion parallax, head turn, blink, screen, print and replay cues of a selfie video."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings
        self.tracker = FaceTracker(registry, settings.face_backend)
        self.antispoof = get_antispoof(registry)
        self.model_ids = (*self.tracker.model_ids, *((self.antispoof.model_id,) if self.antispoof else ()))

    @property
    def thresholds(self) -> tuple[float, float]:
        """The turn and blink thresholds of this checker's landmarks (YuNet's five points or the 106)."""
        s = self.settings
        if self.tracker.landmarker is None:
            return s.liveness_turn_min_yunet, s.liveness_blink_min_yunet
        return s.liveness_turn_min, s.liveness_blink_min

    def assess(self, selfie: Video, track: FaceTrack | None = None,
               challenge: Challenge | None = None) -> LivenessEvidence:
        """Whether the selfie shows a live person, with every cue's score, threshold and frames;
        `track` is the selfie's face track when the caller already has it (shared with the face stage);
        `challenge`, the one the capture session asked for, if any."""
        s = self.settings
        opencv = self.tracker.landmarker is None
        started = time.perf_counter()
        frames = selfie.frames
        times = [f.t for f in frames]
        track = track if track is not None else self.tracker.track(frames)
        scores: dict[str, float] = {}
        thresholds: dict[str, float] = {}
        used: set[int] = set()
        notes: list[str] = []

        samples = sample_frames(frames, track)
        screen = screen_cues(samples, frames)
        printed = print_cues(samples)
        capture = capture_cues(frames, samples)
        looped = loop_cue(frames)
        used.update(samples.positions)
        used.update(capture.frames)
        used.update(looped.frames)
        scores.update(screen_moire=screen.moire, screen_bezel=screen.bezel, screen_flicker=screen.flicker,
                      screen_banding=screen.banding, screen_gamut=screen.gamut,
                      screen_background=screen.background, print_border=printed.border,
                      print_halftone=printed.halftone, print_flat=printed.flat,
                      capture_duplicates=capture.duplicates, capture_non_increasing=float(capture.non_increasing),
                      capture_max_gap_s=capture.max_gap_s, capture_noise=capture.noise,
                      loop_repeat=looped.repeat, loop_period_s=looped.period_s,
                      faces_found=float(len(track.found)), faces_trusted=float(len(track.trusted)),
                      frames=float(len(frames)))
        thresholds.update(screen_moire=s.liveness_moire_min, screen_bezel=s.liveness_bezel_min,
                          screen_flicker=s.liveness_flicker_min, screen_banding=s.liveness_banding_min,
                          screen_gamut=s.liveness_gamut_min, screen_background=s.liveness_background_min,
                          print_border=s.liveness_border_min,
                          print_halftone=s.liveness_halftone_min, print_flat=s.liveness_flat_min,
                          capture_duplicates=s.liveness_duplicates_max,
                          capture_non_increasing=0.0, capture_max_gap_s=s.liveness_gap_max_s,
                          capture_noise=s.liveness_noise_min, loop_repeat=s.liveness_loop_min)

        # A bezel, or a pixel grid (moire) on a picture without a photo's white border: enough alone.
        no_border = printed.border < s.liveness_border_min
        screen_seen = screen.bezel >= s.liveness_bezel_min or (no_border and screen.moire >= s.liveness_moire_min)
        # The background's light changing as a screen's does: a screen filling the frame, so without a
        # print's border (a large print held close changes the strips too); nan compares False.
        screen_filling = no_border and bool(screen.background >= s.liveness_background_min)
        # The light and colour cues stand closer to live faces (a face lit by its own monitor is blue,
        # a flickering lamp pulses): like the print cues, they only condemn a face that moved as a
        # plane or never turned (below).
        screen_hint = not screen_seen and no_border and (
            screen.flicker >= s.liveness_flicker_min or screen.banding >= s.liveness_banding_min
            or screen.gamut >= s.liveness_gamut_min)
        gap_bad = capture.max_gap_s > s.liveness_gap_max_s and capture.gap_steps > GAP_FACTOR
        suspicious = (capture.duplicates > s.liveness_duplicates_max or capture.non_increasing > 0 or gap_bad
                      or capture.noise < s.liveness_noise_min)

        antispoof_real = float("nan")
        if self.antispoof is not None:
            antispoof_real = self.antispoof.score(samples)
            scores["antispoof_real"] = antispoof_real
            thresholds["antispoof_real"] = s.liveness_antispoof_min_real
        else:
            notes.append("cue skipped: antispoof (model antispoof_minifasnet not installed)")
        spoof_model = bool(antispoof_real < s.liveness_antispoof_min_real)  # nan compares False

        attack: list[Finding] = []
        if screen_seen:
            attack.append(Finding(FindingCode.SCREEN_REPLAY, "a device's bezel or a pixel grid around the face",
                                  max(screen.bezel, screen.moire)))
        if screen_filling and not screen_seen:
            attack.append(Finding(FindingCode.SCREEN_REPLAY, "the background's light changes from frame to frame as "
                                  "a screen's does (a screen filling the frame)", screen.background,
                                  s.liveness_background_min))
        screen_seen = screen_seen or screen_filling
        if suspicious:
            attack.append(Finding(FindingCode.STREAM_ANOMALY, "repeated frames, time going backwards, a splice "
                                  "or no sensor noise"))
        if looped.repeat >= s.liveness_loop_min:
            attack.append(Finding(FindingCode.STREAM_ANOMALY, f"the picture comes back every {looped.period_s:.2f} s "
                                  "(a looped clip)", looped.repeat, s.liveness_loop_min))
        if spoof_model:
            attack.append(Finding(FindingCode.ANTISPOOF_REJECTED, "the anti-spoofing model's real score",
                                  antispoof_real, s.liveness_antispoof_min_real))

        if len(track.found) < MIN_FACE_FRAMES:
            # No face: say so; a face in too few frames (a video too short) cannot show a turn or a blink.
            seen = f"a face in {len(track.found)} of {len(frames)} frames"
            missing = Finding(FindingCode.NO_FACE if not track.found else FindingCode.TOO_FEW_FACE_FRAMES, seen,
                              float(len(track.found)), float(MIN_FACE_FRAMES))
            notes.append(f"{seen}: nothing to judge liveness on")
            return self._evidence(StageState.COMPLETE, tuple(attack) or (missing,), False, scores, thresholds,
                                  used, selfie, notes, started)

        crops = face_crops(frames, track)
        yaw = np.array([yaw_index(x.landmarks5) if x is not None else np.nan for x in track.sightings])
        plane = parallax(crops, track, times, yaw) if crops is not None else None
        turn = head_turn(track, float(times[-1] - times[0]) if len(times) > 1 else None)
        step = float(np.median(np.diff(times))) if len(times) > 1 else 0.1
        blinked = blink(crops, track, step, smooth=opencv) if crops is not None else None

        turn_min, blink_min = self.thresholds
        scores.update(turn_left=turn.left, turn_right=turn.right, yaw_rest=turn.rest,
                      blink=blinked.score if blinked else 0.0)
        thresholds.update(turn_left=turn_min, turn_right=turn_min, blink=blink_min)
        used.update(p for p in (turn.left_frame, turn.right_frame) if p >= 0)
        if blinked and blinked.frame >= 0:
            used.add(blinked.frame)

        motion = plane.motion if plane else 0.0
        residual = plane.residual if plane else float("nan")
        scores.update(parallax_residual=residual, parallax_motion=motion,
                      parallax_spans=float(len(plane.spans)) if plane else 0.0)
        thresholds.update(parallax_residual=s.liveness_parallax_min, parallax_motion=s.liveness_still_motion_max)
        if plane:
            used.update(plane.frames)

        turned = min(turn.left, turn.right) >= turn_min
        turned_far = min(turn.left, turn.right) >= 2 * turn_min  # enough turn for flatness to condemn
        still = motion < s.liveness_still_motion_max and not np.isnan(residual)
        flat = not np.isnan(residual) and residual < s.liveness_parallax_min
        no_blink = not blinked or blinked.score < blink_min
        # A photo's border on two sides (or on one side of a face that never blinked), a halftone or a
        # print's flat tones.
        print_seen = not screen_seen and (
            printed.border >= s.liveness_border_min or printed.halftone >= s.liveness_halftone_min
            or printed.flat >= s.liveness_flat_min or (printed.border >= s.liveness_border_min / 2 and no_blink))
        scores["turned"] = float(turned)
        # A face that moved as a plane, or that never turned (whose parallax says nothing either
        # way): appearance cues condemn it; a face that turned in 3D overrules them.
        planar = flat or np.isnan(residual) or not turned
        # A thin bright frame beside a face that turned and did not move as a plane: a recorded live
        # video played on a device with a light bezel; parallax unmeasured counts as not flat here.
        # Two sides refuse; one side (hard phone replays, but also a bright edge of a room beside a
        # live face filmed at 1280x720) goes to a person.
        beside_turning = turned and not flat
        framed_video = beside_turning and printed.border >= s.liveness_border_min
        one_side = beside_turning and not framed_video and printed.border >= s.liveness_border_min / 2
        suspected = (Finding(FindingCode.REPLAY_SUSPECTED, "a thin bright line on one side of a turning face",
                             printed.border, s.liveness_border_min / 2),) if one_side else ()
        if still:
            attack.append(Finding(FindingCode.STILL_PICTURE, "the face never moved", motion,
                                  s.liveness_still_motion_max))
        elif framed_video:
            attack.append(Finding(FindingCode.SCREEN_REPLAY, "a face turning and blinking inside a thin bright "
                                  "frame (a device's light bezel)", printed.border, s.liveness_border_min))
        elif screen_hint and planar:
            attack.append(Finding(FindingCode.SCREEN_REPLAY, "a screen's light or colour on a flat or unturned face"))
        elif print_seen and planar:
            attack.append(Finding(FindingCode.PRINTED_PHOTO, "a print's border, halftone or flat tones on a flat "
                                  "or unturned face"))
        elif flat and turned_far:
            # A head that did not turn shows no parallax either: flatness alone only condemns a face
            # the landmarks saw turning well (a tilted or bent photo, a 2D puppet).
            attack.append(Finding(FindingCode.FLAT_FACE, "turned well yet moved as one plane", residual,
                                  s.liveness_parallax_min))
        if attack:
            return self._evidence(StageState.COMPLETE, tuple(attack), False, scores, thresholds, used, selfie,
                                  notes, started)

        asked: list[Finding] = []
        if not turned or flat:  # flat here: turned a little, too little for parallax to show: turn more
            asked.append(Finding(FindingCode.HEAD_NOT_TURNED, "the head did not turn enough each way",
                                 min(turn.left, turn.right), turn_min))
        if no_blink:
            asked.append(Finding(FindingCode.NO_BLINK, "no blink was seen",
                                 blinked.score if blinked else 0.0, blink_min))
        if challenge is not None and not asked:
            outcome = performed(challenge, times, track, turn.rest, turn_min, blinked.frame if blinked else None)
            scores["challenge_steps_done"] = float(sum(outcome.done))
            thresholds["challenge_steps_done"] = float(len(challenge.steps))
            if not outcome.passed:
                missed = ", ".join(st.action.value for st, ok in zip(challenge.steps, outcome.done) if not ok)
                detail = "; ".join(x for x in (f"not seen in its window: {missed}" if missed else "",
                                               outcome.stray) if x)
                return self._evidence(StageState.COMPLETE, (Finding(
                    FindingCode.CHALLENGE_FAILED, f"the challenge was not performed ({detail})",
                    float(sum(outcome.done)), float(len(challenge.steps))), *suspected), False, scores,
                    thresholds, used, selfie, notes, started)
        if turned and np.isnan(residual):
            notes.append("parallax could not be measured (too few trackable points on the face)")
            return self._evidence(StageState.PARTIAL, (*asked, *suspected), False if asked else None, scores,
                                  thresholds, used, selfie, notes, started)
        live = False if asked else (None if suspected else True)  # one bright side: a person decides
        return self._evidence(StageState.COMPLETE, (*asked, *suspected), live, scores, thresholds, used, selfie,
                              notes, started)

    @staticmethod
    def _evidence(state: StageState, findings: tuple[Finding, ...], live: bool | None, scores: dict[str, float],
                  thresholds: dict[str, float], used: set[int], selfie: Video, notes: list[str],
                  started: float) -> LivenessEvidence:
        """The evidence record: scores rounded (unmeasured ones left out), frames as stream indices."""
        frames = selfie.frames
        indices = tuple(sorted({frames[p].index for p in used if 0 <= p < len(frames)}))
        scores["liveness_ms"] = (time.perf_counter() - started) * 1000
        clean = {k: round(float(v), 4) for k, v in scores.items() if np.isfinite(v)}
        return LivenessEvidence(state=state, findings=findings, live=live, scores=clean, thresholds=thresholds,
                                frames_used=indices, note="; ".join(notes))
