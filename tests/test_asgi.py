"""The ASGI interface, called directly: message sequences, streaming, disconnects, lifespan."""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import threading
import time
import typing as t

import pytest

from quartlike import Quart
from quartlike import Response
from quartlike import request
from quartlike import url_for

if t.TYPE_CHECKING:
    from quartlike.typing import HTTPScope
    from quartlike.typing import LifespanScope
    from quartlike.typing import Message


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config["TESTING"] = True
    app.config.update(config)
    return app


def http_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    root_path: str = "",
) -> HTTPScope:
    """An HTTP scope as a server sends it (``path`` includes ``root_path``)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def lifespan_scope() -> LifespanScope:
    return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


class Client:
    """Plays the server's side of one ASGI call.

    ``receive`` hands out ``messages`` in order. Once they are used up it waits
    until ``disconnect_after`` body chunks have been sent (if set) and then
    reports ``http.disconnect``; otherwise it waits forever, as a server does
    while the client is connected and silent.
    """

    def __init__(self, *messages: Message, disconnect_after: int | None = None) -> None:
        self.messages = list(messages) or [{"type": "http.request", "body": b""}]
        self.disconnect_after = disconnect_after
        self.sent: list[Message] = []
        self._progress = asyncio.Event()

    async def receive(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        if self.disconnect_after is None:
            await asyncio.Event().wait()
        while len(self.body_messages) < (self.disconnect_after or 0):
            self._progress.clear()
            await self._progress.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self._progress.set()

    async def call(self, app: Quart, scope: t.Any) -> Client:
        await asyncio.wait_for(app(scope, self.receive, self.send), timeout=5)
        return self

    @property
    def types(self) -> list[str]:
        return [message["type"] for message in self.sent]

    @property
    def start(self) -> Message:
        assert self.sent[0]["type"] == "http.response.start"
        return self.sent[0]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.start["headers"])

    @property
    def body_messages(self) -> list[Message]:
        return [m for m in self.sent if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.body_messages)


class LifespanServer:
    """Sends lifespan events and records the app's answers."""

    def __init__(self, *events: str) -> None:
        self.events = [{"type": f"lifespan.{event}"} for event in events]
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.events:
            return self.events.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def call(self, app: Quart) -> LifespanServer:
        await asyncio.wait_for(app(lifespan_scope(), self.receive, self.send), timeout=5)
        return self


@pytest.fixture
def app() -> Quart:
    return make_app()


# -- message sequences -----------------------------------------------------------------


async def test_in_memory_response_is_one_start_and_one_body(app: Quart) -> None:
    @app.route("/")
    async def index() -> tuple[str, int, dict[str, str]]:
        return "hello", 201, {"X-Custom": "yes"}

    client = await Client().call(app, http_scope())
    assert client.types == ["http.response.start", "http.response.body"]
    assert client.start["status"] == 201
    assert client.headers[b"x-custom"] == b"yes"
    assert client.headers[b"content-length"] == b"5"
    assert client.headers[b"content-type"] == b"text/html; charset=utf-8"
    assert client.sent[1]["body"] == b"hello"
    assert not client.sent[1].get("more_body", False)


