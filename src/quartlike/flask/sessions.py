"""``flask.sessions`` for the sync face: the session classes and interfaces.

A custom :class:`SessionInterface` may implement ``open_session`` and
``save_session`` as plain methods (they run in the thread pool, or inline for
the built-in cookie interface) or as coroutines.
"""

from __future__ import annotations

from ..sessions import NullSession as NullSession
from ..sessions import SecureCookieSession as SecureCookieSession
from ..sessions import SecureCookieSessionInterface as SecureCookieSessionInterface
from ..sessions import SessionInterface as SessionInterface
from ..sessions import SessionMixin as SessionMixin

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]

#: The serializer of the session cookie's payload.
session_json_serializer = SecureCookieSessionInterface.serializer
