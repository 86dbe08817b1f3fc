"""The response is sent with the request's contexts popped or detached.

A server's ``send`` may schedule a timer (a keep-alive timeout, say), and an
asyncio timer keeps a copy of the context it was scheduled in until it would
have fired, even when cancelled. Had the response been sent with the request
context current, that copy would keep the request, its contexts and ``g`` alive
for as long; the garbage collector would keep meeting them. Teardown still runs
after the response is sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import typing as t
import weakref

import pytest

from quartlike import Quart
from quartlike import g
from quartlike import request
from quartlike.flask import Flask
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request

from .exchange import Exchange
from .exchange import http_scope


class TimerServer(Exchange):
    """Schedules (and cancels) a timer in every send, as servers do, keeping the handles."""

    def __init__(self) -> None:
        super().__init__()
        self.handles: list[asyncio.TimerHandle] = []
        self.contexts: list[contextvars.Context] = []

    async def send(self, message: t.Any) -> None:
        handle = asyncio.get_running_loop().call_later(3600, lambda: None)
        handle.cancel()  # cancelled, but still held by the loop until it is due
        self.handles.append(handle)
        self.contexts.append(contextvars.copy_context())
        await super().send(message)


def _app(kind: str) -> tuple[Quart, list[t.Any], list[str]]:
    app: Quart = Flask(__name__) if kind == "flask-sync" else Quart(__name__)
    refs: list[t.Any] = []
    events: list[str] = []

    class Big:
        pass

    if kind == "flask-sync":

        @app.route("/")
        def sync_index() -> str:
            g.big = Big()
            refs.append(weakref.ref(g.big))
            refs.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]
            return "ok"

    else:

        @app.route("/")
        async def index() -> str:
            g.big = Big()
            refs.append(weakref.ref(g.big))
            refs.append(weakref.ref(request._get_current_object()))  # type: ignore[attr-defined]
            return "ok"

    if kind == "teardown":

        @app.teardown_request
        def teardown(exc: BaseException | None) -> None:
            events.append("teardown")

    return app, refs, events


@pytest.mark.parametrize("kind", ["plain", "teardown", "flask-sync"])
async def test_a_timer_scheduled_by_send_keeps_nothing_of_the_request(kind: str) -> None:
    app, refs, events = _app(kind)
    server = TimerServer()
    await server.run(app, http_scope(method="GET"))
    assert (server.status, server.body) == (200, b"ok")
    assert server.handles  # still referenced, as a loop would
    for context in server.contexts:
        assert _cv_request not in context and _cv_app not in context
    # A sync view's worker thread lets go of the call as it reports back; give
    # it a moment to get there.
    for _ in range(100):
        if [ref() for ref in refs] == [None, None]:
            break
        await asyncio.sleep(0.01)
    assert [ref() for ref in refs] == [None, None], "the request outlived its response"


async def test_teardown_still_runs_after_the_response_is_sent() -> None:
    app = Quart(__name__)
    seen: list[tuple[str, bool]] = []
    server = Exchange()

    @app.route("/")
    async def index() -> str:
        return "ok"

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(("teardown", server.complete))
        assert request.path == "/"  # the context is current again for teardown

    await server.run(app, http_scope(method="GET"))
    assert seen == [("teardown", True)]
