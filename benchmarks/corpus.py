"""The fixed-seed benchmark corpus, generated once with the capture generator and cached on disk.

Cases are keyed by their parameters, so a second run reuses the videos; delete
benchmarks/results/corpus to regenerate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from kycengine.document.types import DocumentType
from kycengine.synth import (DocumentLabels, DocumentVariant, SelfieLabels, SelfieVariant,
                             make_document_video, make_selfie_video)

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


def document_case(document_type: DocumentType, variant: DocumentVariant, seed: int, hard: bool,
                  seconds: float = 4.0) -> DocumentCase:
    """Generate (or reuse) one document video of the corpus."""
    path = CORPUS / f"doc-{document_type.value}-{variant.value}-{'hard' if hard else 'clean'}-{seed}.mp4"
    sidecar = path.with_suffix(".json")
    if path.is_file() and sidecar.is_file():
        return DocumentCase(path, DocumentLabels.from_dict(json.loads(sidecar.read_text())))
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = make_document_video(path, document_type=document_type, variant=variant, seed=seed,
                                 hard=hard, size=SIZE, fps=FPS, seconds=seconds)
    return DocumentCase(path, labels)


def selfie_case(person: str, variant: SelfieVariant, seed: int, hard: bool = False,
                seconds: float = 5.0) -> SelfieCase:
    """Generate (or reuse) one selfie video of the corpus."""
    path = CORPUS / f"selfie-{person}-{variant.value}-{'hard' if hard else 'clean'}-{seed}.mp4"
    sidecar = path.with_suffix(".json")
    if path.is_file() and sidecar.is_file():
        return SelfieCase(path, SelfieLabels.from_dict(json.loads(sidecar.read_text())))
    path.parent.mkdir(parents=True, exist_ok=True)
    labels = make_selfie_video(path, person=person, variant=variant, seed=seed, hard=hard,
                               size=SIZE, fps=FPS, seconds=seconds)
    return SelfieCase(path, labels)


def genuine_documents(seeds: int) -> list[DocumentCase]:
    """Genuine videos of the three document kinds, clean and hard, `seeds` of each."""
    return [document_case(kind, DocumentVariant.GENUINE, seed, hard)
            for kind in DocumentType for hard in (False, True) for seed in range(seeds)]
