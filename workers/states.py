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

    @property
    def attempt_rule(self) -> bool:
        """True for the codes of the retry rules (they leave the case's latest attempt unchanged)."""
        return self in (FailureCode.ATTEMPT_NOT_ALLOWED, FailureCode.TOO_MANY_ATTEMPTS)
