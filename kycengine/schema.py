"""Typed records that flow between stages: the request, each stage's evidence and the verdict.

Coordinates are pixels, (x, y) with the origin at the top-left of the frame they name. Images and
embeddings are transient: they never leave the process (see `records.transient`).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .capture.challenge import Challenge
from .declared import DeclaredComparison
from .declared_values import check_declared
from .document.printed import PrintedIdentity
from .document.types import DocumentType
from .errors import InvalidRequest
from .findings import Finding
from .reasons import Effect, Reason, Status
from .records import Record, transient

_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def is_valid_id(value: object) -> bool:
    """True for a valid case or customer id (1-128 letters, digits, '.', '_' or '-', not starting with
    '.', '_' or '-'): such an id holds no ':' or '/' and is safe in a Redis key or a path segment."""
    return isinstance(value, str) and _CASE_ID.fullmatch(value) is not None


class StageState(str, enum.Enum):
    """Whether a stage produced evidence, could not, or is not built yet (never read as a pass)."""

    COMPLETE = "complete"
    PARTIAL = "partial"  # ran, but some of its checks are not built yet: never read as a pass
    FAILED = "failed"
    NOT_IMPLEMENTED = "not_implemented"


@dataclass(frozen=True)
class DeclaredIdentity(Record):
    """What the customer declared to the bank, compared with the document when given."""

    surname: str
    given_names: str
    birth_date: dt.date | None = None
    document_number: str | None = None
    birth_place: str | None = None

    def __post_init__(self) -> None:
        check_declared(self)


@dataclass(frozen=True)
class Consent(Record):
    """The customer's consent to be filmed and to biometric processing, as the bank collected it:
    which text they accepted, when and through which channel (biometric data needs explicit consent)."""

    text_version: str
    given_at: dt.datetime
    channel: str
    filming: bool
    biometric_processing: bool

    def __post_init__(self) -> None:
        for name in ("text_version", "channel"):
            if not getattr(self, name).strip():
                raise InvalidRequest(f"consent.{name}: empty")

    @property
    def explicit(self) -> bool:
        """True when both the filming and the biometric processing were accepted."""
        return self.filming is True and self.biometric_processing is True


@dataclass(frozen=True)
class VerificationRequest(Record):
    """One verification attempt as a bank submits it (JSON on the queue)."""

    case_id: str
    attempt: int
    document_video: str
    selfie_video: str
    declared: DeclaredIdentity | None = None
    callback_url: str | None = None
    submitted_at: dt.datetime | None = None
    customer_id: str | None = None  # the bank's customer (required by workers/, optional to the library)
    consent: Consent | None = None  # required by workers/ before anything is decoded
    challenge: Challenge | None = None  # the capture session's challenge, checked again on the selfie

    def __post_init__(self) -> None:
        if not is_valid_id(self.case_id):
            raise InvalidRequest(f"case_id {self.case_id!r}: 1-128 letters, digits, '.', '_' or '-'")
        if self.customer_id is not None and not is_valid_id(self.customer_id):
            raise InvalidRequest(f"customer_id {self.customer_id!r}: 1-128 letters, digits, '.', '_' or '-'")
        if not 1 <= self.attempt <= 1000:
            raise InvalidRequest(f"attempt {self.attempt}: must be between 1 and 1000")
        for name in ("document_video", "selfie_video"):
            if not getattr(self, name):
                raise InvalidRequest(f"{name}: empty")

    @classmethod
    def parse(cls, data: Any) -> VerificationRequest:
        """`from_dict` that reports every malformation as InvalidRequest."""
        try:
            return cls.from_dict(data)
        except InvalidRequest:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidRequest(f"malformed request: {exc}") from None


@dataclass(frozen=True)
class Check(Record):
    """One named check and its outcome; `passed` is None when it could not be run."""

    name: str
    passed: bool | None
    detail: str = ""


@dataclass(frozen=True, eq=False)
class DocumentEvidence(Record):
    """What the document stage found: kind, fields, checks, signals and crops."""

    state: StageState
    findings: tuple[Finding, ...] = ()
    document_type: DocumentType | None = None
    fields: dict[str, str] = field(default_factory=dict)
    mrz_lines: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    frames_used: tuple[int, ...] = ()
    note: str = ""
    card_image: np.ndarray | None = transient()
    portrait: np.ndarray | None = transient()
    tilt_image: np.ndarray | None = transient()  # the document at its tilt, cut from its frame


class MatchDecision(str, enum.Enum):
    """Face comparison outcome; `uncertain` is the band near the threshold that a person decides."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True, eq=False)
class FaceEvidence(Record):
    """Selfie faces against the document portrait."""

    state: StageState
    findings: tuple[Finding, ...] = ()
    backend: str = ""
    similarity: float | None = None
    decision: MatchDecision | None = None
    threshold: float | None = None
    frames_used: tuple[int, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    note: str = ""
    embeddings: np.ndarray | None = transient()


@dataclass(frozen=True)
class LivenessEvidence(Record):
    """Whether the selfie video shows a live person, cue by cue."""

    state: StageState
    findings: tuple[Finding, ...] = ()
    live: bool | None = None
    scores: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    frames_used: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class DeclaredEvidence(Record):
    """The customer's declared identity against the document, field by field (kycengine.declared)."""

    state: StageState
    findings: tuple[Finding, ...] = ()
    comparison: DeclaredComparison | None = None
    printed: PrintedIdentity | None = None  # the printed lines read for it (None: none were needed)
    note: str = ""


@dataclass(frozen=True)
class Verdict(Record):
    """The answer for one attempt: status, every reason with its own effect (the strongest effect
    first: it gave the status), scores, the evidence behind them and timings."""

    case_id: str
    attempt: int
    status: Status
    reasons: tuple[Reason, ...]
    document: DocumentEvidence
    face: FaceEvidence
    liveness: LivenessEvidence
    effects: dict[Reason, Effect] = field(default_factory=dict)
    declared: DeclaredEvidence | None = None  # None when no identity was declared
    scores: dict[str, float] = field(default_factory=dict)
    models: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    engine_version: str = ""
    created_at: dt.datetime | None = None
    # JPEGs for a reviewer by name (kycengine.evidence), kept by the host apart from the verdict
    evidence_images: dict[str, bytes] | None = transient()

    def messages(self, language: str = "en") -> tuple[str, ...]:
        """The customer's texts for the reasons, in 'en' or 'fr', each text once."""
        return tuple(dict.fromkeys(r.message(language) for r in self.reasons))
