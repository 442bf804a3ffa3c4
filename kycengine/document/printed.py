"""What the printed zone says about the holder: the identity lines read on the rectified document.

Records, and the reading of a line's raw OCR text into its value (the OCR itself is `viz`'s):
inline label remains dropped ("m:CHEVALIER" -> "CHEVALIER", "ne épouse GARCIA" -> "GARCIA"), the
mention of a usage name separated from the name ("ép. MARTIN", "épouxLEFÈVRE", "Vve DUPONT"),
the department of a birth place dropped ("PARIS(75)" -> "PARIS"), list separators made commas.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ..records import Record

IDENTITY_LINES = ("surname", "usage_name", "given_names", "birth_place")

# The words that introduce a usage name on French documents, in full or abbreviated.
_MENTIONS = ("épouse", "époux", "ép.", "ép", "veuve", "veuf", "vve.", "vve")
_MENTION = "|".join(re.escape(m) for m in sorted(_MENTIONS, key=len, reverse=True))
# A mention as a word of its own, in any case, then a space or its full stop ("EPOUSE MARTIN");
# mentions in lower case are dropped with the other lower-case words before a name in capitals.
_SPACED = re.compile(rf"(?:^|[^\w])(?:{_MENTION})(?:\s+|(?<=\.))", re.IGNORECASE)
_GLUED_LOWER = re.compile(r"^[^\W\d_A-ZÀ-Þ]+(?=[A-ZÀ-Þ])|(?<=[A-ZÀ-Þ])[^\W\d_A-ZÀ-Þ]+$")
_CAPITALS_SHARE = 0.6  # a word read with a lower-case letter or two is still a word in capitals
_LIST_SEPARATORS = re.compile(r"\s*[,，、;]\s*")
_DEPARTMENT = re.compile(r"\s*[(\[{].*$|\s+\d[\dAB]?\d?\W*$")


class LineState(str, enum.Enum):
    """How much a printed line can be trusted."""

    READ = "read"  # read with a good OCR score: may confirm or contradict a declaration
    UNSURE = "unsure"  # read with a low OCR score: may confirm, never contradicts
    BLANK = "blank"  # nothing printed there (the lines around it were read)
    UNREAD = "unread"  # nothing usable was read


@dataclass(frozen=True)
class PrintedLine(Record):
    """One printed line: its value (labels and mentions removed), the OCR's text and score."""

    state: LineState
    value: str = ""
    text: str = ""
    score: float = 0.0

    @property
    def usable(self) -> bool:
        """True when the line was read (confidently or not) and has a value."""
        return self.state in (LineState.READ, LineState.UNSURE) and bool(self.value)


@dataclass(frozen=True)
class PrintedIdentity(Record):
    """The identity lines of a document's printed zone; a line is None when its design prints none
    (the generated 2021 card prints no birth place)."""

    surname: PrintedLine | None = None
    usage_name: PrintedLine | None = None
    given_names: PrintedLine | None = None
    birth_place: PrintedLine | None = None


def _after_label(text: str) -> str:
    """The text after an inline label's colon when one is in its first characters (old CNI)."""
    head, colon, tail = text.partition(":")
    return tail if colon and len(head) <= 12 else text


def _capitals(text: str) -> str:
    """The words at the end of a line printed in capitals (surnames, usage names), without the
    lower-case words before them (label remains, "ép.", "Vve", "épouse") or glued to them
    ("mFOURNIER", "neBONNET", "NOELame")."""
    kept: list[str] = []
    for token in reversed([t for t in re.split(r"[\s.,]+", text) if t]):
        stripped = _GLUED_LOWER.sub("", token)
        cased = [c for c in stripped if c.isalpha()]
        if (not cased or sum(c.isupper() for c in cased) < _CAPITALS_SHARE * len(cased)
                or (token[0].islower() and token[-1].islower())):  # "pOUx" is no name in capitals
            break
        kept.append(stripped)
    return " ".join(reversed(kept))


def usage_value(text: str) -> str:
    """The name of a usage-name line, without the mention before it and label remains."""
    text = _after_label(text)
    found = _SPACED.search(text)
    return _capitals(text[found.end():] if found else text)


def value_of(line: str, text: str) -> str:
    """The value of the identity line `line` ("surname", "usage_name", ...) in its OCR text."""
    if line == "usage_name":
        return usage_value(text)
    text = _after_label(text).strip()
    if line == "surname":
        text = _capitals(text)
    elif line == "given_names":
        text = ", ".join(p for p in _LIST_SEPARATORS.split(text) if p)
    elif line == "birth_place":
        text = _DEPARTMENT.sub("", text)
    return re.sub(r"^[^\w]+|[^\w)]+$", "", " ".join(text.split()))
