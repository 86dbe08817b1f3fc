"""Running sync code from async code, without blocking the event loop.

Every user callable is classified once: coroutine functions are awaited as
they are, plain functions are wrapped so that each call runs in a bounded
thread pool under a copy of the caller's :mod:`contextvars` context. That copy
is what makes ``request``, ``g`` and ``current_app`` work inside the thread.

A sync callable that returns an awaitable (a sync decorator wrapped around an
``async def`` view, as some Flask extensions write them) has that awaitable
awaited on the loop, so such decorators work on async views too.

**The sync bridge.** Sync code running in the pool sometimes needs something
asynchronous: the request body, rendering a template. Each worker call records
the event loop it came from (a thread-local), and :func:`await_sync` runs the
coroutine on that loop with :func:`asyncio.run_coroutine_threadsafe` and waits
for the result. The loop is free meanwhile (only the worker thread waits), so
this cannot deadlock, and it needs no patching of asyncio and no nested loop.
Called on the event-loop thread itself it raises instead, with the fix (use
``await``). In a thread with no loop at all (a plain script, a sync test) the
coroutine runs on a shared background loop.

:func:`dual` is how one API serves both faces: on the event-loop thread it
returns the coroutine for the caller to ``await``; anywhere else it returns
the result. ``await request.form`` in an ``async def`` view and
``request.form`` in a plain ``def`` view therefore both work.
"""

from __future__ import annotations

import collections.abc as cabc
import contextvars
import functools
import inspect
import threading
import typing as t
from concurrent.futures import Executor

if t.TYPE_CHECKING:
    import asyncio

T = t.TypeVar("T")

_EXHAUSTED = object()
_bridge = threading.local()


def _call_bridged(
    loop: asyncio.AbstractEventLoop,
    func: cabc.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> t.Any:
    previous = getattr(_bridge, "loop", None)
    _bridge.loop = loop
    try:
        return func(*args, **kwargs)
    finally:
        _bridge.loop = previous


def on_event_loop() -> bool:
    """Whether the caller runs on a thread with a running event loop."""
    import asyncio

    return asyncio.events._get_running_loop() is not None


def await_sync(awaitable: cabc.Awaitable[T]) -> T:
    """Wait for ``awaitable`` from sync code and return its result (the sync bridge).

    :raises RuntimeError: when called on the event-loop thread, where waiting
        would block the loop that has to do the work.
    """
    import asyncio

    coro = _as_coroutine(awaitable)
    loop: asyncio.AbstractEventLoop | None = getattr(_bridge, "loop", None)
    if loop is not None and not loop.is_closed():
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    if on_event_loop():
        coro.close()
        raise RuntimeError(
            "This is the sync form of an async operation, called on the event loop's own"
            " thread, where waiting for it would block the loop that has to do the work."
            " In 'async def' code, await it instead (for example"
            " 'await request.get_json()', 'await render_template(...)')."
        )
    return background_loop().run(coro)


async def _await(awaitable: cabc.Awaitable[T]) -> T:
    return await awaitable


def _as_coroutine(awaitable: cabc.Awaitable[T]) -> cabc.Coroutine[t.Any, t.Any, T]:
    if inspect.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


def dual(coro: cabc.Coroutine[t.Any, t.Any, T]) -> t.Any:
    """Return ``coro`` on the event-loop thread (to be awaited), else its result."""
    if on_event_loop():
        return coro
    return await_sync(coro)


class BackgroundLoop:
    """An event loop running forever in a daemon thread, for sync callers with no loop."""

    def __init__(self, name: str = "quartlike-loop") -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import asyncio

        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: cabc.Coroutine[t.Any, t.Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        import asyncio

        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("BackgroundLoop.run cannot be called from its own loop.")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and wait for its thread."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


_background: BackgroundLoop | None = None
_background_lock = threading.Lock()


def background_loop() -> BackgroundLoop:
    """The process-wide background loop used by sync callers that have no loop."""
    global _background
    with _background_lock:
        if _background is None or _background.loop.is_closed():
            _background = BackgroundLoop()
        return _background


def _running_loop() -> asyncio.AbstractEventLoop:
    # asyncio is imported on first use, so that ``import quartlike`` (and the
    # sans-IO modules it pulls in) does not load it.
    import asyncio

    return asyncio.get_running_loop()


def is_async_callable(func: t.Any) -> bool:
    """Whether calling ``func`` returns a coroutine (functions, partials, callable objects)."""
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    if isinstance(func, type):
        return False  # calling a class constructs an instance, even with an async __call__
    call = getattr(func, "__call__", None)  # noqa: B004 - callable objects
    return call is not None and not inspect.isfunction(func) and inspect.iscoroutinefunction(call)


def run_sync_in(
    executor: Executor | None, func: cabc.Callable[..., t.Any]
) -> cabc.Callable[..., cabc.Awaitable[t.Any]]:
    """Wrap the sync ``func`` so that awaiting a call runs it in ``executor``.

    The call runs under a copy of the current context. ``None`` uses the
    loop's default executor.
    """

    @functools.wraps(func)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        loop = _running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, _call_bridged, loop, func, args, kwargs)
        rv = await loop.run_in_executor(executor, call)
        if inspect.isawaitable(rv):
            rv = await rv
        return rv

    wrapper._quartlike_sync = func  # type: ignore[attr-defined]
    return wrapper


def run_sync(func: cabc.Callable[..., T]) -> cabc.Callable[..., cabc.Awaitable[T]]:
    """Wrap a sync function so that calling it returns an awaitable run in a thread.

    Inside an app context the app's bounded pool is used (``SYNC_WORKERS``),
    otherwise the loop's default executor.
    """

    @functools.wraps(func)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> T:
        from .globals import _cv_app

        ctx = _cv_app.get(None)
        executor = ctx.app.executor if ctx is not None else None
        return t.cast(T, await run_sync_in(executor, func)(*args, **kwargs))

    return wrapper


async def iterate_sync(
    executor: Executor | None, iterable: cabc.Iterable[T]
) -> cabc.AsyncIterator[T]:
    """Step a sync iterable in ``executor``, one item per pool call.

    Each step runs under a copy of the context at the time iteration started,
    so a generator sees the same request and app context on every step.
    """
    loop = _running_loop()
    ctx = contextvars.copy_context()
    iterator = iter(iterable)
    # A step abandoned by a cancelled await keeps running in its thread; the
    # lock makes closing wait for it (a generator cannot be closed while it
    # runs, and a context cannot be entered by two threads at once).
    lock = threading.Lock()

    def locked(func: cabc.Callable[[], t.Any]) -> t.Any:
        with lock:
            return ctx.run(_call_bridged, loop, func, (), {})

    def step() -> t.Any:
        try:
            return next(iterator)
        except StopIteration:
            return _EXHAUSTED

    try:
        while True:
            item = await loop.run_in_executor(executor, locked, step)
            if item is _EXHAUSTED:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            # Closing runs the generator's finally blocks, which may block.
            await loop.run_in_executor(executor, locked, close)
