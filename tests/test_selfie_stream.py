"""The selfie is streamed: decoded, tracked and prepared frame by frame, a bounded number of
full-resolution images held whatever its length, and the face and liveness stages find the same
as on the selfie decoded in full."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kycengine import video
from kycengine.face import FaceMatcher
from kycengine.face.backends import BACKENDS
from kycengine.face.track import LANDMARK_EVERY, LandmarkTracking
from kycengine.liveness import LivenessChecker
from kycengine.liveness.capture import THUMB
from kycengine.liveness.frames import CROP_REACH, FACE_PX, SelfieFrames
from kycengine.liveness.loop import SIGNATURE
from kycengine.models import default_registry
from kycengine.selfie import MAX_KEPT, stream_selfie
from kycengine.settings import Settings
from kycengine.synth import SelfieVariant, make_selfie_video
from kycengine.synth.faces import portrait

REPEATS = 7  # the long selfie: a generated one played this many times over (count, not content, matters)


@pytest.fixture(scope="module")
def selfies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A short generated live selfie, and a long one made of it played REPEATS times."""
    folder = tmp_path_factory.mktemp("stream")
    short = folder / "short.mp4"
    make_selfie_video(short, person="astronaut", variant=SelfieVariant.LIVE, seed=3, size=(480, 360), fps=10,
                      seconds=3.0)
    images = [frame.image for frame in video.iter_frames(short)]
    long = folder / "long.mp4"
    video.write(long, (image for _ in range(REPEATS) for image in images), 10)
    return short, long


@pytest.fixture(scope="module", params=["insightface", "opencv"])
def stages(request: pytest.FixtureRequest) -> tuple[Settings, FaceMatcher, LivenessChecker]:
    registry = default_registry()
    if not all(registry.available(m) for m in BACKENDS[request.param].model_ids):  # type: ignore[attr-defined]
        pytest.skip(f"models of the {request.param} backend are not installed")
    settings = replace(Settings(), face_backend=request.param)
    return settings, FaceMatcher(registry, settings), LivenessChecker(registry, settings)


def test_streamed_selfie_gives_the_same_evidence_as_the_selfie_decoded_in_full(
        selfies: tuple[Path, Path], stages: tuple[Settings, FaceMatcher, LivenessChecker]) -> None:
    settings, matcher, checker = stages
    short, _ = selfies
    holder = portrait("astronaut", (120, 150))
    full = video.decode(short, max_side=settings.max_side, target_fps=settings.selfie_fps)
    track = matcher.tracker.track(full.frames)
    streamed = stream_selfie(short, matcher.tracker, max_side=settings.max_side, target_fps=settings.selfie_fps)
    assert isinstance(streamed.video.frames, SelfieFrames) and streamed.track is not None
    assert [s and (s.position, s.box.tolist(), s.landmarks5.tolist(), s.trusted) for s in streamed.track.sightings] \
        == [s and (s.position, s.box.tolist(), s.landmarks5.tolist(), s.trusted) for s in track.sightings]
    face, face_streamed = matcher.match(full, holder, track), matcher.match(streamed.video, holder, streamed.track)
    assert face_streamed.scores == face.scores and face_streamed.frames_used == face.frames_used
    live, live_streamed = checker.assess(full, track), checker.assess(streamed.video, streamed.track)
    timing = "liveness_ms"
    assert {k: v for k, v in live_streamed.scores.items() if k != timing} == \
        {k: v for k, v in live.scores.items() if k != timing}
    assert (live_streamed.live, live_streamed.findings, live_streamed.frames_used) == \
        (live.live, live.findings, live.frames_used)


def test_a_long_selfie_holds_no_more_full_images_than_a_short_one(
        selfies: tuple[Path, Path], stages: tuple[Settings, FaceMatcher, LivenessChecker]) -> None:
    settings, matcher, _ = stages
    short, long = selfies
    held, count = {}, {}
    for path in (short, long):
        streamed = stream_selfie(path, matcher.tracker, max_side=settings.max_side, target_fps=settings.selfie_fps)
        frames = streamed.video.frames
        assert isinstance(frames, SelfieFrames)
        held[path], count[path] = frames.kept, len(frames)
        # every frame leaves only small grey copies behind: thumbnails and a face crop of bounded size
        assert {size: stack.shape[0] for size, stack in frames.thumbnails.items()} == \
            {THUMB: len(frames), SIGNATURE: len(frames)}
        assert max(crop.size for crop in frames.crops.images) <= ((2 * CROP_REACH + 1) * FACE_PX + 1) ** 2
    assert count[long] >= REPEATS * count[short] - REPEATS
    assert held[long] <= MAX_KEPT < count[long] / 3


def test_the_landmark_track_holds_only_the_frames_since_its_last_measurement(
        selfies: tuple[Path, Path], stages: tuple[Settings, FaceMatcher, LivenessChecker]) -> None:
    _, matcher, _ = stages
    tracking = matcher.tracker.start()
    if not isinstance(tracking, LandmarkTracking):
        pytest.skip("the detector-only track holds no frame")
    _, long = selfies
    settled, most = 0, 0
    for position, frame in enumerate(video.iter_frames(long, target_fps=10)):
        settled += len(tracking.push(frame))
        most = max(most, len(tracking.window), position + 1 - settled)
    assert most <= 2 * LANDMARK_EVERY  # frames waiting to be measured or settled, whatever the length
    done, track = tracking.finish()
    assert settled + len(done) == len(track.sightings) >= REPEATS * 25
