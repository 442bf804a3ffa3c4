"""The document video generator: MRZ truth, variants, labels, determinism and the written video."""

from __future__ import annotations

from datetime import date

import cv2
import numpy as np
import pytest

from kycengine import video
from kycengine.document.mrz import parse, transliterate
from kycengine.document.types import DocumentType
from kycengine.errors import InvalidInput
from kycengine.reasons import Reason
from kycengine.synth.document_video import (
    DocumentLabels,
    DocumentVariant,
    document_video_frames,
    load_labels,
    make_document_video,
    sidecar_path,
)

SMALL = {"size": (480, 270), "fps": 10, "seconds": 1.0}
TODAY = date(2026, 11, 1)
LATER = date(2032, 6, 1)  # the first 2021 CNIs expire in 2031


@pytest.fixture(scope="module")
def make(tmp_path_factory):
    """Generate (once per module) a small video and return (path, labels)."""
    folder = tmp_path_factory.mktemp("documents")
    made: dict[tuple, tuple] = {}

    def _make(kind: DocumentType, variant: DocumentVariant = DocumentVariant.GENUINE, *, seed: int = 1,
              today: date = TODAY, name: str = ""):
        key = (kind, variant, seed, today, name)
        if key not in made:
            path = folder / f"{kind.value}_{variant.value}_{seed}{name}.mp4"
            made[key] = (path, make_document_video(path, document_type=kind, variant=variant, seed=seed,
                                                   today=today, **SMALL))
        return made[key]
    return _make


def _today(kind: DocumentType) -> date:
    return LATER if kind is DocumentType.FR_CNI_2021 else TODAY


def _readable(name: str) -> str:
    return " ".join(transliterate(name).split("<"))


@pytest.mark.parametrize("kind", list(DocumentType))
def test_genuine_mrz_parses_valid_and_matches_identity(make, kind):
    _, labels = make(kind)
    mrz = parse("\n".join(labels.mrz_lines), today=TODAY)
    identity = labels.identity
    assert mrz.valid and all(c.valid for c in mrz.checks) and labels.mrz_valid
    assert labels.expected_reasons == ()
    assert mrz.fields.document_number == identity.document_number
    assert mrz.fields.birth_date == identity.birth_date
    assert mrz.fields.sex == identity.sex
    assert mrz.fields.nationality == "FRA"
    assert mrz.fields.surname == _readable(identity.surname)[:len(mrz.fields.surname)]
    assert _readable(" ".join(identity.given_names)).startswith(mrz.fields.given_names)
    if kind is DocumentType.FR_CNI_1988:  # no expiry in the MRZ: the card number starts with YYMM
        assert mrz.fields.document_number[:4] == identity.issue_date.strftime("%y%m")
    else:
        assert mrz.fields.expiry_date == identity.expiry_date
    assert identity.expiry_date >= TODAY and identity.issue_date <= TODAY


@pytest.mark.parametrize("kind", list(DocumentType))
def test_mrz_corrupted_fails_exactly_one_check(make, kind):
    _, labels = make(kind, DocumentVariant.MRZ_CORRUPTED)
    mrz = parse("\n".join(labels.mrz_lines), today=TODAY)
    assert [c.valid for c in mrz.checks].count(False) == 1
    assert not labels.mrz_valid
    assert labels.expected_reasons == (Reason.MRZ_INCONSISTENT,)


@pytest.mark.parametrize("kind", list(DocumentType))
def test_expired_document_expires_before_today(make, kind):
    _, labels = make(kind, DocumentVariant.EXPIRED, today=_today(kind))
    assert labels.identity.expiry_date < labels.today == _today(kind)
    assert labels.expected_reasons == (Reason.DOCUMENT_EXPIRED,)
    assert labels.mrz_valid


def test_a_2021_card_cannot_be_expired_before_2031(tmp_path):
    with pytest.raises(InvalidInput, match="fr_cni_2021"):
        make_document_video(tmp_path / "x.mp4", document_type=DocumentType.FR_CNI_2021,
                            variant=DocumentVariant.EXPIRED, today=TODAY, **SMALL)


