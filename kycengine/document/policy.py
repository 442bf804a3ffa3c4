"""Which document an MRZ belongs to, whether its document code is one its format allows, and
whether the bank accepts it (Settings.accepted_documents and accepted_passport_states)."""

from __future__ import annotations

from ..findings import Finding, FindingCode
from ..settings import Settings
from .mrz import MRZ, MRZFormat
from .types import DocumentType

# ICAO 9303 (part 4 section 4.2.2, part 5 section 4.2.2, part 7 section 4.2.2): the first character
# of the document code says what the document is; each format admits only some. The old French CNI
# is not ICAO: its layout requires the prefix "IDFRA" itself.
ALLOWED_CODE_LETTERS: dict[MRZFormat, str] = {
    MRZFormat.TD3: "P",
    MRZFormat.TD1: "ACI",
    MRZFormat.TD2: "ACI",
    MRZFormat.MRV_A: "V",
    MRZFormat.MRV_B: "V",
    MRZFormat.FR_CNI_1988: "I",
}


def document_type_of(mrz: MRZ) -> DocumentType | None:
    """Which document kind the engine knows an MRZ belongs to, or None (another kind of document)."""
    fields = mrz.fields
    if mrz.format is MRZFormat.FR_CNI_1988:
        return DocumentType.FR_CNI_1988
    if mrz.format is MRZFormat.TD1 and fields.document_code.startswith("I") and fields.issuing_state == "FRA":
        return DocumentType.FR_CNI_2021
    if mrz.format is MRZFormat.TD3 and fields.document_code.startswith("P"):
        return DocumentType.PASSPORT
    return None


def code_allowed(mrz: MRZ) -> bool:
    """True when the MRZ's document code starts with a letter its format allows."""
    code = mrz.fields.document_code
    return bool(code) and code[0] in ALLOWED_CODE_LETTERS[mrz.format]


def acceptance(mrz: MRZ, settings: Settings) -> tuple[DocumentType | None, tuple[Finding, ...]]:
    """The document kind and what stands against accepting it: a document code its format forbids,
    a kind or an issuing state the bank does not accept."""
    code = mrz.fields.document_code
    if not code_allowed(mrz):
        allowed = ", ".join(ALLOWED_CODE_LETTERS[mrz.format])
        return None, (Finding(FindingCode.MRZ_DOCUMENT_CODE_FORBIDDEN,
                              f"{mrz.format.value} document code {code!r}: must start with {allowed}"),)
    kind = document_type_of(mrz)
    if kind is None or kind not in settings.accepted_documents:
        what = kind.value if kind else f"{mrz.format.value} document {code!r} of {mrz.fields.issuing_state}"
        return kind, (Finding(FindingCode.DOCUMENT_TYPE_NOT_ACCEPTED, f"{what} is not accepted"),)
    if kind is DocumentType.PASSPORT and not settings.accepts_passport_of(mrz.fields.issuing_state):
        return kind, (Finding(FindingCode.ISSUING_STATE_NOT_ACCEPTED,
                              f"passports of {mrz.fields.issuing_state!r} are not accepted"),)
    return kind, ()
