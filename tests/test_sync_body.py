"""A sync view reads a request body that arrived in one message without the event loop.

Before a sync view is handed to its thread, the first message of a body it may
read is taken if the server already has it; ``request.form`` (urlencoded),
``get_json()``, ``get_data()``, ``data`` and ``values`` then return in the view's
thread. These tests stall the event loop while the view reads: the read must
still finish. Everything else (a body in several messages, a body still on its
way, the limits and errors) must behave as it does for an async view.
"""

from __future__ import annotations

import asyncio
import json
import threading
import typing as t

import pytest

from quartlike import Quart
from quartlike import request

from .exchange import BOUND
from .exchange import Exchange
from .exchange import body as body_message
from .exchange import http_scope

URLENCODED = [(b"content-type", b"application/x-www-form-urlencoded")]
JSON = [(b"content-type", b"application/json")]


def _length(data: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(len(data)).encode())]


def _read(what: str) -> str:
    if what == "form":
        return json.dumps(request.form.to_dict(flat=False))  # type: ignore[attr-defined]
    if what == "values":
        return json.dumps(request.values.to_dict(flat=False))  # type: ignore[attr-defined]
    if what == "files":
        return json.dumps(len(request.files))  # type: ignore[arg-type]
    if what == "json":
        return json.dumps(request.get_json())
    if what == "data":
        return t.cast(bytes, request.data).decode()
    if what == "text":
        return t.cast(str, request.get_data(as_text=True))
    if what == "form-then-data":
        request.form  # noqa: B018 - the form parser consumes the body, as in Flask
        return repr(request.get_data())
    if what == "parse-form-data":
        return repr(request.get_data(parse_form_data=True)) + repr(dict(request.form))  # type: ignore[call-overload]
    raise AssertionError(what)


async def _read_async(what: str) -> str:
    if what == "form":
        return json.dumps((await request.form).to_dict(flat=False))
    if what == "values":
        return json.dumps((await request.values).to_dict(flat=False))
    if what == "files":
        return json.dumps(len(await request.files))
    if what == "json":
        return json.dumps(await request.get_json())
    if what == "data":
        return (await request.data).decode()
    if what == "text":
        return t.cast(str, await request.get_data(as_text=True))
    if what == "form-then-data":
        await request.form
        return repr(await request.get_data())
    if what == "parse-form-data":
        data = await request.get_data(parse_form_data=True)
        return repr(data) + repr(dict(await request.form))
    raise AssertionError(what)


CASES = [
    ("form", URLENCODED, b"a=1&b=two&a=3", '{"a": ["1", "3"], "b": ["two"]}'),
    ("values", URLENCODED, b"a=1", '{"q": ["x"], "a": ["1"]}'),
    ("files", URLENCODED, b"a=1", "0"),
    ("json", JSON, b'{"n": [1, 2.5, null]}', '{"n": [1, 2.5, null]}'),
    ("data", [], b"raw \xc3\xa9", "raw \u00e9"),
    ("text", [], b"raw \xff", "raw \ufffd"),
    ("form-then-data", URLENCODED, b"a=1", "b''"),
    ("parse-form-data", URLENCODED, b"a=1", "b''{'a': '1'}"),
]


