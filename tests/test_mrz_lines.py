"""Finding the MRZ's lines among clutter and at any angle; nothing found is None, never garbage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine.document import read_mrz
from kycengine.document.mrz_band import find_mrz_band
from kycengine.document.reader import default_reader
from kycengine.document.types import DocumentType
from kycengine.synth.mrz_stills import MRZStill, StillClass, make_still, turn_image

TODAY = dt.date(2026, 11, 1)
SEED = 11  # the benchmark's seeds start at 0; tests use others
KINDS = (DocumentType.PASSPORT, DocumentType.FR_CNI_2021)
CLUTTER = (StillClass.OCR_LINE_ABOVE, StillClass.OCR_LINE_BELOW, StillClass.TEXT_ROW_UNDER,
           StillClass.ANNOTATION_BOX)


def _inside(point: np.ndarray, quad: np.ndarray) -> bool:
    return cv2.pointPolygonTest(quad.astype(np.float32), (float(point[0]), float(point[1])), False) >= 0


def _assert_reads_correctly(still: MRZStill) -> None:
    mrz = read_mrz(still.image, today=TODAY)
    assert mrz is not None and mrz.valid, mrz
    assert mrz.lines == still.mrz_lines


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("still_class", CLUTTER)
def test_clutter_beside_the_mrz_is_not_taken_for_its_lines(still_class: StillClass, kind: DocumentType) -> None:
    still = make_still(still_class, SEED, document_type=kind)
    band = find_mrz_band(still.image)
    assert band is not None and band.icao_shaped
    assert band.line_count == len(still.mrz_lines) and band.characters == len(still.mrz_lines[0])
    assert _inside(band.corners.mean(axis=0), still.mrz_quad)
    _assert_reads_correctly(still)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("angle", [20.0, -15.0, 35.0, -160.0])
def test_page_rotated_by_any_angle_reads(angle: float, kind: DocumentType) -> None:
    still = make_still(StillClass.ROTATED, SEED, document_type=kind, angle=angle)
    band = find_mrz_band(still.image)
    assert band is not None and _inside(band.corners.mean(axis=0), still.mrz_quad)
    direction = band.corners[1] - band.corners[0]
    tilt = np.degrees(np.arctan2(-direction[1], direction[0]))  # counter-clockwise, like `angle`
    assert abs((tilt - angle + 90) % 180 - 90) < 2  # deskewed by the band's own angle
    _assert_reads_correctly(still)


@pytest.mark.parametrize("kind", KINDS)
def test_page_turned_a_quarter_with_a_red_overprint_reads(kind: DocumentType) -> None:
    _assert_reads_correctly(make_still(StillClass.TURNED_OVERPRINT, SEED, document_type=kind))


def test_blank_page_gives_none() -> None:
    assert read_mrz(make_still(StillClass.BLANK, SEED).image, today=TODAY) is None


def test_an_upside_down_mrz_is_never_read_as_lines() -> None:
    """`read_lines` reads a zone as it lies: an MRZ upside down has not the format's shape, so it
    gives None rather than a garbage reading (it reads once turned the right way up)."""
    still = make_still(StillClass.CLEAN, SEED)
    x, y = still.mrz_quad.min(axis=0).astype(int)
    x1, y1 = still.mrz_quad.max(axis=0).astype(int)
    zone = still.image[y - 10:y1 + 10, x - 10:x1 + 10]
    reader = default_reader()
    assert reader.read_lines(zone) == still.mrz_lines
    assert reader.read_lines(cv2.rotate(zone, cv2.ROTATE_180)) is None


def test_mrz_with_its_lines_scrambled_gives_none() -> None:
    """Print of the MRZ's size and pitch that is no MRZ (its columns shuffled) is not returned."""
    still = make_still(StillClass.CLEAN, SEED)
    x, y = still.mrz_quad.min(axis=0).astype(int)
    x1, y1 = still.mrz_quad.max(axis=0).astype(int)
    image = still.image.copy()
    pitch = (x1 - x) / 45
    cells = [image[y:y1, int(x + i * pitch):int(x + (i + 1) * pitch)].copy() for i in range(45)]
    order = np.random.default_rng(0).permutation(45)
    for i, j in enumerate(order):
        image[y:y1, int(x + i * pitch):int(x + i * pitch) + cells[j].shape[1]] = cells[j]
    assert read_mrz(image, today=TODAY) is None


@pytest.mark.parametrize("name", ["icao-passport-td3.jpg", "icao-passport-td2.jpg"])
@pytest.mark.parametrize("angle", [20.0, -15.0, 35.0])
def test_icao_specimens_read_at_any_angle(specimens: Path, name: str, angle: float) -> None:
    image = cv2.imread(str(specimens / name))
    assert image is not None
    upright = read_mrz(image, today=TODAY)
    turned = read_mrz(turn_image(image, angle)[0], today=TODAY)
    assert upright is not None and turned is not None and turned.valid
    assert turned.lines == upright.lines
