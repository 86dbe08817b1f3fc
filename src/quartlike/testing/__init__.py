"""Testing an app in-process, through the same ASGI interface a server uses.

Requests are built from Flask's test-client arguments (``data``, ``json``,
``form``, ``files``, ``query_string``, ``headers``, ``auth``...) with werkzeug's
``EnvironBuilder``, turned into ASGI scopes, and sent through the app exactly
as a server would send them. The pieces:

- :class:`QuartClient` (``app.test_client()``) sends requests and keeps
  cookies; :mod:`~quartlike.testing.client`, :mod:`~quartlike.testing.cookies`
  and :mod:`~quartlike.testing.requests` (building scopes, and
  :func:`make_test_request` for ``app.test_request_context()``).
- :class:`StreamedResponse` and :class:`IncompleteResponseError`, for reading
  a response while it streams: :mod:`~quartlike.testing.streaming`.
- :class:`TestWebsocketConnection`, :class:`WebsocketResponseError` and
  :class:`WebsocketDisconnect`: :mod:`~quartlike.testing.websocket`.
- :class:`TestApp` and :class:`LifespanError` (``app.test_app()``), running
  the lifespan startup and shutdown: :mod:`~quartlike.testing.lifespan`.
- :class:`QuartlikeCliRunner` (``app.test_cli_runner()``):
  :mod:`~quartlike.testing.cli`.

Import from ``quartlike.testing``; the submodules are an implementation detail.
"""

from __future__ import annotations

from .cli import QuartlikeCliRunner as QuartlikeCliRunner
from .client import MAX_REDIRECTS as MAX_REDIRECTS
from .client import QuartClient as QuartClient
from .client import _run_http as _run_http
from .cookies import CookieJar as CookieJar
from .cookies import _Cookie as _Cookie
from .cookies import _domain_matches as _domain_matches
from .cookies import _path_matches as _path_matches
from .lifespan import LifespanError as LifespanError
from .lifespan import TestApp as TestApp
from .requests import _build as _build
from .requests import _file_tuple as _file_tuple
from .requests import _missing as _missing
from .requests import make_test_request as make_test_request
from .streaming import _APP_RETURNED as _APP_RETURNED
from .streaming import IncompleteResponseError as IncompleteResponseError
from .streaming import StreamedResponse as StreamedResponse
from .websocket import TestWebsocketConnection as TestWebsocketConnection
from .websocket import WebsocketDisconnect as WebsocketDisconnect
from .websocket import WebsocketResponseError as WebsocketResponseError

__all__ = [
    "MAX_REDIRECTS",
    "CookieJar",
    "IncompleteResponseError",
    "LifespanError",
    "QuartClient",
    "QuartlikeCliRunner",
    "StreamedResponse",
    "TestApp",
    "TestWebsocketConnection",
    "WebsocketDisconnect",
    "WebsocketResponseError",
    "make_test_request",
]
