"""Declared identity values at the boundary: plausible names, places, dates and document numbers.

A bank forwards what its customer typed; anything that cannot be a French name, place or birth date
is refused at once with `InvalidRequest` (a clear message naming the field), before any video is read.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import TYPE_CHECKING

from .errors import InvalidRequest

if TYPE_CHECKING:
    from .schema import DeclaredIdentity

_NAME_PUNCTUATION = frozenset(" -'\u2019\u02bc.")
_PLACE_PUNCTUATION = _NAME_PUNCTUATION | frozenset("()0123456789")
_LIMITS = {"surname": 80, "given_names": 120, "birth_place": 80}
_OLDEST = dt.date(1900, 1, 1)


def _check_text(name: str, value: object, allowed: frozenset[str]) -> None:
    if not isinstance(value, str):
        raise InvalidRequest(f"declared {name}: expected a string, got {type(value).__name__}")
    if not 1 <= len(value) <= _LIMITS[name]:
        raise InvalidRequest(f"declared {name}: 1 to {_LIMITS[name]} characters, got {len(value)}")
    stray = sorted({c for c in unicodedata.normalize("NFC", value)
                    if not (unicodedata.category(c)[0] in "LM" or c in allowed)})
    if stray:
        raise InvalidRequest(f"declared {name}: only letters, spaces, hyphens, apostrophes and full stops"
                             f"{' (and digits, brackets)' if allowed is _PLACE_PUNCTUATION else ''}"
                             f" are allowed, found {''.join(stray)!r}")
    if not any(c.isalpha() for c in value):
        raise InvalidRequest(f"declared {name}: has no letter")


def check_declared(declared: DeclaredIdentity) -> None:
    """Raise InvalidRequest unless every declared value is plausible: names of letters (accents too),
    spaces, hyphens, apostrophes and full stops ("ép."), within length limits; a birth date from 1900
    to today; a document number of 1 to 20 letters and digits."""
    _check_text("surname", declared.surname, _NAME_PUNCTUATION)
    _check_text("given_names", declared.given_names, _NAME_PUNCTUATION)
    if declared.birth_place is not None:
        _check_text("birth_place", declared.birth_place, _PLACE_PUNCTUATION)
    if declared.birth_date is not None:
        today = dt.date.today()
        if not _OLDEST <= declared.birth_date <= today:
            raise InvalidRequest(f"declared birth_date {declared.birth_date.isoformat()}: must be between "
                                 f"{_OLDEST.isoformat()} and today ({today.isoformat()})")
    number = declared.document_number
    if number is not None and not (isinstance(number, str) and 1 <= len(number) <= 20
                                   and number.isascii() and number.isalnum()):
        raise InvalidRequest(f"declared document_number {number!r}: 1 to 20 letters and digits")
