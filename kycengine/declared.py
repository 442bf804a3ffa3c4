"""Is the document in the declared name? The customer's declared identity against the document, field by field.

The customer types surname, given names, birth date (and optionally birth place) before filming.
`compare_declared` checks each against the MRZ first (read across frames; check digits cover the
birth date everywhere and the names on the old CNI) and against the printed zone for what the MRZ
cannot show: accents, given names past its cut, a usage name, the birth place.

Each field gets an outcome: `match`; `tolerated`, a difference the rules explain (reported, never a
refusal); `unknown`, the document cannot settle it (a person decides); `mismatch`, another identity
(refused). The record's outcome is the worst of its fields. Security: this check stops someone
using another person's document, so every tolerance only explains how one name is spelt, cut or
ordered; none makes another person's name a match. When several rules apply, the most favourable
one that holds decides.

| field | rule | declared / document (example) | outcome |
|---|---|---|---|
| names | exact | DUPONT / DUPONT | match |
| names | accents_case | Lefèvre / LEFEVRE; Œ Æ ß as OE AE SS | match |
| names | hyphen_apostrophe_space | D'Almeida / D<ALMEIDA or DALMEIDA; Le Goff / LE<GOFF; Jean Pierre / JEAN-PIERRE | match |
| surname | name_truncated_in_mrz | the MRZ field is full (old CNI 25, TD1 30, TD3 39) and holds the declared name's start | match |
| given names | given_names_truncated | Marie Claire Anne / MARIE<<CLAIRE< (old CNI, 14 characters) | match |
| names | transliteration | Müller / MUELLER; Muñoz / MUNXXOZ (ICAO choices for Ä Å Ö Ø Ü Ñ) | tolerated |
| given names | given_names_order | Marie Claire Anne / ANNE MARIE CLAIRE | tolerated |
| given names | given_names_subset | Marie / MARIE, CLAIRE (the first name or names, in order) | tolerated |
| given names | given_names_partial | Claire / MARIE, CLAIRE; Marie / MARIE-CLAIRE | unknown |
| given names | printed_unread | the MRZ cut them and the printed zone was not read: names past the cut may be any | unknown |
| surname | usage_name | Martin, Dupont épouse Martin, Martin née Dupont, Dupont-Martin / DUPONT + printed "ép. MARTIN" | tolerated |
| surname | usage_name_unconfirmed | as above, the usage line unread, read unsure, or blank while the birth name is declared too | unknown |
| surname | surname_part | Dupont / DUPONT<MARTIN | unknown |
| names | near_miss | Martin / MARTINS: one slip (typing, or OCR: names have no check digit) in 5+ letters; the order or subset rules with such a slip in a word | unknown |
| names | sources_disagree | the printed zone and the MRZ read the name differently (OCR slips: 1 in 5 letters) and the declaration fits the printed one | unknown |
| names | different | Dupont / NOEL; a declared given name the document does not have | mismatch |
| birth date | exact / different | the six MRZ digits YYMMDD; any known digit differs | match / mismatch |
| birth date | date_unreadable | the MRZ birth date is unknown or partial (fillers), and no known digit differs | unknown |
| birth place | exact, accents_case, hyphen_apostrophe_space, saint_abbreviation | St Étienne / SAINT-ÉTIENNE (42); the department is ignored | match |
| birth place | near_miss | NICE / MICE: read confidently, at most 2 slips or a third of the letters (OCR) | unknown |
| birth place | different | read confidently, more slips than that | mismatch |
| birth place | printed_unread, printed_unsure, not_on_document | not read; read with a low score and different; not printed | unknown |

Decisions. D'ALMEIDA, D<ALMEIDA and DALMEIDA match: ICAO 9303 omits the apostrophe while French
issuers write a filler; the letters and their order are the same. Only the first given names are
tolerated as a subset: a twin shares surname and birth date, and may share a middle name, but not
the first one. A usage name is never in the MRZ: it is tolerated only when the printed zone shows it.
"Birth épouse/veuve Usage", "Usage née Birth" and the two names joined either way are read as a
birth name and a usage name; a declared birth name lets a usage name the document does not show
go to a person (a marriage after the document was issued), a usage name alone is then refused.
Only the given names' first words (prefix) are tolerated as a subset; a compound name cut in two
("Marie" for MARIE-CLAIRE) goes to a person where the document shows where names end.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .document import layout as document_layout
from .document.icao import FILLER
from .document.mrz import LAYOUTS, MRZFields, MRZFormat
from .document.printed import LineState, PrintedIdentity, PrintedLine, value_of
from .document.types import DocumentType
from .errors import InvalidInput
from .names import edit_distance, fold, icao_variants, letters, words
from .records import Record

if TYPE_CHECKING:
    from .schema import DeclaredIdentity

NEAR_MISS_MIN_LETTERS = 5  # one slip in a shorter name makes another name (LEA, LEO): mismatch
# A cut MRZ field matches a declared name it starts only when it shows this many of its letters (a
# long surname can leave two or three letters of given names on a TD1 card: too few to match on).
TRUNCATED_MIN_LETTERS = 4
# A birth place is read by OCR only (no MRZ field): up to one slip in three letters (and two in any
# place) is a reading a person should look at; more is another place. Confident misreadings seen
# on generated documents: NICE read MICE, NANCY read HANCY, LYON read LYO (1 slip each).
PLACE_SLIPS_PER_LETTERS = 3


class Outcome(str, enum.Enum):
    """What a declared field (or the whole declaration) is, against the document."""

    MATCH = "match"
    TOLERATED = "tolerated"  # a difference the rules explain: reported, never a refusal
    UNKNOWN = "unknown"  # the document cannot settle it: a person decides
    MISMATCH = "mismatch"  # another identity: refused (declared_identity_mismatch)


_SEVERITY = {Outcome.MATCH: 0, Outcome.TOLERATED: 1, Outcome.UNKNOWN: 2, Outcome.MISMATCH: 3}


class Rule(str, enum.Enum):
    """The rule that decided a field's outcome (see the module's table)."""

    EXACT = "exact"
    ACCENTS_CASE = "accents_case"
    HYPHEN_APOSTROPHE_SPACE = "hyphen_apostrophe_space"
    SAINT_ABBREVIATION = "saint_abbreviation"
    NAME_TRUNCATED_IN_MRZ = "name_truncated_in_mrz"
    GIVEN_NAMES_TRUNCATED = "given_names_truncated"
    TRANSLITERATION = "transliteration"
    GIVEN_NAMES_ORDER = "given_names_order"
    GIVEN_NAMES_SUBSET = "given_names_subset"
    GIVEN_NAMES_PARTIAL = "given_names_partial"
    USAGE_NAME = "usage_name"
    USAGE_NAME_UNCONFIRMED = "usage_name_unconfirmed"
    SURNAME_PART = "surname_part"
    NEAR_MISS = "near_miss"
    SOURCES_DISAGREE = "sources_disagree"
    DIFFERENT = "different"
    DATE_UNREADABLE = "date_unreadable"
    PRINTED_UNREAD = "printed_unread"
    PRINTED_UNSURE = "printed_unsure"
    NOT_ON_DOCUMENT = "not_on_document"


class DeclaredField(str, enum.Enum):
    """The declared fields compared."""

    SURNAME = "surname"
    GIVEN_NAMES = "given_names"
    BIRTH_DATE = "birth_date"
    BIRTH_PLACE = "birth_place"


class Source(str, enum.Enum):
    """Which part of the document the compared value came from."""

    MRZ = "mrz"
    PRINTED = "printed"
    MRZ_AND_PRINTED = "mrz_and_printed"
    NONE = "none"


@dataclass(frozen=True)
class FieldComparison(Record):
    """One declared field against the document: outcome, deciding rule and the two values compared."""

    field: DeclaredField
    outcome: Outcome
    rule: Rule
    declared: str
    document: str  # as the document gives it (MRZ form, or printed text); "" when it gives nothing
    source: Source


@dataclass(frozen=True)
class DeclaredComparison(Record):
    """Every declared field against the document; `outcome` is the worst of theirs."""

    outcome: Outcome
    fields: tuple[FieldComparison, ...]

    def of(self, name: DeclaredField | str) -> FieldComparison | None:
        """The comparison of one field, None when it was not declared."""
        return next((f for f in self.fields if f.field == DeclaredField(name)), None)


# ---- the document's names ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Name:
    """A name or list of given names as one source shows it: words (A-Z) grouped by name."""

    names: tuple[tuple[str, ...], ...]
    shown: str  # the source's own text, for the record
    cut: bool = False  # an MRZ field filled up: its last word may be cut, further names missing
    grouped: bool = True  # False where the MRZ does not show which words make one name (TD1, TD3)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for name in self.names for w in name)

    @property
    def letters(self) -> str:
        return "".join(self.words)


def _raw_fields(fmt: MRZFormat, lines: Sequence[str]) -> dict[str, str]:
    """Raw MRZ text of each logical field (fillers kept)."""
    layout = LAYOUTS[fmt]
    if len(lines) != len(layout.lines) or any(len(line) != layout.width for line in lines):
        shape = " + ".join(str(len(line)) for line in lines) or "no lines"
        raise InvalidInput(f"mrz_lines ({shape}) do not have the shape of a {fmt.value} MRZ")
    raw: dict[str, str] = {}
    for row, col, slot in layout.positions():
        if slot.field:
            raw[slot.field] = raw.get(slot.field, "") + lines[row][col:col + slot.length]
    return raw


def _filled(raw: str, separator: int) -> bool:
    """True when a name field has no room left for another name: it has probably been cut."""
    return len(raw.rstrip(FILLER)) >= len(raw) - separator


def _mrz_names(fmt: MRZFormat, raw: dict[str, str]) -> tuple[_Name, _Name]:
    """(surname, given names) as the MRZ lines show them (read from the lines, as the check digits
    cover them, rather than from a decoding of them)."""
    def name(text: str) -> tuple[str, ...]:
        return tuple(w for w in text.split(FILLER) if w)

    def listed(text: str, separator: str) -> tuple[tuple[str, ...], ...]:
        return tuple(n for n in (name(part) for part in text.split(separator)) if n)

    def shown(names: tuple[tuple[str, ...], ...]) -> str:  # as the MRZ decoding writes it
        return " ".join("-".join(n) for n in names)

    if fmt is MRZFormat.FR_CNI_1988:  # fields of their own; "<<" between given names
        surname, given = (name(raw["surname"]),), listed(raw["given_names"], FILLER * 2)
        return (_Name(surname, " ".join(surname[0]), cut=_filled(raw["surname"], 1)),
                _Name(given, shown(given), cut=_filled(raw["given_names"], 2)))
    full = _filled(raw["name"], 1)
    body, separator, rest = raw["name"].rstrip(FILLER).partition(FILLER * 2)
    surname, given = (name(body),), listed(rest, FILLER)
    return (_Name(surname, " ".join(surname[0]), cut=full and not separator),
            _Name(given, shown(given), cut=full, grouped=False))


def _printed_name(line: PrintedLine | None, *, listed: bool = False) -> _Name | None:
    """A printed line as a name (given names: comma-separated names); None when not usable."""
    if line is None or not line.usable:
        return None
    parts = line.value.split(",") if listed else [line.value]
    names = tuple(w for w in (words(p) for p in parts) if w)
    return _Name(names, line.value) if names else None


# ---- spelling rules ------------------------------------------------------------------------------

def _plain(text: str) -> str:
    return " ".join(text.replace(",", " ").split())


def _spelling(declared: str, document: _Name) -> tuple[Outcome, Rule] | None:
    """The spelling rule under which `declared` is `document`'s whole value, None if none is."""
    if _plain(declared) == _plain(document.shown):
        return Outcome.MATCH, Rule.EXACT
    if fold(_plain(declared)) == fold(_plain(document.shown)):
        return Outcome.MATCH, Rule.ACCENTS_CASE
    if letters(declared) == document.letters:
        return Outcome.MATCH, Rule.HYPHEN_APOSTROPHE_SPACE
    if document.letters in icao_variants(declared) or letters(declared) in icao_variants(document.shown):
        return Outcome.TOLERATED, Rule.TRANSLITERATION
    return None


