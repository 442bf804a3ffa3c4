"""Reading MRZs from images: the ICAO specimens, rotations, sizes, and images with no MRZ."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np
import pytest

from kycengine.document import read_mrz
from kycengine.document.mrz import MRZFormat
from kycengine.document.reader import vote

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
