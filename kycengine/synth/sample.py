"""A matching pair of capture videos (document + selfie of its holder), for demos and smoke tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..document.types import DocumentType
from ..records import Record
from .document_video import DocumentVariant, make_document_video
from .selfie_video import SelfieVariant, make_selfie_video


def make_sample(folder: str | os.PathLike[str], *, seed: int = 0, size: tuple[int, int] = (1280, 720),
                fps: int = 30, document_type: DocumentType = DocumentType.FR_CNI_1988,
                document_variant: DocumentVariant = DocumentVariant.GENUINE,
                selfie_variant: SelfieVariant = SelfieVariant.LIVE, hard: bool = False,
                seconds: float | None = None, person: str | None = None,
                usage_name: bool = False) -> dict[str, Record]:
    """Write `document.mp4` and `selfie.mp4` (with JSON sidecars) into `folder`; return the labels.

    `person` is the holder (drawn from the seed by default); `seconds` the length of both videos
    (by default each generator's own: 4 s of document, 5 s of selfie)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    length: dict[str, Any] = {} if seconds is None else {"seconds": seconds}
    document = make_document_video(folder / "document.mp4", document_type=document_type,
                                   variant=document_variant, seed=seed, size=size, fps=fps, hard=hard,
                                   person=person, usage_name=usage_name, **length)
    selfie = make_selfie_video(folder / "selfie.mp4", person=document.holder_person,
                               variant=selfie_variant, seed=seed, size=size, fps=fps, hard=hard, **length)
    return {"document.mp4": document, "selfie.mp4": selfie}