def _truncated(declared: str, mrz: _Name) -> bool:
    """True when the MRZ field was cut and holds the start of `declared` (as spelt by any ICAO choice)."""
    shown = mrz.letters
    return (mrz.cut and len(shown) >= TRUNCATED_MIN_LETTERS
            and any(len(v) > len(shown) and v.startswith(shown) for v in icao_variants(declared)))


def _ocr_slips(declared: str, document: str) -> bool:
    """True when two names differ by no more than an OCR reading may (one edit in five letters)."""
    return edit_distance(declared, document) <= max(1, round(0.2 * len(document)))


def _near(declared: str, document: str) -> bool:
    """One slip (insertion, deletion, substitution, swap) between two names of 5 or more letters."""
    return (min(len(declared), len(document)) >= NEAR_MISS_MIN_LETTERS
            and edit_distance(declared, document) == 1)


def _agrees(printed: _Name, mrz: _Name) -> bool:
    """True when a printed value is the one the (cut) MRZ starts to show, up to OCR slips (1 in 5)."""
    head = printed.letters[:len(mrz.letters)]
    return len(head) == len(mrz.letters) and edit_distance(head, mrz.letters) <= max(1, round(0.2 * len(head)))


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    rule: Rule
    document: str
    source: Source


def _best(verdicts: Sequence[_Verdict | None]) -> _Verdict:
    """The most favourable of the rules that held (the first one on a tie)."""
    held = [v for v in verdicts if v is not None]
    return min(held, key=lambda v: _SEVERITY[v.outcome])


