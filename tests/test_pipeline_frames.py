"""The pipeline decodes the document video to the analyser's plan: few images held, the same evidence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kycengine.pipeline import Verifier
from kycengine.schema import DocumentEvidence
from kycengine.video import DecodedFrames, Video, decode

TODAY = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kycengine.synth import make_sample

    folder = tmp_path_factory.mktemp("sample")
    make_sample(folder, seed=2, size=(640, 360), fps=30)
    return folder


def _comparable(evidence: DocumentEvidence) -> dict[str, Any]:
    return {k: v for k, v in evidence.to_dict().items() if k not in ("card_image", "portrait")}


def test_document_stage_holds_only_its_planned_frames_and_finds_the_same(sample: Path) -> None:
    verifier = Verifier()
    seen: list[Video] = []
    analyse = verifier.document.analyse

    def recording(video: Video, *, today: dt.date) -> DocumentEvidence:
        seen.append(video)
        return analyse(video, today=today)

    verifier.document.analyse = recording  # type: ignore[method-assign]
    verdict = verifier.verify(sample / "document.mp4", sample / "selfie.mp4", today=TODAY)
    (video,) = seen
    assert isinstance(video.frames, DecodedFrames)
    keep = verifier.document.keep
    assert len(video.frames) > keep.spread + keep.sharpest >= video.frames.kept
    settings = verifier.settings
    full = decode(sample / "document.mp4", max_side=settings.max_side, target_fps=settings.document_fps)
    expected = analyse(full, today=TODAY)
    assert _comparable(verdict.document) == _comparable(expected)
    for name in ("card_image", "portrait"):
        got, want = getattr(verdict.document, name), getattr(expected, name)
        assert (got is None and want is None) or np.array_equal(got, want)
