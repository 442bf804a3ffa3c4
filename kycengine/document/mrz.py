"""Parse, compose and OCR-correct machine-readable zones: ICAO 9303 TD1/TD2/TD3/MRV and the 1988 French CNI.

Every format is described once, as data (`LAYOUTS`): lines of fixed-width slots, each knowing what its
characters may be and which logical field it feeds; check-digit slots name the slots they cover.
Parsing, composing, OCR correction, format detection and scoring are all driven by that table.

Error policy: `parse` raises `InvalidInput` for text shaped like no MRZ (line count or line lengths);
an MRZ-shaped text with bad check digits, impossible dates or stray characters returns `MRZ(valid=False)`
with the failed `checks` and readable `problems`. It never raises anything else.

Two-digit years: a birth year is the latest year (this century or the last) that does not put the
birth date after `today`; an expiry year is the one within [today.year - 50, today.year + 50), i.e.
20YY for every realistic document and 19YY only for a document that expired long ago.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from kycengine.document.icao import FILLER, MRZ_ALPHABET, check_digit
from kycengine.document.icao_codes import is_state_code
from kycengine.errors import InvalidInput
from kycengine.records import Record


class MRZFormat(str, Enum):
    """MRZ layouts the engine reads and writes."""

    TD1 = "td1"
    TD2 = "td2"
    TD3 = "td3"
    MRV_A = "mrv_a"
    MRV_B = "mrv_b"
    FR_CNI_1988 = "fr_cni_1988"


class CharClass(str, Enum):
    """What a slot's characters may be; drives detection, OCR correction and scoring."""

    DIGIT = "digit"
    ALPHA = "alpha"
    ALNUM = "alnum"
    NAME = "name"  # letters; the filler runs of a name may be misread as K or X


_ALLOWED: dict[CharClass, frozenset[str]] = {
    CharClass.DIGIT: frozenset(string.digits + FILLER),
    CharClass.ALPHA: frozenset(string.ascii_uppercase + FILLER),
    CharClass.ALNUM: MRZ_ALPHABET,
    CharClass.NAME: frozenset(string.ascii_uppercase + FILLER),
}
# Letters read in a digit slot: every digit slot is under a check digit, which confirms the change.
# Digits read in a letter slot (names, codes, sex) are left as read: no check digit covers a TD3 name
# or a code, so a digit there makes the reading invalid rather than silently "corrected".
_TO_DIGIT = str.maketrans("OIBSZGDQ", "01852600")
_CODE_FIELDS = ("issuing_state", "nationality")
_CLASS_NAMES = {CharClass.DIGIT: "a digit", CharClass.ALPHA: "a letter", CharClass.NAME: "a letter"}
_DATE_FIELDS = ("birth_date", "expiry_date")
_SEX_CODES = {"M": "M", "F": "F", "X": FILLER, FILLER: FILLER}


@dataclass(frozen=True)
class Slot:
    """One fixed-width run of an MRZ line: a piece of a logical field, or a check digit."""

    name: str
    length: int
    cls: CharClass
    field: str | None = None  # the MRZFields field (or "name") it feeds; None for check digits
    covers: tuple[str, ...] = ()  # for a check digit: the slots it is computed over, in order

    @property
    def is_check(self) -> bool:
        """True for a check-digit slot."""
        return bool(self.covers)


def _part(name: str, length: int, cls: CharClass, field: str | None = None) -> Slot:
    return Slot(name, length, cls, field or name)


def _check(label: str, *covers: str) -> Slot:
    return Slot(f"{label}_check", 1, CharClass.DIGIT, None, covers)


