"""Correct, not only valid: state codes from the ICAO list, no digit in a name, and characters that no
check digit confirms reported as uncertain (manual review), on hand-built OCR-B evidence.

The evidence is what the template reader sums per character cell: every glyph's correlation. Each
case starts from a clear reading of a known MRZ (the printed glyph 0.9, every other 0.3) and makes
the one confusion it is about: a near tie, a look-alike read better, a digit read better.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kycengine.decision import decide, reasons_for
from kycengine.document.card_mrz import unconfirmed_fields
from kycengine.document.icao_codes import STATE_CODES, is_state_code
from kycengine.document.layout import LAYOUTS
from kycengine.document.mrz import MRZ, MRZFields, MRZFormat, compose, parse, resolve_lookalikes
from kycengine.document.mrz_confirm import unconfirmed_in, vote_evidence
from kycengine.document.ocrb import GLYPHS
from kycengine.document.types import DocumentType
from kycengine.document.viz import FieldCheck, confirms
from kycengine.findings import Finding, FindingCode
from kycengine.reasons import Effect, Reason, Status
from kycengine.schema import DocumentEvidence, StageState
from kycengine.settings import Settings

TODAY = dt.date(2026, 11, 1)
MARGIN = Settings().mrz_confirm_margin
PASSPORT, OLD_CNI = LAYOUTS[DocumentType.PASSPORT], LAYOUTS[DocumentType.FR_CNI_1988]
SPECIMEN = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


def _passport(surname: str = "UNITED", nationality: str = "NLD", number: str = "L898902C3") -> tuple[str, ...]:
    return compose(MRZFormat.TD3, MRZFields("P", nationality, surname, "PIPPA", number, nationality,
                                            dt.date(1974, 8, 12), "F", dt.date(2030, 4, 15)))


def _evidence(lines: tuple[str, ...]) -> np.ndarray:
    """Clear evidence of `lines`: the printed glyph 0.9 in its cell, every other glyph 0.3."""
    sums = np.full((len(lines), len(lines[0]), len(GLYPHS)), 0.3, np.float32)
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            sums[row, col, GLYPHS.index(char)] = 0.9
    return sums


def _cell(lines: tuple[str, ...], row: int, text: str, offset: int = 0) -> int:
    return lines[row].index(text) + offset


def _set(sums: np.ndarray, row: int, col: int, **scores: float) -> None:
    for glyph, score in scores.items():
        sums[row, col, GLYPHS.index(glyph.removeprefix("d"))] = score


def _read(sums: np.ndarray, layout=PASSPORT) -> tuple[MRZ, list]:
    lines = vote_evidence(sums, layout)
    mrz = parse("\n".join(lines), today=TODAY, fmt=layout.mrz_format)
    return mrz, unconfirmed_in(sums, layout, mrz, 1, MARGIN)


def test_a_clear_reading_is_confirmed() -> None:
    lines = _passport()
    mrz, doubts = _read(_evidence(lines))
    assert mrz.lines == lines and mrz.valid and doubts == []


def test_a_look_alike_in_a_code_is_voted_from_the_list_and_never_confirmed_silently() -> None:
    lines = _passport()
    sums = _evidence(lines)
    _set(sums, 1, 10, M=0.9, N=0.88)  # nationality NLD: M read a little better than N
    mrz, doubts = _read(sums)
    assert mrz.fields.nationality == "NLD"  # MLD is no ICAO code: the list's best is NLD
    assert [(d.field, d.text) for d in doubts] == [("nationality", "NLD")]
    assert "MLD" in doubts[0].why


def test_a_code_read_clearly_outside_the_list_is_invalid_as_text() -> None:
    mrz = parse("\n".join(_passport()).replace("NLD", "MLD"), today=TODAY)
    assert not mrz.valid
    assert "issuing_state: 'MLD' is not an ICAO 9303 state code" in mrz.problems
    assert "nationality: 'MLD' is not an ICAO 9303 state code" in mrz.problems


def test_a_near_tie_in_a_td3_name_is_uncertain() -> None:
    lines = _passport()
    sums = _evidence(lines)
    _set(sums, 0, _cell(lines, 0, "UNITED", 1), M=0.9, N=0.895)  # UNITED read UMITED: no check digit sees it
    mrz, doubts = _read(sums)
    assert mrz.valid and mrz.fields.surname == "UMITED"
    assert [(d.field, d.text) for d in doubts] == [("surname", "UMITED")]


def test_a_digit_read_better_than_any_letter_in_a_name_is_uncertain() -> None:
    lines = _passport()
    sums = _evidence(lines)
    _set(sums, 0, _cell(lines, 0, "PIPPA"), d7=0.95, P=0.8)  # PIPPA read 7IPPA
    mrz, doubts = _read(sums)
    assert mrz.fields.given_names == "PIPPA"  # a name holds no digit ...
    assert [d.field for d in doubts] == ["given_names"]  # ... but the P was not what the evidence said
    assert "excludes" in doubts[0].why


def test_a_digit_in_a_name_makes_a_text_reading_invalid() -> None:
    mrz = parse("\n".join(_passport()).replace("PIPPA", "7IPPA"), today=TODAY)
    assert not mrz.valid and any(p.startswith("name:") for p in mrz.problems)


def test_a_swap_the_check_digit_cannot_see_is_uncertain_even_under_a_check() -> None:
    # The 1988 CNI's composite check covers the names; Z (35) and F (15) weigh the same mod 10.
    fields = MRZFields("ID", "FRA", "ZOLA", "EMILE", "880692310285", "FRA", dt.date(1970, 4, 2), "M",
                       department="692", office="023")
    lines = compose(MRZFormat.FR_CNI_1988, fields)
    sums = _evidence(lines)
    _set(sums, 0, 5, F=0.9, Z=0.895)
    mrz, doubts = _read(sums, OLD_CNI)
    assert mrz.valid and mrz.fields.surname == "FOLA"
    assert [d.field for d in doubts] == ["surname"]


def test_a_near_tie_a_passing_check_digit_would_have_seen_is_confirmed() -> None:
    fields = MRZFields("ID", "FRA", "ZOLA", "EMILE", "880692310285", "FRA", dt.date(1970, 4, 2), "M",
                       department="692", office="023")
    lines = compose(MRZFormat.FR_CNI_1988, fields)
    sums = _evidence(lines)
    _set(sums, 0, 6, O=0.9, Q=0.895)  # O (24) and Q (26): the composite check tells them apart
    mrz, doubts = _read(sums, OLD_CNI)
    assert mrz.lines == lines and mrz.valid and doubts == []


def test_two_look_alikes_that_cancel_in_the_document_number_check_are_uncertain() -> None:
    # LA989O2C3 has the check digit of L898902C3: both errors pass every check.
    lines = SPECIMEN
    sums = _evidence(lines)
    _set(sums, 1, 1, A=0.9, d8=0.89)
    _set(sums, 1, 5, O=0.9, d0=0.89)
    mrz, doubts = _read(sums)
    assert mrz.valid and mrz.fields.document_number == "LA989O2C3"
    assert [d.field for d in doubts] == ["document_number"]


def test_one_o_0_near_tie_under_a_passing_check_digit_is_confirmed() -> None:
    sums = _evidence(SPECIMEN)
    _set(sums, 1, 5, d0=0.9, O=0.89)
    mrz, doubts = _read(sums)
    assert mrz.lines == SPECIMEN and doubts == []


def test_a_reading_without_per_character_evidence_needs_its_names_confirmed() -> None:
    td3 = parse("\n".join(SPECIMEN), today=TODAY)
    assert [d.field for d in unconfirmed_fields(None, td3, MARGIN)] == ["surname", "given_names"]
    # IO0P67813 has the check digits of 19OP67813: a number with letters that look like digits
    swapped = _passport(number="IO0P67813")
    assert parse("\n".join(swapped), today=TODAY).valid
    assert "document_number" in [d.field for d in unconfirmed_fields(None, parse("\n".join(swapped), today=TODAY),
                                                                     MARGIN)]
    fields = MRZFields("ID", "FRA", "ZOLA", "EMILE", "880692310285", "FRA", dt.date(1970, 4, 2), "M",
                       department="692", office="023")
    cni = parse("\n".join(compose(MRZFormat.FR_CNI_1988, fields)), today=TODAY)
    assert unconfirmed_fields(None, cni, MARGIN) == []  # its composite check covers the names


@pytest.mark.parametrize(("name", "value", "printed", "score", "confirmed"), [
    ("surname", "UNITED", "UNITED", 0.95, True), ("surname", "UNITED", "Nom: UNITED", 0.95, True),
    ("surname", "UNITED", "UMITED", 0.95, False), ("surname", "UNITED", "UN1TED", 0.95, False),
    ("surname", "E-GALL", "LE GALL", 0.95, False), ("given_names", "ELODIE", "Elodie", 0.57, True),
    ("given_names", "JEAN LOIC", "jean,Loic", 0.71, True), ("given_names", "ELQDIE", "Elodie", 0.9, False)])
def test_only_an_exact_printed_line_confirms(name: str, value: str, printed: str, score: float,
                                             confirmed: bool) -> None:
    assert confirms(FieldCheck(name, value, printed, score, 0, True)) is confirmed


def test_an_uncertain_mrz_goes_to_a_person_never_approved() -> None:
    assert reasons_for(FindingCode.MRZ_UNCERTAIN, Settings()) == {Reason.MRZ_UNCERTAIN: Effect.REVIEW}
    evidence = DocumentEvidence(state=StageState.COMPLETE, findings=(Finding(FindingCode.MRZ_UNCERTAIN),))
    assert decide(evidence).status is Status.MANUAL_REVIEW


def test_state_codes_hold_icao_additions() -> None:
    for code in ("D", "UTO", "XXA", "XXB", "XXC", "XXX", "EUE", "UNO", "UNA", "UNK", "XOM", "XPO", "XCC", "XES",
                 "XIM", "XDC", "XBA", "GBD", "GBN", "GBO", "GBP", "GBS", "RKS", "FRA", "NLD", "CHE"):
        assert is_state_code(code), code
    assert not {"MLD", "CME", "UMD", "ZZZ"} & STATE_CODES
    germany = compose(MRZFormat.TD3, MRZFields("P", "D", "MUSTERMANN", "ERIKA", "C01X00T47", "D",
                                               dt.date(1964, 8, 12), "F", dt.date(2030, 10, 31)))
    assert "P<D<<MUSTERMANN" in germany[0] and parse("\n".join(germany), today=TODAY).valid


def test_a_look_alike_swap_needs_a_second_check_digit_to_confirm_it() -> None:
    fields = MRZFields("V", "FRA", "BENARD", "JEAN", "19OP67813", "FRA", dt.date(1997, 10, 4), "M",
                       dt.date(2029, 5, 5))
    passport, visa = compose(MRZFormat.TD3, fields), compose(MRZFormat.MRV_A, fields)
    misread_passport = (passport[0], passport[1].replace("19OP", "190P", 1))
    misread_visa = (visa[0], visa[1].replace("19OP", "190P", 1))
    assert resolve_lookalikes(MRZFormat.TD3, misread_passport) == passport  # the composite confirms
    assert resolve_lookalikes(MRZFormat.MRV_A, misread_visa) == misread_visa  # nothing would confirm it
    assert not parse("\n".join(misread_visa), today=TODAY, fmt=MRZFormat.MRV_A).valid


def test_a_clearly_read_code_or_name_off_the_lists_is_never_the_documents_word() -> None:
    # Read the same clear way frame after frame, no check digit fails: still not approved.
    mrz = parse("\n".join(_passport()).replace("NLD", "MLD").replace("PIPPA", "7IPPA"), today=TODAY)
    assert all(c.valid for c in mrz.checks) and not mrz.valid
    found = {(d.field, d.text) for d in unconfirmed_fields(None, mrz, MARGIN)}
    assert found == {("issuing_state", "MLD"), ("nationality", "MLD"), ("name", "UNITED/7IPPA")}


def test_a_name_with_letters_after_its_padding_is_invalid() -> None:
    # Tesseract dropped a name's first letter and read a stray O at the end of a 2021 card's line 3.
    lines = ("IDFRADYKRSHAAN6<<<<<<<<<<<<<<<", "9507281F3110094FRA<<<<<<<<<<<6")
    good = parse("\n".join((*lines, "LE<GALL<<LEA<CELINE<<<<<<<<<<<")), today=TODAY)
    shifted = parse("\n".join((*lines, "E<GALL<<LEA<CELINE<<<<<<<<<<<O")), today=TODAY)
    assert good.valid and not shifted.valid
    assert "name: characters after its filler padding" in shifted.problems
