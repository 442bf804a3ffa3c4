"""Typed errors raised at kycengine's boundaries; each carries a stable code and a one-line message."""

from __future__ import annotations


class KycError(Exception):
    """Base class: every error kycengine raises on purpose derives from it."""

    code = "kyc_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(KycError):
    """Input the caller supplied cannot be used (missing, empty, wrong format, too large)."""

    code = "invalid_input"


class InvalidMedia(InvalidInput):
    """A file is not a decodable image or video, or breaks the size limits."""

    code = "invalid_media"


class InvalidRequest(InvalidInput):
    """A verification request is malformed (missing field, wrong type, bad value)."""

    code = "invalid_request"


class PathNotAllowed(InvalidInput):
    """A media path or URI resolves outside the configured roots."""

    code = "path_not_allowed"


class ModelError(KycError):
    """Base class for model registry problems."""

    code = "model_error"


class UnknownModel(ModelError):
    """A model id that the manifest does not list."""

    code = "unknown_model"


class ModelUnavailable(ModelError):
    """A listed model's file is missing or fails its checksum; the message says what to install."""

    code = "model_unavailable"


class TimeLimitExceeded(BaseException):
    """A time limit ran out. A BaseException, like KeyboardInterrupt, so that no `except Exception`
    on the way (a stage's own error handling) can swallow it; hosts that put a time limit on a whole
    verification (the workers' job timeout) raise a subclass of it."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: over its {seconds:g} s time limit")
        self.what = what
        self.seconds = seconds
