"""Random but plausible French identities and the document issued to each, for the capture generator.

Validity rules (the same the engine applies, see `kycengine.document.validity`):
- old CNI (1988 to August 2021): 15 years for an adult's card issued from January 2004, otherwise
  (minor at issue, or issued before 2004) 10 years;
- 2021 CNI (from 2 August 2021): 10 years;
- passport: 10 years, 5 for a minor (the real French rule).
A document is valid through the day before the anniversary of its issue. Issue and expiry dates keep
a two-month margin from `today`, and the holder's age at issue is the same on the first of the issue
month, so that an engine that only knows the old CNI's issue month (YYMM) reaches the same verdict.

A holder may have a usage name (nom d'usage: a spouse's name, with "épouse"/"veuve" or plain, or
the birth name joined to another); documents print it below the surname, the MRZ never carries it.
`random_usage_name` draws one; `random_identity` never does, so that its draws stay as they were.
"""

from __future__ import annotations

import enum
import string
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from ..document.mrz import MRZFields
from ..document.types import DocumentType
from ..document.validity import ADULT_AGE, add_years, age_on, last_valid_day
from ..errors import InvalidInput
from ..records import Record

DEFAULT_TODAY = date(2026, 11, 1)
_MARGIN = timedelta(days=60)
_MAX_TRIES = 2000

_SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Legrand", "Gauthier",
    "Perrin", "Clément", "Gaillard", "Brunet", "Rémy", "Lemaître", "Chevalier", "Noël", "Bénard", "Hérault",
    "Le Goff", "Le Gall", "D'Almeida", "Da Silva", "Boyer", "Ménard", "Faure", "Rousseau", "Guérin",
    "Fontaine", "Beaumont", "Mallet", "Lacroix", "Carré", "Étienne", "Barbier", "Meunier", "Nguyen",
)
_GIVEN_NAMES: dict[str, tuple[str, ...]] = {
    "F": ("Marie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Sophie", "Nathalie", "Isabelle",
          "Sylvie", "Catherine", "Hélène", "Anaïs", "Zoé", "Élodie", "Céline", "Aurélie", "Béatrice",
          "Françoise", "Geneviève", "Juliette", "Margaux", "Noémie", "Valérie", "Émilie", "Agnès",
          "Marie-Claire", "Anne-Sophie", "Marie-Hélène", "Jeanne"),
    "M": ("Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Julien", "Thomas", "Hugo",
          "Lucas", "Théo", "Louis", "François", "Jérôme", "Stéphane", "Sébastien", "Frédéric", "Hervé",
          "Gérard", "Loïc", "Noël", "Rémi", "Benoît", "Grégoire", "Étienne", "Joël", "Cédric",
          "Jean-Pierre", "Jean-Luc", "Pierre-Yves"),
}
_PLACES = (
    ("Paris", "75"), ("Marseille", "13"), ("Lyon", "69"), ("Toulouse", "31"), ("Nice", "06"),
    ("Nantes", "44"), ("Strasbourg", "67"), ("Montpellier", "34"), ("Bordeaux", "33"), ("Lille", "59"),
    ("Rennes", "35"), ("Reims", "51"), ("Saint-Étienne", "42"), ("Le Havre", "76"), ("Grenoble", "38"),
    ("Dijon", "21"), ("Angers", "49"), ("Nîmes", "30"), ("Aix-en-Provence", "13"), ("Besançon", "25"),
    ("Orléans", "45"), ("Mulhouse", "68"), ("Caen", "14"), ("Nancy", "54"), ("Évry", "91"),
    ("Boulogne-Billancourt", "92"), ("Saint-Denis", "93"), ("Créteil", "94"), ("Versailles", "78"),
)
_FIRST_ISSUE: dict[DocumentType, date] = {
    DocumentType.FR_CNI_1988: date(1988, 1, 4),
    DocumentType.FR_CNI_2021: date(2021, 8, 2),
    DocumentType.PASSPORT: date(2006, 4, 12),  # first French electronic passports
}
_LAST_ISSUE_FR_CNI_1988 = date(2021, 8, 1)
_CNI_15_YEARS_FROM = date(2004, 1, 1)
_ALNUM = string.ascii_uppercase + string.digits


class UsageMention(str, enum.Enum):
    """How the document introduces a usage name printed below the birth name (the MRZ keeps the birth name)."""

    SPOUSE = "spouse"  # "épouse X" / "époux X", often abbreviated "ép. X"
    WIDOWED = "widowed"  # "veuve X" / "veuf X"
    NONE = "none"  # a plain "nom d'usage": the spouse's or other parent's name, alone or joined to the birth name


@dataclass(frozen=True)
class UsageName(Record):
    """A usage name (nom d'usage) as the holder asked for it: the name, mixed case, and its mention."""

    name: str
    mention: UsageMention = UsageMention.NONE


@dataclass(frozen=True)
class Identity(Record):
    """A document holder and the document issued to them, as printed (accents, hyphens, mixed case)."""

    document_type: DocumentType
    surname: str
    given_names: tuple[str, ...]
    sex: str  # "F" or "M", as in the MRZ
    birth_date: date
    birth_place: str
    birth_department: str  # two-character French département code, e.g. "69"
    height_cm: int
    document_number: str
    issue_date: date
    expiry_date: date
    nationality: str = "FRA"
    department: str = ""  # old CNI only: issuing department (3 characters) ...
    office: str = ""  # ... and office (3 digits), printed at the end of MRZ line 1
    usage: UsageName | None = None  # printed below the surname; never in the MRZ

    def mrz_fields(self) -> MRZFields:
        """The logical MRZ content of this document (the old CNI's MRZ carries no expiry date)."""
        old_cni = self.document_type is DocumentType.FR_CNI_1988
        return MRZFields(
            document_code="P" if self.document_type is DocumentType.PASSPORT else "ID",
            issuing_state="FRA", surname=self.surname, given_names=" ".join(self.given_names),
            document_number=self.document_number, nationality=self.nationality,
            birth_date=self.birth_date, sex=self.sex,
            expiry_date=None if old_cni else self.expiry_date,
            department=self.department, office=self.office)


