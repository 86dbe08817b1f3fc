"""``flask.signals`` for the sync face: the core's signals (the same blinker signals)."""

from __future__ import annotations

from blinker import Namespace as Namespace

from ..signals import appcontext_popped as appcontext_popped
from ..signals import appcontext_pushed as appcontext_pushed
from ..signals import appcontext_tearing_down as appcontext_tearing_down
from ..signals import before_render_template as before_render_template
from ..signals import got_request_exception as got_request_exception
from ..signals import message_flashed as message_flashed
from ..signals import request_finished as request_finished
from ..signals import request_started as request_started
from ..signals import request_tearing_down as request_tearing_down
from ..signals import template_rendered as template_rendered

__all__ = [
    "Namespace",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]