def _other_reading(printed: _Name | None, whole: _Name | None, mrz: _Name) -> _Name | None:
    """The printed value when it reads the whole MRZ name differently by no more than OCR slips:
    one of the two readings is wrong (names carry no check digit on TD1 and TD3)."""
    if printed is None or whole is not None or mrz.cut:
        return None
    return printed if _ocr_slips(printed.letters, mrz.letters) else None


def _confirming(printed: _Name | None, line: PrintedLine | None, mrz: _Name) -> _Name | None:
    """The printed value when it is the same name as the MRZ's and says more: the whole of a cut
    name, or its accents and umlauts (None when not read, or when the two sources disagree)."""
    if printed is None or line is None:
        return None
    if mrz.cut:
        return printed if _agrees(printed, mrz) else None
    return printed if _spelling(printed.shown, mrz) is not None else None


# ---- surname -------------------------------------------------------------------------------------

# "Dupont épouse Martin", "Dupont ép. Martin", "Dupont veuve Martin"; "Martin née Dupont"
_BIRTH_THEN_USAGE = re.compile(r"\s+(?:épouse|epouse|époux|epoux|veuve|veuf|vve|ép|ep)(?:\.\s*|\s+)", re.IGNORECASE)
_USAGE_THEN_BIRTH = re.compile(r"\s+(?:née|nee|né)\s+", re.IGNORECASE)


