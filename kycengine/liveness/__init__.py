"""Liveness and presentation-attack detection from the selfie video."""

from .checker import LivenessChecker

__all__ = ["LivenessChecker"]
