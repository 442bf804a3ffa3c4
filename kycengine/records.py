"""Generic `to_dict` / `from_dict` for frozen dataclass records, driven by their type hints.

Fields whose metadata says ``serialize=False`` (images, embeddings) stay in memory only: they are
biometric or bulky and never go into JSON, Redis or a webhook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from functools import cache
from typing import Any, ClassVar, Self

_NONE = type(None)


def transient(default: Any = None) -> Any:
    """A dataclass field kept out of `to_dict` (images, embeddings, crops)."""
    return dataclasses.field(default=default, compare=False, repr=False, metadata={"serialize": False})


def _encode(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(_encode(k)): _encode(v) for k, v in value.items()}
    return value


def _decode(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and _NONE in args:
            return None
        options = [a for a in args if a is not _NONE]
        if len(options) == 1:  # `X | None`: let X's own error message through
            return _decode(options[0], value)
        for arg in options:
            try:
                return _decode(arg, value)
            except (TypeError, ValueError, KeyError):
                continue
        raise ValueError(f"{value!r} does not fit {hint}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        key_t, val_t = args or (Any, Any)
        return {_decode(key_t, k): _decode(val_t, v) for k, v in value.items()}
    if hint is Any:
        return value
    if isinstance(hint, type):
        if issubclass(hint, Record):
            return hint.from_dict(value)
        if issubclass(hint, enum.Enum):
            return hint(value)
        if hint is dt.datetime:
            return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
        if hint is dt.date:
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if hint is bool and not isinstance(value, bool):
            raise TypeError(f"expected a boolean, got {type(value).__name__}")
        if hint in (int, float) and isinstance(value, bool):
            raise TypeError("expected a number, got a boolean")
        if not isinstance(value, hint):
            raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
        return value
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


class Record:
    """Mixin for frozen dataclasses: JSON-ready `to_dict()` and a validating `from_dict()`."""

    # Declared (never assigned here) so that type checkers see every Record as a dataclass; the
    # @dataclass decorator on each subclass sets it.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict; transient fields are left out."""
        return {
            f.name: _encode(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.metadata.get("serialize", True)
        }

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Build from `to_dict` output; raises TypeError/ValueError naming the offending field."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        hints = _hints(cls)  # type: ignore[arg-type]  # mypy reads type[Self] as unhashable (mypy#11470)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if not f.metadata.get("serialize", True) or f.name not in data:
                continue
            try:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
            except (TypeError, ValueError, KeyError) as exc:
                raise type(exc)(f"{cls.__name__}.{f.name}: {exc}") from None
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}: {exc}") from None
