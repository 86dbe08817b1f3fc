"""The one place that names the framework.

The app is written against Flask's API. Which implementation it gets is
decided here, by the ``FLASK_PORT_BACKEND`` environment variable:
``quartlike`` (the default) or ``flask``. A Flask app ported to quartlike
changes exactly this: ``import flask`` became ``import quartlike.flask as flask``.
"""

from __future__ import annotations

import os
import typing as t

#: ``"quartlike"`` or ``"flask"``.
BACKEND = os.environ.get("FLASK_PORT_BACKEND", "quartlike")

if BACKEND not in ("quartlike", "flask"):
    raise RuntimeError(f"FLASK_PORT_BACKEND must be 'quartlike' or 'flask', not {BACKEND!r}.")

if t.TYPE_CHECKING or BACKEND == "quartlike":
    import quartlike.flask as flask  # the line a port to quartlike changes
else:
    import flask
    import flask.cli

Blueprint = flask.Blueprint
Flask = flask.Flask
abort = flask.abort
current_app = flask.current_app
flash = flask.flash
g = flask.g
jsonify = flask.jsonify
make_response = flask.make_response
redirect = flask.redirect
render_template = flask.render_template
request = flask.request
send_file = flask.send_file
session = flask.session
url_for = flask.url_for
with_appcontext = flask.cli.with_appcontext

__all__ = [
    "BACKEND",
    "Blueprint",
    "Flask",
    "abort",
    "current_app",
    "flash",
    "flask",
    "g",
    "jsonify",
    "make_response",
    "redirect",
    "render_template",
    "request",
    "send_file",
    "session",
    "url_for",
    "with_appcontext",
]
