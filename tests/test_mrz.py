"""MRZ parsing, composing and OCR correction: ICAO 9303 specimens, the old French CNI, broken input."""

from __future__ import annotations

import json
import random
from datetime import date

import pytest

from kycengine.document.icao import check_digit
from kycengine.document.mrz import (
    MRZ,
    MRZFields,
    MRZFormat,
    compose,
    correct_by_position,
    parse,
    transliterate,
)
from kycengine.errors import InvalidInput

TODAY = date(2026, 5, 1)

TD3_SPECIMEN = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
TD1_SPECIMEN = ("I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
TD2_SPECIMEN = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
CNI_VECTOR = ("IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<", "8806923102858CORINNE<<<<<<<6512068F6")
# Widely published specimen of the old card (department 932, office 013, given names truncated).
CNI_SPECIMEN = ("IDFRADOUEL<<<<<<<<<<<<<<<<<<<<932013", "0506932020438CHRISTIANE<<NI2906209F3")


def _parse(lines: tuple[str, ...] | list[str]) -> MRZ:
    return parse("\n".join(lines), today=TODAY)


@pytest.mark.parametrize(
    ("lines", "fmt", "number", "expiry", "optional"),
    [
        (TD3_SPECIMEN, MRZFormat.TD3, "L898902C3", date(2012, 4, 15), "ZE184226B"),
        (TD1_SPECIMEN, MRZFormat.TD1, "D23145890", date(2012, 4, 15), ""),
        (TD2_SPECIMEN, MRZFormat.TD2, "D23145890", date(2012, 4, 15), ""),
    ],
)
def test_icao_specimens(lines, fmt, number, expiry, optional):
    mrz = _parse(lines)
    assert mrz.format is fmt
    assert mrz.valid and mrz.score == 100 and mrz.problems == ()
    assert all(c.valid for c in mrz.checks)
    f = mrz.fields
    assert (f.issuing_state, f.surname, f.given_names, f.nationality) == ("UTO", "ERIKSSON", "ANNA MARIA", "UTO")
    assert (f.document_number, f.birth_date, f.sex, f.expiry_date) == (number, date(1974, 8, 12), "F", expiry)
    assert f.optional_data == optional


def test_old_french_cni_vector():
    mrz = _parse(CNI_VECTOR)
    assert mrz.format is MRZFormat.FR_CNI_1988
    assert mrz.valid, mrz.problems
    f = mrz.fields
    assert (f.document_code, f.issuing_state, f.nationality) == ("ID", "FRA", "FRA")
    assert (f.surname, f.given_names, f.sex) == ("BERTHIER", "CORINNE", "F")
    assert (f.document_number, f.birth_date, f.expiry_date) == ("880692310285", date(1965, 12, 6), None)
    assert [(c.field, c.found, c.valid) for c in mrz.checks] == [
        ("document_number", "8", True), ("birth_date", "8", True), ("composite", "6", True)]
    # The composite covers all of line 1 and line 2 up to (not including) the composite itself.
    assert check_digit(CNI_VECTOR[0] + CNI_VECTOR[1][:35]) == "6"


def test_old_french_cni_specimen_with_department_and_office():
    mrz = _parse(CNI_SPECIMEN)
    assert mrz.valid, mrz.problems
    f = mrz.fields
    assert (f.department, f.office, f.given_names, f.birth_date) == ("932", "013", "CHRISTIANE NI", date(1929, 6, 20))


def test_td2_starting_idfra_stays_td2():
    fields = MRZFields("ID", "FRA", "Martin", "Paul", "X12345678", "FRA", date(1980, 1, 1), "M", date(2030, 1, 1))
    composed = compose(MRZFormat.TD2, fields)
    assert composed[0] == "IDFRAMARTIN<<PAUL<<<<<<<<<<<<<<<<<<<"
    assert _parse(composed).format is MRZFormat.TD2


def _fields(fmt: MRZFormat) -> MRZFields:
    cni = fmt is MRZFormat.FR_CNI_1988
    return MRZFields(
        document_code={MRZFormat.TD3: "P", MRZFormat.MRV_A: "V", MRZFormat.MRV_B: "V"}.get(fmt, "ID"),
        issuing_state="FRA",
        surname="Lefèvre-D'Aubigné",
        given_names="Zoé Marie-Hélène",
        document_number="04122A010391" if cni else "19AB23456",
        nationality="FRA",
        birth_date=date(1965, 12, 6),
        sex="F",
        expiry_date=None if cni else date(2031, 2, 18),
        optional_data="" if cni else "AB12",
        department="2A0" if cni else "",
        office="013" if cni else "",
    )


@pytest.mark.parametrize("fmt", list(MRZFormat))
def test_compose_parse_round_trip(fmt):
    lines = compose(fmt, _fields(fmt))
    width = {MRZFormat.TD1: 30, MRZFormat.TD2: 36, MRZFormat.MRV_B: 36, MRZFormat.FR_CNI_1988: 36}.get(fmt, 44)
    assert len(lines) == (3 if fmt is MRZFormat.TD1 else 2)
    assert all(len(line) == width for line in lines)
    mrz = _parse(lines)
    assert mrz.format is fmt
    assert mrz.valid, mrz.problems
    assert mrz.fields.surname == "LEFEVRE D AUBIGNE"
    truncated = {MRZFormat.TD1: "ZOE MARIE H", MRZFormat.TD2: "ZOE MARIE HE", MRZFormat.MRV_B: "ZOE MARIE HE",
                 MRZFormat.FR_CNI_1988: "ZOE MARIE-HEL"}
    expected_given = truncated.get(fmt, "ZOE MARIE HELENE")
    assert mrz.fields.given_names == expected_given
    assert mrz.fields.birth_date == date(1965, 12, 6)
    assert compose(fmt, mrz.fields) == lines
    assert MRZ.from_dict(json.loads(json.dumps(mrz.to_dict()))) == mrz


def test_cni_given_names_are_separated_by_double_filler():
    lines = compose(MRZFormat.FR_CNI_1988, _fields(MRZFormat.FR_CNI_1988))
    assert lines[0] == "IDFRALEFEVRE<D<AUBIGNE<<<<<<<<2A0013"
    assert lines[1][13:27] == "ZOE<<MARIE<HEL"


def test_transliterate():
    assert transliterate("Éloïse-Anne d'Œuvre  Straße") == "ELOISE<ANNE<D<OEUVRE<STRASSE"


# (line, column) of one character inside each checked field and of each check digit, from ICAO 9303.
_CHECK_POSITIONS = {
    MRZFormat.TD3: {"document_number": [(1, 8), (1, 9)], "birth_date": [(1, 18), (1, 19)],
                    "expiry_date": [(1, 26), (1, 27)], "optional_data": [(1, 31), (1, 42)]},
    MRZFormat.TD2: {"document_number": [(1, 8), (1, 9)], "birth_date": [(1, 18), (1, 19)],
                    "expiry_date": [(1, 26), (1, 27)]},
    MRZFormat.TD1: {"document_number": [(0, 13), (0, 14)], "birth_date": [(1, 5), (1, 6)],
                    "expiry_date": [(1, 13), (1, 14)]},
    MRZFormat.MRV_A: {"document_number": [(1, 8), (1, 9)], "birth_date": [(1, 18), (1, 19)],
                      "expiry_date": [(1, 26), (1, 27)]},
    MRZFormat.MRV_B: {"document_number": [(1, 8), (1, 9)], "birth_date": [(1, 18), (1, 19)],
                      "expiry_date": [(1, 26), (1, 27)]},
    MRZFormat.FR_CNI_1988: {"document_number": [(1, 11), (1, 12)], "birth_date": [(1, 32), (1, 33)]},
}
_COMPOSITE = {MRZFormat.TD3: (1, 43), MRZFormat.TD2: (1, 35), MRZFormat.TD1: (1, 29), MRZFormat.FR_CNI_1988: (1, 35)}


def _flip(lines: tuple[str, ...], row: int, col: int) -> tuple[str, ...]:
    line = lines[row]
    new = str((int(line[col]) + 1) % 10) if line[col].isdigit() else "7"
    return (*lines[:row], line[:col] + new + line[col + 1:], *lines[row + 1:])


_FLIPS = [(fmt, field, pos) for fmt, table in _CHECK_POSITIONS.items() for field, spots in table.items() for pos in spots]


@pytest.mark.parametrize(("fmt", "field", "pos"), _FLIPS)
def test_each_check_digit_failure_is_reported_on_its_field(fmt, field, pos):
    lines = compose(fmt, _fields(fmt))
    mrz = _parse(_flip(lines, *pos))
    failed = {c.field for c in mrz.checks if not c.valid}
    assert failed == ({field, "composite"} if fmt in _COMPOSITE else {field})
    assert not mrz.valid
    assert mrz.score < 100
    assert any(p.startswith(f"{field}:") for p in mrz.problems)


@pytest.mark.parametrize("fmt", list(_COMPOSITE))
def test_composite_failure_alone(fmt):
    mrz = _parse(_flip(compose(fmt, _fields(fmt)), *_COMPOSITE[fmt]))
    assert [c.field for c in mrz.checks if not c.valid] == ["composite"]
    assert not mrz.valid


def test_cni_line_one_is_covered_by_composite():
    lines = compose(MRZFormat.FR_CNI_1988, _fields(MRZFormat.FR_CNI_1988))
    mrz = _parse(_flip(lines, 0, 31))  # inside the department code
    assert [c.field for c in mrz.checks if not c.valid] == ["composite"]


def test_parse_tolerates_whitespace_blank_lines_and_lowercase():
    text = "\n\n   " + TD3_SPECIMEN[0].lower().replace("<<anna", "<< anna") + "  \n\n\t" + TD3_SPECIMEN[1] + "\n"
    mrz = parse(text, today=TODAY, source="ocr:frame-12")
    assert mrz.valid and mrz.lines == TD3_SPECIMEN and mrz.source == "ocr:frame-12"


def test_correct_by_position_fixes_confusions_that_check_digits_confirm():
    noisy = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<KK<<X<<<K<<<<",
             "L898902C36UTO74O8I22F12O4I59ZE184226B<<<<<IO")
    assert correct_by_position(MRZFormat.TD3, noisy) == TD3_SPECIMEN
    noisy_digits = (TD3_SPECIMEN[0], "L898902C3GUTO740B12ZF12041S9ZE184226B<<<<<10")
    assert correct_by_position(MRZFormat.TD3, noisy_digits) == TD3_SPECIMEN
    fixed = correct_by_position(MRZFormat.TD3, noisy)
    assert _parse(fixed).valid and not _parse(noisy).valid


