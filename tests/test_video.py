"""Decoding: frame counts and timestamps, subsampling, downscaling, and every kind of bad file."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.errors import InvalidMedia
from kycengine.image import read_image, shrink


def _ramp(count: int, size: tuple[int, int] = (160, 96)) -> list[np.ndarray]:
    width, height = size
    return [np.full((height, width, 3), 10 + 8 * i, np.uint8) for i in range(count)]


@pytest.fixture()
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    assert video.write(path, _ramp(20), fps=10) == 20
    return path


def test_decode_keeps_every_frame_with_timestamps(clip: Path) -> None:
    decoded = video.decode(clip)
    assert (decoded.width, decoded.height, decoded.fps, decoded.codec) == (160, 96, 10.0, "h264")
    assert [f.index for f in decoded.frames] == list(range(20))
    assert decoded.frames[5].t == pytest.approx(0.5)
    means = [f.image.mean() for f in decoded.frames]
    assert means == sorted(means)  # the ramp survives encoding, in order


def test_target_fps_thins_frames_and_max_side_downscales(clip: Path) -> None:
    decoded = video.decode(clip, target_fps=5, max_side=80)
    assert [f.index for f in decoded.frames] == list(range(0, 20, 2))
    assert decoded.frames[0].image.shape == (48, 80, 3)
    assert decoded.frame_count == 19


def test_quality_scores_rank_sharp_above_blurred() -> None:
    rng = np.random.default_rng(0)
    sharp = (rng.random((120, 160)) * 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    assert video.frame_quality(sharp).sharpness > 10 * video.frame_quality(blurred).sharpness
    assert video.frame_quality(np.full((10, 10), 255, np.uint8)).glare == 1.0


def test_one_frame_video_decodes(tmp_path: Path) -> None:
    path = tmp_path / "one.mp4"
    video.write(path, _ramp(1), fps=30)
    assert len(video.decode(path).frames) == 1


@pytest.mark.parametrize("content,message", [
    (b"", "empty file"),
    (b"hello, this is not a video\n" * 20, "not a readable video"),
])
def test_bad_files_raise_invalid_media(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(InvalidMedia, match=message):
        video.decode(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia, match="no such file"):
        video.decode(tmp_path / "absent.mp4")
    with pytest.raises(InvalidMedia, match="not a regular file"):
        video.decode(tmp_path)


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    cv2.imwrite(str(path), _ramp(1)[0])
    with pytest.raises(InvalidMedia, match="still image"):
        video.decode(path)
    assert read_image(path).shape == (96, 160, 3)


def test_truncated_video_is_refused_or_keeps_decodable_frames(tmp_path: Path, clip: Path) -> None:
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        decoded = video.decode(cut)
    except InvalidMedia as exc:
        assert str(cut) in str(exc)
    else:
        assert 0 < len(decoded.frames) <= 20


def test_huge_frames_are_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    cv2.imwrite(str(path), np.zeros((16, 9000), np.uint8))
    with pytest.raises(InvalidMedia, match="larger than"):
        read_image(path)


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(InvalidMedia, match="not a readable image"):
        read_image(path)


@pytest.mark.parametrize("scale", [0.375, 0.5, 0.3, 0.9])
def test_shrink_matches_opencv_area_resampling_up_to_rounding(scale: float) -> None:
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    expected = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    result = shrink(image, scale)
    assert result.shape == expected.shape
    assert float(np.abs(result.astype(np.float32) - expected).mean()) < 1.0


def _textured(count: int, seed: int = 0) -> list[np.ndarray]:
    """Noise frames blurred by a different amount each, so that their sharpness differs."""
    rng = np.random.default_rng(seed)
    sigmas = rng.permutation(np.linspace(0.5, 4.0, count))
    return [cv2.GaussianBlur(rng.integers(0, 256, (96, 160, 3), np.uint8), (0, 0), float(s)) for s in sigmas]


@pytest.fixture()
def textured(tmp_path: Path) -> Path:
    path = tmp_path / "textured.mp4"
    video.write(path, _textured(40), fps=20, crf=10)
    return path


def test_keep_plan_holds_only_planned_images_and_returns_the_same_frames(
        textured: Path, caplog: pytest.LogCaptureFixture) -> None:
    full = video.decode(textured, target_fps=10)
    planned = video.decode(textured, target_fps=10, keep=video.Keep(spread=5, sharpest=2))
    assert isinstance(planned.frames, video.DecodedFrames)
    assert [(f.index, f.t) for f in planned.frames] == [(f.index, f.t) for f in full.frames]
    assert (planned.frame_count, planned.fps) == (full.frame_count, full.fps)
    assert planned.frames.kept <= 7
    spread = video.spread_positions(len(full.frames), 5)
    sharpest = sorted(range(len(full.frames)), key=lambda p: video.frame_quality(full.frames[p].proxy).sharpness,
                      reverse=True)[:2]
    with caplog.at_level("INFO", logger="kycengine.video"):
        for p in {*spread, *sharpest}:
            assert np.array_equal(planned.frames[p].image, full.frames[p].image)
        assert "decoding it again" not in caplog.text
        other = next(p for p in range(len(full.frames)) if p not in {*spread, *sharpest})
        assert np.array_equal(planned.frames[other].image, full.frames[other].image)
        assert "decoding it again" in caplog.text
    assert all(np.array_equal(a.proxy, b.proxy) for a, b in zip(planned.frames, full.frames))


def test_spread_positions_are_even_and_bounded() -> None:
    assert video.spread_positions(100, 5) == [0, 25, 50, 74, 99]
    assert video.spread_positions(3, 24) == [0, 1, 2]
    assert video.spread_positions(0, 24) == []