async def test_header_names_are_lowercase_bytes(app: Quart) -> None:
    @app.route("/")
    async def index() -> tuple[str, list[tuple[str, str]]]:
        return "", [("X-Twice", "1"), ("X-Twice", "2")]

    client = await Client().call(app, http_scope())
    headers = client.start["headers"]
    assert all(isinstance(k, bytes) and k == k.lower() for k, _ in headers)
    assert [v for k, v in headers if k == b"x-twice"] == [b"1", b"2"]


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_streamed_response_uses_more_body(app: Quart, kind: str) -> None:
    async def agen() -> cabc.AsyncIterator[bytes]:
        for chunk in (b"a", b"", b"bc", b"d"):
            yield chunk

    def gen() -> cabc.Iterator[str]:
        yield from ("a", "", "bc", "d")

    @app.route("/")
    async def index() -> t.Any:
        return agen() if kind == "async" else gen()

    client = await Client().call(app, http_scope())
    assert client.types[0] == "http.response.start"
    assert b"content-length" not in client.headers
    chunks = client.body_messages
    assert [m["body"] for m in chunks[:-1]] == [b"a", b"bc", b"d"]
    assert all(m["more_body"] for m in chunks[:-1])
    assert chunks[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


async def test_head_sends_an_empty_body(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "not sent"

    client = await Client().call(app, http_scope(method="HEAD"))
    assert client.types == ["http.response.start", "http.response.body"]
    assert client.headers[b"content-length"] == b"8"
    assert client.body == b""
    assert not client.sent[1].get("more_body", False)


async def test_head_of_a_stream_sends_an_empty_body(app: Quart) -> None:
    async def produce() -> cabc.AsyncIterator[bytes]:
        yield b"not sent"

    @app.route("/")
    async def index() -> t.Any:
        return produce()

    client = await Client().call(app, http_scope(method="HEAD"))
    assert client.types == ["http.response.start", "http.response.body"]
    assert client.body == b""


async def test_error_becomes_a_500_response_when_not_propagating() -> None:
    app = make_app(TESTING=False)

    @app.route("/")
    async def index() -> str:
        raise RuntimeError("boom")

    client = await Client().call(app, http_scope())
    assert client.start["status"] == 500
    assert b"boom" not in client.body


async def test_error_propagates_without_sending_when_testing(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        raise RuntimeError("boom")

    client = Client()
    with pytest.raises(RuntimeError, match="boom"):
        await client.call(app, http_scope())
    assert client.sent == []


async def test_teardown_runs_after_the_response_is_sent(app: Quart) -> None:
    sent_at_teardown: list[int] = []
    client = Client()

    @app.route("/")
    async def index() -> str:
        return "done"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        sent_at_teardown.append(len(client.sent))

    await client.call(app, http_scope())
    assert sent_at_teardown == [2]


async def test_minimal_scope_uses_defaults(app: Quart) -> None:
    @app.route("/")
    async def index() -> dict[str, t.Any]:
        return {
            "scheme": request.scheme,
            "query": request.query_string.decode(),
            "root": request.root_path,
            "remote": request.remote_addr,
            "url": request.url,
        }

    scope: t.Any = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/",
        "headers": [(b"host", b"example.org")],
    }
    client = await Client().call(app, scope)
    assert client.start["status"] == 200
    assert client.body.startswith(b"{")
    assert client.body.count(b'"remote":null') == 1
    assert b'"url":"http://example.org/"' in client.body


# -- root_path -------------------------------------------------------------------------


async def test_root_path_is_stripped_for_routing_and_added_by_url_for(app: Quart) -> None:
    @app.route("/items/<int:id>")
    async def item(id: int) -> str:
        return f"{request.path} {url_for('item', id=id + 1)} {request.url}"

    client = await Client().call(app, http_scope("/items/1", root_path="/api"))
    assert client.start["status"] == 200
    assert client.body == b"/items/1 /api/items/2 http://testserver/api/items/1"


async def test_root_path_not_repeated_in_path(app: Quart) -> None:
    # Some servers send a path without the root_path prefix; it is routed as is.
    @app.route("/items")
    async def items() -> str:
        return url_for("items")

    scope = http_scope("/items")
    scope["root_path"] = "/api"
    client = await Client().call(app, scope)
    assert client.body == b"/api/items"


# -- disconnects and timeouts --------------------------------------------------------------


async def test_disconnect_cancels_an_async_stream(app: Quart) -> None:
    events: list[str] = []

    async def produce() -> cabc.AsyncIterator[bytes]:
        try:
            while True:
                yield b"tick"
                await asyncio.sleep(0.01)
        finally:
            events.append("generator closed")

    @app.route("/")
    async def index() -> t.Any:
        return produce()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    started = time.monotonic()
    client = await Client(disconnect_after=2).call(app, http_scope())
    assert time.monotonic() - started < 1
    assert events == ["generator closed", "teardown"]
    assert client.body_messages[-1]["more_body"] is True


async def test_disconnect_cancels_a_sync_stream(app: Quart) -> None:
    events: list[str] = []
    stop = threading.Event()

    def produce() -> cabc.Iterator[bytes]:
        try:
            while not stop.is_set():
                yield b"tick"
                time.sleep(0.01)
        finally:
            events.append("generator closed")

    @app.route("/")
    async def index() -> t.Any:
        return produce()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    started = time.monotonic()
    try:
        await Client(disconnect_after=2).call(app, http_scope())
    finally:
        stop.set()
    assert time.monotonic() - started < 1
    assert events == ["generator closed", "teardown"]


async def test_disconnect_cancels_a_silent_stream(app: Quart) -> None:
    # The generator is stuck waiting, not producing: the disconnect still ends it.
    closed = asyncio.Event()

    async def produce() -> cabc.AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.sleep(3600)
            yield b"never"
        finally:
            closed.set()

    @app.route("/")
    async def index() -> t.Any:
        return produce()

    await Client(disconnect_after=1).call(app, http_scope())
    assert closed.is_set()


async def test_response_timeout_ends_a_slow_stream() -> None:
    app = make_app(RESPONSE_TIMEOUT=0.1)
    closed = asyncio.Event()

    async def produce() -> cabc.AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.sleep(3600)
        finally:
            closed.set()

    @app.route("/")
    async def index() -> t.Any:
        return produce()

    started = time.monotonic()
    client = await Client().call(app, http_scope())
    assert time.monotonic() - started < 1
    assert closed.is_set()
    assert client.body == b"first"
    # No final message: the server drops the connection, so the client sees it was cut.
    assert all(m.get("more_body") for m in client.body_messages)


async def test_per_response_timeout() -> None:
    app = make_app(RESPONSE_TIMEOUT=60)

    async def produce() -> cabc.AsyncIterator[bytes]:
        yield b"first"
        await asyncio.sleep(3600)

    @app.route("/")
    async def index() -> Response:
        response = Response(produce())
        response.timeout = 0.05
        return response

    client = await Client().call(app, http_scope())
    assert client.body == b"first"


# -- scope types and lifespan --------------------------------------------------------------


async def test_unknown_scope_type_is_an_error(app: Quart) -> None:
    scope: t.Any = {"type": "telepathy", "asgi": {"version": "3.0"}}
    with pytest.raises(RuntimeError, match="telepathy"):
        await Client().call(app, scope)


async def test_lifespan_startup_and_shutdown(app: Quart) -> None:
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append("before")

    @app.while_serving
    async def around() -> cabc.AsyncGenerator[None, None]:
        events.append("while-start")
        yield
        events.append("while-end")

    @app.after_serving
    async def stop() -> None:
        events.append("after")

    server = await LifespanServer("startup", "shutdown").call(app)
    assert server.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]
    assert events == ["before", "while-start", "after", "while-end"]


async def test_lifespan_startup_failure(app: Quart) -> None:
    @app.before_serving
    async def start() -> None:
        raise ValueError("no database")

    server = await LifespanServer("startup", "shutdown").call(app)
    assert len(server.sent) == 1
    assert server.sent[0]["type"] == "lifespan.startup.failed"
    assert "no database" in server.sent[0]["message"]
    assert "ValueError" in server.sent[0]["message"]


async def test_lifespan_shutdown_failure(app: Quart) -> None:
    @app.after_serving
    async def stop() -> None:
        raise OSError("disk gone")

    server = await LifespanServer("startup", "shutdown").call(app)
    assert server.sent[0] == {"type": "lifespan.startup.complete"}
    assert server.sent[1]["type"] == "lifespan.shutdown.failed"
    assert "disk gone" in server.sent[1]["message"]


async def test_lifespan_hooks_run_in_an_app_context(app: Quart) -> None:
    from quartlike import current_app

    seen: list[object] = []

    @app.before_serving
    async def start() -> None:
        seen.append(current_app._get_current_object())  # type: ignore[attr-defined]

    await LifespanServer("startup", "shutdown").call(app)
    assert seen == [app]