def validity_years(document_type: DocumentType, birth: date, issued: date) -> int:
    """How many years a document issued on `issued` to someone born on `birth` is valid."""
    adult = age_on(birth, issued) >= ADULT_AGE
    if document_type is DocumentType.FR_CNI_1988:
        return 15 if adult and issued >= _CNI_15_YEARS_FROM else 10
    if document_type is DocumentType.PASSPORT:
        return 10 if adult else 5
    return 10


def expiry_for(document_type: DocumentType, birth: date, issued: date) -> date:
    """Last valid day: the day before the anniversary of issue."""
    return last_valid_day(issued, validity_years(document_type, birth, issued))


def _random_day(rng: np.random.Generator, first: date, last: date) -> date:
    return first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))


def _name(rng: np.random.Generator) -> str:
    first = str(rng.choice(_SURNAMES))
    if rng.random() < 0.12:  # double-barrelled surname
        second = str(rng.choice([s for s in _SURNAMES if s != first and " " not in s]))
        return f"{first}-{second}"
    return first


def _given_names(rng: np.random.Generator, sex: str) -> tuple[str, ...]:
    count = int(rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    return tuple(str(n) for n in rng.choice(_GIVEN_NAMES[sex], size=count, replace=False))


def _issue_window(document_type: DocumentType, birth: date, today: date) -> tuple[date, date]:
    first = max(_FIRST_ISSUE[document_type], add_years(birth, 1))
    last = today - _MARGIN
    if document_type is DocumentType.FR_CNI_1988:
        last = min(last, _LAST_ISSUE_FR_CNI_1988)
    return first, last


def _dates(rng: np.random.Generator, document_type: DocumentType, today: date,
           expired: bool) -> tuple[date, date, date]:
    """(birth, issue, expiry) with the holder adult today and the document expired or valid today."""
    for _ in range(_MAX_TRIES):
        birth = _random_day(rng, add_years(today, -80), add_years(today, -ADULT_AGE) - _MARGIN)
        first, last = _issue_window(document_type, birth, today)
        if first > last:
            continue
        issued = _random_day(rng, first, last)
        if age_on(birth, issued) != age_on(birth, issued.replace(day=1)):
            continue  # the 18th birthday falls inside the issue month: ambiguous from YYMM
        expiry = expiry_for(document_type, birth, issued)
        if (expiry < today - _MARGIN) if expired else (expiry > today + _MARGIN):
            return birth, issued, expiry
    state = "expired" if expired else "valid"
    raise InvalidInput(f"no {document_type.value} can be {state} on {today.isoformat()} under its "
                       f"issue dates and validity rules")


def _document_number(rng: np.random.Generator, document_type: DocumentType, issued: date,
                     department: str) -> str:
    if document_type is DocumentType.FR_CNI_1988:
        return f"{issued:%y%m}{department}{int(rng.integers(0, 100_000)):05d}"
    if document_type is DocumentType.PASSPORT:  # e.g. 18AB12345
        letters = "".join(rng.choice(list(string.ascii_uppercase), size=2))
        return f"{issued:%y}{letters}{int(rng.integers(0, 100_000)):05d}"
    return str(rng.choice(list(string.ascii_uppercase))) + "".join(rng.choice(list(_ALNUM), size=8))


def random_identity(rng: np.random.Generator, document_type: DocumentType, *,
                    today: date = DEFAULT_TODAY, expired: bool = False, sex: str | None = None) -> Identity:
    """A plausible adult French holder of `document_type`, whose document is expired or valid on `today`."""
    sex = sex or str(rng.choice(["F", "M"]))
    if sex not in _GIVEN_NAMES:
        raise InvalidInput(f"sex must be 'F' or 'M', got {sex!r}")
    surname, given = _name(rng), _given_names(rng, sex)
    city, birth_department = _PLACES[int(rng.integers(len(_PLACES)))]
    height = int(np.clip(rng.normal(164 if sex == "F" else 177, 7), 148, 200))
    birth, issued, expiry = _dates(rng, document_type, today, expired)
    department = office = ""
    if document_type is DocumentType.FR_CNI_1988:
        department = f"{_PLACES[int(rng.integers(len(_PLACES)))][1]}{int(rng.integers(0, 10))}"
        office = f"{int(rng.integers(1, 1000)):03d}"
    return Identity(
        document_type=document_type, surname=surname, given_names=given, sex=sex, birth_date=birth,
        birth_place=city, birth_department=birth_department, height_cm=height,
        document_number=_document_number(rng, document_type, issued, department),
        issue_date=issued, expiry_date=expiry, department=department, office=office)


def random_usage_name(rng: np.random.Generator, surname: str) -> UsageName:
    """A usage name for a holder born `surname`: a spouse's name (with "épouse"/"veuve" or plain),
    or, for a plain usage name, sometimes the birth name joined to another in either order."""
    other = str(rng.choice([s for s in _SURNAMES if s != surname and " " not in s]))
    mention = UsageMention(str(rng.choice([m.value for m in UsageMention], p=[0.55, 0.15, 0.3])))
    if mention is UsageMention.NONE and rng.random() < 0.5:
        other = f"{surname} {other}" if rng.random() < 0.5 else f"{other} {surname}"
    return UsageName(other, mention)
