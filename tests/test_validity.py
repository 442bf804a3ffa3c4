"""Document validity: MRZ expiry, the old French CNI's derived expiry (a range: the issue day is
unknown), the birth century, the holder's age, dates impossible for the document. Doubt goes to the
customer: review, never a refusal."""

from __future__ import annotations

import json
from datetime import date

import pytest

from kycengine.document.icao import check_digit
from kycengine.document.mrz import MRZ, MRZFields, MRZFormat, compose, parse
from kycengine.document.validity import ExpirySource, Validity, assess_validity
from kycengine.findings import FindingCode as F

TODAY = date(2026, 5, 1)


def _cni(birth: date, issue_yymm: str, *, today: date = TODAY) -> MRZ:
    fields = MRZFields("ID", "FRA", "Martin", "Claire", f"{issue_yymm}75112345", "FRA", birth, "F")
    return parse("\n".join(compose(MRZFormat.FR_CNI_1988, fields)), today=today)


def _passport(birth: date, expiry: date, *, state: str = "FRA", today: date = TODAY) -> MRZ:
    fields = MRZFields("P", state, "Martin", "Claire", "18AB12345", state, birth, "F", expiry)
    return parse("\n".join(compose(MRZFormat.TD3, fields)), today=today)


def _cni_2021(birth: date, expiry: date, *, today: date = TODAY) -> MRZ:
    fields = MRZFields("ID", "FRA", "Martin", "Claire", "X4RTBPFW4", "FRA", birth, "F", expiry)
    return parse("\n".join(compose(MRZFormat.TD1, fields)), today=today)


def _codes(validity: Validity) -> set[F]:
    return {f.code for f in validity.findings}


@pytest.mark.parametrize(
    ("birth", "issue", "first", "last", "years"),
    [
        (date(1965, 12, 6), "0312", date(2013, 11, 30), date(2013, 12, 30), "10 years"),  # before 2 Jan 2004
        (date(1965, 12, 6), "0401", date(2013, 12, 31), date(2019, 1, 30), "10 or 15 years"),  # 1 Jan: 10
        (date(1965, 12, 6), "1312", date(2028, 11, 30), date(2028, 12, 30), "15 years"),
        (date(1965, 12, 6), "1401", date(2028, 12, 31), date(2029, 1, 30), "15 years"),
        (date(2000, 1, 1), "1005", date(2020, 4, 30), date(2020, 5, 30), "10 years"),  # minor at issue
        (date(1990, 6, 15), "0806", date(2018, 5, 31), date(2023, 6, 29), "10 or 15 years"),  # 18 mid-month
        (date(1990, 6, 1), "0806", date(2023, 5, 31), date(2023, 6, 29), "15 years"),  # 18 on the 1st
        (date(1965, 12, 6), "8806", date(1998, 5, 31), date(1998, 6, 29), "10 years"),  # YY 88 is 1988
    ],
)
def test_fr_cni_expiry_is_a_range_over_the_unknown_issue_day(birth, issue, first, last, years):
    validity = assess_validity(_cni(birth, issue), today=TODAY)
    assert validity.expiry_source is ExpirySource.DERIVED_FR_CNI_1988
    assert (validity.expiry_first, validity.expiry_last, validity.expiry_date) == (first, last, last)
    assert validity.expired == (last < TODAY)
    assert (F.DOCUMENT_EXPIRED in _codes(validity)) == (last < TODAY)
    assert any(f"{years}," in n for n in validity.notes), validity.notes


def test_a_card_of_an_unknown_issue_day_is_never_refused_as_expired_inside_that_month():
    mrz = _cni(date(1965, 12, 6), "1105")  # issued in May 2011 to an adult: 15 years
    for day in range(1, 31):  # every day of May 2026: expired for some issue days only
        validity = assess_validity(mrz, today=date(2026, 5, day))
        assert F.DOCUMENT_EXPIRED not in _codes(validity), day
        assert validity.expired is False
    assert F.EXPIRY_UNCERTAIN in _codes(assess_validity(mrz, today=date(2026, 5, 2)))
    assert not _codes(assess_validity(mrz, today=date(2026, 4, 30)))  # valid on every reading
    expired = assess_validity(mrz, today=date(2026, 5, 31))
    assert _codes(expired) == {F.DOCUMENT_EXPIRED} and expired.expired is True


