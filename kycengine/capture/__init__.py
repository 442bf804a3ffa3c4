"""Live capture: sessions that take frames as they arrive and guide the customer (see docs/capture.md).

`DocumentSession` and `SelfieSession` are imported on first use: the challenge (`challenge`) is part
of the request schema, which the sessions' stages import in turn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .challenge import Action, Challenge, Step, draw
from .guidance import Feedback, Guidance, text

if TYPE_CHECKING:
    from .document import DocumentSession
    from .recording import Recording
    from .selfie import SelfieSession

_LAZY = {"DocumentSession": ".document", "SelfieSession": ".selfie", "Recording": ".recording"}

__all__ = ["Action", "Challenge", "DocumentSession", "Feedback", "Guidance", "Recording", "SelfieSession",
           "Step", "draw", "text"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
