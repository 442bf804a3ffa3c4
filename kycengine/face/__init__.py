"""Face detection, alignment, embedding and matching against the document portrait."""

from .matcher import FaceMatcher

__all__ = ["FaceMatcher"]