@dataclass(frozen=True)
class Layout:
    """A whole MRZ format: its lines of slots, the line-1 prefix it requires and name joining."""

    format: MRZFormat
    lines: tuple[tuple[Slot, ...], ...]
    prefix: str = ""
    given_names_separator: str = FILLER

    @property
    def width(self) -> int:
        """Characters per line."""
        return sum(s.length for s in self.lines[0])

    def positions(self) -> Iterator[tuple[int, int, Slot]]:
        """(line index, start column, slot) for every slot, in reading order."""
        for row, slots in enumerate(self.lines):
            col = 0
            for slot in slots:
                yield row, col, slot
                col += slot.length

    def field_slots(self, field: str) -> tuple[Slot, ...]:
        """Slots feeding a logical field, in reading order."""
        return tuple(s for _, _, s in self.positions() if s.field == field)


_D, _A, _X, _N = CharClass.DIGIT, CharClass.ALPHA, CharClass.ALNUM, CharClass.NAME
_HEAD = (_part("document_code", 2, _A), _part("issuing_state", 3, _A))
_DOC = (_part("document_number", 9, _X), _check("document_number", "document_number"))
_BIRTH = (_part("birth_date", 6, _D), _check("birth_date", "birth_date"))
_EXPIRY = (_part("expiry_date", 6, _D), _check("expiry_date", "expiry_date"))
_SEX = _part("sex", 1, _A)
_NATIONALITY = _part("nationality", 3, _A)
_CHECKED_LINE2 = ("document_number", "document_number_check", "birth_date", "birth_date_check",
                  "expiry_date", "expiry_date_check")


def _two_line_icao(fmt: MRZFormat, width: int, *, optional_check: bool, composite: bool, prefix: str = "") -> Layout:
    """TD2, TD3 and the MRVs share one structure; they differ in width, prefix and which checks they carry."""
    line2 = (*_DOC, _NATIONALITY, *_BIRTH, _SEX, *_EXPIRY)
    optional = width - sum(s.length for s in line2) - optional_check - composite
    tail: tuple[Slot, ...] = (_part("optional_data", optional, _X),)
    if optional_check:
        tail = (*tail, _check("optional_data", "optional_data"))
    if composite:
        covered = _CHECKED_LINE2 + tuple(s.name for s in tail)
        tail = (*tail, _check("composite", *covered))
    line1 = (*_HEAD, _part("name", width - 5, _N))
    return Layout(fmt, (line1, (*line2, *tail)), prefix)


_TD1 = Layout(MRZFormat.TD1, (
    (*_HEAD, *_DOC, _part("optional_data", 15, _X)),
    (*_BIRTH, _SEX, *_EXPIRY, _NATIONALITY, _part("optional_data_2", 11, _X, "optional_data"),
     _check("composite", "document_number", "document_number_check", "optional_data",
            "birth_date", "birth_date_check", "expiry_date", "expiry_date_check", "optional_data_2")),
    (_part("name", 30, _N),),
))

# Old French CNI (1988-2021). Line 1: ID FRA surname(25) department(3) office(3). Line 2: card number
# (12 = issue YYMM, department, 5-digit sequence) + check, given names (14, "<<" between names), birth
# date + check, sex, and a composite over all of line 1 and line 2 up to it.
_CNI_LINE1 = (*_HEAD, _part("surname", 25, _N), _part("department", 3, _X), _part("office", 3, _X))
_CNI_CARD = (_part("card_issue_month", 4, _D, "document_number"),
             _part("card_department", 3, _X, "document_number"),
             _part("card_sequence", 5, _D, "document_number"))
_CNI_LINE2 = (*_CNI_CARD, _check("document_number", *(s.name for s in _CNI_CARD)),
              _part("given_names", 14, _N), *_BIRTH, _SEX)
_FR_CNI = Layout(
    MRZFormat.FR_CNI_1988,
    (_CNI_LINE1, (*_CNI_LINE2, _check("composite", *(s.name for s in _CNI_LINE1 + _CNI_LINE2)))),
    prefix="IDFRA",
    given_names_separator=FILLER * 2,
)

