"""The fixed-seed benchmark corpus, generated once with the capture generator and cached on disk.

Cases are keyed by their parameters, so a second run reuses the videos; delete
benchmarks/results/corpus to regenerate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from kycengine.document.types import DocumentType
from kycengine.synth import (
    DocumentLabels,
    DocumentVariant,
    SelfieLabels,
    SelfieVariant,
    make_document_video,
    make_selfie_video,
)
from kycengine.synth.document_video import Capture

L = TypeVar("L", DocumentLabels, SelfieLabels)
CORPUS = Path(__file__).with_name("results") / "corpus"
SIZE = (1280, 720)
FPS = 30


@dataclass(frozen=True)
class DocumentCase:
    """One generated document video and its labels."""

    path: Path
    labels: DocumentLabels


@dataclass(frozen=True)
class SelfieCase:
    """One generated selfie video and its labels."""

    path: Path
    labels: SelfieLabels


def _cached(path: Path, labels_type: type[L], make: Callable[[], L]) -> L:
    """Labels of a corpus video, generating the video first unless it and its sidecar exist."""
    sidecar = path.with_suffix(".json")
    if path.is_file() and sidecar.is_file():
        return labels_type.from_dict(json.loads(sidecar.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    return make()


def document_case(document_type: DocumentType, variant: DocumentVariant, seed: int, hard: bool,
                  seconds: float = 4.0, capture: Capture = Capture.STANDARD,
                  size: tuple[int, int] = SIZE) -> DocumentCase:
    """Generate (or reuse) one document video of the corpus."""
    how = "" if capture is Capture.STANDARD else f"-{capture.value}"
    how += "" if size == SIZE else f"-{size[0]}x{size[1]}"
    path = CORPUS / f"doc-{document_type.value}-{variant.value}-{'hard' if hard else 'clean'}-{seed}{how}.mp4"
    return DocumentCase(path, _cached(path, DocumentLabels, lambda: make_document_video(
        path, document_type=document_type, variant=variant, seed=seed, hard=hard, size=size, fps=FPS,
        seconds=seconds, capture=capture)))


def selfie_case(person: str, variant: SelfieVariant, seed: int, hard: bool = False,
                seconds: float = 5.0) -> SelfieCase:
    """Generate (or reuse) one selfie video of the corpus."""
    path = CORPUS / f"selfie-{person}-{variant.value}-{'hard' if hard else 'clean'}-{seed}.mp4"
    return SelfieCase(path, _cached(path, SelfieLabels, lambda: make_selfie_video(
        path, person=person, variant=variant, seed=seed, hard=hard, size=SIZE, fps=FPS, seconds=seconds)))


def genuine_documents(seeds: int) -> list[DocumentCase]:
    """Genuine videos of the three document kinds, clean and hard, `seeds` of each."""
    return [document_case(kind, DocumentVariant.GENUINE, seed, hard)
            for kind in DocumentType for hard in (False, True) for seed in range(seeds)]


DAMAGED = (DocumentVariant.TORN, DocumentVariant.CUT, DocumentVariant.CREASED_MRZ, DocumentVariant.CREASED_PORTRAIT,
           DocumentVariant.CORNER_MISSING)


def damaged_documents(seeds: int) -> list[DocumentCase]:
    """Damaged documents (every damage variant) of the three kinds, clean and hard, `seeds` of each."""
    return [document_case(kind, variant, seed, hard)
            for kind in DocumentType for variant in DAMAGED for hard in (False, True) for seed in range(seeds)]
