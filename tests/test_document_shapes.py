"""Documents of other shapes and ordinary captures: open passports, foreign passports, sleeves,
documents held long side up, gentle tilt, 640x360 video, and cut-off judged over a share of the frames.

Geometry is checked on hand-built quads and images; the rest on the capture generator's videos
(`kycengine.synth.document_video.Capture`), through the document stage and the decision policy.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.decision import decide
from kycengine.document.analyser import DocumentAnalyser, cut_off_share
from kycengine.document.card import detect_card, page_candidates, true_aspect
from kycengine.document.layout import ICAO_LAYOUTS, LAYOUTS, layout_for
from kycengine.document.mrz import MRZFormat
from kycengine.document.types import DocumentType
from kycengine.findings import FindingCode
from kycengine.models import default_registry
from kycengine.reasons import Status
from kycengine.schema import DocumentEvidence
from kycengine.settings import Settings
from kycengine.synth.document_video import Capture, DocumentLabels, DocumentVariant, make_document_video

from .conftest import run_kyc

TODAY = dt.date(2026, 11, 1)
ANY_PASSPORT = Settings(accepted_passport_states=("*",))
FRAME = (1280, 720)


def _quad(width: float, height: float, x: float = 200.0, y: float = 150.0) -> np.ndarray:
    return np.array([[x, y], [x + width, y], [x + width, y + height], [x, y + height]], np.float32)


# ---- geometry ------------------------------------------------------------------------------------

def test_a_spread_of_two_pages_is_split_into_its_pages() -> None:
    spread = _quad(250 * 3.5, 88 * 3.5)
    candidates = page_candidates(spread, FRAME)
    assert len(candidates) == 2
    for page in candidates:
        assert true_aspect(page, FRAME) == pytest.approx(125 / 88, rel=0.05)
    centres = sorted(float(p.mean(axis=0)[0]) for p in candidates)
    assert centres[1] - centres[0] == pytest.approx(125 * 3.5, rel=0.02)


def test_a_page_shaped_outline_may_be_the_page_or_half_an_open_passport() -> None:
    booklet = _quad(176 * 3.5, 125 * 3.5)  # open passport, fold upright: the data page is a half
    candidates = page_candidates(booklet, FRAME)
    assert len(candidates) == 3
    assert np.allclose(candidates[0], booklet)
    assert all(true_aspect(c, FRAME) == pytest.approx(125 / 88, rel=0.05) for c in candidates[1:])
    assert len(page_candidates(_quad(85.6 * 6, 54 * 6), FRAME)) == 1  # an ID-1 card is its outline


def test_an_outline_of_two_pages_side_by_side_is_found() -> None:
    image = np.full((360, 640), 60, np.uint8)
    cv2.rectangle(image, (60, 130), (60 + 500, 130 + 176), 225, -1)  # 250 x 88 mm at 2 px/mm
    found = detect_card(cv2.resize(image, (320, 180), interpolation=cv2.INTER_AREA))
    assert found is not None
    assert found.aspect == pytest.approx(250 / 88, rel=0.08)


def test_the_layout_comes_from_the_mrz_and_french_designs_only_for_french_documents() -> None:
    assert layout_for(MRZFormat.TD3, DocumentType.PASSPORT, "FRA") is LAYOUTS[DocumentType.PASSPORT]
    foreign = layout_for(MRZFormat.TD3, DocumentType.PASSPORT, "NLD")
    assert foreign is ICAO_LAYOUTS[MRZFormat.TD3] and not foreign.fields
    assert layout_for(MRZFormat.TD1, DocumentType.FR_CNI_2021, "FRA") is LAYOUTS[DocumentType.FR_CNI_2021]
    td2 = layout_for(MRZFormat.TD2, None, "D")
    assert td2 is not None and td2.size_mm == (105.0, 74.0) and not td2.fields
    assert layout_for(MRZFormat.MRV_A, None, "FRA") is None


def test_an_upright_outline_is_a_document_unless_it_has_a_portrait_photo_s_shape() -> None:
    image = np.full((360, 640), 60, np.uint8)
    cv2.rectangle(image, (250, 20), (250 + 190, 20 + 300), 225, -1)  # 54 x 85.6 mm, long side up
    found = detect_card(image)
    assert found is not None and found.aspect == pytest.approx(85.6 / 54, rel=0.06)
    top = found.corners[1] - found.corners[0]
    assert abs(top[1]) > abs(top[0])  # the long side comes first: the reader turns it upright
    assert np.abs(found.corners[:2, 0] - 250).max() < 8  # the left side first, in every frame the same
    photo = np.full((360, 640), 60, np.uint8)
    cv2.rectangle(photo, (250, 20), (250 + 230, 20 + 295), 225, -1)  # 1.28: a portrait photo standing up
    assert detect_card(photo) is None


def test_kyc_synth_films_every_capture_kind(tmp_path: Path) -> None:
    small = ("--size", "320x240", "--fps", "5", "--seconds", "0.4")
    for capture in Capture:
        kind = "passport" if capture in (Capture.OPEN_BOOKLET, Capture.FOREIGN) else "fr_cni_2021"
        done = run_kyc("synth", "document", str(tmp_path / f"{capture.value}.mp4"), "--type", kind,
                       "--capture", capture.value, *small, "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["capture"] == capture.value
    refused = run_kyc("synth", "document", str(tmp_path / "x.mp4"), "--type", "fr_cni_2021", "--capture",
                      "open_booklet", *small)
    assert refused.returncode == 2 and "for passports" in refused.stderr
    refused = run_kyc("synth", "selfie", str(tmp_path / "y.mp4"), "--capture", "sleeve", *small)
    assert refused.returncode == 2 and "--capture does not apply" in refused.stderr


def test_cut_off_needs_a_share_of_the_scanned_frames() -> None:
    settings = Settings()
    assert cut_off_share(1, 1, 24, settings) == (1.0, False)  # one frame never decides
    assert cut_off_share(3, 5, 24, settings)[1] is False  # 3 of 24 scanned frames: too few
    assert cut_off_share(20, 22, 24, settings)[1] is True
    assert cut_off_share(6, 24, 24, settings)[1] is False  # whole in most frames


# ---- generated captures --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory):
    """Generate and analyse (once per module) a document video; returns (evidence, labels)."""
    folder = tmp_path_factory.mktemp("shapes")
    analyser = DocumentAnalyser(default_registry(), ANY_PASSPORT)
    made: dict[tuple, tuple[DocumentEvidence, DocumentLabels]] = {}

    def _film(kind: DocumentType, capture: Capture, *, size: tuple[int, int] = FRAME, seed: int = 1,
              variant: DocumentVariant = DocumentVariant.GENUINE) -> tuple[DocumentEvidence, DocumentLabels]:
        key = (kind, capture, size, seed, variant)
        if key not in made:
            path = Path(folder) / f"{kind.value}-{capture.value}-{size[0]}-{seed}-{variant.value}.mp4"
            labels = make_document_video(path, document_type=kind, variant=variant, capture=capture, seed=seed,
                                         size=size, fps=10, seconds=2.0, today=TODAY)
            decoded = video.decode(path, max_side=ANY_PASSPORT.max_side, target_fps=ANY_PASSPORT.document_fps)
            made[key] = (analyser.analyse(decoded, today=TODAY), labels)
        return made[key]

    return _film


def _check(evidence: DocumentEvidence, name: str) -> bool | None:
    return next(c.passed for c in evidence.checks if c.name == name)


def _status(evidence: DocumentEvidence) -> Status:
    return decide(evidence, settings=ANY_PASSPORT).status


@pytest.mark.slow
def test_an_open_passport_is_read_on_its_data_page(film) -> None:
    evidence, labels = film(DocumentType.PASSPORT, Capture.OPEN_BOOKLET)
    assert evidence.mrz_lines == labels.mrz_lines
    assert _check(evidence, "colour") and _check(evidence, "tilted") and _check(evidence, "not_screen")


@pytest.mark.slow
def test_a_foreign_passport_is_not_cross_checked_at_french_positions(film) -> None:
    evidence, labels = film(DocumentType.PASSPORT, Capture.FOREIGN)
    assert labels.mrz_lines[0][2:5] != "FRA"
    assert evidence.mrz_lines == labels.mrz_lines
    assert not [c for c in evidence.checks if c.name.startswith("visual_zone")]
    assert FindingCode.PRINTED_FIELD_MISMATCH not in {f.code for f in evidence.findings}
    assert "printed fields not cross-checked" in evidence.note


@pytest.mark.slow
@pytest.mark.parametrize("kind", [DocumentType.FR_CNI_2021, DocumentType.FR_CNI_1988])
def test_a_gently_tilted_card_is_approved(film, kind: DocumentType) -> None:
    evidence, _ = film(kind, Capture.GENTLE_TILT)
    assert _check(evidence, "tilted"), evidence.scores
    assert _status(evidence) is Status.APPROVED, evidence.findings


@pytest.mark.slow
def test_a_640x360_passport_is_approved(film) -> None:
    evidence, labels = film(DocumentType.PASSPORT, Capture.STANDARD, size=(640, 360), seed=2)
    assert evidence.mrz_lines == labels.mrz_lines
    assert _status(evidence) is Status.APPROVED, evidence.findings


@pytest.mark.slow
def test_a_card_in_a_sleeve_is_read_and_never_refused(film) -> None:
    evidence, labels = film(DocumentType.FR_CNI_2021, Capture.SLEEVE)
    assert evidence.mrz_lines == labels.mrz_lines
    # read through the sleeve on whole frames, the names may lack per-glyph evidence: then a person
    # confirms them (mrz_uncertain), never a refusal
    assert _status(evidence) in (Status.APPROVED, Status.MANUAL_REVIEW), evidence.findings
    assert {f.code for f in evidence.findings} <= {FindingCode.MRZ_UNCERTAIN}, evidence.findings


@pytest.mark.slow
@pytest.mark.parametrize("kind", [DocumentType.FR_CNI_2021, DocumentType.PASSPORT])
def test_a_document_held_long_side_up_is_found_and_read(film, kind: DocumentType) -> None:
    evidence, labels = film(kind, Capture.UPRIGHT)
    corners = np.array(labels.corners[0])
    assert np.linalg.norm(corners[2] - corners[1]) > 1.3 * np.linalg.norm(corners[1] - corners[0])  # long side up
    assert evidence.mrz_lines == labels.mrz_lines
    assert _check(evidence, "tilted") and _check(evidence, "undamaged"), evidence.checks
    assert _status(evidence) is Status.APPROVED, evidence.findings


@pytest.mark.slow
def test_an_untilted_card_is_still_refused_with_the_gentle_threshold(film) -> None:
    evidence, _ = film(DocumentType.FR_CNI_2021, Capture.STANDARD, size=(640, 360), variant=DocumentVariant.NOT_TILTED)
    assert FindingCode.DOCUMENT_NOT_TILTED in {f.code for f in evidence.findings}
