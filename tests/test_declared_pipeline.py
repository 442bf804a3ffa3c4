"""The declared identity through the engine: the library, the CLI (the worker: test_workers.py's
real-verifier test). Declared forms of the holder's own name pass; anyone else's is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kycengine import Verifier
from kycengine.declared import Outcome
from kycengine.declared_check import check_declared_identity
from kycengine.findings import FindingCode
from kycengine.reasons import Reason, Status
from kycengine.schema import DeclaredIdentity, DocumentEvidence, StageState
from kycengine.synth import make_sample
from kycengine.synth.declared import declared_cases

from .conftest import run_kyc

ELSE = DeclaredIdentity("Dupont", "Jean", dt.date(1990, 1, 1))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("declared")
    labels = make_sample(folder, seed=3, size=(640, 360), fps=10)
    return folder, labels["document.mp4"]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier()


def test_someone_elses_declaration_is_refused_and_the_holders_approved(sample, verifier) -> None:
    folder, labels = sample
    holder = labels.identity
    own = DeclaredIdentity(holder.surname.upper(), " ".join(holder.given_names).lower(), holder.birth_date)
    approved = verifier.verify(folder / "document.mp4", folder / "selfie.mp4", declared=own, today=labels.today)
    assert approved.status is Status.APPROVED, approved.reasons
    assert approved.declared is not None and approved.declared.comparison.outcome is Outcome.MATCH
    refused = verifier.verify(folder / "document.mp4", folder / "selfie.mp4", declared=ELSE, today=labels.today)
    assert (refused.status, refused.reasons) == (Status.REFUSED, (Reason.DECLARED_IDENTITY_MISMATCH,))
    finding = refused.declared.findings[0]
    assert finding.code is FindingCode.DECLARED_MISMATCH and "surname: different" in finding.detail
    without = verifier.verify(folder / "document.mp4", folder / "selfie.mp4", today=labels.today)
    assert without.status is Status.APPROVED and without.declared is None


def test_every_generated_declaration_gets_its_outcome_on_the_filmed_card(sample, verifier) -> None:
    """The holder's spellings (accents, case, hyphens, order, first names, ICAO forms), near misses
    and other identities, against the document the stage read (real OCR of the printed lines)."""
    folder, labels = sample
    from kycengine.video import decode

    settings = verifier.settings
    document = verifier.document.analyse(decode(folder / "document.mp4", max_side=settings.max_side,
                                                target_fps=settings.document_fps), today=labels.today)
    cases = declared_cases(labels.identity, np.random.default_rng(7))
    assert len(cases) >= 10
    wrong = []
    for case in cases:
        evidence = check_declared_identity(case.declared, document, verifier.document.read_printed,
                                           today=labels.today)
        if evidence.comparison is None or evidence.comparison.outcome is not case.expected:
            wrong.append((case.name, case.expected, evidence.comparison))
    assert not wrong, wrong


def test_an_unread_document_cannot_settle_a_declaration() -> None:
    evidence = check_declared_identity(ELSE, DocumentEvidence(state=StageState.COMPLETE),
                                       lambda *_: None, today=dt.date(2026, 1, 1))
    assert evidence.state is StageState.PARTIAL
    assert [f.code for f in evidence.findings] == [FindingCode.CHECK_NOT_RUN]


def test_cli_takes_a_declared_identity(sample) -> None:
    folder, labels = sample
    common = ("verify", "--document", str(folder / "document.mp4"), "--selfie", str(folder / "selfie.mp4"),
              "--today", labels.today.isoformat(), "--json")
    done = run_kyc(*common, "--surname", "Dupont", "--given-names", "Jean", "--birth-date", "1990-01-01")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["status"] == "refused" and verdict["reasons"] == ["declared_identity_mismatch"]
    assert verdict["declared"]["comparison"]["outcome"] == "mismatch"
    partial = run_kyc(*common, "--surname", "Dupont")
    assert partial.returncode == 2 and "--given-names, --birth-date" in partial.stderr
