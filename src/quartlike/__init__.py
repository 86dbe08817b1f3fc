"""quartlike: an async web framework that speaks the Flask API, served over ASGI."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException as HTTPException

from .app import Quart as Quart
from .blueprints import Blueprint as Blueprint
from .config import Config as Config
from .ctx import AppContext as AppContext
from .ctx import RequestContext as RequestContext
from .files import send_file as send_file
from .files import send_from_directory as send_from_directory
from .flashing import flash as flash
from .flashing import get_flashed_messages as get_flashed_messages
from .globals import current_app as current_app
from .globals import g as g
from .globals import request as request
from .globals import session as session
from .globals import websocket as websocket
from .helpers import abort as abort
from .helpers import after_this_request as after_this_request
from .helpers import copy_current_request_context as copy_current_request_context
from .helpers import copy_current_websocket_context as copy_current_websocket_context
from .helpers import get_debug_flag as get_debug_flag
from .helpers import has_app_context as has_app_context
from .helpers import has_request_context as has_request_context
from .helpers import has_websocket_context as has_websocket_context
from .helpers import make_response as make_response
from .helpers import redirect as redirect
from .helpers import url_for as url_for
from .json import jsonify as jsonify
from .streaming import ServerSentEvent as ServerSentEvent
from .streaming import event_stream as event_stream
from .streaming import stream_with_context as stream_with_context
from .sync import run_sync as run_sync
from .templating import get_template_attribute as get_template_attribute
from .templating import render_template as render_template
from .templating import render_template_string as render_template_string
from .templating import stream_template as stream_template
from .templating import stream_template_string as stream_template_string
from .wrappers import Request as Request
from .wrappers import Response as Response

__version__ = "0.1.0"

__all__ = [
    "AppContext",
    "Blueprint",
    "Config",
    "HTTPException",
    "Quart",
    "Request",
    "RequestContext",
    "Response",
    "ServerSentEvent",
    "abort",
    "after_this_request",
    "copy_current_request_context",
    "copy_current_websocket_context",
    "current_app",
    "event_stream",
    "flash",
    "g",
    "get_debug_flag",
    "get_flashed_messages",
    "get_template_attribute",
    "has_app_context",
    "has_request_context",
    "has_websocket_context",
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "run_sync",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "url_for",
    "websocket",
]