def _app(
    started: threading.Event | None = None,
    go: threading.Event | None = None,
    done: threading.Event | None = None,
    cls: type[Quart] = Quart,
) -> Quart:
    app = cls(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64

    @app.post("/sync/<what>")
    def sync_view(what: str) -> str:
        if started is not None and go is not None:
            started.set()
            assert go.wait(BOUND)
        rv = _read(what)
        if done is not None:
            done.set()
        return rv

    @app.post("/async/<what>")
    async def async_view(what: str) -> str:
        return await _read_async(what)

    return app


@pytest.mark.parametrize("face", ["core", "flask"])
@pytest.mark.parametrize(("what", "headers", "data", "expected"), CASES)
async def test_a_sync_view_reads_a_one_message_body_while_the_loop_is_stalled(
    what: str, headers: list[tuple[bytes, bytes]], data: bytes, expected: str, face: str
) -> None:
    from quartlike.flask import Flask

    started, go, done = threading.Event(), threading.Event(), threading.Event()
    # The Flask face runs all of a request's sync code in one reserved thread.
    app = _app(started, go, done, cls=Flask if face == "flask" else Quart)
    scope = http_scope(f"/sync/{what}", headers=[*headers, *_length(data)], query_string=b"q=x")
    exchange = Exchange(body_message(data))
    task = asyncio.ensure_future(exchange.run(app, scope))
    async with asyncio.timeout(BOUND):
        while not started.is_set():
            await asyncio.sleep(0.001)
    # The event loop is blocked from here until the view has read the body: a
    # read that needed the loop would not finish.
    go.set()
    read_without_loop = done.wait(3.0)
    await task
    assert read_without_loop, "the sync view needed the event loop to read the body"
    assert (exchange.status, exchange.body.decode()) == (200, expected)


async def _both(
    app: Quart, what: str, headers: list[tuple[bytes, bytes]], *messages: t.Any, **kw: t.Any
) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
    results = []
    for face in ("sync", "async"):
        exchange = Exchange(*messages, **kw)
        await exchange.run(app, http_scope(f"/{face}/{what}", headers=headers))
        results.append((exchange.status, exchange.body))
    return results[0], results[1]


@pytest.mark.parametrize(("what", "headers", "data", "expected"), CASES)
async def test_a_body_in_several_messages_reads_the_same_as_in_an_async_view(
    what: str, headers: list[tuple[bytes, bytes]], data: bytes, expected: str
) -> None:
    app = _app()
    half = len(data) // 2
    messages = [body_message(data[:half], more=True), body_message(data[half:])]
    sync, async_ = await _both(app, what, [*headers, *_length(data)], *messages)
    assert sync == async_
    if what not in ("values",):  # values also carries the query string, absent here
        assert sync == (200, expected.encode())


@pytest.mark.parametrize(("what", "headers", "data", "expected"), CASES)
async def test_a_body_still_on_its_way_when_the_view_starts_is_waited_for(
    what: str, headers: list[tuple[bytes, bytes]], data: bytes, expected: str
) -> None:
    app = _app()
    sync, async_ = await _both(
        app, what, [*headers, *_length(data)], body_message(data), delay=0.02
    )
    assert sync == async_
    assert sync[0] == 200


async def test_a_body_that_never_comes_is_408_after_the_body_timeout() -> None:
    app = _app()
    app.config["BODY_TIMEOUT"] = 0.05
    sync, async_ = await _both(app, "form", [*URLENCODED, *_length(b"a=1")], then="stall")
    assert sync[0] == async_[0] == 408


@pytest.mark.parametrize(
    ("what", "headers", "messages"),
    [
        # declared over MAX_CONTENT_LENGTH (64)
        ("data", [(b"content-length", b"100")], [body_message(b"x" * 100)]),
        # declared under it, but more arrives
        ("form", [*URLENCODED, (b"content-length", b"10")], [body_message(b"a=" + b"x" * 80)]),
        ("json", [*JSON, *_length(b"{nope")], [body_message(b"{nope")]),
        ("json", [*URLENCODED, *_length(b"{}")], [body_message(b"{}")]),  # not JSON: 415
        ("json", [*JSON, *_length(b"NaN")], [body_message(b"NaN")]),
        ("form", [*URLENCODED, *_length(b"a=%zz")], [body_message(b"a=%zz")]),
        ("data", [(b"content-length", b"5")], [{"type": "http.disconnect"}]),
    ],
)
async def test_limits_and_errors_are_those_of_an_async_view(
    what: str, headers: list[tuple[bytes, bytes]], messages: list[t.Any]
) -> None:
    app = _app()
    sync, async_ = await _both(app, what, headers, *messages)
    assert sync[0] == async_[0]
    assert sync[0] in (400, 413, 415) or sync == async_


async def test_json_errors_can_be_silenced_in_a_sync_view() -> None:
    app = Quart(__name__)

    @app.post("/")
    def view() -> str:
        return repr((request.get_json(silent=True), request.get_json(silent=True)))

    exchange = Exchange(body_message(b"{broken"))
    await exchange.run(app, http_scope(headers=[*JSON, *_length(b"{broken")]))
    assert (exchange.status, exchange.body) == (200, b"(None, None)")


async def test_an_async_view_does_not_receive_before_it_asks() -> None:
    app = Quart(__name__)
    calls_at_start: list[int] = []
    exchange = Exchange(body_message(b"a=1"))

    @app.post("/")
    async def view() -> str:
        calls_at_start.append(exchange.receive_calls)
        return (await request.form)["a"]

    await exchange.run(app, http_scope(headers=[*URLENCODED, *_length(b"a=1")]))
    assert (exchange.status, exchange.body, calls_at_start) == (200, b"1", [0])
