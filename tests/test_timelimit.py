"""Time limits: a stage that runs too long is cut and reported; a host's own time limit is never
swallowed by a stage's error handling and keeps its own deadline."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kycengine.errors import TimeLimitExceeded
from kycengine.findings import FindingCode
from kycengine.pipeline import Verifier
from kycengine.reasons import Reason, Status
from kycengine.schema import FaceEvidence, LivenessEvidence, StageState
from kycengine.settings import Settings
from kycengine.timelimit import TimedOut, time_limit


class HostTimeout(TimeLimitExceeded):
    """What a host (the workers) raises when its job's time is up."""


@pytest.fixture
def host_alarm() -> Iterator[None]:
    """An outer SIGALRM handler raising HostTimeout, as a worker's job timeout does; disarmed after."""
    previous = signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(HostTimeout("job", 0.6)))
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_block_over_its_limit_is_interrupted() -> None:
    started = time.monotonic()
    with pytest.raises(TimedOut, match="document: over its 0.2 s time limit"):
        with time_limit("document", 0.2):
            _spin(5)
    assert time.monotonic() - started < 1.5
    with time_limit("document", 0.5):  # a quick block is untouched and leaves no alarm behind
        _spin(0.05)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_the_outer_deadline_fires_first_when_it_is_nearer(host_alarm: None) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    started = time.monotonic()
    with pytest.raises(HostTimeout):
        with time_limit("face", 5):
            _spin(5)
    assert 0.25 < time.monotonic() - started < 1.5


def test_the_outer_deadline_survives_an_inner_limit(host_alarm: None) -> None:
    signal.setitimer(signal.ITIMER_REAL, 0.6)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        with time_limit("face", 0.1):
            _spin(5)
    with pytest.raises(HostTimeout):  # re-armed for what it had left: fires at 0.6 s, not later
        _spin(5)
    assert 0.5 < time.monotonic() - started < 1.5


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kycengine.synth import make_sample

    folder = tmp_path_factory.mktemp("sample")
    make_sample(folder, seed=1, size=(320, 240), fps=10)
    return folder


def _quick_face(*_: object) -> FaceEvidence:
    return FaceEvidence(state=StageState.COMPLETE, similarity=0.9)


def _quick_liveness(*_: object) -> LivenessEvidence:
    return LivenessEvidence(state=StageState.COMPLETE, live=True)


def test_a_stage_over_its_limit_sends_the_case_to_review_and_the_next_stages_still_run(
        sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = Verifier(Settings(stage_time_limit_s=2.0))  # the real face track needs ~0.5 s
    monkeypatch.setattr(verifier.document, "analyse", lambda *a, **k: _spin(30))
    ran: list[str] = []
    monkeypatch.setattr(verifier, "_match", lambda *a: ran.append("face") or _quick_face())
    monkeypatch.setattr(verifier.liveness, "assess", lambda *a: ran.append("liveness") or _quick_liveness())
    started = time.monotonic()
    verdict = verifier.verify(sample / "document.mp4", sample / "selfie.mp4")
    assert time.monotonic() - started < 15
    assert verdict.document.state is StageState.FAILED
    assert [f.code for f in verdict.document.findings] == [FindingCode.STAGE_TIMED_OUT]
    assert (verdict.status, verdict.reasons) == (Status.MANUAL_REVIEW, (Reason.VERIFICATION_INCOMPLETE,))
    assert ran == ["face", "liveness"] and 1900 < verdict.timings_ms["document"] < 6000


def test_a_host_timeout_is_never_swallowed_by_a_stage(sample: Path, monkeypatch: pytest.MonkeyPatch,
                                                      host_alarm: None) -> None:
    verifier = Verifier(Settings(stage_time_limit_s=30))
    ran: list[str] = []
    monkeypatch.setattr(verifier.document, "analyse", lambda *a, **k: _spin(30))
    monkeypatch.setattr(verifier, "_match", lambda *a: ran.append("face") or _quick_face())
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    with pytest.raises(HostTimeout):
        verifier.verify(sample / "document.mp4", sample / "selfie.mp4")
    assert ran == []  # nothing ran after the host's time was up
