"""Model registry: the only place that knows where weights live."""

from .registry import InputSpec, ModelSpec, ModelStatus, Registry, default_registry

__all__ = ["InputSpec", "ModelSpec", "ModelStatus", "Registry", "default_registry"]
