"""Live capture sessions fed the generator's videos frame by frame: guidance, closing, the verdict of
what they saw, a recorded selfie deciding on its recording, the selfie challenge against replays."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from kycengine import video
from kycengine.capture import Challenge, DocumentSession, Feedback, Guidance, SelfieSession, draw, text
from kycengine.capture.challenge import K, every_challenge
from kycengine.capture.check import STRAY_SHARE, performed
from kycengine.capture.guidance import TEXTS
from kycengine.errors import InvalidInput, InvalidMedia, InvalidRequest
from kycengine.face.track import FaceTrack, Sighting
from kycengine.findings import FindingCode
from kycengine.liveness import LivenessChecker
from kycengine.pipeline import Verifier
from kycengine.reasons import Reason, Status
from kycengine.schema import LivenessEvidence, Verdict, VerificationRequest
from kycengine.settings import Settings
from kycengine.synth import DocumentType, DocumentVariant, SelfieVariant, make_document_video, make_selfie_video
from kycengine.synth.document_video import DocumentLabels
from kycengine.synth.selfie_video import SelfieLabels
from tests.web_support import web_config
from tests.workers_support import Env
from web.app import create_app
from web.clients import Clients

SIZE, FPS = (480, 360), 10
HOLDER = "astronaut"
# the challenge the genuine selfie performs: left, right, left, blink, each a slot after the last
PERFORMED = every_challenge()[0]


def _feed(session: DocumentSession | SelfieSession, frames: Iterable[video.Frame]) -> list[Feedback]:
    """Feed frames until the session closes; every answer."""
    out = []
    for frame in frames:
        out.append(session.feed(frame.image, frame.t))
        if out[-1].closed:
            break
    return out


def _assert_progress(answers: list[Feedback]) -> None:
    progress = [a.progress for a in answers]
    assert all(0.0 <= p <= 1.0 for p in progress) and progress == sorted(progress)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier()


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DocumentLabels, Path, SelfieLabels]:
    """A genuine document and a live selfie that performs PERFORMED."""
    folder = tmp_path_factory.mktemp("capture")
    document = folder / "document.mp4"
    labels = make_document_video(document, document_type=DocumentType.FR_CNI_2021, seed=1, size=SIZE, fps=FPS,
                                 seconds=4.0, person=HOLDER)
    selfie = folder / "selfie.mp4"
    performer = make_selfie_video(selfie, person=HOLDER, variant=SelfieVariant.LIVE, seed=1, size=SIZE, fps=FPS,
                                  challenge=PERFORMED)
    return document, labels, selfie, performer


@pytest.fixture(scope="module")
def completed(genuine, verifier: Verifier, tmp_path_factory: pytest.TempPathFactory):
    """Both sessions fed the genuine videos until they closed, and the videos they wrote."""
    document, labels, selfie, _ = genuine
    folder = tmp_path_factory.mktemp("written")
    doc_session = DocumentSession(verifier.document, today=labels.today)
    doc_answers = _feed(doc_session, video.iter_frames(document))
    selfie_session = SelfieSession(verifier.liveness, challenge=PERFORMED)
    selfie_answers = _feed(selfie_session, video.iter_frames(selfie))
    return (doc_session, doc_answers, doc_session.recording.write(folder / "document.mp4"),
            selfie_session, selfie_answers, selfie_session.recording.write(folder / "selfie.mp4"))


@pytest.fixture(scope="module")
def offline(genuine, verifier: Verifier) -> Verdict:
    """The offline verdict of the genuine videos, with the challenge the selfie performs."""
    document, labels, selfie, _ = genuine
    return verifier.verify(document, selfie, today=labels.today, challenge=PERFORMED)


def _liveness(evidence: LivenessEvidence | None) -> str:
    """The evidence as JSON, without the stage's own duration."""
    assert evidence is not None
    out = evidence.to_dict()
    out["scores"].pop("liveness_ms")
    return json.dumps(out, sort_keys=True)


