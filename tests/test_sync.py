from __future__ import annotations

import asyncio
import collections.abc as cabc
import functools
import threading
import time
import typing as t

import pytest

from quartlike import Quart
from quartlike import Response
from quartlike import current_app
from quartlike import g
from quartlike import request
from quartlike import run_sync
from quartlike.sync import is_async_callable
from quartlike.testing import QuartClient


class ConcurrencyMeter:
    """Counts how many threads are inside :meth:`work` at once (at most ``peak``)."""

    def __init__(self, expected: int) -> None:
        self._lock = threading.Lock()
        self._reached = threading.Event()
        self.expected = expected
        self.current = 0
        self.peak = 0
        self.calls = 0

    def work(self, seconds: float = 0.02) -> None:
        with self._lock:
            self.current += 1
            self.calls += 1
            self.peak = max(self.peak, self.current)
            if self.current >= self.expected:
                self._reached.set()
        # Hold the first callers until ``expected`` of them overlap, so the peak
        # does not depend on thread timing; a missing bound shows as a higher peak.
        self._reached.wait(2)
        time.sleep(seconds)
        with self._lock:
            self.current -= 1


# -- where sync code runs ------------------------------------------------------------------


async def test_sync_view_runs_in_a_worker_thread_with_contexts(
    app: Quart, client: QuartClient
) -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, t.Any] = {}

    @app.before_request
    async def set_g() -> None:
        g.user = "ada"

    @app.route("/<name>")
    def view(name: str) -> str:
        seen["thread"] = threading.get_ident()
        seen["thread_name"] = threading.current_thread().name
        return f"{name} {request.args['q']} {g.user} {current_app.name}"

    response = await client.get("/bob?q=1")
    assert await response.get_data(as_text=True) == f"bob 1 ada {app.name}"
    assert seen["thread"] != loop_thread
    assert seen["thread_name"].startswith(f"quartlike-{app.name}")


async def test_sync_hooks_and_handlers_run_in_worker_threads(
    app: Quart, client: QuartClient
) -> None:
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    @app.before_request
    def before() -> None:
        threads["before"] = threading.get_ident()
        g.path = request.path

    @app.after_request
    def after(response: Response) -> Response:
        threads["after"] = threading.get_ident()
        response.headers["X-Path"] = g.path
        return response

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        threads["teardown"] = threading.get_ident()

    @app.errorhandler(ValueError)
    def handle(e: ValueError) -> tuple[str, int]:
        threads["handler"] = threading.get_ident()
        return f"handled at {request.path}", 400

    @app.route("/fail")
    async def fail() -> str:
        threads["view"] = threading.get_ident()
        raise ValueError()

    response = await client.get("/fail")
    assert await response.get_data() == b"handled at /fail"
    assert response.headers["X-Path"] == "/fail"
    assert threads["view"] == loop_thread  # async views stay on the loop
    for name in ("before", "after", "teardown", "handler"):
        assert threads[name] != loop_thread, name


async def test_sync_view_exception_keeps_its_type(app: Quart, client: QuartClient) -> None:
    class Custom(Exception):
        pass

    @app.route("/")
    def view() -> str:
        raise Custom("from thread")

    with pytest.raises(Custom, match="from thread"):
        await client.get("/")


# -- the bounded pool ----------------------------------------------------------------------


