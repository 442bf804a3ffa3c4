"""The states and codes that `workers/` writes into Redis: `str` enums with stable lowercase values.

The values are stored (attempt hashes, delivery records, review items, job results), so they never
change; a member compares equal to its value (`AttemptState.FAILED == "failed"`).
"""

from __future__ import annotations

import enum


class AttemptState(str, enum.Enum):
    """Where one case attempt stands (`{p}attempt:{case}:{n}` field `state`)."""

    QUEUED = "queued"  # submitted, no outcome yet
    DONE = "done"  # a verdict is stored
    FAILED = "failed"  # a failed result is stored (the request could not be verified as given)


class OutcomeStatus(str, enum.Enum):
    """Job results that are not verdicts (a verdict's status is `kycengine.reasons.Status`)."""

    FAILED = "failed"  # a request that cannot be verified as given: stored, delivered, never retried
    REJECTED = "rejected"  # a queue entry that is not one of our jobs: quarantined, never executed


class MediaState(str, enum.Enum):
    """Whether an attempt still holds its media (`{p}attempt:{case}:{n}` field `media_state`)."""

    PRESENT = "present"
    PURGED = "purged"


class DeliveryKind(str, enum.Enum):
    """What a delivery carries; part of its key (`{p}delivery:{case}:{n}:{kind}`)."""

    VERDICT = "verdict"
    FAILED = "failed"
    DECISION = "decision"
    STATUS = "status"  # a customer's status event: key `{p}delivery:{customer}:{sequence}:status`


class DeliveryState(str, enum.Enum):
    """Where one webhook delivery stands (`{p}delivery:...` field `state`, and deliver_job's result)."""

    PENDING = "pending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"
    NOTHING_TO_DELIVER = "nothing_to_deliver"
    IN_PROGRESS = "in_progress"  # another worker holds the delivery's lock right now (result only)
    UNKNOWN_EVENT = "unknown_event"  # result only

    @property
    def final(self) -> bool:
        """True when the delivery will never be POSTed again."""
        return self in (DeliveryState.DELIVERED, DeliveryState.GAVE_UP)


class ReviewState(str, enum.Enum):
    """Where a manual-review item stands (`{p}review:item:{case}` field `state`)."""

    PENDING = "pending"
    ESCALATED = "escalated"
    DECIDED = "decided"


class FailureCode(str, enum.Enum):
    """Reason codes of `failed` and `rejected` outcomes written by `workers/` itself.

    Request errors raised by kycengine carry their own codes (`invalid_request`, `path_not_allowed`,
    `invalid_media`); these are the ones the worker adds.
    """

    ATTEMPT_NOT_ALLOWED = "attempt_not_allowed"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    REQUEST_TOO_LARGE = "request_too_large"
    REQUEST_TOO_DEEP = "request_too_deep"
    CALLBACK_NOT_ALLOWED = "callback_not_allowed"
    MEDIA_NOT_OWNED = "media_not_owned"
    INTERNAL_ERROR = "internal_error"  # the job died and even its fallback verdict could not be stored
    JOB_NOT_ALLOWED = "job_not_allowed"  # a queue entry naming a function that is not ours
    JOB_UNDECODABLE = "job_undecodable"  # a queue entry that is not rq JSON (e.g. a pickle)
    JOB_BAD_ARGUMENTS = "job_bad_arguments"  # one of our functions, called with the wrong arguments
    CONSENT_REQUIRED = "consent_required"  # no explicit consent to filming and biometric processing
    CUSTOMER_REQUIRED = "customer_required"  # a request without a customer_id
    CUSTOMER_NOT_ALLOWED = "customer_not_allowed"  # the customer's status takes no new attempt now

    @property
    def attempt_rule(self) -> bool:
        """True for the codes of the retry rules (they leave the case's latest attempt unchanged)."""
        return self in (FailureCode.ATTEMPT_NOT_ALLOWED, FailureCode.TOO_MANY_ATTEMPTS,
                        FailureCode.CUSTOMER_NOT_ALLOWED)


class CustomerStatus(str, enum.Enum):
    """A customer's identity status (`{p}customer:{id}` field `status`); see docs/identity-status.md."""

    UNVERIFIED = "unverified"  # never verified, or consent withdrawn: the account stays restricted
    PENDING = "pending"  # an attempt is being verified
    VERIFIED = "verified"
    ACTION_REQUIRED = "action_required"  # the customer must try again (retry_required, refused, failed)
    IN_REVIEW = "in_review"  # a person decides (manual_review, or the last refusal allowed)
    REFUSED = "refused"  # a reviewer refused: final
    REVOKED = "revoked"  # the bank switched a verified access off
    EXPIRED = "expired"  # the verification's validity ran out: re-verification due


class Cause(str, enum.Enum):
    """What made a customer's status change (audit entries and events, field `cause`)."""

    SUBMISSION = "submission"
    VERDICT = "verdict"
    FAILURE = "failure"
    DECISION = "decision"
    REVOCATION = "revocation"
    STRONG_AUTHENTICATION = "strong_authentication"
    EXPIRY = "expiry"
    CONSENT_WITHDRAWN = "consent_withdrawn"


class RevocationReason(str, enum.Enum):
    """Events from the bank that switch a verified access off."""

    SECRET_CODE_RESET = "secret_code_reset"
    SECRET_CODE_CHANGED = "secret_code_changed"
    ADMINISTRATOR_CHANGED = "administrator_changed"
    ADVISER_REVOKED = "adviser_revoked"
    OTHER = "other"  # needs a note


class Restore(str, enum.Enum):
    """What a revoked customer must do to be verified again (policy data, `KYC_REVOCATION_POLICY`)."""

    NEW_VIDEO = "new_video"  # a new verification with new videos
    STRONG_AUTHENTICATION = "strong_authentication"  # a fresh strong authentication done by the bank