LAYOUTS: dict[MRZFormat, Layout] = {
    MRZFormat.TD1: _TD1,
    MRZFormat.TD2: _two_line_icao(MRZFormat.TD2, 36, optional_check=False, composite=True),
    MRZFormat.TD3: _two_line_icao(MRZFormat.TD3, 44, optional_check=True, composite=True),
    MRZFormat.MRV_A: _two_line_icao(MRZFormat.MRV_A, 44, optional_check=False, composite=False, prefix="V"),
    MRZFormat.MRV_B: _two_line_icao(MRZFormat.MRV_B, 36, optional_check=False, composite=False, prefix="V"),
    MRZFormat.FR_CNI_1988: _FR_CNI,
}


@dataclass(frozen=True)
class MRZFields(Record):
    """Logical MRZ content: names A-Z, space-separated (hyphens kept where the format shows them), sex M/F/X."""

    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str
    expiry_date: date | None = None
    optional_data: str = ""
    department: str = ""
    office: str = ""


@dataclass(frozen=True)
class CheckDigit(Record):
    """One check digit: the digit computed over its span (`expected`, "?" if not computable) and the one read."""

    field: str
    expected: str
    found: str
    valid: bool


@dataclass(frozen=True)
class MRZ(Record):
    """A parsed MRZ with every individual check, a 0-100 score and where the reading came from."""

    format: MRZFormat
    lines: tuple[str, ...]
    fields: MRZFields
    checks: tuple[CheckDigit, ...]
    valid: bool
    score: int
    source: str
    problems: tuple[str, ...]


def _layout(fmt: MRZFormat | str) -> Layout:
    try:
        return LAYOUTS[MRZFormat(fmt)]
    except ValueError:
        raise InvalidInput(f"unknown MRZ format {fmt!r}") from None


# ---- names ---------------------------------------------------------------------------------------

_LIGATURES = {"Æ": "AE", "Œ": "OE", "ß": "SS", "Ø": "O", "Đ": "D", "Ł": "L", "Þ": "TH"}


def transliterate(name: str) -> str:
    """Name as MRZ characters: accents stripped, A-Z kept, anything else (space, '-', "'") one filler."""
    upper = "".join(_LIGATURES.get(c, c) for c in name.upper())
    letters = "".join(c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c))
    mapped = "".join(c if c in string.ascii_uppercase else FILLER for c in letters)
    return FILLER.join(part for part in mapped.split(FILLER) if part)


def _decode_name(raw: str, separator: str = FILLER) -> str:
    """Names split on `separator`, space-joined; a name's inner fillers become hyphens (only if '<<' separates)."""
    names = ("-".join(p for p in name.split(FILLER) if p) for name in raw.split(separator))
    return " ".join(name for name in names if name)


# ---- composing -----------------------------------------------------------------------------------

def _code(field: str, value: str, width: int) -> str:
    text = value.upper().replace(" ", FILLER)
    if len(text) > width or not set(text) <= MRZ_ALPHABET:
        raise InvalidInput(f"{field}: {value!r} does not fit {width} MRZ characters")
    return text


def _logical_text(layout: Layout, field: str, fields: MRZFields, width: int) -> str:
    """Unpadded MRZ text of one logical field."""
    if field == "name":
        return f"{transliterate(fields.surname)}{FILLER * 2}{transliterate(fields.given_names)}"
    if field == "surname":
        return transliterate(fields.surname)
    if field == "given_names":
        return layout.given_names_separator.join(transliterate(n) for n in fields.given_names.split())
    if field in _DATE_FIELDS:
        value = getattr(fields, field)
        return value.strftime("%y%m%d") if value else ""
    if field == "sex":
        if fields.sex.upper() not in _SEX_CODES:
            raise InvalidInput(f"sex: {fields.sex!r} is not M, F or X")
        return _SEX_CODES[fields.sex.upper()]
    return _code(field, getattr(fields, field), width)