def test_digits_read_in_names_and_codes_are_kept_and_make_the_reading_invalid():
    # No check digit covers a TD3 name or a state code: 0 -> O there would be an unconfirmed guess.
    noisy = ("P<UT0ERIKSS0N<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<", TD3_SPECIMEN[1].replace("UTO", "UT0"))
    kept = correct_by_position(MRZFormat.TD3, noisy)
    assert kept == noisy
    mrz = _parse(kept)
    assert not mrz.valid
    assert {p.split(":")[0] for p in mrz.problems} >= {"name", "issuing_state", "nationality"}


def test_correct_by_position_leaves_ambiguous_characters():
    lines = ("P<UTOSMITH<<ERIK<ALEX<<<<<<<<<<<<<<<<<<<<<<<", "O8I8S2ZB<0UTO7408122F1204159ZE184226B<<<<<10")
    corrected = correct_by_position(MRZFormat.TD3, lines)
    assert corrected[0] == lines[0]  # K and X ending names are letters, not filler
    assert corrected[1][:9] == lines[1][:9]  # the document number may hold letters and digits


def test_correct_by_position_rejects_wrong_shape():
    with pytest.raises(InvalidInput):
        correct_by_position(MRZFormat.TD1, TD3_SPECIMEN)


def _td3_line2(birth: str, expiry: str) -> str:
    """TD3 line 2 built by hand with ICAO check digits, independent of the layout tables."""
    doc, opt = "L898902C3", "ZE184226B<<<<<"
    parts = [doc + check_digit(doc), birth + check_digit(birth), expiry + check_digit(expiry), opt + check_digit(opt)]
    return f"{parts[0]}UTO{parts[1]}F{parts[2]}{parts[3]}" + check_digit("".join(parts))


