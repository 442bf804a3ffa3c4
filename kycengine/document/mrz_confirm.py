"""Which characters of a voted MRZ reading are confirmed, and the code-list vote of state codes.

The OCR-B template reader sums, per character cell, every glyph's correlation over the frames
(`card_mrz`). A reading passing its check digits can still be wrong where no check digit looks (a
TD3 name, any state code) or where 7-3-1 is blind (glyphs of equal value mod 10: Z/F, E/O, K/U/A/0,
...), or when two errors cancel. Here each cell's evidence says whether its glyph was read clearly;
state codes are voted among the ICAO 9303 codes (`icao_codes`) rather than letter by letter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .icao import FILLER, char_value
from .icao_codes import STATE_CODES
from .layout import Layout
from .mrz import LAYOUTS as MRZ_LAYOUTS
from .mrz import MRZ, checks_covering
from .ocrb import GLYPHS, allowed_masks

_CODE_FIELDS = ("issuing_state", "nationality")
# The document code is no identity data, and the document policy constrains it (a TD3 that is not
# a P is refused: `policy.acceptance`); its near ties send no one to a person.
_POLICY_FIELDS = ("document_code",)
_NAME_AND_CODE_FIELDS = ("name", "surname", "given_names", *_CODE_FIELDS)
_DIGIT_LOOKALIKES = "OIBSZ"  # letters OCR-B readers confuse with 0, 1, 8, 5, 2
_CODES = sorted(STATE_CODES)
_CODE_GLYPHS = np.array([[GLYPHS.index(c) for c in code.ljust(3, FILLER)] for code in _CODES])


@dataclass(frozen=True)
class Unconfirmed:
    """A field of a reading that nothing confirms: a near tie no check digit covers, a glyph the
    field's class excludes read better than the one kept, a code taken from the code list, a name or
    code no document prints, or a field read without per-character evidence."""

    field: str  # an MRZFields name: surname, given_names, document_number, nationality, ...
    text: str  # the field's characters as read
    margin: float  # the weakest lead (per frame) behind the doubt
    why: str

    @property
    def detail(self) -> str:
        """One line for a finding."""
        return f"{self.field} {self.text!r}: {self.why} (lead {self.margin:.3f})"


def _code_scores(sums: np.ndarray, col: int) -> np.ndarray:
    """Summed glyph evidence of every ICAO state code at `col` of one line's (width, 37) sums."""
    return sums[col + np.arange(3)[None, :], _CODE_GLYPHS].sum(axis=1)


def _doubt(scores: np.ndarray, allowed: np.ndarray, chosen: int, frames: int,
           min_margin: float) -> tuple[float, bool] | None:
    """(lead, blind) of a cell in doubt, None when it is clear: lead is the chosen glyph's over the
    next allowed one (negative: an excluded glyph read better), blind that the runner-up has the
    chosen glyph's value mod 10 (a check digit cannot tell them apart)."""
    others = np.where(allowed, scores, -1e9)
    others[chosen] = -1e9
    runner = int(others.argmax())
    lead = float(scores[chosen] - scores[runner]) / frames
    excluded = float(scores.max() - scores[chosen]) / frames
    if lead >= min_margin and excluded <= min_margin:
        return None
    blind = char_value(GLYPHS[runner]) % 10 == char_value(GLYPHS[chosen]) % 10
    return (-excluded if excluded > min_margin else lead), blind


def _code_doubt(sums: np.ndarray, mask: np.ndarray, col: int, field: str, frames: int,
                min_margin: float) -> list[Unconfirmed]:
    """The state code at `col` in doubt: changed by the code list, or a near tie with another code."""
    scores = _code_scores(sums, col)
    order = np.argsort(-scores)
    lead = float(scores[order[0]] - scores[order[1]]) / frames
    code = _CODES[int(order[0])]
    raw = "".join(GLYPHS[i] for i in np.where(mask, sums, -1e9)[col:col + 3].argmax(axis=1))
    if raw != code.ljust(3, FILLER):
        return [Unconfirmed(field, code, lead, f"read {raw!r}, which is no ICAO 9303 code")]
    if lead < min_margin:
        return [Unconfirmed(field, code, lead, f"a near tie with {_CODES[int(order[1])]!r}")]
    return []


def _field_of(field: str, line: str, start: int, col: int) -> str:
    """The MRZFields name of column `col` of a slot feeding `field` that starts at `start` on `line`
    (a TD1/TD2/TD3 name slot holds the surname up to its first '<<', then the given names)."""
    if field == "name":
        split = line.find(FILLER * 2, start)
        return "surname" if split < 0 or col < split else "given_names"
    return field


def _field_text(mrz: MRZ, field: str) -> str:
    return str(getattr(mrz.fields, field, ""))


def _code_slots(layout: Layout) -> list[tuple[int, int]]:
    """(line, column) of the issuing state and nationality slots of a layout's MRZ."""
    return [(row, col) for row, col, slot in MRZ_LAYOUTS[layout.mrz_format].positions()
            if slot.field in _CODE_FIELDS]


