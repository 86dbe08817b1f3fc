"""The bounded pool that runs sync code (``SYNC_WORKERS``): ``run_sync``,
``app.ensure_async``, starvation, and the loop-blocking detector of ``tests/loopcheck.py``.
"""

from __future__ import annotations

import asyncio
import contextvars
import pathlib
import textwrap
import threading
import time
import typing as t

import pytest

from quartlike import Quart
from quartlike import current_app
from quartlike import run_sync
from quartlike.testing import QuartClient

from .loopcheck import LoopMonitor

#: Upper bound for anything a test waits for; the expected waits are far shorter.
BOUND = 5.0

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


async def until(predicate: t.Callable[[], bool]) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    async with asyncio.timeout(BOUND):
        while not predicate():
            await asyncio.sleep(0.005)


# -- run_sync and ensure_async -------------------------------------------------------------


async def test_run_sync_uses_the_apps_pool_inside_an_app_context(app: Quart) -> None:
    def where(word: str) -> tuple[str, str, str]:
        return word, threading.current_thread().name, marker.get()

    marker.set("copied")
    async with app.app_context():
        word, thread, seen = await run_sync(where)("in app")
    assert (word, seen) == ("in app", "copied")
    assert thread.startswith(f"quartlike-{app.name}")

    # Outside an app there is no app pool: the loop's default executor runs it.
    word, thread, seen = await run_sync(where)("no app")
    assert (word, seen) == ("no app", "copied")
    assert not thread.startswith("quartlike-")
    assert thread != threading.current_thread().name


async def test_run_sync_keeps_the_function_metadata_and_errors() -> None:
    def documented(value: int) -> int:
        """Doubles."""
        if value < 0:
            raise ValueError("negative")
        return value * 2

    wrapped = run_sync(documented)
    assert wrapped.__name__ == "documented"
    assert wrapped.__doc__ == "Doubles."
    assert await wrapped(21) == 42
    with pytest.raises(ValueError, match="negative"):
        await wrapped(-1)


async def test_ensure_async(app: Quart) -> None:
    async def already_async() -> str:
        return "async"

    def plain(x: int) -> tuple[int, str, str]:
        return x + 1, threading.current_thread().name, current_app.name

    assert app.ensure_async(already_async) is already_async
    wrapped = app.ensure_async(plain)
    async with app.app_context():
        value, thread, name = await wrapped(1)
    assert (value, name) == (2, app.name)
    assert thread.startswith(f"quartlike-{app.name}")


# -- a bounded pool, and what waits for it -------------------------------------------------


