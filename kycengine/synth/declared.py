"""Declared identities for a generated document, each with the outcome the comparison must give.

From a document's ground truth (`DocumentLabels.identity`): the holder's identity as a customer
types it, the forms the rules tolerate (accents dropped, capitals or lower case, hyphens as spaces,
apostrophe or space dropped, first given name only, given names reordered, the usage name, ICAO
spellings), a typing slip, and someone else's (another surname, given name or birth place, a
birth date a day, a month or a year off, a whole other identity). Each case gives its outcome with
the printed zone read as printed (`printed_identity`) and with nothing read on it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..declared import Outcome, mrz_names_filled
from ..document.mrz import parse
from ..document.printed import IDENTITY_LINES, LineState, PrintedIdentity, PrintedLine, value_of
from ..names import edit_distance, letters, words
from ..records import Record
from ..schema import DeclaredIdentity
from . import documents
from .identity import (
    _GIVEN_NAMES,
    _PLACES,
    _SURNAMES,
    DEFAULT_TODAY,
    Identity,
    UsageMention,
    add_years,
    random_identity,
)

_ICAO_SPELLINGS = {"Ä": "Ae", "Å": "Aa", "Ö": "Oe", "Ø": "Oe", "Ü": "Ue", "ä": "ae", "å": "aa", "ö": "oe",
                   "ø": "oe", "ü": "ue"}
_MISMATCH, _UNKNOWN, _TOLERATED, _MATCH = Outcome.MISMATCH, Outcome.UNKNOWN, Outcome.TOLERATED, Outcome.MATCH


@dataclasses.dataclass(frozen=True)
class DeclaredCase(Record):
    """A declared identity for a document and the outcome the comparison must give."""

    name: str
    declared: DeclaredIdentity
    expected: Outcome  # with the printed zone read as printed
    expected_mrz_only: Outcome  # with nothing read on the printed zone


def printed_identity(identity: Identity) -> PrintedIdentity:
    """What a perfect reading of `identity`'s printed zone gives: each line its design prints, read."""
    values = documents.field_values(identity)
    printed = {t.key for t in documents.DESIGNS[identity.document_type].texts}

    def line(name: str) -> PrintedLine | None:
        if name not in printed:
            return None
        if name not in values:
            return PrintedLine(LineState.BLANK)
        return PrintedLine(LineState.READ, value_of(name, values[name]), values[name], 1.0)

    return PrintedIdentity(**{name: line(name) for name in IDENTITY_LINES})


def _plain_letters(text: str) -> str:
    """`text` without its accents (case, hyphens and apostrophes kept)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _far(a: str, b: str) -> bool:
    """Names clearly apart: no word in common, at least three slips between their letters."""
    return not set(words(a)) & set(words(b)) and edit_distance(letters(a), letters(b)) >= 3


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _shifted(day: dt.date, rng: np.random.Generator, unit: str) -> dt.date:
    """`day` a day, a month or a year earlier or later."""
    step = 1 if rng.random() < 0.5 else -1
    if unit == "day":
        return day + dt.timedelta(days=step)
    if unit == "year":
        return add_years(day, step)
    month = (day.month - 1 + step) % 12 + 1
    return day.replace(year=day.year + (day.month - 1 + step) // 12, month=month, day=min(day.day, 28))


def _mrz_given_names(identity: Identity) -> tuple[str, bool]:
    """The letters of the given names the document's MRZ shows, and whether its field is filled up."""
    lines = documents.mrz_lines(identity)
    shown = letters(parse("\n".join(lines), today=identity.issue_date).fields.given_names)
    return shown, mrz_names_filled(identity.document_type, lines)[1]


def declared_cases(identity: Identity, rng: np.random.Generator) -> tuple[DeclaredCase, ...]:
    """Declarations for `identity`'s document: the holder's own forms, then someone else's."""
    return tuple(_cases(identity, rng))