def compose(fmt: MRZFormat, fields: MRZFields) -> tuple[str, ...]:
    """MRZ lines for `fields` in format `fmt`, check digits computed; names are truncated to fit."""
    layout = _layout(fmt)
    texts: dict[str, str] = {}
    for field in dict.fromkeys(s.field for _, _, s in layout.positions() if s.field):
        slots = layout.field_slots(field)
        width = sum(s.length for s in slots)
        text = _logical_text(layout, field, fields, width)[:width].ljust(width, FILLER)
        for slot in slots:
            texts[slot.name], text = text[:slot.length], text[slot.length:]
    for _, _, slot in layout.positions():
        if slot.is_check:
            texts[slot.name] = check_digit("".join(texts[n] for n in slot.covers))
    return tuple("".join(texts[s.name] for s in line) for line in layout.lines)


# ---- reading -------------------------------------------------------------------------------------

def _normalise(text: str) -> tuple[str, ...]:
    """Non-blank lines, upper-cased, with all whitespace removed."""
    if not isinstance(text, str):
        raise InvalidInput(f"MRZ text must be a string, got {type(text).__name__}")
    lines = ("".join(line.split()).upper() for line in text.splitlines())
    return tuple(line for line in lines if line)


def _slot_texts(layout: Layout, lines: Sequence[str]) -> dict[str, str]:
    return {slot.name: lines[row][col:col + slot.length] for row, col, slot in layout.positions()}


def _fit(layout: Layout, lines: Sequence[str]) -> float:
    """Share of characters that are of the kind their position wants (1.0: every one is)."""
    texts = _slot_texts(layout, lines)
    slots = [s for _, _, s in layout.positions()]
    good = sum(c in _ALLOWED[s.cls] for s in slots for c in texts[s.name])
    return good / sum(s.length for s in slots)


def _shaped(layout: Layout, lines: Sequence[str]) -> bool:
    return len(lines) == len(layout.lines) and all(len(line) == layout.width for line in lines)


def detect(lines: Sequence[str]) -> MRZFormat:
    """Format of normalised MRZ lines: by shape, then required prefix, then how well the content fits."""
    candidates = [lay for lay in LAYOUTS.values() if _shaped(lay, lines) and lines[0].startswith(lay.prefix)]
    if not candidates:
        shape = " + ".join(str(len(line)) for line in lines)
        raise InvalidInput(f"not an MRZ: {len(lines)} line(s) ({shape or 'no text'}) match no MRZ format")
    return max(candidates, key=lambda lay: (_fit(lay, lines), len(lay.prefix))).format


def correct_by_position(fmt: MRZFormat, lines: Sequence[str]) -> tuple[str, ...]:
    """Undo OCR confusions the check digits confirm: letters read in digit slots (O->0, I->1, ...);
    and K/X read in the filler run that ends a name. Digits read in letter slots stay as read."""
    layout = _layout(fmt)
    lines = tuple("".join(line.split()).upper() for line in lines)
    if not _shaped(layout, lines):
        raise InvalidInput(f"{layout.format.value}: expected {len(layout.lines)} lines of {layout.width} characters")
    texts = _slot_texts(layout, lines)
    for _, _, slot in layout.positions():
        if slot.cls is CharClass.DIGIT:
            texts[slot.name] = texts[slot.name].translate(_TO_DIGIT)
        elif slot.cls is CharClass.NAME:
            texts[slot.name] = _clear_filler_run(texts[slot.name])
    return tuple("".join(texts[s.name] for s in line) for line in layout.lines)


_LOOKALIKES = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S",
               "Z": "2", "2": "Z"}


