"""``flask.views`` for the sync face: class-based views (sync or async methods)."""

from __future__ import annotations

from ..views import MethodView as MethodView
from ..views import View as View
from ..views import http_method_funcs as http_method_funcs

__all__ = ["MethodView", "View", "http_method_funcs"]
