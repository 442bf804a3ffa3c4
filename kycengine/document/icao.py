"""ICAO 9303 character values and the 7-3-1 check digit, shared by the MRZ parser and the generator."""

from __future__ import annotations

import string

FILLER = "<"
MRZ_ALPHABET = frozenset(string.ascii_uppercase + string.digits + FILLER)
_WEIGHTS = (7, 3, 1)


def char_value(char: str) -> int:
    """Value of one MRZ character: digits as is, A=10..Z=35, filler 0 (ICAO 9303-3, 4.9)."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def check_digit(field: str) -> str:
    """Check digit of an MRZ field as a one-character string."""
    total = sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)