def resolve_lookalikes(fmt: MRZFormat, lines: Sequence[str]) -> tuple[str, ...]:
    """In letter-or-digit fields (e.g. a passport number), swap one OCR-B look-alike (O/0, I/1, B/8,
    S/5, Z/2) where that single swap, and no other, makes the failing check digit over it valid, and
    a second check digit over the same field (the composite) then passes too: the check digit that
    chose the swap cannot also confirm it (a visa's number, under one check only, is left as read)."""
    layout = _layout(fmt)
    texts = _slot_texts(layout, lines)
    slots = {slot.name: slot for _, _, slot in layout.positions()}
    checks = [s for s in slots.values() if s.is_check]

    def valid(check: Slot) -> bool:
        span = "".join(texts[n] for n in check.covers)
        return set(span) <= MRZ_ALPHABET and check_digit(span) == texts[check.name]

    for check in checks:
        if valid(check):
            continue
        fixes = []
        for name in (n for n in check.covers if slots[n].cls is CharClass.ALNUM):
            original = texts[name]
            for i, char in enumerate(original):
                if char in _LOOKALIKES:
                    texts[name] = original[:i] + _LOOKALIKES[char] + original[i + 1:]
                    if valid(check):
                        fixes.append((name, texts[name]))
            texts[name] = original
        if len(fixes) == 1:
            name, original = fixes[0][0], texts[fixes[0][0]]
            texts[name] = fixes[0][1]
            if not any(valid(other) for other in checks if other is not check and name in other.covers):
                texts[name] = original
    return tuple("".join(texts[s.name] for s in line) for line in layout.lines)


def _clear_filler_run(text: str) -> str:
    """In the trailing run of '<', K and X of a name, every K/X after its first '<' becomes '<'."""
    body = text.rstrip(FILLER + "KX")
    tail = text[len(body):]
    first = tail.find(FILLER)
    if first < 0:
        return text
    return body + tail[:first] + FILLER * (len(tail) - first)


def _year_of_birth(yy: int, month: int, day: int, today: date) -> date:
    century = today.year // 100 * 100
    for year in (century + yy, century - 100 + yy):
        try:
            born = date(year, month, day)
        except ValueError:
            continue
        if born <= today:
            return born
    raise ValueError("no such date")


def _year_of_expiry(yy: int, month: int, day: int, today: date) -> date:
    base = today.year - 50
    return date(base + (yy - base) % 100, month, day)


def _decode_date(field: str, raw: str, today: date, problems: list[str]) -> date | None:
    if set(raw) == {FILLER}:
        if field == "birth_date":
            problems.append("birth_date: not given")
        return None
    try:
        if not (raw.isascii() and raw.isdigit()):
            raise ValueError(raw)
        pivot = _year_of_birth if field == "birth_date" else _year_of_expiry
        return pivot(int(raw[:2]), int(raw[2:4]), int(raw[4:]), today)
    except ValueError:
        problems.append(f"{field}: {raw} is not a date")
        return None


def _decode_sex(raw: str, problems: list[str]) -> str:
    if raw not in _SEX_CODES:
        problems.append(f"sex: {raw!r} is not M, F or <")
        return raw
    return "X" if raw == FILLER else raw


def _decode_fields(layout: Layout, texts: dict[str, str], today: date, problems: list[str]) -> MRZFields:
    raw = {field: "".join(texts[s.name] for s in layout.field_slots(field))
           for field in dict.fromkeys(s.field for _, _, s in layout.positions() if s.field)}
    if "name" in raw:
        surname, _, given = raw.pop("name").partition(FILLER * 2)
        raw["surname"], raw["given_names"] = surname, given
    values: dict[str, object] = {k: v.rstrip(FILLER) for k, v in raw.items()}
    values["surname"] = _decode_name(raw["surname"])
    values["given_names"] = _decode_name(raw["given_names"], layout.given_names_separator)
    values["sex"] = _decode_sex(raw["sex"], problems)
    for field in _DATE_FIELDS:
        if field in raw:
            values[field] = _decode_date(field, raw[field], today, problems)
    values.setdefault("nationality", values["issuing_state"])  # a format without one implies the issuer's
    for field in ("surname", "document_number"):
        if not values[field]:
            problems.append(f"{field}: empty")
    for field in _CODE_FIELDS:
        code = str(values[field])
        if code.isalpha() and not is_state_code(code):
            problems.append(f"{field}: {code!r} is not an ICAO 9303 state code")
    return MRZFields(**values)  # type: ignore[arg-type]