def _cases(identity: Identity, rng: np.random.Generator) -> Iterator[DeclaredCase]:
    surname, given = identity.surname, " ".join(identity.given_names)
    own = DeclaredIdentity(surname, given, identity.birth_date)

    def case(name: str, expected: Outcome, mrz_only: Outcome, **changes: Any) -> DeclaredCase:
        return DeclaredCase(name, dataclasses.replace(own, **changes), expected, mrz_only)

    yield case("exact", _MATCH, _MATCH)
    if _plain_letters(surname + given) != surname + given:
        yield case("accents_dropped", _MATCH, _MATCH, surname=_plain_letters(surname), given_names=_plain_letters(given))
    yield case("capitals", _MATCH, _MATCH, surname=surname.upper(), given_names=given.upper())
    yield case("lower_case", _MATCH, _MATCH, surname=surname.lower(), given_names=given.lower())
    if "-" in surname + given:
        yield case("hyphens_as_spaces", _MATCH, _MATCH, surname=surname.replace("-", " "),
                   given_names=given.replace("-", " "))
    if "'" in surname:
        yield case("apostrophe_dropped", _MATCH, _MATCH, surname=surname.replace("'", ""))
    if " " in surname:
        yield case("spaces_dropped", _MATCH, _MATCH, surname=surname.replace(" ", ""))
    if any(c in _ICAO_SPELLINGS for c in surname) and len(letters(surname)) >= 5:
        icao = "".join(_ICAO_SPELLINGS.get(c, c) for c in surname)  # one more letter: a near miss for the MRZ
        yield case("icao_spelling", _TOLERATED, _UNKNOWN, surname=icao)
    shown, filled = _mrz_given_names(identity)
    if len(identity.given_names) > 1:
        first = identity.given_names[0]  # the MRZ alone cannot tell it from the whole when it shows no more
        yield case("first_given_name", _TOLERATED, _MATCH if letters(first).startswith(shown) else _TOLERATED,
                   given_names=first)
        reordered = " ".join(reversed(identity.given_names))  # the MRZ alone: unknown when it may be cut
        yield case("given_names_reordered", _TOLERATED, _UNKNOWN if filled else _TOLERATED, given_names=reordered)
    if identity.usage is not None:
        usage = identity.usage
        yield case("usage_name", _TOLERATED, _UNKNOWN, surname=usage.name)
        if usage.mention is not UsageMention.NONE:  # "Dupont épouse Martin", the mention in full
            word = documents.USAGE_MENTIONS[(usage.mention, identity.sex)][0]
            yield case("birth_and_usage_names", _TOLERATED, _UNKNOWN, surname=f"{surname} {word} {usage.name}")
    plain = letters(surname)
    swaps = [i for i in range(len(plain) // 2, len(plain) - 1) if plain[i] != plain[i + 1]]
    if len(plain) >= 5 and swaps:  # two neighbouring letters typed the wrong way round
        at = swaps[0]
        yield case("surname_typing_slip", _UNKNOWN, _UNKNOWN,
                   surname=plain[:at] + plain[at + 1] + plain[at] + plain[at + 2:])
    # someone else
    used = [surname] + ([identity.usage.name] if identity.usage else [])
    others = [s for s in _SURNAMES if all(_far(s, u) for u in used)]
    yield case("other_surname", _MISMATCH, _UNKNOWN, surname=_pick(rng, others))
    names = [n for n in _GIVEN_NAMES[identity.sex] if all(_far(n, g) for g in identity.given_names)]
    yield case("other_given_name", _MISMATCH, _UNKNOWN if filled else _MISMATCH,  # names past a cut may be any
               given_names=_pick(rng, names))
    for unit in ("day", "month", "year"):
        yield case(f"birth_{unit}_off", _MISMATCH, _MISMATCH, birth_date=_shifted(identity.birth_date, rng, unit))
    someone = random_identity(rng, identity.document_type, today=DEFAULT_TODAY)
    if someone.birth_date.strftime("%y%m%d") == identity.birth_date.strftime("%y%m%d"):
        someone = dataclasses.replace(someone, birth_date=_shifted(someone.birth_date, rng, "year"))
    yield case("someone_else", _MISMATCH, _MISMATCH, surname=someone.surname, given_names=" ".join(someone.given_names),
               birth_date=someone.birth_date)
    # the birth place, optional: compared with the printed zone only
    on_card = printed_identity(identity).birth_place is not None
    place = identity.birth_place
    yield case("birth_place", _MATCH if on_card else _UNKNOWN, _UNKNOWN, birth_place=place)
    if place.startswith("Saint-"):
        yield case("birth_place_abbreviated", _MATCH if on_card else _UNKNOWN, _UNKNOWN,
                   birth_place="St " + _plain_letters(place.removeprefix("Saint-")))
    elsewhere = [city for city, _ in _PLACES
                 if edit_distance(letters(city), letters(place)) >= max(3, len(letters(place)) // 2)]
    yield case("other_birth_place", _MISMATCH if on_card else _UNKNOWN, _UNKNOWN, birth_place=_pick(rng, elsewhere))