def test_labels_round_trip_through_the_json_sidecar(make):
    path, labels = make(DocumentType.PASSPORT)
    assert sidecar_path(path) == path.with_suffix(".json")
    assert load_labels(path) == labels
    assert DocumentLabels.from_dict(labels.to_dict()) == labels


def test_video_decodes_with_the_labelled_shape(make):
    path, labels = make(DocumentType.FR_CNI_1988)
    decoded = video.decode(path)
    assert (decoded.width, decoded.height) == (labels.width, labels.height) == SMALL["size"]
    assert decoded.fps == labels.fps == SMALL["fps"]
    assert decoded.frame_count == labels.frame_count == len(labels.corners) == 10
    assert decoded.codec == "h264"


def test_same_seed_gives_identical_frames():
    # Compared before encoding: x264's threaded encoder output can vary with the machine's load.
    first, first_frames = document_video_frames(document_type=DocumentType.FR_CNI_2021, seed=3, **SMALL)
    again, again_frames = document_video_frames(document_type=DocumentType.FR_CNI_2021, seed=3, **SMALL)
    other, other_frames = document_video_frames(document_type=DocumentType.FR_CNI_2021, seed=4, **SMALL)
    assert first == again != other
    frame = next(first_frames)
    assert np.array_equal(frame, next(again_frames))
    assert not np.array_equal(frame, next(other_frames))


def _card_chroma(path, labels: DocumentLabels) -> float:
    """Colour spread inside the document after removing the overall colour cast (grey world)."""
    spreads = []
    for frame, corners in zip(video.decode(path).frames, labels.corners):
        mask = np.zeros(frame.image.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, np.round(np.array(corners)).astype(np.int32), 1)
        pixels = frame.image[mask.astype(bool)].astype(np.float64)
        balanced = pixels / pixels.mean(axis=0)
        spreads.append(float(balanced.std(axis=1).mean()))
    return float(np.median(spreads))


def test_photocopy_has_no_colour_but_the_genuine_card_has(make):
    genuine = _card_chroma(*make(DocumentType.FR_CNI_1988))
    copy = _card_chroma(*make(DocumentType.FR_CNI_1988, DocumentVariant.PHOTOCOPY))
    assert copy < 0.012 and genuine > 2 * copy


def test_cut_off_keeps_a_corner_outside_in_every_frame(make):
    _, labels = make(DocumentType.FR_CNI_2021, DocumentVariant.CUT_OFF, today=LATER)
    corners = np.array(labels.corners)
    inside = ((corners[..., 0] >= 0) & (corners[..., 0] < labels.width)
              & (corners[..., 1] >= 0) & (corners[..., 1] < labels.height))
    assert (~inside).any(axis=1).all()
    _, genuine = make(DocumentType.FR_CNI_2021, today=LATER)
    corners = np.array(genuine.corners)
    assert (corners >= 0).all() and (corners[..., 0] < genuine.width).all() and (corners[..., 1] < genuine.height).all()


def _similarity_residual(labels: DocumentLabels) -> float:
    """Largest corner error (pixels) of the best similarity from frame 0's quadrilateral to each frame's."""
    corners = np.array(labels.corners, np.float64)
    worst = 0.0
    for quad in corners[1:]:
        matrix, _ = cv2.estimateAffinePartial2D(corners[0], quad, method=cv2.LMEDS)
        mapped = corners[0] @ matrix[:, :2].T + matrix[:, 2]
        worst = max(worst, float(np.abs(mapped - quad).max()))
    return worst


def test_not_tilted_moves_the_card_by_similarities_only(make):
    _, flat = make(DocumentType.PASSPORT, DocumentVariant.NOT_TILTED)
    _, tilted = make(DocumentType.PASSPORT)
    assert _similarity_residual(flat) < 0.05
    assert _similarity_residual(tilted) > 5.0


def test_other_photo_prints_someone_else(make):
    _, labels = make(DocumentType.FR_CNI_1988, DocumentVariant.OTHER_PHOTO)
    assert labels.portrait_person != labels.holder_person
    assert labels.expected_reasons == (Reason.FACE_MISMATCH,)
