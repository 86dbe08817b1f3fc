"""The context-local proxies: ``current_app``, ``g``, ``request``, ``session``.

Each proxy reads a :class:`contextvars.ContextVar`, so the values follow the
asyncio task (and are copied into worker threads for sync code) instead of the
OS thread.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

if t.TYPE_CHECKING:
    from .app import Quart
    from .ctx import AppContext
    from .ctx import RequestContext
    from .ctx import WebsocketContext
    from .ctx import _AppCtxGlobals
    from .sessions import SessionMixin
    from .wrappers.request import Request
    from .wrappers.websocket import Websocket

_no_app_msg = """\
Working outside of application context.

This code needs the active application (current_app, g, url_for without a
request, ...), but none is pushed. Push one around the code that needs it:

    async with app.app_context():
        ...

Inside a view, a hook or a test client request this happens for you.\
"""

_no_req_msg = """\
Working outside of request context.

This code reads the current request (request, session, ...), but there is no
request being handled. Use a test request context around it:

    async with app.test_request_context("/path"):
        ...

or make a request with the test client, where views run in a request context.\
"""

_no_ws_msg = """\
Working outside of websocket context.

This code reads the current websocket, but no websocket connection is being
handled here. Use it inside a handler registered with @app.websocket(...).\
"""

_cv_app: ContextVar[AppContext] = ContextVar("quartlike.app_ctx")
_cv_request: ContextVar[RequestContext] = ContextVar("quartlike.request_ctx")
_cv_websocket: ContextVar[WebsocketContext] = ContextVar("quartlike.websocket_ctx")

app_ctx: AppContext = LocalProxy(  # type: ignore[assignment]
    _cv_app, unbound_message=_no_app_msg
)
current_app: Quart = LocalProxy(  # type: ignore[assignment]
    _cv_app, "app", unbound_message=_no_app_msg
)
g: _AppCtxGlobals = LocalProxy(  # type: ignore[assignment]
    _cv_app, "g", unbound_message=_no_app_msg
)
request_ctx: RequestContext = LocalProxy(  # type: ignore[assignment]
    _cv_request, unbound_message=_no_req_msg
)
request: Request = LocalProxy(  # type: ignore[assignment]
    _cv_request, "request", unbound_message=_no_req_msg
)
websocket_ctx: WebsocketContext = LocalProxy(  # type: ignore[assignment]
    _cv_websocket, unbound_message=_no_ws_msg
)
websocket: Websocket = LocalProxy(  # type: ignore[assignment]
    _cv_websocket, "websocket", unbound_message=_no_ws_msg
)


def _current_session() -> SessionMixin | None:
    ctx: RequestContext | WebsocketContext | None = _cv_request.get(None)
    if ctx is None:
        ctx = _cv_websocket.get(None)
        if ctx is None:
            raise RuntimeError(_no_req_msg)
    session = ctx.session
    if session is not None:
        # Any use of the proxy counts as an access (adds ``Vary: Cookie``), as
        # in Flask; the session object also tracks reads made through references.
        session.accessed = True
    return session


session: SessionMixin = LocalProxy(_current_session)  # type: ignore[assignment]