def _usage_forms(declared: str, birth: _Name) -> list[tuple[str | None, str]]:
    """Ways to read a declared surname as (birth name or None, usage name)."""
    forms: list[tuple[str | None, str]] = []
    for pattern, birth_first in ((_BIRTH_THEN_USAGE, True), (_USAGE_THEN_BIRTH, False)):
        parts = pattern.split(declared, maxsplit=1)
        if len(parts) == 2 and all(p.strip() for p in parts):
            forms.append((parts[0], parts[1]) if birth_first else (parts[1], parts[0]))
    declared_words, birth_words = words(declared), birth.words
    n = len(birth_words)
    if n and len(declared_words) > n:  # the usage name joined to the birth name, either side
        if declared_words[:n] == birth_words:
            forms.append((" ".join(birth_words), " ".join(declared_words[n:])))
        if declared_words[-n:] == birth_words:
            forms.append((" ".join(birth_words), " ".join(declared_words[:-n])))
    forms.append((None, declared))  # a usage name alone, in place of the birth name
    return forms


def _usage(declared: str, mrz: _Name, printed: PrintedIdentity | None) -> _Verdict | None:
    """The declared surname read as carrying a usage name, against the printed usage-name line."""
    line = printed.usage_name if printed is not None else None
    usage = _printed_name(line)
    verdicts: list[_Verdict | None] = []
    for birth, part in _usage_forms(declared, mrz):
        if birth is not None and (_spelling(birth, mrz) is None and not _truncated(birth, mrz)):
            continue
        if usage is not None and line is not None:
            mine = Counter(words(part))
            if _spelling(part, usage) or _spelling(declared, usage) or Counter(words(declared)) == Counter(usage.words):
                verdicts.append(_Verdict(Outcome.TOLERATED, Rule.USAGE_NAME, line.value, Source.PRINTED))
            elif not mine - Counter(usage.words):  # one of the names a joined usage name is made of
                verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.SURNAME_PART, line.value, Source.PRINTED))
            elif _near(letters(part), usage.letters):
                verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.NEAR_MISS, line.value, Source.PRINTED))
            elif line.state is LineState.READ:
                verdicts.append(_Verdict(Outcome.MISMATCH, Rule.DIFFERENT, line.value, Source.PRINTED))
            else:
                verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.USAGE_NAME_UNCONFIRMED, line.value, Source.PRINTED))
        elif line is not None and line.state is LineState.BLANK and birth is None:
            verdicts.append(_Verdict(Outcome.MISMATCH, Rule.DIFFERENT, mrz.shown, Source.MRZ_AND_PRINTED))
        else:  # unread, or blank while the birth name is declared too (a marriage after issue)
            verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.USAGE_NAME_UNCONFIRMED, "", Source.NONE))
    return _best(verdicts) if verdicts else None


