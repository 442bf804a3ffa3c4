"""What the document and selfie capture sessions share: the last answer, and each frame kept in the
session's recording before it is looked at."""

from __future__ import annotations

import numpy as np

from ..video import Frame
from .guidance import Feedback, Guidance
from .recording import Recording


class Session:
    """Base of `DocumentSession` and `SelfieSession`; they set `recording` and `last` and give `_answer`."""

    recording: Recording
    last: Feedback

    @property
    def closed(self) -> bool:
        """True once the session has ended (done, or not: TRY_AGAIN)."""
        return self.last.closed

    def _answer(self, code: Guidance, *, closed: bool = False) -> Feedback:
        raise NotImplementedError

    def _take(self, image: np.ndarray, t: float) -> Frame | Feedback:
        """The frame kept, or the answer to give instead: the last one once closed, TRY_AGAIN (closing)
        over the recording's limits."""
        if self.closed:
            return self.last
        frame = self.recording.add(image, t)
        return self._answer(Guidance.TRY_AGAIN, closed=True) if frame is None else frame
