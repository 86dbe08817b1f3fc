"""A pytest plugin that fails an async test during which the event loop was blocked.

Blocking calls in ``async def`` code (``time.sleep``, sync I/O, heavy CPU work)
stall every other request served by the same loop. This plugin makes such
stalls visible in tests.

Opt in per test with the ``no_loop_blocking`` fixture. While the test runs, a
ticker task wakes up every few milliseconds on the test's event loop; when a
tick comes later than the threshold allows (the loop could not run it), the
test fails with how long the loop was stalled. The threshold is 100 ms unless
given by a marker or an indirect parameter::

    async def test_view(client, no_loop_blocking): ...

    @pytest.mark.loop_blocking_threshold(0.05)
    async def test_strict(client, no_loop_blocking): ...

    @pytest.mark.parametrize("no_loop_blocking", [0.25], indirect=True)
    async def test_lenient(client, no_loop_blocking): ...

The fixture returns the :class:`LoopMonitor`, whose :attr:`~LoopMonitor.worst`
stall a test may also check itself. Register the plugin with
``pytest_plugins = ["tests.loopcheck"]`` in the top-level ``conftest.py``.
This file depends only on pytest and pytest-asyncio, so it can be copied
into another project as it is.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc

import pytest
import pytest_asyncio

#: Stalls longer than this (seconds) fail the test, unless configured otherwise.
DEFAULT_THRESHOLD = 0.1
#: How often (seconds) the ticker asks the loop to run it.
TICK = 0.005
MARKER = "loop_blocking_threshold"

_monitor_key = pytest.StashKey["LoopMonitor"]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(seconds): the longest event loop stall the no_loop_blocking fixture allows",
    )


class LoopMonitor:
    """Measures how late a periodic ticker task runs on the current event loop."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, tick: float = TICK) -> None:
        if threshold <= 0:
            raise ValueError("The loop blocking threshold must be a positive number of seconds.")
        self.threshold = threshold
        self.tick = tick
        #: The longest stall seen so far, in seconds.
        self.worst = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the ticker on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._due = self._loop.time() + self.tick
        self._task = self._loop.create_task(self._run(), name="loopcheck ticker")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            assert self._due is not None
            await asyncio.sleep(max(0.0, self._due - loop.time()))
            self.worst = max(self.worst, loop.time() - self._due)
            self._due = loop.time() + self.tick

    def reset(self) -> None:
        """Forget the stalls seen so far (the loop does not run between fixtures)."""
        self.worst = 0.0
        if self._loop is not None:
            self._due = self._loop.time() + self.tick

    def stalled(self) -> float:
        """The longest stall, counting one still going on (a tick overdue right now)."""
        if self._loop is None or self._due is None:
            return self.worst
        return max(self.worst, self._loop.time() - self._due)

    def check(self) -> None:
        """Fail the current test if the loop was blocked for longer than the threshold."""
        stalled = self.stalled()
        if stalled > self.threshold:
            pytest.fail(
                f"The event loop was blocked for {stalled * 1000:.0f} ms (the threshold is"
                f" {self.threshold * 1000:.0f} ms): blocking code runs in async code. Move it"
                " to a sync function (run in the thread pool) or use async I/O.",
                pytrace=False,
            )

    async def stop(self) -> None:
        """Stop the ticker."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})


def _threshold(request: pytest.FixtureRequest) -> float:
    param = getattr(request, "param", None)
    if param is not None:
        return float(param)
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        return float(marker.args[0] if marker.args else marker.kwargs["seconds"])
    return DEFAULT_THRESHOLD


@pytest_asyncio.fixture
async def no_loop_blocking(request: pytest.FixtureRequest) -> cabc.AsyncIterator[LoopMonitor]:
    """Fail the test if its event loop is blocked for longer than the threshold."""
    monitor = LoopMonitor(_threshold(request))
    monitor.start()
    request.node.stash[_monitor_key] = monitor
    try:
        yield monitor
    finally:
        await monitor.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> cabc.Generator[None, object, object]:
    # Measured over the test body only: between fixtures the loop is not
    # running, which is no stall. Checked right after the body, so a stall
    # fails the test itself (not its teardown); ``stalled`` also counts a
    # stall at the very end.
    monitor = item.stash.get(_monitor_key, None)
    if monitor is not None:
        monitor.reset()
    result = yield
    if monitor is not None:
        monitor.check()
    return result