def _surname(declared: str, mrz: _Name, printed: PrintedIdentity | None) -> _Verdict:
    line = printed.surname if printed is not None else None
    printed_name = _printed_name(line)
    whole = _confirming(printed_name, line, mrz)
    trusted = whole is not None and line is not None and line.state is LineState.READ
    verdicts: list[_Verdict | None] = []
    spelt = _spelling(declared, mrz)
    if spelt:
        verdicts.append(_Verdict(*spelt, mrz.shown, Source.MRZ))
    elif _truncated(declared, mrz) and not trusted:
        verdicts.append(_Verdict(Outcome.MATCH, Rule.NAME_TRUNCATED_IN_MRZ, mrz.shown, Source.MRZ))
    if whole is not None and (spelt_whole := _spelling(declared, whole)):
        rule = Rule.NAME_TRUNCATED_IN_MRZ if mrz.cut and spelt_whole[0] is Outcome.MATCH else spelt_whole[1]
        verdicts.append(_Verdict(spelt_whole[0], rule, whole.shown, Source.MRZ_AND_PRINTED))
    other = _other_reading(printed_name, whole, mrz)
    if other is not None and (_spelling(declared, other) or _near(letters(declared), other.letters)):
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.SOURCES_DISAGREE, other.shown, Source.MRZ_AND_PRINTED))
    if any(_near(letters(declared), ref.letters) for ref in (mrz, whole) if ref is not None):
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.NEAR_MISS, (whole or mrz).shown, Source.MRZ))
    declared_words = words(declared)
    if declared_words and len(letters(declared)) >= 3 and not Counter(declared_words) - Counter(mrz.words):
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.SURNAME_PART, mrz.shown, Source.MRZ))
    verdicts.append(_Verdict(Outcome.MISMATCH, Rule.DIFFERENT, mrz.shown, Source.MRZ))
    verdicts.append(_usage(declared, mrz, printed))
    return _best(verdicts)


# ---- given names ---------------------------------------------------------------------------------

def _at_boundary(document: _Name, count: int) -> bool:
    """True when the first `count` words of `document` are whole names (or names are not known)."""
    if not document.grouped:
        return True
    total = 0
    for name in document.names:
        total += len(name)
        if total >= count:
            return total == count
    return False


def _list_rules(declared: str, document: _Name, source: Source) -> _Verdict | None:
    """Order, first-names subset and partial subset of given names, word by word; the same with a
    declared word one slip from one of the document's is a near miss."""
    mine = words(declared)
    verdict = _word_rules(mine, document, source)
    if verdict is not None:
        return verdict
    snapped = tuple(_snap(word, document.words) for word in mine)
    if snapped != mine and (snapped == document.words or _word_rules(snapped, document, source)):
        return _Verdict(Outcome.UNKNOWN, Rule.NEAR_MISS, document.shown, source)
    return None


def _snap(word: str, theirs: tuple[str, ...]) -> str:
    """The document's word that `word` is one slip from, when there is exactly one; else `word`."""
    if word in theirs:
        return word
    close = {t for t in theirs if _near(word, t)}
    return close.pop() if len(close) == 1 else word


def _word_rules(mine: tuple[str, ...], document: _Name, source: Source) -> _Verdict | None:
    theirs = document.words
    shown = theirs[:-1] if document.cut else theirs  # a cut MRZ's last word may be partial
    if not mine or not theirs:
        return None
    if not document.cut and len(mine) == len(theirs) and Counter(mine) == Counter(theirs):
        return _Verdict(Outcome.TOLERATED, Rule.GIVEN_NAMES_ORDER, document.shown, source)
    if len(mine) < len(theirs) and tuple(shown[:len(mine)]) == mine:
        if _at_boundary(document, len(mine)):
            return _Verdict(Outcome.TOLERATED, Rule.GIVEN_NAMES_SUBSET, document.shown, source)
        return _Verdict(Outcome.UNKNOWN, Rule.GIVEN_NAMES_PARTIAL, document.shown, source)
    if not Counter(mine) - Counter(theirs):
        return _Verdict(Outcome.UNKNOWN, Rule.GIVEN_NAMES_PARTIAL, document.shown, source)
    return None