def test_challenges_are_many_distinct_and_round_trip() -> None:
    keys = {c.key for c in every_challenge()}
    assert K == len(keys) == 96  # the odds a replayed video passes a fresh draw: 1 in 96 (docs/capture.md)
    draws = [draw() for _ in range(200)]
    assert all(d.key in keys for d in draws) and len({d.key for d in draws}) > 40
    for challenge in draws[:5]:
        assert Challenge.from_dict(json.loads(json.dumps(challenge.to_dict()))) == challenge
        actions = [s.action.value for s in challenge.steps]
        assert {"turn_left", "turn_right"} <= set(actions) and actions[-1] == "blink"


@pytest.mark.parametrize("steps, end", [
    ([], 3.0),
    ([{"action": "blink", "start_s": 2.0, "end_s": 1.0}], 3.0),
    ([{"action": "blink", "start_s": 1.0, "end_s": 2.0}], 1e9),
    ([{"action": "turn_left", "start_s": 3.0, "end_s": 4.0}, {"action": "blink", "start_s": 1.0, "end_s": 2.0}], 5.0),
])
def test_hostile_challenges_are_invalid_requests(steps: list[dict[str, object]], end: float) -> None:
    with pytest.raises(InvalidRequest):
        Challenge.from_dict({"steps": steps, "end_s": end})


def test_a_drift_between_turns_is_no_turn_out_of_turn_but_a_whole_turn_is() -> None:
    """Outside its windows, a reading counts as a turn out of turn only at STRAY_SHARE of the customer's
    own turn to that side: a live head drifting (or jittery landmarks) past the turn threshold passes,
    a whole turn at another challenge's time (a replay) fails."""
    challenge = PERFORMED  # left 1.5-3.0, left 3.0-4.5, right 4.5-6.0, blink 6.0-7.5, end 9.0
    times = [i / 10 for i in range(90)]

    def outcome(extra: dict[float, float]) -> tuple[tuple[bool, ...], str]:
        yaw = {2.2: -0.5, 3.7: -0.5, 5.2: 0.5, **extra}  # rest 0; the asked turns, inside their windows
        track = FaceTrack(tuple(Sighting(i, np.zeros(4), np.array(
            [[-1.0, 0.0], [1.0, 0.0], [yaw.get(round(t, 1), 0.0), 1.0], [-0.8, 2.0], [0.8, 2.0]]))
            for i, t in enumerate(times)), 90, 90)
        found = performed(challenge, times, track, 0.0, 0.2, blink_frame=65)
        return found.done, found.stray

    assert outcome({}) == ((True, True, True, True), "")
    assert outcome({8.0: 0.25, 0.5: -0.22})[1] == ""  # drift past the threshold, well short of the turns
    assert outcome({8.0: 0.5 * STRAY_SHARE - 0.05})[1] == ""  # just short of the share
    assert outcome({8.0: 0.5})[1] == "turn right at 8.0 s, outside its windows"
    assert outcome({0.5: -0.45})[1] == "turn left at 0.5 s, outside its windows"


def test_generator_films_the_challenge(genuine) -> None:
    """The head turns each way only inside the windows asking for that side, the eyes shut only in
    the blink's window, and the video lasts until the challenge's end."""
    *_, labels = genuine
    times = np.arange(labels.frame_count) / labels.fps
    yaw = np.array(labels.yaw_per_frame)
    assert times[-1] >= PERFORMED.end_s
    for side, sign in (("turn_left", -1), ("turn_right", 1)):
        windows = [(s.start_s, s.end_s) for s in PERFORMED.steps if s.action.value == side]
        turned = times[sign * yaw > 15]
        assert len(turned) and all(any(a <= t < b for a, b in windows) for t in turned)
        assert all(any(a <= t < b for t in turned) for a, b in windows)
    blink = next(s for s in PERFORMED.steps if s.action.value == "blink")
    shut = times[list(labels.blink_frames)]
    assert len(shut) and all(blink.start_s <= t < blink.end_s for t in shut)


def test_request_carries_its_challenge() -> None:
    request = VerificationRequest(case_id="c1", attempt=1, document_video="d.mp4", selfie_video="s.mp4",
                                  challenge=PERFORMED)
    again = VerificationRequest.parse(json.loads(json.dumps(request.to_dict())))
    assert again.challenge == PERFORMED
    assert VerificationRequest.parse({**request.to_dict(), "challenge": None}).challenge is None


