"""``flask.globals`` for the sync face: the core's proxies, with sync types.

These are the very objects of :mod:`quartlike.globals` (one app, one set of
contexts); only their annotations differ: ``request`` is the sync-typed
:class:`~quartlike.flask.wrappers.Request` and ``current_app`` a
:class:`~quartlike.flask.Flask`.
"""

from __future__ import annotations

import typing as t

from werkzeug.local import LocalProxy as LocalProxy

from .. import globals as _globals

if t.TYPE_CHECKING:
    from ..ctx import AppContext
    from ..ctx import RequestContext
    from ..ctx import _AppCtxGlobals
    from ..sessions import SessionMixin
    from .app import Flask
    from .wrappers import Request

__all__ = ["app_ctx", "current_app", "g", "request", "request_ctx", "session"]

app_ctx: AppContext = _globals.app_ctx
current_app = t.cast("Flask", _globals.current_app)
g: _AppCtxGlobals = _globals.g
request_ctx: RequestContext = _globals.request_ctx
request = t.cast("Request", _globals.request)
session: SessionMixin = _globals.session