@pytest.mark.parametrize(
    ("birth", "expiry", "bad_field"),
    [("651306", "300115", "birth_date"), ("650101", "300230", "expiry_date"), ("010229", "300115", "birth_date"),
     ("650100", "300115", "birth_date"), ("650101", "301300", "expiry_date")],
)
def test_impossible_dates_are_problems_not_exceptions(birth, expiry, bad_field):
    mrz = _parse((TD3_SPECIMEN[0], _td3_line2(birth, expiry)))
    assert all(c.valid for c in mrz.checks)
    assert not mrz.valid and mrz.score < 100
    assert getattr(mrz.fields, bad_field) is None
    assert any(p.startswith(f"{bad_field}:") and "not a date" in p for p in mrz.problems)


def test_leap_day_in_a_leap_year_is_a_date():
    mrz = _parse((TD3_SPECIMEN[0], _td3_line2("000229", "280229")))
    assert mrz.valid
    assert (mrz.fields.birth_date, mrz.fields.expiry_date) == (date(2000, 2, 29), date(2028, 2, 29))


@pytest.mark.parametrize(
    ("birth", "today", "year"),
    [("650101", date(2026, 5, 1), 1965), ("250101", date(2026, 5, 1), 2025),
     ("260501", date(2026, 5, 1), 2026), ("260502", date(2026, 5, 1), 1926), ("991231", date(2000, 1, 1), 1999)],
)
def test_birth_year_is_never_in_the_future(birth, today, year):
    mrz = parse("\n".join((TD3_SPECIMEN[0], _td3_line2(birth, "300115"))), today=today)
    assert mrz.fields.birth_date is not None and mrz.fields.birth_date.year == year