def test_the_18th_birthday_inside_the_issue_month_gives_the_benefit_of_the_doubt():
    # Born 15 June 1996, card of June 2014: 10 years if issued before the 15th, 15 after.
    mrz = _cni(date(1996, 6, 15), "1406")
    validity = assess_validity(mrz, today=date(2026, 1, 10))
    assert validity.expired is False and F.EXPIRY_UNCERTAIN in _codes(validity)
    assert validity.expiry_last == date(2029, 6, 29)


def test_fr_cni_printed_date_understates_validity_for_adult_cards_2004_to_2013():
    extended = assess_validity(_cni(date(1965, 12, 6), "1312"), today=TODAY)
    not_extended = assess_validity(_cni(date(1965, 12, 6), "1401"), today=TODAY)
    assert any("2013-1188" in n for n in extended.notes)
    assert not any("2013-1188" in n for n in not_extended.notes)
    minor = assess_validity(_cni(date(2000, 1, 1), "1005"), today=TODAY)
    assert not any("2013-1188" in n for n in minor.notes)


@pytest.mark.parametrize(
    ("issue", "code", "note"),
    [
        ("3001", F.MRZ_ISSUE_DATE_IMPOSSIBLE, "after today"),  # issued in 2030
        ("2309", F.MRZ_ISSUE_DATE_IMPOSSIBLE, "after August 2021"),  # an old-model card "issued" in 2023
        ("2109", F.MRZ_ISSUE_DATE_IMPOSSIBLE, "after August 2021"),
        ("0813", F.MRZ_ISSUE_DATE_IMPOSSIBLE, "issue month"),  # month 13
        ("0800", F.MRZ_ISSUE_DATE_IMPOSSIBLE, "issue month"),  # month 0
    ],
)
def test_fr_cni_impossible_issue_dates(issue, code, note):
    validity = assess_validity(_cni(date(1965, 12, 6), issue), today=TODAY)
    assert code in _codes(validity)
    assert (validity.expiry_date, validity.expiry_source, validity.expired) == (None, ExpirySource.UNKNOWN, None)
    assert any(note in n for n in validity.notes)
    assert not _codes(assess_validity(_cni(date(1965, 12, 6), "2108"), today=TODAY)) & {code}


def test_fr_cni_issued_before_the_holder_was_born_is_an_invalid_date():
    validity = assess_validity(_cni(date(1995, 3, 10), "9001"), today=TODAY)
    assert F.MRZ_DATE_INVALID in _codes(validity)
    assert any("after the document's issue" in n for n in validity.notes)


def test_a_holder_born_in_1925_is_not_read_as_born_in_2025():
    mrz = _cni(date(1925, 3, 1), "1003", today=date(2026, 12, 3))
    assert mrz.fields.birth_date == date(2025, 3, 1)  # the MRZ alone cannot tell
    validity = assess_validity(mrz, today=date(2026, 12, 3))
    assert validity.birth_dates == (date(1925, 3, 1),)
    assert validity.holder_age == 101 and validity.underage is False
    assert not _codes(validity) & {F.MRZ_DATE_INVALID, F.HOLDER_UNDERAGE, F.HOLDER_AGE_UNCERTAIN}


def test_an_ambiguous_birth_century_makes_the_age_uncertain_not_underage():
    # French passport expiring 2030, birth year "15": a child's 5-year passport (born 2015) or a
    # 111-year-old's 10-year passport (born 1915): a person checks.
    validity = assess_validity(_passport(date(2015, 3, 1), date(2030, 1, 1)), today=TODAY)
    assert validity.birth_dates == (date(2015, 3, 1), date(1915, 3, 1))
    assert F.HOLDER_AGE_UNCERTAIN in _codes(validity) and F.HOLDER_UNDERAGE not in _codes(validity)
    assert validity.underage is None
    # a 2021 card expiring in 2034 was issued in 2024: born in 2015 or 1915, both before it
    card = assess_validity(_cni_2021(date(2015, 3, 1), date(2034, 1, 1)), today=TODAY)
    assert F.HOLDER_AGE_UNCERTAIN in _codes(card)


def test_fr_cni_with_impossible_birth_date():
    line1 = "IDFRAMARTIN<<<<<<<<<<<<<<<<<<<<<<<<<"
    head = "051275112345" + check_digit("051275112345") + "CLAIRE<<<<<<<<" + "651306" + check_digit("651306") + "F"
    mrz = parse(f"{line1}\n{head}{check_digit(line1 + head)}", today=TODAY)
    assert mrz.fields.birth_date is None
    validity = assess_validity(mrz, today=TODAY)
    assert F.MRZ_DATE_INVALID in _codes(validity)
    assert (validity.holder_age, validity.underage, validity.birth_dates) == (None, None, ())