def vote_evidence(sums: np.ndarray, layout: Layout) -> tuple[str, ...]:
    """The lines that summed glyph evidence `sums` (lines, width, 37) supports: each cell's best
    glyph among those its slot allows, and for each state code the listed code scored best."""
    lines = ["".join(GLYPHS[i] for i in np.where(mask, line, -1e9).argmax(axis=1))
             for line, mask in zip(sums, allowed_masks(layout))]
    for row, col in _code_slots(layout):
        code = _CODES[int(_code_scores(sums[row], col).argmax())].ljust(3, FILLER)
        lines[row] = lines[row][:col] + code + lines[row][col + 3:]
    return tuple(lines)


def unconfirmed_in(sums: np.ndarray, layout: Layout, mrz: MRZ, frames: int, min_margin: float) -> list[Unconfirmed]:
    """Fields of `mrz` (the vote of `sums`, summed over `frames` frames) that the evidence does not confirm.

    A character is in doubt when its lead over the next glyph its slot allows is under
    `min_margin` per frame, or when a glyph its slot excludes (a digit in a name) led by as much. A
    check digit that passes confirms a span holding at most one such character, and only when the
    runner-up glyph would have changed the check. A state code is in doubt when the code list
    changed what its characters said, or another listed code was a near tie.
    """
    frames = max(1, frames)
    mrz_layout = MRZ_LAYOUTS[mrz.format]
    masks = allowed_masks(layout)
    doubts: dict[str, list[tuple[int, float, bool]]] = {}  # slot -> (column, lead, blind to 7-3-1)
    for row, col, slot in mrz_layout.positions():
        if slot.field in _CODE_FIELDS + _POLICY_FIELDS:
            continue
        for c in range(col, col + slot.length):
            doubt = _doubt(sums[row][c], masks[row][c], GLYPHS.index(mrz.lines[row][c]), frames, min_margin)
            if doubt is not None:
                doubts.setdefault(slot.name, []).append((c, *doubt))
    spans = {slot.name: (*slot.covers, slot.name) for _, _, slot in mrz_layout.positions() if slot.is_check}
    passing = {f"{c.field}_check" for c in mrz.checks if c.valid}
    covering = checks_covering(mrz.format)
    out: list[Unconfirmed] = []
    for row, col, slot in mrz_layout.positions():
        if slot.field in _CODE_FIELDS:
            out += _code_doubt(sums[row], masks[row], col, slot.field, frames, min_margin)
        for c, lead, blind in () if slot.is_check else doubts.get(slot.name, ()):
            if not blind and any(check in passing and sum(len(doubts.get(n, ())) for n in spans[check]) <= 1
                                 for check in covering[slot.name]):
                continue  # the passing check digit would have seen the runner-up
            field = _field_of(str(slot.field), mrz.lines[row], col, c)
            why = "a near tie that no check digit confirms" if lead >= 0 else "a glyph its slot excludes read better"
            out.append(Unconfirmed(field, _field_text(mrz, field), lead, why))
    return list({u.field: u for u in sorted(out, key=lambda u: -u.margin)}.values())


def off_the_lists(mrz: MRZ) -> list[Unconfirmed]:
    """Names and state codes of `mrz` read as no document prints them (parse's problems: a code off
    the ICAO 9303 list, a digit in a name, letters after a name's padding). A reading read the same
    clear way frame after frame can still hold one (no check digit fails): it is never the
    document's word on the holder."""
    out = []
    for problem in mrz.problems:
        field, _, why = problem.partition(": ")
        if field in _NAME_AND_CODE_FIELDS:
            text = "/".join(filter(None, (_field_text(mrz, "surname"), _field_text(mrz, "given_names")))) \
                if field == "name" else _field_text(mrz, field)
            out.append(Unconfirmed(field, text, 0.0, why))
    return out


def without_evidence(mrz: MRZ) -> list[Unconfirmed]:
    """For a reading without per-character evidence (Tesseract's): the names when no check digit
    covers them (TD1, TD2, TD3; not the 1988 CNI's), and a document number mixing digits with
    letters that look like digits (O, I, B, S, Z): look-alike swaps can cancel in its check digit
    (IO0P67813 for 19OP67813). Only the printed zone can confirm them."""
    covering = checks_covering(mrz.format)
    names = any(s.field == "name" and not covering[s.name] for _, _, s in MRZ_LAYOUTS[mrz.format].positions())
    fields = [f for f in ("surname", "given_names") if names and _field_text(mrz, f)]
    number = mrz.fields.document_number
    if any(c.isdigit() for c in number) and set(number) & set(_DIGIT_LOOKALIKES):
        fields.append("document_number")
    return [Unconfirmed(f, _field_text(mrz, f), 0.0, "read without per-character evidence; no check digit confirms it")
            for f in fields]