@pytest.mark.parametrize(("expiry", "year"), [("120415", 2012), ("351231", 2035), ("751231", 2075), ("761231", 1976)])
def test_expiry_year_within_fifty_years_of_today(expiry, year):
    mrz = _parse((TD3_SPECIMEN[0], _td3_line2("650101", expiry)))
    assert mrz.fields.expiry_date is not None and mrz.fields.expiry_date.year == year


@pytest.mark.parametrize("text", ["", "   \n\n", "hello world", "P<UTO\nL898", "\n".join(TD1_SPECIMEN[:2]),
                                  TD3_SPECIMEN[0] + "\n" + TD3_SPECIMEN[1][:-1]])
def test_text_of_no_mrz_shape_raises_invalid_input(text):
    with pytest.raises(InvalidInput, match="not an MRZ"):
        parse(text, today=TODAY)


def test_mrz_shaped_garbage_gives_an_invalid_result():
    lines = (TD3_SPECIMEN[0], "L898902C*6UTO74É8122Q1204159ZE184226B<<<<<10")
    mrz = _parse(lines)
    assert not mrz.valid
    failed = {c.field for c in mrz.checks if not c.valid}
    assert failed == {"document_number", "birth_date", "composite"}
    assert any("outside the MRZ alphabet" in p for p in mrz.problems)
    assert any(p.startswith("sex:") for p in mrz.problems)


def test_random_input_never_raises_anything_but_invalid_input():
    rng = random.Random(9303)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<<<<<<<<éß*- "
    for _ in range(400):
        width, count = rng.choice([(30, 3), (36, 2), (44, 2), (36, 3), (35, 2)])
        head = rng.choice(["", "IDFRA", "V<", "P<", "I<"])
        lines = [(head + "".join(rng.choice(alphabet) for _ in range(width)))[:width] for _ in range(count)]
        try:
            mrz = parse("\n".join(lines), today=TODAY)
        except InvalidInput:
            continue
        assert 0 <= mrz.score <= 100
        assert mrz.valid == (not mrz.problems)


def test_score_drops_with_failures():
    good = _parse(TD3_SPECIMEN)
    one_bad = _parse(_flip(TD3_SPECIMEN, 1, 27))
    garbage = _parse((TD3_SPECIMEN[0], "L8989**C36UTO74O8122F1204159ZE184226B<<<<<10"))
    assert good.score == 100 > one_bad.score > garbage.score


@pytest.mark.parametrize(
    ("change", "message"),
    [({"document_number": "1234567890"}, "document_number"), ({"sex": "Q"}, "sex"),
     ({"issuing_state": "F*A"}, "issuing_state")],
)
def test_compose_rejects_fields_that_do_not_fit(change, message):
    fields = MRZFields.from_dict({**_fields(MRZFormat.TD3).to_dict(), **change})
    with pytest.raises(InvalidInput, match=message):
        compose(MRZFormat.TD3, fields)


def test_compose_truncates_long_names():
    fields = MRZFields("P", "FRA", "De La Fontaine Saint-Exupéry", "Antoine Jean-Baptiste Marie Roger",
                       "12AB34567", "FRA", date(1900, 6, 29), "M", date(2030, 1, 1))
    line1 = compose(MRZFormat.TD3, fields)[0]
    assert line1 == "P<FRADE<LA<FONTAINE<SAINT<EXUPERY<<ANTOINE<J"
    assert len(line1) == 44


def test_a_known_layout_is_kept_when_a_first_letter_is_misread() -> None:
    """A passport whose P is misread V: detected alone it is a visa (MRV-A, no composite check),
    parsed in the card's layout it stays a TD3 whose document code its format forbids."""
    fields = MRZFields("P", "FRA", "Martin", "Claire", "18AB12345", "FRA", date(1980, 1, 1), "F", date(2030, 1, 1))
    lines = list(compose(MRZFormat.TD3, fields))
    lines[0] = "V" + lines[0][1:]
    misread = "\n".join(lines)
    assert parse(misread, today=date(2026, 1, 1)).format is MRZFormat.MRV_A
    kept = parse(misread, today=date(2026, 1, 1), fmt=MRZFormat.TD3)
    assert kept.format is MRZFormat.TD3 and kept.fields.document_code == "V"
    with pytest.raises(InvalidInput, match="td1: expected 3 lines of 30"):
        parse(misread, today=date(2026, 1, 1), fmt=MRZFormat.TD1)
