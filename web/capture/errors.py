"""The capture endpoints' own errors, answered as problem+json like every other (`web.problems`)."""

from __future__ import annotations

from ..problems import ApiError


class CaptureExpired(ApiError):
    """The capture's lifetime is over, or it went silent while filming: its frames are gone."""

    code = "capture_expired"
    status = 410


class WrongStep(ApiError):
    """A frame or a start for a step the capture is not at (or a step not started)."""

    code = "capture_step"
    status = 409


class CaptureBusy(ApiError):
    """As many steps are being filmed as this process runs at once: try again shortly."""

    code = "capture_busy"
    status = 503

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class SlowDown(ApiError):
    """A frame sent while the last one is still analysed, or sooner than the rate allows; the answer
    says the interval to use (`Retry-After`, and `slow_down` as the code)."""

    code = "slow_down"
    status = 429

    def __init__(self, message: str, interval_s: float) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, round(interval_s))),
                        "X-Capture-Interval-Ms": str(round(interval_s * 1000))}


class FrameTooLarge(ApiError):
    """A frame over the byte limit or the pixel limit."""

    code = "frame_too_large"
    status = 413
