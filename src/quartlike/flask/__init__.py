"""quartlike's sync face: Flask's API, for code written for Flask.

Change ``from flask import ...`` to ``from quartlike.flask import ...`` (and
``import flask`` to ``import quartlike.flask as flask``) and a Flask app and
its tests run on quartlike: the app is served over ASGI (``quartlike --app
module run``, Hypercorn), its plain ``def`` views, hooks, error handlers and
context processors run in the thread pool, and there ``request.form``,
``request.get_json()``, ``render_template()``, ``make_response()``,
``flash()`` and ``send_file()`` return values, as in Flask.
``app.test_client()`` is sync (``client.get("/")`` returns the response), and
``with app.app_context():`` and ``with app.test_request_context():`` work in
sync tests.

These are the objects of the core (:mod:`quartlike`) with Flask's sync
signatures: one app, one set of contexts, one request object. ``async def``
views of the same app keep using the async face (``await request.form``).
The core never imports this package.
"""

from __future__ import annotations

#: Marks this package as quartlike's, so the extension shim can tell it from real Flask.
__quartlike__ = True

from . import app as app
from . import blueprints as blueprints
from . import cli as cli
from . import config as config
from . import ctx as ctx
from . import globals as globals
from . import helpers as helpers
from . import json as json
from . import logging as logging
from . import sessions as sessions
from . import signals as signals
from . import templating as templating
from . import typing as typing
from . import wrappers as wrappers
from .app import Flask as Flask
from .blueprints import Blueprint as Blueprint
from .config import Config as Config
from .ctx import after_this_request as after_this_request
from .ctx import copy_current_request_context as copy_current_request_context
from .ctx import has_app_context as has_app_context
from .ctx import has_request_context as has_request_context
from .globals import current_app as current_app
from .globals import g as g
from .globals import request as request
from .globals import session as session
from .helpers import abort as abort
from .helpers import flash as flash
from .helpers import get_flashed_messages as get_flashed_messages
from .helpers import get_template_attribute as get_template_attribute
from .helpers import make_response as make_response
from .helpers import redirect as redirect
from .helpers import send_file as send_file
from .helpers import send_from_directory as send_from_directory
from .helpers import stream_with_context as stream_with_context
from .helpers import url_for as url_for
from .json import jsonify as jsonify
from .signals import appcontext_popped as appcontext_popped
from .signals import appcontext_pushed as appcontext_pushed
from .signals import appcontext_tearing_down as appcontext_tearing_down
from .signals import before_render_template as before_render_template
from .signals import got_request_exception as got_request_exception
from .signals import message_flashed as message_flashed
from .signals import request_finished as request_finished
from .signals import request_started as request_started
from .signals import request_tearing_down as request_tearing_down
from .signals import template_rendered as template_rendered
from .templating import render_template as render_template
from .templating import render_template_string as render_template_string
from .templating import stream_template as stream_template
from .templating import stream_template_string as stream_template_string
from .wrappers import Request as Request
from .wrappers import Response as Response

__all__ = [
    "Blueprint",
    "Config",
    "Flask",
    "Request",
    "Response",
    "abort",
    "after_this_request",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "copy_current_request_context",
    "current_app",
    "flash",
    "g",
    "get_flashed_messages",
    "get_template_attribute",
    "got_request_exception",
    "has_app_context",
    "has_request_context",
    "json",
    "jsonify",
    "make_response",
    "message_flashed",
    "redirect",
    "render_template",
    "render_template_string",
    "request",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "send_file",
    "send_from_directory",
    "session",
    "stream_template",
    "stream_template_string",
    "stream_with_context",
    "template_rendered",
    "url_for",
]
