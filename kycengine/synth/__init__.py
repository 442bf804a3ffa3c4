"""Capture generator: realistic, labelled document and selfie videos, deterministic from a seed."""

from ..document.types import DocumentType
from .document_video import Capture, DocumentLabels, DocumentVariant, make_document_video
from .faces import PEOPLE
from .sample import make_sample
from .selfie_video import SelfieLabels, SelfieVariant, make_selfie_video

__all__ = ["PEOPLE", "Capture", "DocumentLabels", "DocumentType", "DocumentVariant", "SelfieLabels",
           "SelfieVariant", "make_document_video", "make_sample", "make_selfie_video"]
