"""Accepted identity document kinds and their physical sizes."""

from __future__ import annotations

import enum


class DocumentType(str, enum.Enum):
    """Kinds of identity document kycengine accepts."""

    FR_CNI_1988 = "fr_cni_1988"  # French national ID card 1988-2021, 105x74 mm, 2x36 MRZ
    FR_CNI_2021 = "fr_cni_2021"  # French national ID card since 2021, ID-1, TD1 3x30 MRZ
    PASSPORT = "passport"  # passport data page, TD3 2x44 MRZ

    @property
    def size_mm(self) -> tuple[float, float]:
        """(width, height) of the card or data page in millimetres (ISO/IEC 7810, ICAO 9303)."""
        return _SIZES_MM[self]


_SIZES_MM: dict[DocumentType, tuple[float, float]] = {
    DocumentType.FR_CNI_1988: (105.0, 74.0),
    DocumentType.FR_CNI_2021: (85.6, 54.0),
    DocumentType.PASSPORT: (125.0, 88.0),
}
