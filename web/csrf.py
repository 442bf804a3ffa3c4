"""CSRF protection of the console's forms: a synchronizer token per session.

Every form carries the session's token in a hidden field; every POST is refused (403) unless the
field equals the token of the session its cookie names (compared in constant time). With
SameSite=Strict cookies this is the second, independent line.
"""

from __future__ import annotations

import hmac

from .sessions import Session

FIELD = "csrf_token"


def matches(session: Session | None, submitted: object) -> bool:
    """Whether a form's token is this session's."""
    return (session is not None and isinstance(submitted, str) and bool(submitted)
            and hmac.compare_digest(session.csrf.encode(), submitted.encode()))
