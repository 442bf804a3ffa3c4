"""Document policy as data: accepted kinds and issuing states, document codes each format allows."""

from __future__ import annotations

from datetime import date

import pytest

from kycengine.decision import decide
from kycengine.document.mrz import MRZ, MRZFields, MRZFormat, compose, parse
from kycengine.document.policy import acceptance
from kycengine.document.types import DocumentType
from kycengine.findings import FindingCode as F
from kycengine.reasons import Reason, Status
from kycengine.schema import DocumentEvidence, FaceEvidence, LivenessEvidence, MatchDecision, StageState
from kycengine.settings import Settings

TODAY = date(2026, 5, 1)


def _mrz(fmt: MRZFormat, code: str, state: str = "FRA") -> MRZ:
    fields = MRZFields(code, state, "Martin", "Claire", "18AB12345", state, date(1980, 1, 1), "F", date(2030, 1, 1))
    return parse("\n".join(compose(fmt, fields)), today=TODAY)


def _verdict_of(*codes: F) -> tuple[Status, tuple[Reason, ...]]:
    from kycengine.findings import Finding

    document = DocumentEvidence(state=StageState.COMPLETE, findings=tuple(Finding(c) for c in codes))
    decision = decide(document, FaceEvidence(state=StageState.COMPLETE, decision=MatchDecision.MATCH),
                      LivenessEvidence(state=StageState.COMPLETE, live=True))
    return decision.status, decision.reasons


@pytest.mark.parametrize(("fmt", "code"), [(MRZFormat.TD3, "K"), (MRZFormat.TD3, "ID"), (MRZFormat.TD1, "PX"),
                                           (MRZFormat.TD2, "PT")])
def test_a_document_code_its_format_forbids_is_refused_as_inconsistent(fmt, code):
    """ICAO 9303: TD3 starts with P, TD1/TD2 with A, C or I (a visa's V makes it an MRV layout)."""
    mrz = _mrz(fmt, code)
    assert mrz.format is fmt and mrz.valid  # the check digits do not cover the document code
    kind, findings = acceptance(mrz, Settings())
    assert kind is None and [f.code for f in findings] == [F.MRZ_DOCUMENT_CODE_FORBIDDEN]
    assert _verdict_of(*(f.code for f in findings)) == (Status.REFUSED, (Reason.MRZ_INCONSISTENT,))


def test_the_three_french_documents_are_accepted_by_default():
    assert acceptance(_mrz(MRZFormat.TD3, "P"), Settings()) == (DocumentType.PASSPORT, ())
    assert acceptance(_mrz(MRZFormat.TD1, "ID"), Settings()) == (DocumentType.FR_CNI_2021, ())
    fields = MRZFields("ID", "FRA", "Martin", "Claire", "100575123456", "FRA", date(1980, 1, 1), "F")
    old = parse("\n".join(compose(MRZFormat.FR_CNI_1988, fields)), today=TODAY)
    assert acceptance(old, Settings()) == (DocumentType.FR_CNI_1988, ())


def test_foreign_passports_are_accepted_only_when_configured():
    utopia = _mrz(MRZFormat.TD3, "P", state="UTO")
    kind, findings = acceptance(utopia, Settings())
    assert kind is DocumentType.PASSPORT and [f.code for f in findings] == [F.ISSUING_STATE_NOT_ACCEPTED]
    assert _verdict_of(F.ISSUING_STATE_NOT_ACCEPTED) == (Status.REFUSED, (Reason.DOCUMENT_NOT_ACCEPTED,))
    assert acceptance(utopia, Settings(accepted_passport_states=("*",))) == (DocumentType.PASSPORT, ())
    assert acceptance(utopia, Settings(accepted_passport_states=("FRA", "UTO"))) == (DocumentType.PASSPORT, ())


def test_kinds_are_policy():
    passports_only = Settings(accepted_documents=(DocumentType.PASSPORT,))
    _, findings = acceptance(_mrz(MRZFormat.TD1, "ID"), passports_only)
    assert [f.code for f in findings] == [F.DOCUMENT_TYPE_NOT_ACCEPTED]
    # an identity card of another state, and a TD2 card: kinds the engine does not know
    for mrz in (_mrz(MRZFormat.TD1, "ID", state="ITA"), _mrz(MRZFormat.TD2, "ID")):
        kind, findings = acceptance(mrz, Settings())
        assert kind is None and [f.code for f in findings] == [F.DOCUMENT_TYPE_NOT_ACCEPTED]
