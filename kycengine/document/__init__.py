"""Identity document analysis: detection, rectification, MRZ, validity, authenticity, portrait.

This package's top level only exports modules that do not depend on `kycengine.schema` (which
imports `DocumentType` from here); the stage class lives in `kycengine.document.analyser`.
"""

from .reader import read_mrz
from .types import DocumentType

__all__ = ["DocumentType", "read_mrz"]
