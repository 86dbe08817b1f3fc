"""``flask.ctx`` for the sync face: the contexts (``with`` and ``async with``) and helpers."""

from __future__ import annotations

from ..ctx import AppContext as AppContext
from ..ctx import RequestContext as RequestContext
from ..ctx import _AppCtxGlobals as _AppCtxGlobals
from ..helpers import after_this_request as after_this_request
from ..helpers import copy_current_request_context as copy_current_request_context
from ..helpers import has_app_context as has_app_context
from ..helpers import has_request_context as has_request_context

__all__ = [
    "AppContext",
    "RequestContext",
    "after_this_request",
    "copy_current_request_context",
    "has_app_context",
    "has_request_context",
]
