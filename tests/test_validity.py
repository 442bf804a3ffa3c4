"""Document validity: MRZ expiry, the old French CNI's derived expiry, holder's age, impossible dates."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kycengine.document.icao import check_digit
from kycengine.document.mrz import MRZ, MRZFields, MRZFormat, compose, parse
from kycengine.document.validity import ExpirySource, Validity, assess_validity
from kycengine.reasons import Reason

TODAY = date(2026, 5, 1)


def _cni(birth: date, issue_yymm: str, *, today: date = TODAY) -> MRZ:
    fields = MRZFields("ID", "FRA", "Martin", "Claire", f"{issue_yymm}75112345", "FRA", birth, "F")
    return parse("\n".join(compose(MRZFormat.FR_CNI_1988, fields)), today=today)


def _passport(birth: date, expiry: date, *, today: date = TODAY) -> MRZ:
    fields = MRZFields("P", "FRA", "Martin", "Claire", "18AB12345", "FRA", birth, "F", expiry)
    return parse("\n".join(compose(MRZFormat.TD3, fields)), today=today)


@pytest.mark.parametrize(
    ("birth", "issue", "expiry", "adult_note"),
    [
        (date(1965, 12, 6), "0312", date(2013, 11, 30), "an adult: 10 years"),   # before 2 Jan 2004
        (date(1965, 12, 6), "0401", date(2018, 12, 31), "an adult: 15 years"),   # January 2004: 15 years
        (date(1965, 12, 6), "1312", date(2028, 11, 30), "an adult: 15 years"),
        (date(1965, 12, 6), "1401", date(2028, 12, 31), "an adult: 15 years"),
        (date(2000, 1, 1), "1005", date(2020, 4, 30), "a minor: 10 years"),      # minor at issue
        (date(1990, 6, 15), "0806", date(2018, 5, 31), "a minor: 10 years"),     # turns 18 in the issue month
        (date(1990, 6, 1), "0806", date(2023, 5, 31), "an adult: 15 years"),     # 18 on the 1st of the month
        (date(1965, 12, 6), "8806", date(1998, 5, 31), "an adult: 10 years"),    # YY 88 is 1988
    ],
)
def test_fr_cni_derived_expiry(birth, issue, expiry, adult_note):
    validity = assess_validity(_cni(birth, issue), today=TODAY)
    assert validity.expiry_source is ExpirySource.DERIVED_FR_CNI_1988
    assert validity.expiry_date == expiry
    assert validity.expired == (expiry < TODAY)
    assert (Reason.DOCUMENT_EXPIRED in validity.reasons) == (expiry < TODAY)
    assert any(adult_note in n for n in validity.notes)


def test_fr_cni_printed_date_understates_validity_for_adult_cards_2004_to_2013():
    extended = assess_validity(_cni(date(1965, 12, 6), "1312"), today=TODAY)
    not_extended = assess_validity(_cni(date(1965, 12, 6), "1401"), today=TODAY)
    assert any("2013-1188" in n for n in extended.notes)
    assert not any("2013-1188" in n for n in not_extended.notes)
    minor = assess_validity(_cni(date(2000, 1, 1), "1005"), today=TODAY)
    assert not any("2013-1188" in n for n in minor.notes)


def test_fr_cni_still_valid_the_day_before_the_anniversary():
    mrz = _cni(date(1965, 12, 6), "1105")
    assert assess_validity(mrz, today=date(2026, 4, 30)).expired is False
    assert assess_validity(mrz, today=date(2026, 5, 1)).expired is True


@pytest.mark.parametrize(
    ("birth", "issue", "note"),
    [
        (date(1965, 12, 6), "3001", "after today"),          # issued in 2030
        (date(1995, 3, 10), "9001", "before the birth date"),
        (date(1965, 12, 6), "0813", "issue month"),          # month 13
        (date(1965, 12, 6), "0800", "issue month"),          # month 0
    ],
)
def test_fr_cni_impossible_issue_dates(birth, issue, note):
    validity = assess_validity(_cni(birth, issue), today=TODAY)
    assert Reason.MRZ_INVALID_DATE in validity.reasons
    assert (validity.expiry_date, validity.expiry_source, validity.expired) == (None, ExpirySource.UNKNOWN, None)
    assert any(note in n for n in validity.notes)


def test_fr_cni_with_impossible_birth_date():
    line1 = "IDFRAMARTIN<<<<<<<<<<<<<<<<<<<<<<<<<"
    head = "051275112345" + check_digit("051275112345") + "CLAIRE<<<<<<<<" + "651306" + check_digit("651306") + "F"
    mrz = parse(f"{line1}\n{head}{check_digit(line1 + head)}", today=TODAY)
    assert mrz.fields.birth_date is None
    validity = assess_validity(mrz, today=TODAY)
    assert validity.reasons == (Reason.MRZ_INVALID_DATE,)
    assert (validity.holder_age, validity.underage, validity.expiry_date) == (None, None, None)


@pytest.mark.parametrize(("expiry", "expired"), [(TODAY, False), (date(2026, 4, 30), True), (date(2026, 5, 2), False)])
def test_mrz_expiry_today_is_still_valid(expiry, expired):
    validity = assess_validity(_passport(date(1980, 1, 1), expiry), today=TODAY)
    assert validity.expiry_source is ExpirySource.MRZ
    assert validity.expiry_date == expiry
    assert validity.expired is expired
    assert (Reason.DOCUMENT_EXPIRED in validity.reasons) is expired


@pytest.mark.parametrize(("birth", "age", "underage"), [
    (date(2008, 5, 1), 18, False), (date(2008, 5, 2), 17, True), (date(1980, 1, 1), 46, False)])
def test_holder_age_and_underage(birth, age, underage):
    validity = assess_validity(_passport(birth, date(2030, 1, 1)), today=TODAY)
    assert (validity.holder_age, validity.underage) == (age, underage)
    assert (Reason.HOLDER_UNDERAGE in validity.reasons) is underage


def test_birth_date_after_today_is_an_invalid_date():
    mrz = _passport(date(2025, 6, 1), date(2035, 6, 1), today=TODAY)  # read in 2026, assessed as of 2020
    validity = assess_validity(mrz, today=date(2020, 1, 1))
    assert Reason.MRZ_INVALID_DATE in validity.reasons
    assert (validity.holder_age, validity.underage) == (None, None)
    assert Reason.HOLDER_UNDERAGE not in validity.reasons


def test_impossible_mrz_expiry_is_an_invalid_date():
    line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    parts = ["L898902C3" + check_digit("L898902C3"), "740812" + check_digit("740812"),
             "300230" + check_digit("300230"), "<" * 14 + "0"]
    mrz = parse(f"{line1}\n{parts[0]}UTO{parts[1]}F{parts[2]}{parts[3]}{check_digit(''.join(parts))}", today=TODAY)
    validity = assess_validity(mrz, today=TODAY)
    assert validity.reasons == (Reason.MRZ_INVALID_DATE,)
    assert (validity.expiry_date, validity.expiry_source, validity.expired) == (None, ExpirySource.UNKNOWN, None)


def test_expiry_before_birth_is_an_invalid_date():
    validity = assess_validity(_passport(date(1990, 1, 1), date(2012, 1, 1), today=date(1995, 1, 1)),
                               today=date(2011, 1, 1))
    assert Reason.MRZ_INVALID_DATE not in validity.reasons
    absurd = assess_validity(_passport(date(2020, 1, 1), date(2012, 1, 1)), today=TODAY)
    assert Reason.MRZ_INVALID_DATE in absurd.reasons


def test_validity_record_round_trips_through_json():
    validity = assess_validity(_cni(date(2010, 1, 1), "1401"), today=TODAY)
    assert Reason.HOLDER_UNDERAGE in validity.reasons and Reason.DOCUMENT_EXPIRED in validity.reasons
    assert Validity.from_dict(json.loads(json.dumps(validity.to_dict()))) == validity
