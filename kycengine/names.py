"""Comparable forms of French names and places: as typed by a customer, printed on a document, or in an MRZ.

Three forms, each dropping more than the one before:
- `fold`: capitals, accents removed, ligatures spelt out (É -> E, Œ -> OE, Æ -> AE, ß -> SS); spaces,
  hyphens and apostrophes kept. The French practice for a document's MRZ.
- `words`: the A-Z runs of `fold`, as an MRZ writes them between fillers ("D'ALMEIDA" -> D, ALMEIDA).
- `letters`: the words joined ("DALMEIDA").
`icao_variants` lists the other spellings ICAO 9303 part 3 (section 6, table A) lets an issuer choose
for Ä Å Ö Ø Ü Ñ; `edit_distance` counts the typing or reading slips between two forms.
"""

from __future__ import annotations

import itertools
import unicodedata

from .document.icao import FILLER
from .document.mrz import transliterate

# ICAO 9303 part 3, section 6, table A: the characters for which an issuer may choose between
# several MRZ spellings. The first is the French practice (the accent dropped, as `fold` does).
_ICAO_CHOICES: dict[str, tuple[str, ...]] = {
    "Ä": ("A", "AE"), "Å": ("A", "AA"), "Ö": ("O", "OE"), "Ø": ("O", "OE"), "Ü": ("U", "UE", "UXX"),
    "Ñ": ("N", "NXX"),
}
_MAX_VARIANTS = 64  # a name with more than six such characters keeps its first 64 spellings
_APOSTROPHES = "'\u2019\u02bc`\u00b4"


def fold(text: str) -> str:
    """Capitals without accents, ligatures spelt out; spaces collapsed, hyphens and apostrophes kept."""
    out = []
    for char in unicodedata.normalize("NFC", text).upper():
        mapped = transliterate(char)  # one letter's MRZ spelling, "" for anything else
        out.append(mapped or ("'" if char in _APOSTROPHES else char))
    return " ".join("".join(out).split())


def words(text: str) -> tuple[str, ...]:
    """The A-Z words of a name, split where it has a space, hyphen, apostrophe or MRZ filler."""
    return tuple(w for w in transliterate(text).split(FILLER) if w)


def letters(text: str) -> str:
    """The letters of a name only, A-Z, in order."""
    return "".join(words(text))


def icao_variants(text: str) -> frozenset[str]:
    """`letters(text)` under every spelling ICAO 9303 allows for its Ä Å Ö Ø Ü Ñ (the French one included)."""
    upper = unicodedata.normalize("NFC", text).upper()
    choices = [_ICAO_CHOICES.get(char, (char,)) for char in upper]
    spellings = itertools.islice(itertools.product(*choices), _MAX_VARIANTS)
    return frozenset(letters("".join(spelling)) for spelling in spellings)


def edit_distance(a: str, b: str) -> int:
    """Fewest insertions, deletions, substitutions or swaps of two neighbours turning `a` into `b`.

    The optimal-string-alignment distance, written out here (a dozen lines on names of at most a
    few dozen letters) rather than adding a dependency for it.
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]