def _given_names(declared: str, mrz: _Name, printed: PrintedIdentity | None) -> _Verdict:
    line = printed.given_names if printed is not None else None
    printed_names = _printed_name(line, listed=True)
    whole = _confirming(printed_names, line, mrz)  # all the names when the MRZ cut them
    trusted = whole is not None and line is not None and line.state is LineState.READ
    verdicts: list[_Verdict | None] = []
    if not trusted:
        spelt = _spelling(declared, mrz)
        if spelt:
            verdicts.append(_Verdict(*spelt, mrz.shown, Source.MRZ))
        elif _truncated(declared, mrz):
            verdicts.append(_Verdict(Outcome.MATCH, Rule.GIVEN_NAMES_TRUNCATED, mrz.shown, Source.MRZ))
        verdicts.append(_list_rules(declared, mrz, Source.MRZ))
    if whole is not None:
        spelt = _spelling(declared, whole)
        if spelt:
            rule = Rule.GIVEN_NAMES_TRUNCATED if mrz.cut and spelt[0] is Outcome.MATCH else spelt[1]
            verdicts.append(_Verdict(spelt[0], rule, whole.shown, Source.MRZ_AND_PRINTED))
        verdicts.append(_list_rules(declared, whole, Source.MRZ_AND_PRINTED))
    other = _other_reading(printed_names, whole, mrz)
    mine, count = letters(declared), len(words(declared))
    if other is not None and (_spelling(declared, other) or _list_rules(declared, other, Source.PRINTED)
                              or _near(mine, other.letters)):
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.SOURCES_DISAGREE, other.shown, Source.MRZ_AND_PRINTED))
    if any(_near(mine, ref.letters) or _near(mine, "".join(ref.words[:count])) for ref in (mrz, whole) if ref):
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.NEAR_MISS, (whole or mrz).shown, Source.MRZ))
    if mrz.cut and not trusted:  # any name may follow the MRZ's cut: only the printed zone can tell
        verdicts.append(_Verdict(Outcome.UNKNOWN, Rule.PRINTED_UNREAD, mrz.shown, Source.MRZ))
    else:
        verdicts.append(_Verdict(Outcome.MISMATCH, Rule.DIFFERENT, (whole or mrz).shown,
                                 Source.MRZ_AND_PRINTED if whole else Source.MRZ))
    return _best(verdicts)


# ---- birth date and place ------------------------------------------------------------------------

def _birth_date(declared: dt.date, raw: str, fields: MRZFields) -> _Verdict:
    """The six MRZ digits YYMMDD against the declared date (the century is the MRZ's guess, not read)."""
    wanted = declared.strftime("%y%m%d")
    shown = fields.birth_date.isoformat() if fields.birth_date else raw
    if raw.isdigit() and raw == wanted:
        return _Verdict(Outcome.MATCH, Rule.EXACT, shown, Source.MRZ)
    if any(r.isdigit() and r != w for r, w in zip(raw, wanted)):
        return _Verdict(Outcome.MISMATCH, Rule.DIFFERENT, shown, Source.MRZ)
    return _Verdict(Outcome.UNKNOWN, Rule.DATE_UNREADABLE, shown, Source.MRZ)


_SAINTS = {"ST": "SAINT", "STE": "SAINTE"}


def _place_letters(text: str) -> str:
    return "".join(_SAINTS.get(w, w) for w in words(value_of("birth_place", text)))


