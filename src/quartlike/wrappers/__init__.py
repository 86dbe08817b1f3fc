"""Request, response (and later websocket) objects built on werkzeug's sans-IO wrappers."""

from __future__ import annotations

from .request import Body as Body
from .request import Request as Request
from .response import Response as Response

__all__ = ["Body", "Request", "Response"]
