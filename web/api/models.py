"""Typed request and response bodies of the bank API, for the OpenAPI schema and the answers.

`CaseRequest` documents the submission (the same fields as `kycengine.schema.VerificationRequest`):
the body itself is read by `workers.intake` (size and nesting limits before parsing) and checked by
`workers.enqueue`, never parsed by these models.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Declared(BaseModel):
    """What the customer declared to the bank, compared with the document."""

    surname: str
    given_names: str
    birth_date: dt.date | None = None
    document_number: str | None = None
    birth_place: str | None = None


class ConsentIn(BaseModel):
    """The customer's explicit consent to filming and biometric processing (both must be true)."""

    text_version: str
    given_at: dt.datetime
    channel: str
    filming: bool
    biometric_processing: bool


class CaseRequest(BaseModel):
    """A verification request (JSON); media URIs must lie under the allowed media roots."""

    case_id: str = Field(pattern=ID_PATTERN)
    attempt: int = Field(ge=1, le=1000)
    document_video: str = Field(description="URI of the document video under a media root")
    selfie_video: str = Field(description="URI of the selfie video under a media root")
    customer_id: str = Field(pattern=ID_PATTERN)
    consent: ConsentIn
    declared: Declared | None = None
    callback_url: str | None = None
    submitted_at: dt.datetime | None = None


class CaseUpload(BaseModel):
    """A verification request with the two videos uploaded (multipart/form-data)."""

    request: str = Field(description="JSON of CaseRequest without document_video and selfie_video")
    document_video: bytes = Field(json_schema_extra={"format": "binary"})
    selfie_video: bytes = Field(json_schema_extra={"format": "binary"})


class Links(BaseModel):
    case: str
    attempt: str


class CaseAccepted(BaseModel):
    """A submission the workers will verify: read its outcome at `links.attempt`."""

    case_id: str
    attempt: int
    job_id: str
    status: str = "queued"
    links: Links


class AttemptOutcome(BaseModel):
    """One attempt as the bank sees it: `queued`, a verdict's status, a reviewer's decision, or `failed`."""

    case_id: str
    attempt: int
    status: str
    reasons: list[str] = []
    verdict: dict[str, Any] | None = None
    decision: dict[str, Any] | None = None
    reason: str | None = Field(default=None, description="failed: the failure code")
    detail: str | None = Field(default=None, description="failed: what was wrong")


class AttemptSummary(BaseModel):
    attempt: int
    status: str


class CaseView(BaseModel):
    """A case: its customer, times and every attempt's status."""

    case_id: str
    customer_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    attempts: list[AttemptSummary]


class CustomerView(BaseModel):
    """A customer's identity status, what they must do next, and their attempts."""

    customer_id: str
    status: str | None
    record: dict[str, Any]
    next_action: dict[str, Any]
    attempts: list[dict[str, Any]]


class CustomerEvents(BaseModel):
    """The customer's numbered status events, each with its delivery's state."""

    customer_id: str
    events: list[dict[str, Any]]