def test_every_guidance_has_both_texts() -> None:
    assert set(TEXTS) == set(Guidance)
    for code in Guidance:
        assert text(code, "en") and text(code, "fr") and text(code, "en") != text(code, "fr")
    assert text(Guidance.TURN_LEFT, "de") == text(Guidance.TURN_LEFT, "en")


def test_frames_no_camera_sends_are_refused(verifier: Verifier) -> None:
    session = DocumentSession(verifier.document)
    with pytest.raises(InvalidInput):
        session.feed(np.zeros((10, 10, 3), np.uint8), 0.0)
    with pytest.raises(InvalidInput):
        session.feed(np.zeros((360, 480), np.uint8), 0.0)
    session.feed(np.zeros((360, 480, 3), np.uint8), 0.0)
    with pytest.raises(InvalidInput):
        session.feed(np.zeros((360, 480, 3), np.uint8), 0.0)  # time did not move
    with pytest.raises(InvalidInput):
        session.feed(np.zeros((240, 320, 3), np.uint8), 1.0)  # another size


def test_session_closes_at_its_limits(verifier: Verifier) -> None:
    checker = LivenessChecker(verifier.registry, Settings(face_backend="opencv", capture_max_frames=3))
    session = SelfieSession(checker)
    answers = [session.feed(np.full((360, 480, 3), 128, np.uint8), t / 10) for t in range(5)]
    assert [a.code for a in answers] == [Guidance.SHOW_FACE] * 3 + [Guidance.TRY_AGAIN] * 2
    assert answers[3].closed and len(session.recording) == 3


def test_genuine_document_capture_reads_the_mrz_and_closes(genuine, completed) -> None:
    _, labels, _, _ = genuine
    session, answers, *_ = completed
    codes = [a.code for a in answers]
    assert codes[-1] is Guidance.DONE and answers[-1].closed and answers[-1].progress == 1.0
    assert Guidance.DONE not in codes[:-1]
    assert Guidance.DOCUMENT_FOUND in codes
    assert session.reader.voted() == labels.mrz_lines
    read = [a for a in answers if a.code in (Guidance.TILT_CARD, Guidance.MRZ_READ, Guidance.DONE)]
    assert read and all(a.mrz_confidence is not None and a.mrz_confidence > 0 for a in read)
    _assert_progress(answers)
    # ended as soon as it had enough, before the video did
    assert len(session.recording) < labels.frame_count


@pytest.mark.parametrize("variant, expected", [
    (DocumentVariant.BLURRY, Guidance.HOLD_STILL),
    (DocumentVariant.CUT_OFF, Guidance.WHOLE_CARD),
    (DocumentVariant.GLARE_MRZ, Guidance.GLARE_MRZ),
    (DocumentVariant.NOT_TILTED, Guidance.TILT_CARD),
])
def test_poor_document_captures_get_their_guidance_and_never_finish(
        tmp_path: Path, verifier: Verifier, variant: DocumentVariant, expected: Guidance) -> None:
    path = tmp_path / "document.mp4"
    labels = make_document_video(path, document_type=DocumentType.FR_CNI_2021, variant=variant, seed=1, size=SIZE,
                                 fps=FPS, seconds=3.0)
    session = DocumentSession(verifier.document, today=labels.today)
    answers = _feed(session, video.iter_frames(path))
    codes = [a.code for a in answers]
    assert Guidance.DONE not in codes and not session.closed
    # the matching advice is the one most given
    assert max(set(codes), key=codes.count) is expected
    _assert_progress(answers)


def test_selfie_capture_performs_its_challenge(completed) -> None:
    *_, session, answers, _ = completed
    codes = [a.code for a in answers]
    assert codes[-1] is Guidance.DONE and answers[-1].progress == 1.0
    assert session.evidence is not None and session.evidence.live is True
    # the prompts came in the challenge's order, each in its window
    prompts = [c for c in dict.fromkeys(codes) if c in (Guidance.TURN_LEFT, Guidance.TURN_RIGHT, Guidance.BLINK)]
    assert prompts == [Guidance.TURN_LEFT, Guidance.TURN_RIGHT, Guidance.BLINK]
    _assert_progress(answers)


