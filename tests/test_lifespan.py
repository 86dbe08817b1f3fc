from __future__ import annotations

import asyncio
import collections.abc as cabc
import logging
import threading
import typing as t

import pytest

from quartlike import Quart
from quartlike import current_app
from quartlike import g
from quartlike import has_app_context
from quartlike import has_request_context


class LifespanDriver:
    """Plays the server's side of the ASGI lifespan protocol against an app."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self._inbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, t.Any]:
        return await self._inbox.get()

    async def _send(self, message: dict[str, t.Any]) -> None:
        await self._outbox.put(message)

    async def _exchange(self, kind: str) -> dict[str, t.Any]:
        if self.task is None:
            scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
            self.task = asyncio.create_task(self.app(scope, self._receive, self._send))  # type: ignore[arg-type]
        await self._inbox.put({"type": kind})
        return await asyncio.wait_for(self._outbox.get(), 5)

    async def startup(self) -> dict[str, t.Any]:
        return await self._exchange("lifespan.startup")

    async def shutdown(self) -> dict[str, t.Any]:
        message = await self._exchange("lifespan.shutdown")
        assert self.task is not None
        await asyncio.wait_for(self.task, 5)
        return message


@pytest.fixture
def lifespan(app: Quart) -> LifespanDriver:
    return LifespanDriver(app)


async def test_startup_and_shutdown_complete_without_hooks(lifespan: LifespanDriver) -> None:
    assert await lifespan.startup() == {"type": "lifespan.startup.complete"}
    assert await lifespan.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert lifespan.task is not None and lifespan.task.done()


async def test_before_serving_runs_in_an_app_context(app: Quart, lifespan: LifespanDriver) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str, str, bool, bool]] = []

    @app.before_serving
    async def async_hook() -> None:
        seen.append(("async", current_app.name, has_request_context(), False))

    @app.before_serving
    def sync_hook() -> None:
        in_thread = threading.get_ident() != loop_thread
        seen.append(("sync", current_app.name, has_request_context(), in_thread))

    assert await lifespan.startup() == {"type": "lifespan.startup.complete"}
    assert seen == [("async", app.name, False, False), ("sync", app.name, False, True)]
    assert not has_app_context()
    await lifespan.shutdown()


async def test_after_serving_runs_at_shutdown_only(app: Quart, lifespan: LifespanDriver) -> None:
    calls: list[str] = []

    @app.before_serving
    async def start() -> None:
        calls.append("before")

    @app.after_serving
    async def stop_async() -> None:
        calls.append(f"after async {current_app.name}")

    @app.after_serving
    def stop_sync() -> None:
        calls.append(f"after sync {current_app.name}")

    await lifespan.startup()
    assert calls == ["before"]
    assert await lifespan.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert calls == ["before", f"after async {app.name}", f"after sync {app.name}"]


async def test_while_serving_wraps_the_serving_period(app: Quart, lifespan: LifespanDriver) -> None:
    calls: list[str] = []

    @app.while_serving
    async def resource() -> cabc.AsyncGenerator[None, None]:
        calls.append(f"open {current_app.name}")
        g.resource = "connection"
        yield
        calls.append(f"close {current_app.name}")

    @app.route("/")
    async def index() -> str:
        calls.append("request")
        return "ok"

    await lifespan.startup()
    assert calls == [f"open {app.name}"]
    await app.test_client().get("/")
    assert await lifespan.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert calls == [f"open {app.name}", "request", f"close {app.name}"]


async def test_lifespan_hook_order(app: Quart, lifespan: LifespanDriver) -> None:
    calls: list[str] = []

    @app.while_serving
    async def first() -> cabc.AsyncGenerator[None, None]:
        calls.append("first up")
        yield
        calls.append("first down")

    @app.while_serving
    async def second() -> cabc.AsyncGenerator[None, None]:
        calls.append("second up")
        yield
        calls.append("second down")

    @app.before_serving
    async def before() -> None:
        calls.append("before")

    @app.after_serving
    async def after() -> None:
        calls.append("after")

    await lifespan.startup()
    await lifespan.shutdown()
    assert calls == [
        "before",
        "first up",
        "second up",
        "after",
        "second down",
        "first down",
    ]


async def test_failing_startup_reports_the_error(
    app: Quart, lifespan: LifespanDriver, caplog: pytest.LogCaptureFixture
) -> None:
    @app.before_serving
    async def broken() -> None:
        raise RuntimeError("database unreachable")

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        message = await lifespan.startup()
    assert message["type"] == "lifespan.startup.failed"
    assert "database unreachable" in message["message"]
    assert message["message"] == "RuntimeError: database unreachable"
    # The app stops listening to lifespan events after a failed startup.
    assert lifespan.task is not None
    await asyncio.wait_for(lifespan.task, 5)
    assert not has_app_context()
    assert any(r.exc_info and "database unreachable" in str(r.exc_info[1]) for r in caplog.records)


async def test_failing_while_serving_startup(app: Quart, lifespan: LifespanDriver) -> None:
    @app.while_serving
    async def broken() -> cabc.AsyncGenerator[None, None]:
        raise ValueError("cannot open")
        yield  # pragma: no cover

    message = await lifespan.startup()
    assert message == {"type": "lifespan.startup.failed", "message": "ValueError: cannot open"}


async def test_while_serving_yielding_twice_fails_shutdown(
    app: Quart, lifespan: LifespanDriver
) -> None:
    @app.while_serving
    async def greedy() -> cabc.AsyncGenerator[None, None]:
        yield
        yield

    assert await lifespan.startup() == {"type": "lifespan.startup.complete"}
    message = await lifespan.shutdown()
    assert message["type"] == "lifespan.shutdown.failed"
    assert "yielded more than once" in message["message"]
    assert not has_app_context()


async def test_failing_after_serving_reports_the_error(
    app: Quart, lifespan: LifespanDriver
) -> None:
    @app.after_serving
    def broken() -> None:
        raise OSError("flush failed")

    await lifespan.startup()
    message = await lifespan.shutdown()
    assert message == {"type": "lifespan.shutdown.failed", "message": "OSError: flush failed"}


async def test_serving_hooks_are_setup_methods(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    await app.test_client().get("/")
    with pytest.raises(AssertionError, match="before_serving"):
        app.before_serving(lambda: None)
    with pytest.raises(AssertionError, match="while_serving"):
        app.while_serving(lambda: None)  # type: ignore[type-var]


async def test_the_app_can_be_served_again_after_shutdown(app: Quart) -> None:
    calls: list[str] = []

    @app.before_serving
    def start() -> None:
        calls.append("start")

    @app.after_serving
    def stop() -> None:
        calls.append("stop")

    @app.route("/")
    def index() -> str:
        return "sync view"

    client = app.test_client()
    for _ in range(2):
        driver = LifespanDriver(app)
        assert await driver.startup() == {"type": "lifespan.startup.complete"}
        assert await (await client.get("/")).get_data() == b"sync view"
        assert await driver.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert calls == ["start", "stop", "start", "stop"]
    # Sync code still runs after the last shutdown (tests often do this).
    assert await (await client.get("/")).get_data() == b"sync view"
