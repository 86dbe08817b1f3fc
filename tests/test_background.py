"""Background tasks: ``app.add_background_task``, their context, their errors, and how
shutdown waits for them (``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``) before ``after_serving``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import typing as t
import weakref

import pytest

from quartlike import Quart
from quartlike import current_app
from quartlike import g
from quartlike.signals import got_background_exception
from quartlike.testing import LifespanError

#: Upper bound for anything a test waits for; the expected waits are far shorter.
BOUND = 5.0


async def wait_for_tasks(app: Quart) -> None:
    async with asyncio.timeout(BOUND):
        while app.background_tasks:
            await asyncio.wait(set(app.background_tasks))


# -- running -------------------------------------------------------------------------------


async def test_async_function_runs_in_an_app_context(app: Quart) -> None:
    app.config["MARKER"] = "from config"
    seen: list[t.Any] = []

    async def work(a: int, *, b: int) -> None:
        g.value = a + b  # a g of its own
        await asyncio.sleep(0)
        seen.append((current_app.config["MARKER"], g.value))

    task = app.add_background_task(work, 1, b=2)
    assert task in app.background_tasks
    await wait_for_tasks(app)
    assert seen == [("from config", 3)]
    assert task.done() and task.exception() is None
    assert app.background_tasks == set()


async def test_sync_function_runs_in_the_pool_in_an_app_context(app: Quart) -> None:
    seen: list[t.Any] = []

    def work(word: str) -> None:
        seen.append((word, current_app.name, threading.current_thread().name))

    app.add_background_task(work, "hello")
    await wait_for_tasks(app)
    assert len(seen) == 1
    word, name, thread = seen[0]
    assert (word, name) == ("hello", app.name)
    assert thread.startswith(f"quartlike-{app.name}")


async def test_tasks_added_from_a_view_run_after_the_response(app: Quart) -> None:
    events: list[str] = []
    release = asyncio.Event()

    async def work() -> None:
        await release.wait()
        events.append(f"task ran in {current_app.name}")

    @app.route("/")
    async def index() -> str:
        current_app.add_background_task(work)
        return "accepted"

    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/")
        assert await response.get_data() == b"accepted"
        assert events == []
        release.set()
        await wait_for_tasks(app)
    assert events == [f"task ran in {app.name}"]


async def test_background_tasks_are_strongly_referenced(app: Quart) -> None:
    # A task waiting on a future that nothing else references is reachable
    # only through the strong references someone keeps; asyncio keeps weak ones.
    async def orphaned() -> None:
        await asyncio.get_running_loop().create_future()

    app.add_background_task(orphaned)  # the returned task is dropped
    (task,) = app.background_tasks
    ref = weakref.ref(task)
    del task
    await asyncio.sleep(0)  # let it start and suspend
    gc.collect()
    alive = ref()
    assert alive is not None, "the background task was garbage-collected"
    assert not alive.done()
    alive.cancel()
    await wait_for_tasks(app)
    assert alive.cancelled()


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_exceptions_are_logged_and_signalled(
    app: Quart, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    received: list[tuple[t.Any, BaseException]] = []

    async def receiver(sender: t.Any, exception: BaseException) -> None:
        received.append((sender, exception))

    def sync_work() -> None:
        raise KeyError("sync failure")

    async def async_work() -> None:
        await asyncio.sleep(0)
        raise KeyError("async failure")

    work = sync_work if kind == "sync" else async_work
    with (
        got_background_exception.connected_to(receiver, app),
        caplog.at_level(logging.ERROR, logger=app.logger.name),
    ):
        task = app.add_background_task(work)
        await wait_for_tasks(app)
    # The task itself ends normally: the error was handled, not lost.
    assert task.exception() is None
    assert len(received) == 1
    sender, exception = received[0]
    assert sender is app
    assert isinstance(exception, KeyError)
    assert f"{kind} failure" in str(exception)
    records = [r for r in caplog.records if r.exc_info is not None]
    assert len(records) == 1
    assert records[0].exc_info is not None and records[0].exc_info[1] is exception
    assert "Background task" in records[0].getMessage()


async def test_one_failing_task_does_not_affect_others(app: Quart) -> None:
    done: list[str] = []

    async def failing() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        await asyncio.sleep(0.01)
        done.append("fine")

    logging.getLogger(app.logger.name).disabled = True
    try:
        app.add_background_task(failing)
        app.add_background_task(fine)
        await wait_for_tasks(app)
    finally:
        logging.getLogger(app.logger.name).disabled = False
    assert done == ["fine"]


# -- shutdown ------------------------------------------------------------------------------


async def test_shutdown_waits_for_a_quick_task_then_runs_after_serving(app: Quart) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = BOUND
    events: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.05)
        events.append("quick finished")

    def quick_sync() -> None:
        threading.Event().wait(0.05)
        events.append("quick sync finished")

    @app.after_serving
    async def after() -> None:
        events.append(f"after_serving, {len(app.background_tasks)} tasks left")

    async with asyncio.timeout(BOUND):
        async with app.test_app():
            app.add_background_task(quick)
            app.add_background_task(quick_sync)
    assert sorted(events[:2]) == ["quick finished", "quick sync finished"]
    assert events[2:] == ["after_serving, 0 tasks left"]


async def test_shutdown_cancels_a_slow_task_after_the_timeout(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.2
    events: list[str] = []
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            times["cancelled"] = loop.time()
            events.append("slow cancelled")
            raise

    async def quick() -> None:
        await asyncio.sleep(0.01)
        events.append("quick finished")

    @app.after_serving
    async def after() -> None:
        events.append("after_serving")

    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        async with asyncio.timeout(BOUND):
            async with app.test_app():
                slow_task = app.add_background_task(slow)
                app.add_background_task(quick)
                await asyncio.sleep(0)
                times["shutdown"] = loop.time()
    assert events == ["quick finished", "slow cancelled", "after_serving"]
    assert slow_task.cancelled()
    # It was given the grace period before being cancelled.
    assert times["cancelled"] - times["shutdown"] >= 0.15
    assert "Cancelled 1 background task(s)" in caplog.text


async def test_tasks_started_during_shutdown_are_waited_for_or_cancelled(app: Quart) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.3
    events: list[str] = []

    async def late() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            events.append("late task ended")

    async def spawner() -> None:
        await asyncio.sleep(0.05)  # shutdown is already waiting by now
        current_app.add_background_task(late)
        events.append("spawned")

    @app.after_serving
    async def after() -> None:
        events.append("after_serving")

    async with asyncio.timeout(BOUND):
        async with app.test_app():
            app.add_background_task(spawner)
    assert events == ["spawned", "late task ended", "after_serving"]
    assert app.background_tasks == set()


async def test_shutdown_without_tasks_runs_after_serving_at_once(app: Quart) -> None:
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 3600
    events: list[str] = []

    @app.after_serving
    async def after() -> None:
        events.append("after_serving")

    async with asyncio.timeout(BOUND), app.test_app():
        pass
    assert events == ["after_serving"]


# -- TestApp -------------------------------------------------------------------------------


async def test_test_app_startup_failure_raises_lifespan_error(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.before_serving
    async def connect() -> None:
        raise ConnectionError("database unreachable")

    with (
        caplog.at_level(logging.CRITICAL, logger=app.logger.name),
        pytest.raises(LifespanError, match="ConnectionError: database unreachable"),
    ):
        async with asyncio.timeout(BOUND), app.test_app():
            pytest.fail("the block must not run when startup failed")


async def test_test_app_shutdown_failure_raises_lifespan_error(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @app.after_serving
    async def disconnect() -> None:
        raise OSError("flush failed")

    with (
        caplog.at_level(logging.CRITICAL, logger=app.logger.name),
        pytest.raises(LifespanError, match="OSError: flush failed"),
    ):
        async with asyncio.timeout(BOUND), app.test_app():
            pass