def test_not_turned_selfie_is_asked_to_turn_and_never_finishes(tmp_path: Path, verifier: Verifier) -> None:
    path = tmp_path / "selfie.mp4"
    make_selfie_video(path, person=HOLDER, variant=SelfieVariant.NOT_TURNED, seed=1, size=SIZE, fps=FPS,
                      challenge=PERFORMED)
    for recording_from in (None, 0.0):  # samples this close call a missed turn, recording or not
        session = SelfieSession(verifier.liveness, challenge=PERFORMED, recording_from=recording_from)
        answers = _feed(session, video.iter_frames(path))
        codes = [a.code for a in answers]
        assert Guidance.TURN_LEFT in codes and Guidance.DONE not in codes
        assert codes[-1] is Guidance.TRY_AGAIN and session.closed
        assert answers[-1].progress < 0.5


def test_completed_sessions_verdict_is_the_offline_verdict(genuine, completed, offline: Verdict,
                                                           verifier: Verifier) -> None:
    _, labels, _, _ = genuine
    doc_session, _, written_doc, selfie_session, _, written_selfie = completed
    assert len(video.decode(written_selfie, max_side=None).frames) == len(selfie_session.recording)
    session = verifier.verify(written_doc, written_selfie, today=labels.today, challenge=selfie_session.challenge)
    assert session.status is offline.status is Status.APPROVED
    assert session.reasons == offline.reasons == ()
    assert session.document.mrz_lines == offline.document.mrz_lines == doc_session.reader.voted()
    assert session.liveness.scores["challenge_steps_done"] == len(PERFORMED.steps)


def test_recorded_selfie_session_decides_on_its_recording(genuine, offline: Verdict, verifier: Verifier) -> None:
    """Samples at about 4 a second, the first one 0.3 s after the recording's start (miss the blink,
    keep their time on the recording's clock): the session waits for the recording at the
    challenge's end, then decides on it exactly as the offline verifier does."""
    *_, selfie, labels = genuine
    samples = [f for f in video.iter_frames(selfie, target_fps=4) if f.t > 0.25]
    assert not set(labels.blink_frames) <= {f.index for f in samples}  # some of the blink is between samples
    session = SelfieSession(verifier.liveness, challenge=PERFORMED, recording_from=0.0)
    answers = _feed(session, samples)
    assert session.recording.frames[0].t == samples[0].t  # not moved to 0: the recording's clock
    assert answers[-1].code is Guidance.SENDING and not session.closed and session.evidence is None
    assert not any(a.closed for a in answers) and answers[-1].progress < 1.0
    assert Guidance.TURN_LEFT in [a.code for a in answers]
    assert session.feed(samples[-1].image, samples[-1].t + 1.0).code is Guidance.SENDING  # nothing more taken
    done = session.finish(selfie)
    assert done.code is Guidance.DONE and done.closed and done.progress == 1.0 and session.video == selfie
    assert _liveness(session.evidence) == _liveness(offline.liveness)
    with pytest.raises(InvalidInput):
        session.finish(selfie)  # closed: no second recording


def test_sparse_samples_of_a_recorded_selfie_leave_the_turns_to_the_recording(genuine, verifier: Verifier) -> None:
    """A slow server takes a frame a second or less: a turn may fall between two samples, so a recorded
    session does not ask to film again for a turn its samples did not watch; the recording decides."""
    *_, selfie, _ = genuine
    frames = list(video.iter_frames(selfie))
    times = np.arange(0.3, PERFORMED.end_s + 1.1, 1.1)  # samples 1.1 s apart, on the recording's clock
    session = SelfieSession(verifier.liveness, challenge=PERFORMED, recording_from=0.0)
    answers = [session.feed(min(frames, key=lambda f: abs(f.t - t)).image, float(t)) for t in times]
    assert [a.code for a in answers if a.closed] == [] and answers[-1].code is Guidance.SENDING
    assert session.finish(selfie).code is Guidance.DONE


