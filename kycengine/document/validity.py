"""Document validity from a parsed MRZ: expiry (read, or derived for the old French CNI), the holder's
birth date and age, and dates impossible for the document. Every doubt goes to the customer.

Dates the MRZ leaves open are ranges, never a guess on the unfavourable side:
- The old French CNI (1988-2021) carries no expiry. It is derived from the issue month in the card
  number (YYMM; YY >= 88 is 19YY, else 20YY): 10 years (issued before 2 January 2004, or to a
  minor), 15 years for an adult's card issued from 2 January 2004 (décret 2013-1188; the cards issued
  2004-01-02..2013-12-31 still print a date 10 years after issue). The issue day is unknown, so the
  card's last valid day is a range over every day of that month (and over the holder being a minor or
  an adult that day when the 18th birthday falls in it). The card is expired only when it is expired
  on the latest possible day; when only earlier days make it expired, a person checks the printed
  dates (EXPIRY_UNCERTAIN). A card is valid through the day before the anniversary of its issue.
- The birth year has two digits. Both centuries are kept when they fit the document: not after
  today, at most MAX_AGE years ago, and not after the document's issue (the old CNI's issue month;
  the 2021 CNI's issue, 10 years before its expiry; a French passport's, 10 years before expiry for
  an adult, 5 for a minor). A holder born in 1925 is never read as born in 2025 on a card issued in
  2010. If both centuries remain, the holder's age is uncertain when they disagree about it.
- Issue dates impossible for the model (the old card issued after August 2021 or in the future, the
  2021 card issued before March 2021) are MRZ inconsistencies (MRZ_ISSUE_DATE_IMPOSSIBLE).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from kycengine.document.icao import FILLER
from kycengine.document.mrz import MRZ, MRZFormat, field_text
from kycengine.document.policy import document_type_of
from kycengine.document.types import DocumentType
from kycengine.findings import Finding, FindingCode
from kycengine.records import Record

ADULT_AGE = 18  # the age that decides the old CNI's 10 or 15 years (law, not bank policy)
MAX_AGE = 115  # older than this is older than anyone alive: not a reading of a holder's birth date
_FR_CNI_15_YEARS_FROM = date(2004, 1, 2)  # adults' cards issued from this day last 15 years
_FR_CNI_PRINTED_10_YEARS_UNTIL = date(2013, 12, 31)  # last issue day whose printed expiry understates it
_FR_CNI_FIRST_YEAR = 1988
_FR_CNI_1988_LAST_ISSUE = date(2021, 8, 31)  # no old-model card after August 2021
_FR_CNI_2021_FIRST_ISSUE = date(2021, 3, 1)  # the 2021 card's first issues (pilot, March 2021)
_FR_CNI_2021_YEARS = 10
_FR_PASSPORT_YEARS = (10, 5)  # adult, minor


class ExpirySource(str, Enum):
    """Where the expiry date came from."""

    MRZ = "mrz"
    DERIVED_FR_CNI_1988 = "derived_fr_cni_1988"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Validity(Record):
    """Expiry range, birth readings and age at `today`, with the findings they give and how."""

    expiry_first: date | None  # earliest possible last day of validity
    expiry_last: date | None  # latest possible last day of validity
    expiry_source: ExpirySource
    expired: bool | None  # expired even on the latest possible day; None when unknown
    birth_dates: tuple[date, ...]  # readings of the birth date that fit the document (usually one)
    holder_age: int | None  # completed years today on the youngest reading
    underage: bool | None  # under the minimum age on every reading; None when unknown or uncertain
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def expiry_date(self) -> date | None:
        """The last day of validity given the benefit of the doubt (the latest possible)."""
        return self.expiry_last


def age_on(birth: date, day: date) -> int:
    """Completed years between `birth` and `day` (someone born on 29 February ages on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def add_years(day: date, years: int) -> date:
    """The same day `years` later (or earlier); 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def last_valid_day(issued: date, years: int) -> date:
    """A document issued on `issued` for `years` is valid through the day before the anniversary."""
    return add_years(issued, years) - timedelta(days=1)


def _fr_cni_issue_month(card_number: str) -> tuple[date, date] | None:
    """First and last day of the issue month encoded in an old CNI number's first four digits."""
    yymm = card_number[:4]
    if not (len(yymm) == 4 and yymm.isascii() and yymm.isdigit()):
        return None
    yy, month = int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12:
        return None
    year = (1900 if yy >= _FR_CNI_FIRST_YEAR % 100 else 2000) + yy
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _fr_cni_years(birth: date | None, issued: date) -> tuple[int, ...]:
    """Possible validities of an old CNI issued on `issued` (both when the birth date is unknown)."""
    if issued < _FR_CNI_15_YEARS_FROM:
        return (10,)
    if birth is None:
        return (10, 15)
    return (15,) if age_on(birth, issued) >= ADULT_AGE else (10,)


def birth_readings(mrz: MRZ, today: date) -> tuple[date, ...]:
    """The birth date in both centuries, newest first, keeping readings not after today and not more
    than MAX_AGE years ago."""
    raw = field_text(mrz, "birth_date")
    if not (len(raw) == 6 and raw.isascii() and raw.isdigit()):
        return ()
    yy, month, day = int(raw[:2]), int(raw[2:4]), int(raw[4:])
    out = []
    for century in (today.year // 100 * 100, today.year // 100 * 100 - 100):
        try:
            born = date(century + yy, month, day)
        except ValueError:
            continue
        if born <= today and age_on(born, today) <= MAX_AGE:
            out.append(born)
    return tuple(out)


class _Assessor:
    """One assessment: collects findings and notes while the dates are worked out."""

    def __init__(self, mrz: MRZ, today: date, minimum_age: int) -> None:
        self.mrz, self.today, self.minimum_age = mrz, today, minimum_age
        self.kind = document_type_of(mrz)
        self.findings: list[Finding] = []
        self.notes: list[str] = []

    def find(self, code: FindingCode, detail: str) -> None:
        self.findings.append(Finding(code, detail))
        self.notes.append(detail)

    # -- issue ------------------------------------------------------------------------------------

    def _latest_issue(self, birth: date, expiry: date | None,
                      issue_month: tuple[date, date] | None) -> date:
        """The latest day the document can have been issued to someone born on `birth`."""
        if issue_month is not None:
            return issue_month[1]
        if expiry is None:
            return self.today
        if self.kind is DocumentType.FR_CNI_2021:
            return min(self.today, add_years(expiry + timedelta(days=1), -_FR_CNI_2021_YEARS))
        if self.kind is DocumentType.PASSPORT and self.mrz.fields.issuing_state == "FRA":
            adult_years, minor_years = _FR_PASSPORT_YEARS
            as_adult = add_years(expiry + timedelta(days=1), -adult_years)
            issued = as_adult if age_on(birth, as_adult) >= ADULT_AGE else \
                add_years(expiry + timedelta(days=1), -minor_years)
            return min(self.today, issued)
        return min(self.today, expiry)

    def _fr_cni_issue_month(self) -> tuple[date, date] | None:
        number = self.mrz.fields.document_number
        month = _fr_cni_issue_month(number)
        if month is None:
            self.find(FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE,
                      f"card number {number!r} does not start with an issue month YYMM")
        elif month[0] > self.today:
            self.find(FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE, f"issue month {month[0]:%Y-%m} is after today")
        elif month[0] > _FR_CNI_1988_LAST_ISSUE:
            self.find(FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE,
                      f"issue month {month[0]:%Y-%m}: no card of this model was issued after August 2021")
        else:
            return month
        return None

    def _check_fr_cni_2021_issue(self, expiry: date) -> None:
        issued = add_years(expiry + timedelta(days=1), -_FR_CNI_2021_YEARS)
        if issued < _FR_CNI_2021_FIRST_ISSUE:
            self.find(FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE,
                      f"expiry {expiry.isoformat()} means issued {issued.isoformat()}, before the 2021 card existed")
        elif issued > self.today:
            self.find(FindingCode.MRZ_ISSUE_DATE_IMPOSSIBLE,
                      f"expiry {expiry.isoformat()} means issued {issued.isoformat()}, after today")

    # -- expiry -----------------------------------------------------------------------------------

    def _mrz_expiry(self) -> date | None:
        expiry = self.mrz.fields.expiry_date
        raw = field_text(self.mrz, "expiry_date")
        if expiry is None and raw.strip(FILLER):
            self.find(FindingCode.MRZ_DATE_INVALID, f"expiry date {raw} is not a date")
        elif expiry is None:
            self.notes.append("the MRZ gives no expiry date")
        return expiry

    def _fr_cni_expiry(self, births: tuple[date, ...], month: tuple[date, date]) -> tuple[date, date]:
        """Earliest and latest last valid day over every issue day of the month and birth reading."""
        options = [(day, years) for day in _days(*month) for birth in (births or (None,))
                   if birth is None or birth <= day for years in _fr_cni_years(birth, day)]
        ends = [last_valid_day(day, years) for day, years in options]
        first, last = min(ends), max(ends)
        years = sorted({y for _, y in options})
        self.notes.append(f"issued in {month[0]:%Y-%m} (day unknown): {' or '.join(map(str, years))} years, "
                          f"valid until {first.isoformat()}..{last.isoformat()}")
        if 15 in years and month[0] <= _FR_CNI_PRINTED_10_YEARS_UNTIL:
            self.notes.append("the printed expiry is 10 years after issue; décret 2013-1188 extends it to 15 years")
        return first, last

    # -- the whole assessment ---------------------------------------------------------------------

    def run(self) -> Validity:
        mrz, today = self.mrz, self.today
        old_cni = mrz.format is MRZFormat.FR_CNI_1988
        month = self._fr_cni_issue_month() if old_cni else None
        expiry = None if old_cni else self._mrz_expiry()
        if self.kind is DocumentType.FR_CNI_2021 and expiry is not None:
            self._check_fr_cni_2021_issue(expiry)

        readings = birth_readings(mrz, today)
        raw_birth = field_text(mrz, "birth_date")
        births = tuple(b for b in readings if b <= self._latest_issue(b, expiry, month))
        if not readings:
            self.find(FindingCode.MRZ_DATE_INVALID, f"birth date {raw_birth} is not a past date")
        elif not births:
            self.find(FindingCode.MRZ_DATE_INVALID, f"birth date {raw_birth} is after the document's issue")
        elif len(births) > 1:
            self.notes.append(f"birth year ambiguous: {' or '.join(b.isoformat() for b in births)}")
        if expiry is not None and births and all(expiry <= b for b in births):
            self.find(FindingCode.MRZ_DATE_INVALID, f"expiry date {expiry.isoformat()} is not after the birth date")
            expiry = None

        first = last = None
        source = ExpirySource.UNKNOWN
        if month is not None:
            first, last = self._fr_cni_expiry(births, month)
            source = ExpirySource.DERIVED_FR_CNI_1988
        elif expiry is not None:
            first = last = expiry
            source = ExpirySource.MRZ
        expired = None if last is None else last < today
        if first is not None and last is not None and last < today:
            self.find(FindingCode.DOCUMENT_EXPIRED, f"expired on {last.isoformat()}")
        elif first is not None and last is not None and first < today:
            self.find(FindingCode.EXPIRY_UNCERTAIN,
                      f"expired if issued early in its month: valid until {first.isoformat()}..{last.isoformat()}")

        ages = [age_on(b, today) for b in births]
        under = [a < self.minimum_age for a in ages]
        underage = None if not ages or (any(under) and not all(under)) else all(under)
        if underage:
            self.find(FindingCode.HOLDER_UNDERAGE, f"holder aged {min(ages)}, under {self.minimum_age}")
        elif any(under):
            self.find(FindingCode.HOLDER_AGE_UNCERTAIN,
                      f"holder aged {' or '.join(map(str, ages))}: the birth century is ambiguous")
        return Validity(first, last, source, expired, births, min(ages) if ages else None, underage,
                        tuple(self.findings), tuple(dict.fromkeys(self.notes)))


def assess_validity(mrz: MRZ, *, today: date, minimum_age: int = ADULT_AGE) -> Validity:
    """Whether the document is expired and its holder under `minimum_age` at `today`, giving every
    doubt to the customer; impossible dates are findings."""
    return _Assessor(mrz, today, minimum_age).run()