class Blockers:
    """Sync views that hold a pool thread until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = 0
        self._lock = threading.Lock()

    def hold(self) -> str:
        with self._lock:
            self.entered += 1
        assert self.release.wait(BOUND), "the test never released the blocked views"
        return "released"


@pytest.fixture
def pooled(app: Quart) -> tuple[Quart, Blockers, list[str]]:
    app.config["SYNC_WORKERS"] = 4
    blockers = Blockers()
    events: list[str] = []

    @app.route("/block")
    def block() -> str:
        return blockers.hold()

    @app.route("/trivial")
    def trivial() -> str:
        events.append("trivial ran")
        return "trivial"

    @app.route("/async")
    async def async_view() -> str:
        events.append("async ran")
        return "async"

    return app, blockers, events


async def test_a_free_worker_serves_a_sync_view_while_others_block(
    pooled: tuple[Quart, Blockers, list[str]], client: QuartClient
) -> None:
    app, blockers, events = pooled
    blocked = [asyncio.create_task(client.get("/block")) for _ in range(3)]
    try:
        await until(lambda: blockers.entered == 3)
        # Three of four workers are taken: the fourth serves this at once.
        async with asyncio.timeout(BOUND):
            response = await client.get("/trivial")
        assert await response.get_data() == b"trivial"
        assert events == ["trivial ran"]
        assert not any(task.done() for task in blocked)
    finally:
        blockers.release.set()
        responses = await asyncio.gather(*blocked)
    assert [await r.get_data() for r in responses] == [b"released"] * 3


async def test_a_full_pool_queues_sync_views_until_a_worker_is_free(
    pooled: tuple[Quart, Blockers, list[str]], client: QuartClient
) -> None:
    app, blockers, events = pooled
    blocked = [asyncio.create_task(client.get("/block")) for _ in range(4)]
    waiting: asyncio.Task[t.Any] | None = None
    try:
        await until(lambda: blockers.entered == 4)
        waiting = asyncio.create_task(client.get("/trivial"))
        # Async views need no worker: the saturated pool does not delay them.
        async with asyncio.timeout(BOUND):
            response = await client.get("/async")
        assert await response.get_data() == b"async"
        await asyncio.sleep(0.1)
        assert events == ["async ran"]  # the sync view is still queued
        assert not waiting.done()
        assert blockers.entered == 4  # and the pool never grew past its bound
    finally:
        blockers.release.set()
        async with asyncio.timeout(BOUND):
            await asyncio.gather(*blocked)
            if waiting is not None:
                response = await waiting
    assert events == ["async ran", "trivial ran"]
    assert await response.get_data() == b"trivial"


async def test_sync_workers_is_read_when_the_pool_is_created(app: Quart) -> None:
    app.config["SYNC_WORKERS"] = 3
    assert app.executor._max_workers == 3
    async with app.test_app():
        pass
    # Shutdown discards the pool; the next one follows the new setting.
    app.config["SYNC_WORKERS"] = 5
    assert app.executor._max_workers == 5


# -- the loop-blocking detector ------------------------------------------------------------


async def test_monitor_measures_a_blocking_async_view(app: Quart, client: QuartClient) -> None:
    @app.route("/blocking")
    async def blocking() -> str:
        time.sleep(0.3)  # the mistake the detector is for
        return "done"

    monitor = LoopMonitor(threshold=0.1)
    monitor.start()
    try:
        await client.get("/blocking")
        await asyncio.sleep(0.02)  # let the late tick run
        assert monitor.worst >= 0.25
        with pytest.raises(pytest.fail.Exception, match="blocked for"):
            monitor.check()
    finally:
        await monitor.stop()


async def test_no_loop_blocking_accepts_a_sleeping_sync_view(
    app: Quart, client: QuartClient, no_loop_blocking: LoopMonitor
) -> None:
    @app.route("/sleepy")
    def sleepy() -> str:
        time.sleep(0.3)  # in a worker thread: the loop keeps running
        return "rested"

    response = await client.get("/sleepy")
    assert await response.get_data() == b"rested"
    assert no_loop_blocking.worst < no_loop_blocking.threshold


@pytest.mark.parametrize("no_loop_blocking", [0.25], indirect=True)
async def test_threshold_from_an_indirect_parameter(no_loop_blocking: LoopMonitor) -> None:
    assert no_loop_blocking.threshold == 0.25


@pytest.mark.loop_blocking_threshold(0.05)
async def test_threshold_from_the_marker(no_loop_blocking: LoopMonitor) -> None:
    assert no_loop_blocking.threshold == 0.05


INNER_TESTS = """
import time

import pytest

from quartlike import Quart


def make_app():
    app = Quart(__name__)
    app.config["TESTING"] = True

    @app.route("/async")
    async def async_view():
        time.sleep(0.3)
        return "async"

    @app.route("/sync")
    def sync_view():
        time.sleep(0.3)
        return "sync"

    return app


async def test_async_view_blocks(no_loop_blocking):
    await make_app().test_client().get("/async")


async def test_sync_view_does_not_block(no_loop_blocking):
    await make_app().test_client().get("/sync")


async def test_blocking_at_the_very_end_counts(no_loop_blocking):
    time.sleep(0.3)


@pytest.mark.loop_blocking_threshold(0.6)
async def test_marker_raises_the_threshold(no_loop_blocking):
    await make_app().test_client().get("/async")


@pytest.mark.parametrize("no_loop_blocking", [0.6], indirect=True)
async def test_param_raises_the_threshold(no_loop_blocking):
    await make_app().test_client().get("/async")


async def test_without_the_fixture_nothing_is_checked():
    await make_app().test_client().get("/async")


@pytest.fixture
def slow_fixture(no_loop_blocking):
    time.sleep(0.3)  # the loop is not running between fixtures: no stall


async def test_time_between_fixtures_is_not_a_stall(slow_fixture):
    pass
"""


def test_no_loop_blocking_fails_tests_that_block_the_loop(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = pathlib.Path(__file__).parent.parent
    monkeypatch.setenv("PYTHONPATH", str(root))
    pytester.makeconftest('pytest_plugins = ["tests.loopcheck"]\n')
    pytester.makeini(
        textwrap.dedent(
            """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = function
            addopts = --strict-markers
            filterwarnings = error
            """
        )
    )
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfE", timeout=60)
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(["*The event loop was blocked for * ms (the threshold is 100 ms)*"])
    failed = {line.split()[1] for line in result.stdout.lines if line.startswith("FAILED ")}
    assert failed == {
        "test_inner.py::test_async_view_blocks",
        "test_inner.py::test_blocking_at_the_very_end_counts",
    }
