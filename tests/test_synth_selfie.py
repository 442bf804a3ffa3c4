"""Synthetic selfie videos: every variant renders, is reproducible, and shows what its labels say."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.errors import InvalidInput
from kycengine.reasons import Reason
from kycengine.synth.faces import PEOPLE
from kycengine.synth.head import HeadPose, make_head
from kycengine.synth.selfie_video import EXPECTED_REASONS, SelfieLabels, SelfieVariant, make_selfie_video

SIZE, FPS, SECONDS = (320, 240), 10, 2.0
HOLDER = "astronaut"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[SelfieVariant, tuple[SelfieLabels, video.Video,
                                                                                    Path]]:
    """Every variant rendered once, small, with its decoded video."""
    folder = tmp_path_factory.mktemp("selfies")
    out = {}
    for variant in SelfieVariant:
        path = folder / f"{variant.value}.mp4"
        labels = make_selfie_video(path, person=HOLDER, variant=variant, seed=3, size=SIZE, fps=FPS,
                                   seconds=SECONDS)
        out[variant] = labels, video.decode(path, max_side=None), path
    return out


def _planar_residual(clip: video.Video, labels: SelfieLabels, first: int, second: int) -> tuple[float, float]:
    """Track corners of the face region from one frame to another and fit one homography (RANSAC):
    median reprojection error (px) and inlier fraction."""
    grey = [cv2.cvtColor(clip.frames[i].image, cv2.COLOR_BGR2GRAY) for i in (first, second)]
    x, y, w, h = labels.face_boxes[first]
    mask = np.zeros_like(grey[0])
    mask[max(0, y):y + h, max(0, x):x + w] = 255
    start = cv2.goodFeaturesToTrack(grey[0], 200, 0.01, 3, mask=mask)
    end, found, _ = cv2.calcOpticalFlowPyrLK(grey[0], grey[1], start, None, winSize=(15, 15), maxLevel=3)
    start, end = start[found.ravel() == 1].reshape(-1, 2), end[found.ravel() == 1].reshape(-1, 2)
    assert len(start) >= 30
    homography, inliers = cv2.findHomography(start, end, cv2.RANSAC, 1.5)
    error = np.linalg.norm(cv2.perspectiveTransform(start[None], homography)[0] - end, axis=1)
    return float(np.median(error)), float(inliers.mean())


@pytest.mark.parametrize("variant", list(SelfieVariant))
def test_every_variant_renders_as_labelled(rendered, variant: SelfieVariant) -> None:
    labels, clip, path = rendered[variant]
    count = round(SECONDS * FPS)
    assert (clip.width, clip.height, clip.fps, clip.codec) == (*SIZE, FPS, "h264")
    assert len(clip.frames) == labels.frame_count == count
    assert (labels.width, labels.height, labels.fps) == (*SIZE, FPS)
    assert len(labels.yaw_per_frame) == len(labels.face_boxes) == count
    assert labels.expected_reasons == EXPECTED_REASONS[variant]
    assert labels.holder == HOLDER and labels.person in PEOPLE
    for x, y, w, h in labels.face_boxes:  # the face is large and inside the frame
        assert 0.2 * SIZE[1] <= h <= 0.5 * SIZE[1]
        assert -0.1 * w <= x and x + 1.1 * w <= SIZE[0] and -0.1 * h <= y and y + h <= SIZE[1]
    stored = json.loads(path.with_suffix(".json").read_text())
    assert SelfieLabels.from_dict(stored) == labels


def test_same_seed_same_frames(tmp_path: Path, rendered, written_frames: list[list[np.ndarray]]) -> None:
    runs = written_frames
    labels = rendered[SelfieVariant.LIVE][0]
    for name in ("a", "b"):
        again = make_selfie_video(tmp_path / f"{name}.mp4", person=HOLDER, variant="live", seed=3, size=SIZE,
                                  fps=FPS, seconds=SECONDS)
        assert again == labels
    assert all(np.array_equal(a, b) for a, b in zip(*runs, strict=True))
    other = make_selfie_video(tmp_path / "other.mp4", person=HOLDER, variant="live", seed=4, size=SIZE,
                              fps=FPS, seconds=SECONDS)
    assert other.yaw_per_frame != labels.yaw_per_frame and not np.array_equal(runs[0][0], runs[2][0])


def test_live_turns_both_ways_and_blinks(rendered) -> None:
    labels = rendered[SelfieVariant.LIVE][0]
    assert min(labels.yaw_per_frame) <= -20 and max(labels.yaw_per_frame) >= 20
    assert max(labels.yaw_per_frame) - min(labels.yaw_per_frame) >= 40
    assert len(labels.blink_frames) >= 1 and labels.person == HOLDER and labels.bystander is None


def test_not_turned_stays_frontal_and_no_blink_keeps_eyes_open(rendered) -> None:
    not_turned = rendered[SelfieVariant.NOT_TURNED][0]
    assert max(abs(v) for v in not_turned.yaw_per_frame) <= 5 and not_turned.blink_frames
    no_blink = rendered[SelfieVariant.NO_BLINK][0]
    assert no_blink.blink_frames == () and max(no_blink.yaw_per_frame) - min(no_blink.yaw_per_frame) >= 40


def test_attacks_do_not_turn_in_3d(rendered) -> None:
    for variant in (SelfieVariant.PRINT, SelfieVariant.SCREEN, SelfieVariant.STILL):
        assert set(rendered[variant][0].yaw_per_frame) == {0.0}
    for variant in (SelfieVariant.PRINT, SelfieVariant.STILL):
        assert rendered[variant][0].blink_frames == ()
    assert Reason.FACE_NOT_LIVE in rendered[SelfieVariant.SCREEN][0].expected_reasons


def test_other_people_are_someone_else(rendered) -> None:
    swapped = rendered[SelfieVariant.DIFFERENT_PERSON][0]
    assert swapped.person != HOLDER and swapped.expected_reasons == (Reason.FACE_MISMATCH,)
    crowd = rendered[SelfieVariant.MULTIPLE_FACES][0]
    assert crowd.person == HOLDER and crowd.bystander not in (None, HOLDER)


def test_face_swapped_in_for_the_middle_third_is_someone_else_in_the_same_room(rendered) -> None:
    labels, clip, _ = rendered[SelfieVariant.FACE_SWAP_MIDDLE]
    assert labels.person == HOLDER and labels.intruder not in (None, HOLDER)
    assert labels.expected_reasons == (Reason.FACE_SWAPPED_DURING_CAPTURE,)
    third = labels.frame_count // 3
    corner = [clip.frames[i].image[:40, :40].astype(int) for i in (third - 1, third, 2 * third)]
    assert np.abs(corner[0] - corner[1]).mean() < 12  # the room goes on; only the face changes
    faces = [clip.frames[i].image for i in (third - 1, third)]
    x, y, w, h = labels.face_boxes[third - 1]
    assert np.abs(faces[0][y:y + h, x:x + w].astype(int) - faces[1][y:y + h, x:x + w]).mean() > 12


def test_rocked_print_tilts_far_and_fast(rendered) -> None:
    labels, clip, _ = rendered[SelfieVariant.PRINT_ROCKED]
    assert set(labels.yaw_per_frame) == {0.0} and labels.blink_frames == ()
    boxes = np.array(labels.face_boxes, np.float64)
    shift = np.linalg.norm(np.diff(boxes[:, :2] + boxes[:, 2:] / 2, axis=0), axis=1) / boxes[1:, 2]
    plain = np.array(rendered[SelfieVariant.PRINT][0].face_boxes, np.float64)
    plain_shift = np.linalg.norm(np.diff(plain[:, :2] + plain[:, 2:] / 2, axis=0), axis=1) / plain[1:, 2]
    assert np.median(shift) > 2 * np.median(plain_shift)  # the face moves fast, not as a gently held print
    assert boxes[:, 2].max() / boxes[:, 2].min() > 1.15  # foreshortened as it rocks


def test_print_moves_as_a_plane_but_a_live_head_does_not(rendered) -> None:
    labels, clip, _ = rendered[SelfieVariant.PRINT]
    flat_error, flat_inliers = _planar_residual(clip, labels, 0, labels.frame_count - 1)
    assert flat_error < 1.2 and flat_inliers > 0.6
    labels, clip, _ = rendered[SelfieVariant.LIVE]
    yaw = np.array(labels.yaw_per_frame)
    turned = int(np.argmax(np.abs(yaw)))
    frontal = int(np.argmin(np.abs(yaw[:turned + 1])))
    error, inliers = _planar_residual(clip, labels, frontal, turned)
    assert error > max(2.5, 3 * flat_error) and inliers < 0.45


def test_head_at_rest_is_the_photo_and_turning_moves_the_nose_most() -> None:
    head = make_head(HOLDER, 120)
    rest = head.render(HeadPose())
    opaque = head.rgba[..., 3] == 255
    assert rest.origin == (0, 0)
    assert np.abs(rest.image.astype(int) - head.rgba[..., :3])[opaque].mean() < 1.0
    x, y, w, h = head.face_box
    turned = head.render(HeadPose(yaw=15))
    # Nose tip and both cheeks, followed by optical flow from the frontal to the turned head.
    points = np.array([[x + 0.5 * w, y + 0.62 * h], [x + 0.15 * w, y + 0.62 * h],
                       [x + 0.85 * w, y + 0.62 * h]], np.float32)
    grey = [cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) for image in (rest.image, turned.image)]
    moved, found, _ = cv2.calcOpticalFlowPyrLK(*grey, points, None, winSize=(21, 21), maxLevel=3)
    assert found.all()
    nose, left, right = moved[:, 0] - points[:, 0]
    assert nose > 0.08 * w and nose > left + 0.04 * w and nose > right + 0.04 * w


def test_bad_requests_raise() -> None:
    with pytest.raises(InvalidInput):
        make_selfie_video("/tmp/never.mp4", person="nobody", variant="live", seed=0)
    with pytest.raises(ValueError):
        make_selfie_video("/tmp/never.mp4", person=HOLDER, variant="deepfake", seed=0)
