"""Document validity from a parsed MRZ: expiry (read, or derived for the old French CNI) and holder's age.

A document expiring today is still valid: it is expired only when its expiry date is before `today`.

Old French CNI (1988-2021) carries no expiry in its MRZ, so it is derived from the card number's issue
month (YYMM; YY >= 88 is 19YY, else 20YY, since the card format dates from 1988):
- issued before 2 January 2004: 10 years;
- issued to a minor: 10 years;
- issued to an adult (18+ at issue) from 2 January 2004: 15 years (décret 2013-1188; the cards issued
  2004-01-02..2013-12-31 still print a date 10 years after issue, their real validity is 15 years).
Only the issue month is known. The first day of that month is assumed: it gives the earliest expiry
and the youngest age at issue, both conservative. The 2 January 2004 boundary is read as "January 2004
or later": 1 January is a public holiday in France, on which no card was issued, so every card of
January 2004 falls under the 15-year rule. A card is valid through the day before the anniversary
of its issue date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from kycengine.document.icao import FILLER
from kycengine.document.mrz import MRZ, MRZFormat, field_text
from kycengine.reasons import Reason
from kycengine.records import Record

ADULT_AGE = 18
_FR_CNI_15_YEARS_FROM = (2004, 1)  # issue month from which adults' cards last 15 years (décret 2013-1188)
_FR_CNI_PRINTED_10_YEARS_UNTIL = (2013, 12)  # last issue month whose printed expiry understates it
_FR_CNI_FIRST_YEAR = 1988


class ExpirySource(str, Enum):
    """Where the expiry date came from."""

    MRZ = "mrz"
    DERIVED_FR_CNI_1988 = "derived_fr_cni_1988"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Validity(Record):
    """Expiry and holder's age at `today`, with the reasons they give to refuse and how they were found."""

    expiry_date: date | None
    expiry_source: ExpirySource
    expired: bool | None
    holder_age: int | None
    underage: bool | None
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]


def age_on(birth: date, day: date) -> int:
    """Completed years between `birth` and `day` (someone born on 29 February ages on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _fr_cni_issue_month(card_number: str) -> date | None:
    """First day of the issue month encoded in an old CNI number's first four digits, or None."""
    yymm = card_number[:4]
    if not (len(yymm) == 4 and yymm.isascii() and yymm.isdigit()):
        return None
    yy, month = int(yymm[:2]), int(yymm[2:])
    year = (1900 if yy >= _FR_CNI_FIRST_YEAR % 100 else 2000) + yy
    return date(year, month, 1) if 1 <= month <= 12 else None


def _derive_fr_cni_expiry(mrz: MRZ, today: date, notes: list[str]) -> date | None:
    """Expiry of an old French CNI under the rules above; None (with a note) when it cannot be derived."""
    issued = _fr_cni_issue_month(mrz.fields.document_number)
    birth = mrz.fields.birth_date
    if issued is None:
        notes.append(f"card number {mrz.fields.document_number!r} does not start with an issue month YYMM")
        return None
    if issued > today:
        notes.append(f"issue month {issued:%Y-%m} is after today")
        return None
    if birth is None:
        notes.append("no birth date: the holder's age at issue is unknown")
        return None
    if (issued.year, issued.month) < (birth.year, birth.month):
        notes.append(f"issue month {issued:%Y-%m} is before the birth date {birth.isoformat()}")
        return None
    adult = age_on(birth, issued) >= ADULT_AGE
    modern = (issued.year, issued.month) >= _FR_CNI_15_YEARS_FROM
    years = 15 if adult and modern else 10
    notes.append(f"issued {issued:%Y-%m} (first day assumed) to {'an adult' if adult else 'a minor'}: {years} years")
    if years == 15 and (issued.year, issued.month) <= _FR_CNI_PRINTED_10_YEARS_UNTIL:
        notes.append("the printed expiry is 10 years after issue; décret 2013-1188 extends it to 15 years")
    return issued.replace(year=issued.year + years) - timedelta(days=1)


def assess_validity(mrz: MRZ, *, today: date) -> Validity:
    """Whether the document is expired and its holder under age at `today`; impossible dates are reasons."""
    reasons: list[Reason] = []
    notes: list[str] = []
    birth = mrz.fields.birth_date
    if birth is not None and birth > today:
        notes.append(f"birth date {birth.isoformat()} is after today")
        birth = None
    if birth is None:
        reasons.append(Reason.MRZ_INVALID_DATE)

    if mrz.format is MRZFormat.FR_CNI_1988:
        expiry = _derive_fr_cni_expiry(mrz, today, notes)
        source = ExpirySource.DERIVED_FR_CNI_1988 if expiry else ExpirySource.UNKNOWN
        if expiry is None:
            reasons.append(Reason.MRZ_INVALID_DATE)
    else:
        expiry = mrz.fields.expiry_date
        source = ExpirySource.MRZ if expiry else ExpirySource.UNKNOWN
        if expiry is None and field_text(mrz, "expiry_date").strip(FILLER):
            notes.append(f"expiry date {field_text(mrz, 'expiry_date')} is not a date")
            reasons.append(Reason.MRZ_INVALID_DATE)
        elif expiry is None:
            notes.append("the MRZ gives no expiry date")
        elif birth is not None and expiry <= birth:
            notes.append(f"expiry date {expiry.isoformat()} is not after the birth date")
            reasons.append(Reason.MRZ_INVALID_DATE)

    expired = None if expiry is None else expiry < today
    if expired:
        reasons.append(Reason.DOCUMENT_EXPIRED)
    age = None if birth is None else age_on(birth, today)
    underage = None if age is None else age < ADULT_AGE
    if underage:
        reasons.append(Reason.HOLDER_UNDERAGE)
    return Validity(expiry, source, expired, age, underage, tuple(dict.fromkeys(reasons)), tuple(notes))