def test_recorded_selfie_session_closes_on_an_unreadable_recording(tmp_path: Path, verifier: Verifier) -> None:
    session = SelfieSession(verifier.liveness, challenge=PERFORMED, recording_from=0.0)
    grey = np.full((360, 480, 3), 128, np.uint8)
    assert session.feed(grey, 0.1).code is Guidance.SHOW_FACE
    with pytest.raises(InvalidInput):
        session.finish(tmp_path / "none.webm")  # not waiting yet
    with pytest.raises(InvalidInput):
        session.feed(grey, 0.05)  # time goes forward on the recording's clock too
    assert session.feed(grey, PERFORMED.end_s).code is Guidance.SENDING
    broken = tmp_path / "broken.webm"
    broken.write_bytes(b"\x1a\x45\xdf\xa3" + bytes(200))
    with pytest.raises(InvalidMedia):
        session.finish(broken)
    assert session.closed and session.last.code is Guidance.TRY_AGAIN and session.video is None
    # longer than the session may take: refused before a frame is decoded
    short = LivenessChecker(verifier.registry, Settings(face_backend="opencv", capture_max_frames=3))
    session = SelfieSession(short, challenge=PERFORMED, recording_from=0.0)
    session.feed(grey, PERFORMED.end_s)
    long = tmp_path / "long.mp4"
    video.write(long, [grey] * 5, 10)
    with pytest.raises(InvalidMedia, match="longer than"):
        session.finish(long)
    assert session.closed and session.last.code is Guidance.TRY_AGAIN


def test_replayed_selfie_fails_fresh_challenges(genuine, completed, verifier: Verifier) -> None:
    _, labels, _, _ = genuine
    _, _, written_doc, recorded, _, written_selfie = completed
    # the hardest one (the same turns, the blink a slot later), then twenty different draws, none the
    # one performed (that one passes: 1 in K)
    hardest = every_challenge()[1]
    assert hardest.steps[:-1] == PERFORMED.steps[:-1] and hardest.steps[-1] != PERFORMED.steps[-1]
    fresh: dict[tuple[tuple[str, float], ...], Challenge] = {hardest.key: hardest}
    while len(fresh) < 21:
        challenge = draw()
        if challenge.key != PERFORMED.key:
            fresh[challenge.key] = challenge
    # the cheaper detector for twenty sessions; the session's code is the same whatever the backend
    checker = LivenessChecker(verifier.registry, Settings(face_backend="opencv"))
    recording = recorded.recording.frames
    length = recording[-1].t + recording[1].t
    for challenge in fresh.values():
        session = SelfieSession(checker, challenge=challenge)
        # replayed as a device replays a clip: over and over, until the session closes
        answers = _feed(session, (video.Frame(i, loop * length + f.t, f.image)
                                  for loop in range(3) for i, f in enumerate(recording)))
        assert answers[-1].code is Guidance.TRY_AGAIN and session.closed, challenge
        assert Guidance.DONE not in [a.code for a in answers]
    # and offline: the recording of one challenge is refused under another
    verdict = verifier.verify(written_doc, written_selfie, today=labels.today, challenge=next(iter(fresh.values())))
    assert verdict.status is Status.REFUSED
    assert Reason.CHALLENGE_FAILED in verdict.reasons and verdict.liveness.live is False
    assert FindingCode.CHALLENGE_FAILED in {f.code for f in verdict.liveness.findings}


# ---- the streaming endpoint (web/capture) -------------------------------------------------------

def _client(verifier: Verifier, env: Env, **limits: Any) -> tuple[TestClient, dict[str, str]]:
    """The web application with its capture router, sharing the tests' Verifier, and the headers
    of a bank client's API key."""
    config = web_config(env.config, env.root, **limits)
    app = create_app(config)
    app.state.capture_verifier = verifier
    key = Clients(env.redis, config).add(f"{env.token}-bank").api_key
    return TestClient(app), {"Authorization": f"Bearer {key}"}


def _jpeg(frame: video.Frame) -> bytes:
    return cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