def _class_problems(layout: Layout, texts: dict[str, str], problems: list[str]) -> None:
    """MRZ characters that their slot does not allow: a digit in a name or a code, a letter in a date;
    and a name with letters after its filler padding (no name holds three fillers in a row: one
    separates names, two the surname from the given names or, on the old CNI, given names)."""
    for _, _, slot in layout.positions():
        if slot.is_check or slot.cls is CharClass.ALNUM:
            continue  # a check digit's letter already fails its check
        wrong = sorted({c for c in texts[slot.name] if c in MRZ_ALPHABET} - _ALLOWED[slot.cls])
        if wrong:
            problems.append(f"{slot.field}: {''.join(wrong)!r} where {_CLASS_NAMES[slot.cls]} belongs")
    for field in dict.fromkeys(s.field for _, _, s in layout.positions() if s.cls is CharClass.NAME):
        text = "".join(texts[s.name] for s in layout.field_slots(str(field)))
        if FILLER * 3 in text.rstrip(FILLER):
            problems.append(f"{field}: characters after its filler padding")


def _check_digits(layout: Layout, texts: dict[str, str], problems: list[str]) -> tuple[CheckDigit, ...]:
    checks = []
    for _, _, slot in layout.positions():
        if not slot.is_check:
            continue
        span = "".join(texts[n] for n in slot.covers)
        expected = check_digit(span) if set(span) <= MRZ_ALPHABET else "?"
        found = texts[slot.name]
        valid = found == expected or (found == FILLER and set(span) == {FILLER})
        label = slot.name.removesuffix("_check")
        if not valid:
            problems.append(f"{label}: check digit {found!r} should be {expected!r}")
        checks.append(CheckDigit(label, expected, found, valid))
    return tuple(checks)


def parse(text: str, *, today: date, source: str = "text", fmt: MRZFormat | None = None) -> MRZ:
    """Parse MRZ text (lines separated by newlines) in format `fmt`, or the format `detect` finds;
    raises InvalidInput only if the text does not have the format's shape (or any format's).

    A reader that knows the document's layout passes its format: a misread first letter (P read V)
    must not turn a passport's lines into a visa's, whose fewer check digits could then all pass."""
    lines = _normalise(text)
    layout = LAYOUTS[detect(lines)] if fmt is None else _layout(fmt)
    if not _shaped(layout, lines):
        raise InvalidInput(f"{layout.format.value}: expected {len(layout.lines)} lines of {layout.width} characters")
    texts = _slot_texts(layout, lines)
    problems: list[str] = []
    checks = _check_digits(layout, texts, problems)
    failed = len(problems)
    for row, line in enumerate(lines, start=1):
        stray = sorted(set(line) - MRZ_ALPHABET)
        if stray:
            problems.append(f"line {row}: characters outside the MRZ alphabet: {''.join(stray)!r}")
    _class_problems(layout, texts, problems)
    fields = _decode_fields(layout, texts, today, problems)
    share = sum(c.valid for c in checks) / len(checks)
    penalty = 10 * (len(problems) - failed)
    score = max(0, round(100 * share * _fit(layout, lines)) - penalty)
    return MRZ(layout.format, lines, fields, checks, not problems, score, source, tuple(problems))


def checks_covering(fmt: MRZFormat) -> dict[str, tuple[str, ...]]:
    """For each slot that is not a check digit, the check-digit slots whose span includes it (none:
    nothing confirms its reading, e.g. a TD3 name or any issuing state and nationality)."""
    layout = _layout(fmt)
    slots = [slot for _, _, slot in layout.positions()]
    return {s.name: tuple(c.name for c in slots if s.name in c.covers) for s in slots if not s.is_check}


def field_text(mrz: MRZ, field: str) -> str:
    """The raw MRZ characters of one logical field (e.g. "expiry_date"), "" if the format has none."""
    layout = LAYOUTS[mrz.format]
    texts = _slot_texts(layout, mrz.lines)
    return "".join(texts[s.name] for s in layout.field_slots(field))
