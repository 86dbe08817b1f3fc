"""Running command callbacks, which may be coroutine functions, from click.

click calls callbacks synchronously. A coroutine (an ``async def`` callback,
or an async app factory) is run to completion on an event loop of its own;
when the callback runs in an app context, the context is pushed in a
:mod:`contextvars` context of its own and popped (running the teardown
callbacks) on the same loop as the callback.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import concurrent.futures
import contextlib
import contextvars
import functools
import inspect
import typing as t

import click

from ..sync import is_async_callable

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])
T = t.TypeVar("T")


def _run_coroutine(coro: cabc.Coroutine[t.Any, t.Any, T], context: contextvars.Context) -> T:
    """Run ``coro`` to completion on a new event loop, as a task in ``context``.

    When this thread already runs a loop (an async test using the CLI runner,
    say), the coroutine runs on a private loop in a helper thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner() as runner:
            return runner.run(coro, context=context)

    click_ctx = click.get_current_context(silent=True)

    def run_in_thread() -> T:
        with contextlib.ExitStack() as stack:
            if click_ctx is not None:
                stack.enter_context(click_ctx.scope(cleanup=False))
            with asyncio.Runner() as runner:
                return runner.run(coro, context=context)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quartlike-cli") as pool:
        return pool.submit(run_in_thread).result()


async def _finish(awaitable: cabc.Awaitable[T], app_ctx: t.Any) -> T:
    error: BaseException | None = None
    try:
        return await awaitable
    except BaseException as e:
        error = e
        raise
    finally:
        if app_ctx is not None:
            await app_ctx.pop(error)


def _invoke_in_app_context(
    f: cabc.Callable[..., t.Any], app_ctx: t.Any, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> t.Any:
    click_ctx = click.get_current_context()
    # The app context lives in a context copy of our own, so that a teardown
    # coroutine can run as a task in the very context that pushed it.
    context = contextvars.copy_context()
    if app_ctx is not None:
        context.run(app_ctx.push)
    try:
        rv = context.run(click_ctx.invoke, f, *args, **kwargs)
    except BaseException as e:
        if app_ctx is not None:
            _pop(app_ctx, e, context)
        raise
    if inspect.isawaitable(rv):
        # An async callback (or a sync wrapper around one): run it, then pop
        # the app context, on the same loop.
        return _run_coroutine(_finish(rv, app_ctx), context)
    if app_ctx is not None:
        _pop(app_ctx, None, context)
    return rv


def _pop(app_ctx: t.Any, error: BaseException | None, context: contextvars.Context) -> None:
    # Off the loop the app context pops at once, its sync teardown callbacks
    # running in this thread (where a sync command opened what they close);
    # on a loop's thread pop() returns the coroutine to run.
    rv = context.run(app_ctx.pop, error)
    if rv is not None:
        _run_coroutine(rv, context)


def _run_async_callback(f: F) -> F:
    """Make an ``async def`` callback runnable by click, without an app context."""
    if not is_async_callable(f):
        return f

    @functools.wraps(f)
    def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return _invoke_in_app_context(f, None, args, kwargs)

    return t.cast(F, decorator)