def _birth_place(declared: str, printed: PrintedIdentity | None) -> _Verdict:
    if printed is None:
        return _Verdict(Outcome.UNKNOWN, Rule.PRINTED_UNREAD, "", Source.NONE)
    line = printed.birth_place
    if line is None:
        return _Verdict(Outcome.UNKNOWN, Rule.NOT_ON_DOCUMENT, "", Source.NONE)
    if not line.usable:
        return _Verdict(Outcome.UNKNOWN, Rule.PRINTED_UNREAD, line.text, Source.PRINTED)
    place = value_of("birth_place", declared)
    checks: tuple[tuple[Rule, Callable[[str], str]], ...] = (
        (Rule.EXACT, _plain), (Rule.ACCENTS_CASE, lambda t: fold(_plain(t))),
        (Rule.HYPHEN_APOSTROPHE_SPACE, letters), (Rule.SAINT_ABBREVIATION, _place_letters))
    for rule, form in checks:
        if form(place) == form(line.value):
            return _Verdict(Outcome.MATCH, rule, line.value, Source.PRINTED)
    if line.state is not LineState.READ:
        return _Verdict(Outcome.UNKNOWN, Rule.PRINTED_UNSURE, line.value, Source.PRINTED)
    mine, theirs = _place_letters(place), _place_letters(line.value)
    if edit_distance(mine, theirs) > max(2, max(len(mine), len(theirs)) // PLACE_SLIPS_PER_LETTERS):
        return _Verdict(Outcome.MISMATCH, Rule.DIFFERENT, line.value, Source.PRINTED)
    return _Verdict(Outcome.UNKNOWN, Rule.NEAR_MISS, line.value, Source.PRINTED)


# ---- the comparison ------------------------------------------------------------------------------

def mrz_names_filled(document_type: DocumentType, mrz_lines: Sequence[str]) -> tuple[bool, bool]:
    """Whether the MRZ's surname and given names fields are filled up, so may have been cut (a
    document whose names fit exactly looks the same). Raises InvalidInput for misshapen lines."""
    fmt = document_layout.LAYOUTS[DocumentType(document_type)].mrz_format
    surname, given = _mrz_names(fmt, _raw_fields(fmt, mrz_lines))
    return surname.cut, given.cut


_SETTLED = frozenset({Rule.EXACT, Rule.ACCENTS_CASE, Rule.HYPHEN_APOSTROPHE_SPACE, Rule.TRANSLITERATION,
                      Rule.GIVEN_NAMES_ORDER, Rule.GIVEN_NAMES_SUBSET})


def printed_lines_needed(comparison: DeclaredComparison, document_type: DocumentType,
                         mrz_lines: Sequence[str]) -> tuple[str, ...]:
    """The printed identity lines whose reading could change `comparison`, made without them.

    None when the MRZ settles every field by its spelling and list rules (the common case: a holder
    declaring the names the MRZ shows whole); the surname and usage-name lines for a surname it does
    not settle or may have cut, the given names line likewise, the birth place line when declared.
    """
    surname_filled, given_filled = mrz_names_filled(document_type, mrz_lines)
    surname, given = comparison.of(DeclaredField.SURNAME), comparison.of(DeclaredField.GIVEN_NAMES)
    needed: list[str] = []
    if surname is not None and (surname_filled or surname.rule not in _SETTLED):
        needed += ["surname", "usage_name"]
    if given is not None and (given_filled or given.rule not in _SETTLED):
        needed.append("given_names")
    if comparison.of(DeclaredField.BIRTH_PLACE) is not None:
        needed.append("birth_place")
    return tuple(needed)


def compare_declared(declared: DeclaredIdentity, document_type: DocumentType, fields: MRZFields,
                     mrz_lines: Sequence[str], printed: PrintedIdentity | None = None) -> DeclaredComparison:
    """Each declared field against the document whose MRZ is `mrz_lines` (decoded: `fields`) and whose
    printed identity lines were read as `printed` (None when not read). Raises InvalidInput when
    `mrz_lines` do not have the shape of `document_type`'s MRZ."""
    fmt = document_layout.LAYOUTS[DocumentType(document_type)].mrz_format
    raw = _raw_fields(fmt, mrz_lines)
    surname, given = _mrz_names(fmt, raw)
    results = [(DeclaredField.SURNAME, declared.surname, _surname(declared.surname, surname, printed)),
               (DeclaredField.GIVEN_NAMES, declared.given_names, _given_names(declared.given_names, given, printed))]
    if declared.birth_date is not None:
        results.append((DeclaredField.BIRTH_DATE, declared.birth_date.isoformat(),
                        _birth_date(declared.birth_date, raw["birth_date"], fields)))
    if declared.birth_place is not None:
        results.append((DeclaredField.BIRTH_PLACE, declared.birth_place, _birth_place(declared.birth_place, printed)))
    comparisons = tuple(FieldComparison(name, v.outcome, v.rule, value, v.document, v.source)
                        for name, value, v in results)
    worst = max((c.outcome for c in comparisons), key=_SEVERITY.__getitem__)
    return DeclaredComparison(worst, comparisons)
