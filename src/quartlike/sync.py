"""Running sync code from async code, without blocking the event loop.

Every user callable is classified once: coroutine functions are awaited as
they are, plain functions are wrapped so that each call runs in a bounded
thread pool under a copy of the caller's :mod:`contextvars` context. That copy
is what makes ``request``, ``g`` and ``current_app`` work inside the thread.

A sync callable that returns an awaitable (a sync decorator wrapped around an
``async def`` view, as some Flask extensions write them) has that awaitable
awaited on the loop, so such decorators work on async views too.
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
        call = functools.partial(ctx.run, func, *args, **kwargs)
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
            return ctx.run(func)

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