async def test_sync_workers_bounds_concurrent_sync_views(app: Quart, client: QuartClient) -> None:
    app.config["SYNC_WORKERS"] = 2
    meter = ConcurrencyMeter(expected=2)

    @app.route("/slow")
    def slow() -> str:
        meter.work()
        return "done"

    responses = await asyncio.gather(*(client.get("/slow") for _ in range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert meter.calls == 6
    assert meter.peak == 2
    assert app.executor._max_workers == 2


async def test_sync_workers_bounds_run_sync_in_app_context(app: Quart) -> None:
    app.config["SYNC_WORKERS"] = 3
    meter = ConcurrencyMeter(expected=3)
    work = run_sync(meter.work)
    async with app.app_context():
        await asyncio.gather(*(work(0.03) for _ in range(9)))
    assert meter.calls == 9
    assert meter.peak == 3


async def test_sync_views_do_not_block_the_loop(app: Quart, client: QuartClient) -> None:
    release = threading.Event()

    @app.route("/blocking")
    def blocking() -> str:
        assert release.wait(5)
        return "released"

    @app.route("/fast")
    async def fast() -> str:
        release.set()
        return "fast"

    slow_response, fast_response = await asyncio.gather(
        client.get("/blocking"), client.get("/fast")
    )
    assert await slow_response.get_data() == b"released"
    assert await fast_response.get_data() == b"fast"


# -- sync streaming ------------------------------------------------------------------------


async def test_sync_generator_is_stepped_in_threads_and_closed(
    app: Quart, client: QuartClient
) -> None:
    loop_thread = threading.get_ident()
    steps: list[int] = []
    events: list[str] = []

    @app.route("/stream")
    async def stream() -> t.Any:
        def generate() -> cabc.Iterator[str]:
            try:
                for i in range(3):
                    steps.append(threading.get_ident())
                    yield f"{request.args['p']}{i},"
            finally:
                events.append("finally")

        return generate()

    response = await client.get("/stream?p=x")
    assert await response.get_data() == b"x0,x1,x2,"
    assert len(steps) == 3
    assert loop_thread not in steps
    assert events == ["finally"]


def http_scope(path: str) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }


async def stream_until_disconnect(
    app: Quart,
    path: str,
    *,
    send_pause: float = 0,
    wait_for: threading.Event | None = None,
    gone: threading.Event | None = None,
) -> list[bytes]:
    """Serve ``path`` to a client that disconnects after the first chunk.

    ``send_pause`` makes sending the first chunk slow, so the disconnect arrives
    then. With ``wait_for`` the disconnect waits for that event too; ``gone`` is
    set as the disconnect is delivered.
    """
    bodies: list[bytes] = []
    first_chunk = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        if not bodies:
            bodies.append(b"")
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk.wait()
        if wait_for is not None:
            await asyncio.to_thread(wait_for.wait, 5)
        if gone is not None:
            gone.set()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message.get("body", b""))
            if message.get("body"):
                first_chunk.set()
                await asyncio.sleep(send_pause)

    await app(http_scope(path), receive, send)  # type: ignore[arg-type]
    return [b for b in bodies if b]


async def test_abandoned_sync_generator_is_closed_in_a_thread(app: Quart) -> None:
    events: list[str] = []

    def generate() -> cabc.Iterator[bytes]:
        try:
            yield b"first"
            yield b"second"
        finally:
            events.append(threading.current_thread().name)

    @app.route("/stream")
    async def stream() -> t.Any:
        return generate()

    assert await stream_until_disconnect(app, "/stream", send_pause=0.05) == [b"first"]
    # The finally block ran, in the pool and not on the event loop.
    assert len(events) == 1
    assert events[0].startswith(f"quartlike-{app.name}")


async def test_disconnect_during_a_sync_step_waits_for_it_then_closes(app: Quart) -> None:
    events: list[str] = []
    started = threading.Event()
    gone = threading.Event()

    def generate() -> cabc.Iterator[bytes]:
        try:
            yield b"first"
            events.append("slow step started")
            started.set()
            assert gone.wait(5)  # the client leaves while this step runs
            time.sleep(0.1)
            events.append("slow step ended")
            yield b"second"
        finally:
            events.append(f"finally {threading.current_thread().name}")

    @app.route("/stream")
    async def stream() -> t.Any:
        return generate()

    assert await stream_until_disconnect(app, "/stream", wait_for=started, gone=gone) == [b"first"]
    assert events[:2] == ["slow step started", "slow step ended"]
    assert len(events) == 3
    assert events[2].startswith(f"finally quartlike-{app.name}")


# -- helpers -------------------------------------------------------------------------------


