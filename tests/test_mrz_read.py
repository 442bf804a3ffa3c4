"""Reading MRZs from images: the ICAO specimens, rotations, sizes, images with no MRZ, and what a
single image confirms of its reading (generated stills, readings altered where no check digit looks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine.document import read_mrz
from kycengine.document.mrz import MRZFormat, parse
from kycengine.document.mrz_still import confirm_on_image, read_mrz_checked
from kycengine.document.reader import vote
from kycengine.document.types import DocumentType
from kycengine.settings import Settings
from kycengine.synth.mrz_stills import StillClass, make_still

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize("name,fmt,number", [
    ("icao-passport-td3.jpg", MRZFormat.TD3, "L898902C3"),
    ("icao-passport-td2.jpg", MRZFormat.TD2, "D23145890"),
])
def test_icao_specimens_read_with_every_check_digit_valid(specimens: Path, name: str,
                                                          fmt: MRZFormat, number: str) -> None:
    mrz = read_mrz(cv2.imread(str(specimens / name)), today=TODAY)
    assert mrz is not None and mrz.valid, mrz
    assert mrz.format is fmt and mrz.fields.document_number == number
    assert mrz.fields.surname == "ERIKSSON" and all(c.valid for c in mrz.checks)


@pytest.mark.parametrize("rotation", [cv2.ROTATE_180, cv2.ROTATE_90_CLOCKWISE])
def test_rotated_specimen_still_reads(specimens: Path, rotation: int) -> None:
    image = cv2.rotate(cv2.imread(str(specimens / "icao-passport-td3.jpg")), rotation)
    mrz = read_mrz(image, today=TODAY)
    assert mrz is not None and mrz.valid


def test_4k_image_reads(specimens: Path) -> None:
    image = cv2.resize(cv2.imread(str(specimens / "icao-passport-td2.jpg")), (3840, 2740))
    mrz = read_mrz(image, today=TODAY)
    assert mrz is not None and mrz.valid


@pytest.mark.parametrize("image", [
    np.zeros((100, 100, 3), np.uint8),
    np.full((720, 1280, 3), 255, np.uint8),
    (np.random.default_rng(1).random((480, 640, 3)) * 255).astype(np.uint8),
])
def test_images_without_mrz_give_none(image: np.ndarray) -> None:
    assert read_mrz(image, today=TODAY) is None


def test_vote_takes_the_majority_per_character() -> None:
    readings = [("AB1", "CD2"), ("AB7", "CD2"), ("XB1", "CD2"), ("AB1",)]
    assert vote(readings) == ("AB1", "CD2")
    assert vote([]) is None


def test_lookalike_in_a_passport_number_is_resolved_by_its_check_digit() -> None:
    from kycengine.document.mrz import MRZFields, compose, resolve_lookalikes

    fields = MRZFields(document_code="P", issuing_state="FRA", surname="BENARD",
                       given_names="JEAN LOIC", document_number="19OP67813", nationality="FRA",
                       birth_date=dt.date(1997, 10, 4), sex="M", expiry_date=dt.date(2029, 5, 5))
    lines = compose(MRZFormat.TD3, fields)
    misread = (lines[0], lines[1].replace("19OP", "190P", 1))
    assert resolve_lookalikes(MRZFormat.TD3, misread) == lines
    assert resolve_lookalikes(MRZFormat.TD3, lines) == lines
    wrong_digit = (lines[0], "29" + lines[1][2:])  # not a look-alike slip: left for the check to fail
    assert resolve_lookalikes(MRZFormat.TD3, wrong_digit) == wrong_digit


def test_line_variants_repair_one_extra_or_missing_glyph() -> None:
    from kycengine.document.mrz_ocr import line_variants

    assert "ABCD" in line_variants("ABXCD", 4)
    assert "AB<C" in line_variants("ABC", 4)
    assert line_variants("ABCD", 4) == ("ABCD",)


# ---- a single image confirms its reading or marks it uncertain -----------------------------------

def _cell(still, row: int, col: int) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 (pixels) of one MRZ character cell of an unrotated still (its MRZ box split evenly)."""
    (x0, y0), _, (x1, y1), _ = still.mrz_quad
    rows, cols = len(still.mrz_lines), len(still.mrz_lines[0])
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    return int(x0 + col * w), int(y0 + row * h), int(x0 + (col + 1) * w), int(y0 + (row + 1) * h)


def _changed(lines: tuple[str, ...], row: int, col: int, text: str) -> tuple[str, ...]:
    out = list(lines)
    out[row] = out[row][:col] + text + out[row][col + len(text):]
    return tuple(out)


# (row, column) of a name letter (no check digit covers it) and of the nationality code
_PLACES = {DocumentType.PASSPORT: ((0, 6), (1, 10)), DocumentType.FR_CNI_2021: ((2, 1), (1, 15))}


@pytest.mark.parametrize("kind", list(_PLACES))
@pytest.mark.parametrize("seed", [0, 1])
def test_a_valid_but_altered_reading_is_not_confirmed_by_the_image(kind: DocumentType, seed: int) -> None:
    still = make_still(StillClass.CLEAN, seed, document_type=kind)
    truth = parse("\n".join(still.mrz_lines), today=TODAY)
    clear = confirm_on_image(still.image, truth, Settings().mrz_confirm_margin)
    assert clear.evidence == "ocrb" and not clear.uncertain, clear.doubts
    (name_row, name_col), (code_row, code_col) = _PLACES[kind]
    letter = truth.lines[name_row][name_col]
    for lines, field in ((_changed(truth.lines, name_row, name_col, "F" if letter == "E" else "E"), "name"),
                         (_changed(truth.lines, code_row, code_col, "DEU" if truth.lines[code_row][code_col:code_col + 3]
                                   != "DEU" else "ITA"), "nationality")):
        wrong = parse("\n".join(lines), today=TODAY)
        assert wrong.valid  # the check digits cannot see either change
        checked = confirm_on_image(still.image, wrong, Settings().mrz_confirm_margin)
        assert checked.uncertain and any(field in d.split(" ")[0] for d in checked.doubts), checked.doubts


@pytest.mark.parametrize("kind", list(_PLACES))
def test_a_smudged_glyph_in_a_name_never_gives_a_sure_wrong_reading(kind: DocumentType) -> None:
    still = make_still(StillClass.CLEAN, 2, document_type=kind)
    (row, col), _ = _PLACES[kind]
    image = still.image.copy()
    x0, y0, x1, y1 = _cell(still, row, col)
    image[y0:y1, x0:x1] = cv2.GaussianBlur(image[y0:y1, x0:x1], (0, 0), (x1 - x0) / 4)  # smudged
    checked = read_mrz_checked(image, today=TODAY)
    assert checked is not None
    assert checked.mrz.lines == still.mrz_lines or checked.uncertain or not checked.mrz.valid, checked


def test_an_image_without_template_evidence_leaves_uncovered_names_unconfirmed() -> None:
    still = make_still(StillClass.CLEAN, 0, document_type=DocumentType.PASSPORT)
    truth = parse("\n".join(still.mrz_lines), today=TODAY)
    blank = np.full_like(still.image, 245)  # no band: only the check digits speak
    checked = confirm_on_image(blank, truth, Settings().mrz_confirm_margin)
    assert checked.evidence == "none"
    assert {d.split(" ")[0] for d in checked.doubts} >= {"surname", "given_names"}