@pytest.mark.parametrize(("expiry", "expired"), [(TODAY, False), (date(2026, 4, 30), True), (date(2026, 5, 2), False)])
def test_mrz_expiry_today_is_still_valid(expiry, expired):
    validity = assess_validity(_passport(date(1980, 1, 1), expiry), today=TODAY)
    assert validity.expiry_source is ExpirySource.MRZ
    assert validity.expiry_date == expiry
    assert validity.expired is expired
    assert (F.DOCUMENT_EXPIRED in _codes(validity)) is expired


@pytest.mark.parametrize(("birth", "age", "underage"), [
    (date(2008, 5, 1), 18, False), (date(2008, 5, 2), 17, True), (date(1980, 1, 1), 46, False)])
def test_holder_age_and_underage(birth, age, underage):
    validity = assess_validity(_passport(birth, date(2030, 1, 1)), today=TODAY)
    assert (validity.holder_age, validity.underage) == (age, underage)
    assert (F.HOLDER_UNDERAGE in _codes(validity)) is underage


def test_minimum_age_is_policy():
    mrz = _passport(date(2005, 1, 1), date(2030, 1, 1))
    assert F.HOLDER_UNDERAGE not in _codes(assess_validity(mrz, today=TODAY))
    assert F.HOLDER_UNDERAGE in _codes(assess_validity(mrz, today=TODAY, minimum_age=25))


def test_birth_date_after_today_is_an_invalid_date():
    mrz = _passport(date(2025, 6, 1), date(2035, 6, 1), today=TODAY)  # read in 2026, assessed as of 2020
    validity = assess_validity(mrz, today=date(2020, 1, 1))
    assert validity.birth_dates == (date(1925, 6, 1),)  # the only past reading
    mrz = _passport(date(2025, 6, 1), date(2035, 6, 1), today=TODAY)
    assert F.MRZ_DATE_INVALID not in _codes(assess_validity(mrz, today=TODAY))


def test_impossible_mrz_expiry_is_an_invalid_date():
    line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    parts = ["L898902C3" + check_digit("L898902C3"), "740812" + check_digit("740812"),
             "300230" + check_digit("300230"), "<" * 14 + "0"]
    mrz = parse(f"{line1}\n{parts[0]}UTO{parts[1]}F{parts[2]}{parts[3]}{check_digit(''.join(parts))}", today=TODAY)
    validity = assess_validity(mrz, today=TODAY)
    assert _codes(validity) == {F.MRZ_DATE_INVALID}
    assert (validity.expiry_date, validity.expiry_source, validity.expired) == (None, ExpirySource.UNKNOWN, None)


def test_expiry_before_birth_is_an_invalid_date():
    fine = assess_validity(_passport(date(1990, 1, 1), date(2012, 1, 1), today=date(1995, 1, 1)),
                           today=date(2011, 1, 1))
    assert F.MRZ_DATE_INVALID not in _codes(fine)
    # born 2005 (1905 would make the holder 121) with an expiry of 2004
    absurd = assess_validity(_passport(date(2005, 1, 1), date(2004, 1, 1)), today=TODAY)
    assert F.MRZ_DATE_INVALID in _codes(absurd)


def test_a_2021_card_issued_before_the_model_existed_is_inconsistent():
    early = assess_validity(_cni_2021(date(1980, 1, 1), date(2030, 6, 1)), today=TODAY)  # issued 2020-06
    assert F.MRZ_ISSUE_DATE_IMPOSSIBLE in _codes(early)
    fine = assess_validity(_cni_2021(date(1980, 1, 1), date(2031, 9, 1)), today=TODAY)
    assert not _codes(fine)
    future = assess_validity(_cni_2021(date(1980, 1, 1), date(2037, 1, 1)), today=TODAY)  # issued 2027
    assert F.MRZ_ISSUE_DATE_IMPOSSIBLE in _codes(future)


def test_validity_record_round_trips_through_json():
    validity = assess_validity(_cni(date(2010, 1, 1), "1401"), today=TODAY)  # 1910: older than anyone
    assert {F.HOLDER_UNDERAGE, F.DOCUMENT_EXPIRED} <= _codes(validity)
    assert Validity.from_dict(json.loads(json.dumps(validity.to_dict()))) == validity
