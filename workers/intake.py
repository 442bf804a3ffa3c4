"""Reading a request safely: size and nesting limits before parsing, the client's clock range-checked.

A request arrives as JSON text (or, from a Python caller, as a dict). Before `json.loads` runs, the
text's length is checked against `KYC_MAX_REQUEST_BYTES` and its bracket nesting, counted in one pass
outside strings, against `KYC_MAX_REQUEST_DEPTH`: a 10 MB body or 100000 nested arrays are refused
with their own codes instead of exhausting memory or raising RecursionError.

`submitted_at` comes from the client. The review deadline counts from it, so a time in the future
(beyond `KYC_CLOCK_SKEW`), older than `KYC_MAX_REQUEST_AGE_HOURS`, or not representable is replaced
by the server's time, and the replacement is written to the audit trail with the value given.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

from kycengine.errors import InvalidRequest

from .config import WorkerConfig

_UTC = dt.timezone.utc
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class RequestTooLarge(InvalidRequest):
    """The request's JSON is longer than KYC_MAX_REQUEST_BYTES."""

    code = "request_too_large"


class RequestTooDeep(InvalidRequest):
    """The request's JSON nests deeper than KYC_MAX_REQUEST_DEPTH."""

    code = "request_too_deep"


def text_depth(text: str) -> int:
    """Deepest `[`/`{` nesting of JSON text, outside strings, without recursion."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.values()
    elif isinstance(value, (list, tuple)):
        yield from value


def object_depth(value: Any, limit: int) -> int:
    """Nesting depth of dicts and lists, without recursion; stops counting past `limit` + 1."""
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (dict, list, tuple)) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in _children(item) if isinstance(child, (dict, list, tuple)))
    return deepest


def load(raw: Any, config: WorkerConfig) -> Any:
    """The request as JSON data, within the size and depth limits; raises InvalidRequest (or one of
    its subclasses above) before anything big or deep is parsed."""
    if isinstance(raw, (bytes, bytearray)):
        if len(raw) > config.max_request_bytes:
            raise RequestTooLarge(f"request: {len(raw)} bytes, over the {config.max_request_bytes} byte limit")
        try:
            raw = bytes(raw).decode()
        except UnicodeDecodeError:
            raise InvalidRequest("request is not UTF-8 text") from None
    if isinstance(raw, str):
        size = len(raw) if len(raw) > config.max_request_bytes else len(raw.encode())
        if size > config.max_request_bytes:
            raise RequestTooLarge(f"request: {size}+ bytes, over the {config.max_request_bytes} byte limit")
        depth = text_depth(raw)
        if depth > config.max_request_depth:
            raise RequestTooDeep(f"request: nested {depth} levels deep, over the limit of "
                                 f"{config.max_request_depth}")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest(f"request is not valid JSON: {exc}") from None
    depth = object_depth(raw, config.max_request_depth)
    if depth > config.max_request_depth:
        raise RequestTooDeep(f"request: nested more than {config.max_request_depth} levels deep")
    return raw


def server_time(now: float) -> dt.datetime:
    """`now` (unix seconds) as an aware UTC datetime, to the second."""
    return dt.datetime.fromtimestamp(int(now), _UTC)


def check_submitted_at(given: dt.datetime | None, now: float,
                       config: WorkerConfig) -> tuple[dt.datetime, dict[str, str] | None]:
    """The submission time to use, and a note when the client's was replaced (None when kept).

    Kept when it lies between `now - max_request_age_s` and `now + clock_skew_s`; a naive time is
    read as UTC. Anything else, including times too close to year 1 or 9999 to compute with, is
    replaced by the server's time.
    """
    server = server_time(now)
    if given is None:
        return server, None
    stamp = given if given.tzinfo is not None else given.replace(tzinfo=_UTC)
    try:
        ts = stamp.timestamp()
        reason = ("in the future" if ts > now + config.clock_skew_s else
                  "too old" if ts < now - config.max_request_age_s else None)
        if reason is None:
            return stamp.astimezone(_UTC), None
    except (OverflowError, ValueError):
        reason = "out of range"
    return server, {"given": given.isoformat(), "used": server.isoformat(), "reason": reason}
