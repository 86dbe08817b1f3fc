"""Streamed responses: generators, stream_with_context, server-sent events, disconnects,
timeouts, errors mid-stream, and the test client's incremental API (``client.request``).
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import logging
import threading
import time
import typing as t

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from quartlike import Quart
from quartlike import Response
from quartlike import ServerSentEvent
from quartlike import event_stream
from quartlike import make_response
from quartlike import request
from quartlike import stream_with_context
from quartlike.testing import IncompleteResponseError
from quartlike.testing import QuartClient

#: Upper bound for anything a test waits for; the expected waits are far shorter.
BOUND = 5.0


class Gate:
    """Releases a producer one step at a time, from the test (works across threads)."""

    def __init__(self) -> None:
        self._semaphore = threading.Semaphore(0)

    def release(self) -> None:
        self._semaphore.release()

    def wait_sync(self) -> None:
        assert self._semaphore.acquire(timeout=BOUND), "the test never released the gate"

    async def wait(self) -> None:
        async with asyncio.timeout(BOUND):
            while not self._semaphore.acquire(blocking=False):
                await asyncio.sleep(0.001)


async def chunks_of(client: QuartClient, path: str, **kwargs: t.Any) -> list[bytes]:
    async with asyncio.timeout(BOUND), client.request(path, **kwargs) as response:
        return [chunk async for chunk in response.iter_body()]


# -- generators as response bodies ---------------------------------------------------------


async def test_sync_generator_is_streamed_chunk_by_chunk(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    def index() -> t.Any:
        def generate() -> cabc.Iterator[str]:
            for name in request.args.getlist("name"):
                yield f"hello {name}\n"

        return generate(), {"Content-Type": "text/plain"}

    async with client.request("/?name=a&name=b&name=c") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        assert "Content-Length" not in response.headers
        chunks = [chunk async for chunk in response.iter_body()]
    assert chunks == [b"hello a\n", b"hello b\n", b"hello c\n"]


async def test_async_generator_is_streamed_with_the_request_context(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/<word>")
    async def index(word: str) -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            for n in range(3):
                await asyncio.sleep(0)
                # The request context is still pushed while the body streams.
                yield f"{request.path}:{word}:{n};".encode()

        return generate()

    assert await chunks_of(client, "/hi") == [b"/hi:hi:0;", b"/hi:hi:1;", b"/hi:hi:2;"]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_chunks_arrive_as_the_app_sends_them(
    app: Quart, client: QuartClient, kind: str
) -> None:
    gate = Gate()
    produced: list[int] = []

    def sync_body() -> cabc.Iterator[bytes]:
        for n in range(3):
            gate.wait_sync()
            produced.append(n)
            yield f"part {n}".encode()

    async def async_body() -> cabc.AsyncIterator[bytes]:
        for n in range(3):
            await gate.wait()
            produced.append(n)
            yield f"part {n}".encode()

    @app.route("/")
    async def index() -> t.Any:
        return sync_body() if kind == "sync" else async_body()

    async with asyncio.timeout(BOUND), client.request("/") as response:
        # The status and headers are there before the app produced any body.
        assert response.status_code == 200
        assert produced == []
        body = response.iter_body()
        for n in range(3):
            gate.release()
            assert await anext(body) == f"part {n}".encode()
            # Each chunk is delivered before the next one is even produced.
            assert produced == list(range(n + 1))
        assert await response.read() == b"part 0part 1part 2"
        assert response.is_complete


async def test_request_helper_stores_cookies_and_reads_plain_responses(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/set")
    async def set_cookie() -> Response:
        response = Response("done")
        response.set_cookie("flavour", "oat")
        return response

    @app.route("/get")
    async def get_cookie() -> str:
        return request.cookies.get("flavour", "none")

    async with client.request("/set") as response:
        assert await response.read() == b"done"
        assert response.is_complete
    assert client.get_cookie("flavour") == "oat"
    assert await chunks_of(client, "/get") == [b"oat"]


async def test_request_helper_reports_errors_before_the_response(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/")
    async def index() -> str:
        raise LookupError("before any byte was sent")

    with pytest.raises(LookupError, match="before any byte"):
        async with asyncio.timeout(BOUND), client.request("/"):
            pytest.fail("the block must not run")


async def test_leaving_the_block_early_disconnects_and_waits_for_teardown(
    app: Quart, client: QuartClient
) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> t.Any:
        async def forever() -> cabc.AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.001)
            finally:
                events.append("generator finally")

        return forever()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    async with asyncio.timeout(BOUND), client.request("/") as response:
        async for _chunk in response.iter_body():
            break
    assert events == ["generator finally", "teardown"]


# -- stream_with_context -------------------------------------------------------------------


async def test_stream_with_context_generators_outlive_the_request(
    app: Quart, client: QuartClient
) -> None:
    kept: dict[str, t.Any] = {}
    teardowns: list[str] = []

    @app.route("/keep")
    async def keep() -> str:
        def sync_words() -> cabc.Iterator[str]:
            yield request.args["word"]
            yield request.path

        async def async_words() -> cabc.AsyncIterator[str]:
            yield request.args["word"]
            await asyncio.sleep(0)
            yield request.path

        kept["sync"] = stream_with_context(sync_words())
        kept["async"] = stream_with_context(async_words())
        return "kept"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(request.path)

    response = await client.get("/keep?word=tea")
    assert await response.get_data() == b"kept"
    assert teardowns == ["/keep"]

    async def consume_async() -> list[str]:
        return [word async for word in kept["async"]]

    # Consumed after the request is over, elsewhere: in a task and in a thread.
    assert await asyncio.create_task(consume_async()) == ["tea", "/keep"]
    assert await asyncio.to_thread(list, kept["sync"]) == ["tea", "/keep"]
    # The copies run no teardown: the request ran it once, when it ended.
    assert teardowns == ["/keep"]


async def test_plain_generators_lose_the_request_after_the_view(
    app: Quart, client: QuartClient
) -> None:
    kept: list[cabc.AsyncIterator[str]] = []

    @app.route("/keep")
    async def keep() -> str:
        async def words() -> cabc.AsyncIterator[str]:
            yield request.args["word"]

        kept.append(words())
        return "kept"

    await client.get("/keep?word=tea")

    async def consume() -> list[str]:
        return [word async for word in kept[0]]

    with pytest.raises(RuntimeError):
        await asyncio.create_task(consume())


async def test_stream_with_context_as_a_decorator(app: Quart, client: QuartClient) -> None:
    kept: dict[str, t.Any] = {}

    @stream_with_context
    def sync_greeting(greeting: str) -> cabc.Iterator[str]:
        yield f"{greeting} {request.args['name']}"

    @stream_with_context
    async def async_greeting(greeting: str) -> cabc.AsyncIterator[str]:
        await asyncio.sleep(0)
        yield f"{greeting} {request.args['name']}"

    @app.route("/")
    async def index() -> str:
        kept["sync"] = sync_greeting("hello")
        kept["async"] = async_greeting("hi")
        return "kept"

    @app.route("/direct")
    async def direct() -> t.Any:
        return async_greeting("hey")

    await client.get("/?name=ada")
    assert await asyncio.to_thread(list, kept["sync"]) == ["hello ada"]

    async def consume() -> list[str]:
        return [item async for item in kept["async"]]

    assert await asyncio.create_task(consume()) == ["hi ada"]
    # Returned from the view, a decorated generator streams like any other.
    assert await chunks_of(client, "/direct?name=bob") == [b"hey bob"]


async def test_stream_with_context_needs_a_request_and_a_generator(app: Quart) -> None:
    def words() -> cabc.Iterator[str]:
        yield "x"

    with pytest.raises(RuntimeError, match="needs an active request"):
        stream_with_context(words())
    async with app.test_request_context("/"):
        with pytest.raises(TypeError, match="list"):
            stream_with_context(["not", "a", "generator"])  # type: ignore[call-overload]


# -- server-sent events --------------------------------------------------------------------


def test_server_sent_event_with_data_only() -> None:
    assert ServerSentEvent("hello").encode() == b"data: hello\n\n"
    assert ServerSentEvent("").encode() == b"data: \n\n"


def test_server_sent_event_fields_and_multiline_data() -> None:
    event = ServerSentEvent("one\ntwo\r\nthree\rfour", event="update", id="42", retry=1500)
    assert event.encode() == (
        b"event: update\nid: 42\nretry: 1500\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
    )
    assert ServerSentEvent("caf\u00e9").encode() == "data: caf\u00e9\n\n".encode()


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\r\nb"])
def test_server_sent_event_rejects_line_breaks_in_event_and_id(field: str, value: str) -> None:
    if field == "event":
        event = ServerSentEvent("data", event=value)
    else:
        event = ServerSentEvent("data", id=value)
    with pytest.raises(ValueError, match=field):
        event.encode()


async def test_event_stream_response(app: Quart, client: QuartClient) -> None:
    gate = Gate()

    @app.route("/events")
    async def events() -> Response:
        async def generate() -> cabc.AsyncIterator[ServerSentEvent | str]:
            yield "plain"
            await gate.wait()
            yield ServerSentEvent("two\nlines", event="tick", id="2")

        return event_stream(generate(), ping=True)

    async with asyncio.timeout(BOUND), client.request("/events") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["X-Accel-Buffering"] == "no"
        assert "Content-Length" not in response.headers
        body = response.iter_body()
        assert await anext(body) == b": stream open\n\n"
        assert await anext(body) == b"data: plain\n\n"
        gate.release()
        assert await anext(body) == b"event: tick\nid: 2\ndata: two\ndata: lines\n\n"
        assert await response.read() == (
            b": stream open\n\ndata: plain\n\nevent: tick\nid: 2\ndata: two\ndata: lines\n\n"
        )


async def test_event_stream_without_ping(app: Quart, client: QuartClient) -> None:
    @app.route("/events")
    async def events() -> Response:
        async def generate() -> cabc.AsyncIterator[str]:
            yield "only"

        return event_stream(generate())

    assert await chunks_of(client, "/events") == [b"data: only\n\n"]


# -- disconnects ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_disconnect_mid_stream_cancels_the_generator_then_tears_down_once(
    app: Quart, client: QuartClient, kind: str
) -> None:
    events: list[str] = []

    def sync_ticks() -> cabc.Iterator[bytes]:
        try:
            for n in range(10_000):
                events.append(f"yield {n}")
                yield b"tick"
                time.sleep(0.005)
        finally:
            events.append("generator finally")

    async def async_ticks() -> cabc.AsyncIterator[bytes]:
        try:
            for n in range(10_000):
                events.append(f"yield {n}")
                yield b"tick"
                await asyncio.sleep(0.005)
        finally:
            events.append("generator finally")

    @app.route("/")
    async def index() -> t.Any:
        return sync_ticks() if kind == "sync" else async_ticks()

    @app.teardown_request
    async def teardown_request(exc: BaseException | None) -> None:
        events.append(f"teardown_request {exc!r}")

    @app.teardown_appcontext
    async def teardown_appcontext(exc: BaseException | None) -> None:
        events.append(f"teardown_appcontext {exc!r}")

    async with asyncio.timeout(BOUND), client.request("/") as response:
        body = response.iter_body()
        assert await anext(body) == b"tick"
        assert await anext(body) == b"tick"
        started = time.monotonic()
        await response.disconnect()
        assert time.monotonic() - started < 1
    assert not response.is_complete
    # The generator finished first; teardown ran once, after it, with no error.
    assert events[-3:] == [
        "generator finally",
        "teardown_request None",
        "teardown_appcontext None",
    ]
    assert all(event.startswith("yield ") for event in events[:-3])
    assert events.count("teardown_request None") == 1


async def test_teardown_runs_after_a_complete_stream(app: Quart, client: QuartClient) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            for n in range(3):
                events.append(f"yield {n}")
                yield b"x"
            events.append("exhausted")

        return generate()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {request.path}")

    assert await chunks_of(client, "/") == [b"x", b"x", b"x"]
    assert events == ["yield 0", "yield 1", "yield 2", "exhausted", "teardown /"]


async def test_every_teardown_runs_when_one_raises_after_a_stream(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"body"
            events.append("streamed")

        return generate()

    @app.teardown_request
    async def first(exc: BaseException | None) -> None:
        events.append("first")

    @app.teardown_request
    async def failing(exc: BaseException | None) -> None:
        events.append("failing")
        raise OSError("teardown broke")

    @app.teardown_request
    def last(exc: BaseException | None) -> None:
        events.append("last")

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        events.append("appcontext")

    # Testing: the teardown error propagates, once every callback had its turn.
    with pytest.raises(OSError, match="teardown broke"):
        async with asyncio.timeout(BOUND), client.request("/") as response:
            assert await response.read() == b"body"
    assert events[0] == "streamed"
    assert sorted(events[1:4]) == ["failing", "first", "last"]
    assert events[4:] == ["appcontext"]

    # Not testing: the error is logged and the response stands.
    app.config["TESTING"] = False
    events.clear()
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        assert await chunks_of(client, "/") == [b"body"]
    assert sorted(events[1:4]) == ["failing", "first", "last"]
    assert events[4:] == ["appcontext"]
    assert any(
        r.exc_info is not None and isinstance(r.exc_info[1], OSError) for r in caplog.records
    )


async def test_disconnect_while_an_unread_upload_is_still_arriving(
    app: Quart, client: QuartClient
) -> None:
    # A streaming view that ignores a large upload: the watcher must keep
    # listening to the client, not stall behind body messages nobody reads.
    closed = asyncio.Event()
    pulled = 0

    @app.route("/", methods=["POST"])
    async def index() -> t.Any:
        async def ticks() -> cabc.AsyncIterator[bytes]:
            try:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0.005)
            finally:
                closed.set()

        return ticks()

    async def upload() -> cabc.AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(200):
            pulled += 1
            yield b"u" * 1000
            await asyncio.sleep(0)

    async with asyncio.timeout(BOUND), client.request("/", method="POST", data=upload()) as r:
        body = r.iter_body()
        await anext(body)
        while pulled < 50:  # well past any small relay buffer
            await anext(body)
        async with asyncio.timeout(1):
            await r.disconnect()
    assert closed.is_set()


# -- timeouts ------------------------------------------------------------------------------


async def stalled_after_first() -> cabc.AsyncIterator[bytes]:
    yield b"first"
    await asyncio.sleep(3600)
    yield b"never"


async def test_response_timeout_ends_a_stalled_stream(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.1
    events: list[str] = []

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            try:
                async for chunk in stalled_after_first():
                    yield chunk
            finally:
                events.append("generator finally")

        return generate()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    received: list[bytes] = []
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        async with asyncio.timeout(BOUND), client.request("/") as response:
            with pytest.raises(IncompleteResponseError):
                async for chunk in response.iter_body():
                    received.append(chunk)
    assert time.monotonic() - started < 2
    assert received == [b"first"]
    assert not response.is_complete
    assert events == ["generator finally", "teardown"]
    assert "longer than 0.1 s" in caplog.text


async def test_response_timeout_per_response_overrides_the_app(
    app: Quart, client: QuartClient
) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.05

    @app.route("/short")
    async def short() -> Response:
        response = Response(stalled_after_first())
        app.config["RESPONSE_TIMEOUT"] = 3600  # the response's own timeout wins
        response.timeout = 0.1
        return response

    @app.route("/long")
    async def long() -> Response:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"a"
            await asyncio.sleep(0.2)  # longer than RESPONSE_TIMEOUT
            yield b"b"

        response = Response(generate())
        response.timeout = 5
        return response

    assert await chunks_of(client, "/long") == [b"a", b"b"]
    with pytest.raises(IncompleteResponseError):
        await chunks_of(client, "/short")


async def test_no_response_timeout(app: Quart, client: QuartClient) -> None:
    app.config["RESPONSE_TIMEOUT"] = None

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"a"
            await asyncio.sleep(0.1)
            yield b"b"

        return generate()

    assert await chunks_of(client, "/") == [b"a", b"b"]


# -- request bodies read while streaming ---------------------------------------------------


async def test_stream_echoes_an_upload_chunk_by_chunk(app: Quart, client: QuartClient) -> None:
    @app.route("/echo", methods=["POST"])
    async def echo() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"<"
            async for chunk in request.body:
                yield chunk.upper()
            yield b">"

        return generate()

    outgoing: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def upload() -> cabc.AsyncIterator[bytes]:
        while (chunk := await outgoing.get()) is not None:
            yield chunk

    async with (
        asyncio.timeout(BOUND),
        client.request("/echo", method="POST", data=upload()) as response,
    ):
        body = response.iter_body()
        assert await anext(body) == b"<"
        # Each piece of the upload comes back before the next one is sent.
        for n in range(20):
            await outgoing.put(f"part{n};".encode())
            assert await anext(body) == f"PART{n};".encode()
        await outgoing.put(None)
        assert await anext(body) == b">"
        assert (
            await response.read() == b"<" + b"".join(f"PART{n};".encode() for n in range(20)) + b">"
        )


async def test_stream_reads_a_fast_upload_completely(app: Quart, client: QuartClient) -> None:
    @app.route("/count", methods=["POST"])
    async def count() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"counting:"
            total = 0
            digest = 0
            async for chunk in request.body:
                total += len(chunk)
                digest = (digest + sum(chunk)) % 65536
                await asyncio.sleep(0)  # a slow reader: the upload gets ahead
            yield f"{total}:{digest}".encode()

        return generate()

    pieces = [bytes([n % 251]) * (100 + n) for n in range(300)]

    async def upload() -> cabc.AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    expected = f"{sum(map(len, pieces))}:{sum(map(sum, pieces)) % 65536}".encode()
    chunks = await chunks_of(client, "/count", method="POST", data=upload())
    assert chunks == [b"counting:", expected]


# -- errors mid-stream ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_error_mid_stream_propagates_when_testing(
    app: Quart, client: QuartClient, kind: str
) -> None:
    teardowns: list[BaseException | None] = []

    def sync_body() -> cabc.Iterator[bytes]:
        yield b"one"
        raise ValueError("broken mid-stream")

    async def async_body() -> cabc.AsyncIterator[bytes]:
        yield b"one"
        raise ValueError("broken mid-stream")

    @app.route("/")
    async def index() -> t.Any:
        return sync_body() if kind == "sync" else async_body()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    received: list[bytes] = []
    async with asyncio.timeout(BOUND), client.request("/") as response:
        with pytest.raises(ValueError, match="broken mid-stream"):
            async for chunk in response.iter_body():
                received.append(chunk)
    assert received == [b"one"]
    assert not response.is_complete
    assert len(teardowns) == 1
    assert isinstance(teardowns[0], ValueError)


@pytest.mark.parametrize("error", [ValueError("broken"), TimeoutError("a backend timed out")])
async def test_error_mid_stream_is_logged_by_the_app(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    app.config["TESTING"] = False
    teardowns: list[BaseException | None] = []

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"one"
            raise error

        return generate()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    received: list[bytes] = []
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        async with asyncio.timeout(BOUND), client.request("/") as response:
            # The response had started: no error page, no final body message.
            # The exception still reaches the server (here, the test client).
            with pytest.raises(type(error)):
                async for chunk in response.iter_body():
                    received.append(chunk)
    assert received == [b"one"]
    assert not response.is_complete
    assert teardowns == [error]
    logged = [r for r in caplog.records if r.name == app.logger.name and r.exc_info]
    assert len(logged) == 1
    assert logged[0].exc_info is not None and logged[0].exc_info[1] is error
    assert "took longer" not in caplog.text


async def test_upload_past_the_limit_while_streaming_is_413_for_the_reader(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/", methods=["POST"])
    async def index() -> t.Any:
        request.max_content_length = 1000

        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"reading;"
            total = 0
            try:
                async for chunk in request.body:
                    total += len(chunk)
            except RequestEntityTooLarge:
                yield f"413 after {total}".encode()

        return generate()

    async def upload() -> cabc.AsyncIterator[bytes]:
        for _ in range(50):
            yield b"u" * 100

    chunks = await chunks_of(client, "/", method="POST", data=upload())
    assert chunks == [b"reading;", b"413 after 1000"]


async def test_response_timeout_none_disables_the_app_limit(
    app: Quart, client: QuartClient
) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.05

    @app.route("/")
    async def index() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            yield b"a"
            await asyncio.sleep(0.2)
            yield b"b"

        response = await make_response(generate())
        response.timeout = None
        return response

    assert await chunks_of(client, "/") == [b"a", b"b"]