async def test_run_sync_outside_an_app_uses_a_thread() -> None:
    loop_thread = threading.get_ident()

    def work(a: int, b: int = 0) -> tuple[int, int]:
        return a + b, threading.get_ident()

    total, thread = await run_sync(work)(1, b=2)
    assert total == 3
    assert thread != loop_thread


async def test_run_sync_copies_the_context(app: Quart) -> None:
    def read() -> str:
        return f"{current_app.name} {request.path} {threading.current_thread().name}"

    async with app.test_request_context("/ctx"):
        result = await run_sync(read)()
    assert result.startswith(f"{app.name} /ctx quartlike-{app.name}")


async def test_run_sync_propagates_exceptions() -> None:
    def fail() -> None:
        raise ZeroDivisionError("sync")

    with pytest.raises(ZeroDivisionError, match="sync"):
        await run_sync(fail)()


async def test_ensure_async(app: Quart) -> None:
    async def already() -> str:
        return "async"

    def plain(x: int) -> tuple[int, int]:
        return x * 2, threading.get_ident()

    assert app.ensure_async(already) is already
    wrapped = app.ensure_async(plain)
    assert is_async_callable(wrapped)
    value, thread = await wrapped(21)
    assert value == 42
    assert thread != threading.get_ident()


# -- classifying callables -----------------------------------------------------------------


async def test_sync_decorator_around_async_view(app: Quart, client: QuartClient) -> None:
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    def sync_decorator(f: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        @functools.wraps(f)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            threads["decorator"] = threading.get_ident()
            return f(*args, **kwargs)

        return wrapper

    @app.route("/<name>")
    @sync_decorator
    async def view(name: str) -> str:
        threads["view"] = threading.get_ident()
        await asyncio.sleep(0)
        return f"hello {name} at {request.path}"

    assert not is_async_callable(view)
    response = await client.get("/ada")
    assert await response.get_data() == b"hello ada at /ada"
    assert threads["decorator"] != loop_thread
    assert threads["view"] == loop_thread  # the returned coroutine is awaited on the loop


async def test_callable_object_with_async_call(app: Quart, client: QuartClient) -> None:
    loop_thread = threading.get_ident()

    class View:
        def __init__(self, greeting: str) -> None:
            self.greeting = greeting
            self.thread = 0

        async def __call__(self, name: str) -> str:
            self.thread = threading.get_ident()
            return f"{self.greeting} {name}"

    view = View("hi")
    assert is_async_callable(view)
    app.add_url_rule("/<name>", "greet", view)
    response = await client.get("/ada")
    assert await response.get_data() == b"hi ada"
    assert view.thread == loop_thread


async def test_callable_object_with_sync_call(app: Quart, client: QuartClient) -> None:
    class View:
        def __call__(self) -> str:
            return threading.current_thread().name

    assert not is_async_callable(View())
    app.add_url_rule("/", "sync_obj", View())
    response = await client.get("/")
    assert (await response.get_data(as_text=True)).startswith("quartlike-")


def test_classes_are_not_async_callables() -> None:
    class AsyncCall:
        async def __call__(self) -> None:
            pass

    # Calling the class constructs an instance; it does not return a coroutine.
    assert not is_async_callable(AsyncCall)
    assert is_async_callable(AsyncCall())


async def test_partial_of_async_function(app: Quart, client: QuartClient) -> None:
    loop_thread = threading.get_ident()

    async def greet(greeting: str, name: str) -> str:
        return f"{greeting} {name} {threading.get_ident() == loop_thread}"

    hello = functools.partial(greet, "hello")
    assert is_async_callable(hello)
    assert is_async_callable(functools.partial(hello, name="x"))
    app.add_url_rule("/<name>", "hello", hello)
    response = await client.get("/ada")
    assert await response.get_data() == b"hello ada True"


def test_partial_of_sync_function_is_sync() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    assert not is_async_callable(functools.partial(add, 1))
    assert not is_async_callable(add)


def test_bound_async_method_is_async() -> None:
    class Thing:
        async def method(self) -> None:
            pass

        def sync_method(self) -> None:
            pass

    assert is_async_callable(Thing().method)
    assert not is_async_callable(Thing().sync_method)
