"""Face detection, alignment, embedding and matching against the document portrait."""

from .compare import FaceComparison, compare_faces
from .matcher import FaceMatcher

__all__ = ["FaceComparison", "FaceMatcher", "compare_faces"]
