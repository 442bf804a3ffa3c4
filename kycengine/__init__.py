"""kycengine: identity document and selfie videos in, a verdict with reasons and evidence out."""

from .pipeline import Verifier, verify
from .reasons import Reason, Status
from .schema import DeclaredIdentity, Verdict, VerificationRequest
from .settings import Settings

__all__ = ["DeclaredIdentity", "Reason", "Settings", "Status", "Verdict", "VerificationRequest",
           "Verifier", "verify"]
