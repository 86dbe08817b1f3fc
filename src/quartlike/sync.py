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

**Lanes.** The thread that waits in :func:`await_sync` runs, while it waits,
the sync callables that the awaited coroutine needs (a sync context processor
of a template rendered on the loop for a sync view, a sync teardown callback of
a context popped in a sync test): they are queued on its :class:`Lane` instead of going
to the pool. So waiting never depends on a free pool thread, and sync code
started from one thread stays in that thread. A request served on the loop
can get a lane of its own (``Quart.request_thread_affinity``): a pool thread
reserved at its first sync call (:meth:`quartlike.pool.ThreadPool.reserve`)
and kept until it ends, so that all of its sync
code (hooks, view, teardown) runs in one thread, as under a WSGI server, and
thread-bound resources such as a :mod:`sqlite3` connection keep working.
"""

from __future__ import annotations

import collections.abc as cabc
import contextvars
import functools
import inspect
import queue
import sys
import threading
import typing as t
from concurrent.futures import Executor
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor

from .pool import _WAKE
from .pool import FutureCall
from .pool import Reservation
from .pool import Settles
from .pool import ThreadPool
from .pool import settle_soon

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


_get_running_loop: cabc.Callable[[], object] | None = None


def on_event_loop() -> bool:
    """Whether the caller runs on a thread with a running event loop."""
    global _get_running_loop
    get = _get_running_loop
    if get is None:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return False  # not imported: no loop runs anywhere
        get = _get_running_loop = asyncio.events._get_running_loop
    return get() is not None


def await_sync(awaitable: cabc.Awaitable[T]) -> T:
    """Wait for ``awaitable`` from sync code and return its result (the sync bridge).

    :raises RuntimeError: when called on the event-loop thread, where waiting
        would block the loop that has to do the work.
    """
    import asyncio

    coro = _as_coroutine(awaitable)
    loop: asyncio.AbstractEventLoop | None = getattr(_bridge, "loop", None)
    if loop is None or loop.is_closed():
        if on_event_loop():
            coro.close()
            raise RuntimeError(
                "This is the sync form of an async operation, called on the event loop's own"
                " thread, where waiting for it would block the loop that has to do the work."
                " In 'async def' code, await it instead (for example"
                " 'await request.get_json()', 'await render_template(...)')."
            )
        loop = background_loop().loop
    # The coroutine runs in a copy of this context; the sync calls it needs are
    # queued on this thread's lane, and this thread runs them while it waits.
    me = threading.current_thread()
    lane = _cv_lane.get()
    context = contextvars.copy_context()
    if lane is None or lane.owner is not me:
        lane = Lane()
        context.run(_cv_lane.set, lane)

    def start() -> Future[T]:
        try:
            return context.run(asyncio.run_coroutine_threadsafe, coro, loop)
        except BaseException:
            coro.close()  # never scheduled (the loop closed meanwhile)
            raise

    return lane.wait(start)


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


F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])


def dual_method(func: F) -> F:
    """Mark ``func`` as a :func:`dual` function: called on the event loop it
    returns an awaitable (and never blocks), called elsewhere the result.

    The pipeline awaits a marked method on the loop; a plain sync function in
    its place (an override, or an extension's wrapper) runs in the thread pool
    instead (see :func:`awaits_on_loop`).
    """
    func._quartlike_dual = True  # type: ignore[attr-defined]
    return func


def awaits_on_loop(func: t.Any) -> bool:
    """Whether calling ``func`` on the event loop returns an awaitable without
    blocking: a coroutine function, or a :func:`dual_method`."""
    return is_async_callable(func) or getattr(func, "_quartlike_dual", False) is True


class _NotRun:
    def __repr__(self) -> str:
        return "NOT_RUN"


#: What :meth:`Lane.try_run` returns when the lane could not take the call.
NOT_RUN = _NotRun()


class _LoopFuture:
    """Settles an asyncio future from the lane's thread (see :meth:`Lane.try_run`)."""

    __slots__ = ("loop", "future", "cancelled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[t.Any] = loop.create_future()
        self.cancelled = False

    def set_running_or_notify_cancel(self) -> bool:
        return not self.cancelled

    def set_result(self, result: t.Any) -> None:
        settle_soon(self.loop, self.future, True, result)

    def set_exception(self, exception: BaseException | None) -> None:
        settle_soon(self.loop, self.future, False, exception)

    def cancel(self) -> bool:
        self.cancelled = True
        try:
            self.loop.call_soon_threadsafe(self.future.cancel)
        except RuntimeError:
            pass  # the loop is closed: nobody waits
        return True


class _Call(FutureCall):
    """A sync call queued on a lane, with the executor that runs it if the lane cannot."""

    __slots__ = ("fallback",)

    def __init__(
        self, fn: cabc.Callable[[], t.Any], future: Settles, fallback: Executor | None
    ) -> None:
        super().__init__(future, fn)
        self.fallback = fallback

    def reroute(self) -> None:
        """Run the call in the fallback executor: its lane can no longer run it."""
        (self.fallback or _spare_pool()).submit(self.run, None, None)


class Lane:
    """One thread for the sync calls of one unit of work (see the module docs).

    A lane made without ``host`` belongs to the thread that made it, which
    runs the queued calls only while it waits in :meth:`wait` (as the sync
    bridge does); calls submitted while it is not waiting are refused. A lane
    with ``host`` reserves a worker of the pool ``host()`` returns at its
    first call (:meth:`quartlike.pool.ThreadPool.reserve`) and runs every call
    in it, until :meth:`close`.
    """

    def __init__(self, host: cabc.Callable[[], ThreadPool] | None = None) -> None:
        self._host = host
        self._lock = threading.Lock()
        self._reservation: Reservation | None = None
        self._inbox: queue.SimpleQueue[t.Any] | None = None if host else queue.SimpleQueue()
        self._owner = None if host else threading.current_thread()
        self._waiting = 0
        self._closed = False

    @property
    def owner(self) -> threading.Thread | None:
        """The thread that runs this lane's calls (for a hosted lane, ``None``
        before its first call and after :meth:`close`)."""
        if self._host is None:
            return self._owner
        reservation = self._reservation
        return None if reservation is None else reservation.thread

    def try_submit(self, fn: cabc.Callable[[], T], fallback: Executor | None) -> Future[T] | None:
        """Queue ``fn()`` on this lane; ``None`` when the lane cannot run it now.

        ``fallback`` runs the call instead if the lane stops before it ran.
        """
        future: Future[T] = Future()
        return future if self._try_queue(_Call(fn, future, fallback)) else None

    async def try_run(
        self, loop: asyncio.AbstractEventLoop, fn: cabc.Callable[[], T], fallback: Executor | None
    ) -> T | _NotRun:
        """Run ``fn()`` on this lane and return its result to the caller on ``loop``;
        :data:`NOT_RUN` when the lane cannot run it now (see :meth:`try_submit`).

        The result comes back with one ``loop.call_soon_threadsafe``, without a
        :class:`concurrent.futures.Future` to chain.
        """
        settle = _LoopFuture(loop)
        if not self._try_queue(_Call(fn, settle, fallback)):
            return NOT_RUN
        try:
            return t.cast(T, await settle.future)
        except BaseException:
            settle.cancelled = True  # not started yet: it will not run
            raise

    def _try_queue(self, call: _Call) -> bool:
        host = self._host
        if host is not None:
            reservation = self._reservation
            if reservation is None:
                with self._lock:
                    if self._closed:
                        return False
                    reservation = self._reservation
                    if reservation is None:
                        reservation = self._reservation = host().reserve()
            return reservation.put(call)
        with self._lock:
            if self._closed or not self._waiting:
                return False
            assert self._inbox is not None
            self._inbox.put(call)
            return True

    def wait(self, start: cabc.Callable[[], Future[T]]) -> T:
        """Call ``start()`` and run this lane's calls until the future it returns is
        done; return its result. Only the lane's owner thread may wait.
        """
        reservation = self._reservation
        if self._host is not None:
            assert reservation is not None and reservation.thread is threading.current_thread()
            future = start()
            future.add_done_callback(lambda _: reservation.wake())
            reservation.wait(future.done)
            return future.result()
        inbox = self._inbox
        assert inbox is not None
        with self._lock:
            self._waiting += 1  # before starting: the work may submit calls at once
        try:
            future = start()
            future.add_done_callback(lambda _: inbox.put(_WAKE))
            while not future.done():
                item = inbox.get()
                if item is not _WAKE:
                    item.run(None, None)
        finally:
            stranded: list[_Call] = []
            with self._lock:
                self._waiting -= 1
                if not self._waiting:
                    while True:
                        try:
                            item = inbox.get_nowait()
                        except queue.Empty:
                            break
                        if item is not _WAKE:
                            stranded.append(item)
            for call in stranded:
                call.reroute()
        return future.result()

    def close(self) -> None:
        """Refuse new calls; a hosted lane's thread returns to its pool once the
        calls already queued have run (it is not woken for that)."""
        with self._lock:
            self._closed = True
            reservation = self._reservation
        if reservation is not None:
            reservation.release()


_cv_lane: contextvars.ContextVar[Lane | None] = contextvars.ContextVar(
    "quartlike.lane", default=None
)

_spare: ThreadPoolExecutor | None = None


def _spare_pool() -> ThreadPoolExecutor:
    """Runs calls stranded on a lane that stopped and named no fallback executor."""
    global _spare
    with _background_lock:
        if _spare is None:
            _spare = ThreadPoolExecutor(4, thread_name_prefix="quartlike-spare")
        return _spare


def current_lane() -> Lane | None:
    """The lane of the current unit of work, if it has one."""
    return _cv_lane.get()


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


def _wrap_future(future: Future[T], loop: asyncio.AbstractEventLoop) -> asyncio.Future[T]:
    import asyncio

    return asyncio.wrap_future(future, loop=loop)


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


def run_in(
    executor: Executor | None, loop: asyncio.AbstractEventLoop, call: cabc.Callable[[], T]
) -> cabc.Awaitable[T]:
    """Run ``call()`` in ``executor``: through its light hand-off when it has one
    (:class:`quartlike.pool.ThreadPool`, or the app's), else ``run_in_executor``."""
    run_in_thread = getattr(executor, "run_in_thread", None)
    if run_in_thread is not None:
        return t.cast("cabc.Awaitable[T]", run_in_thread(loop, call))
    return loop.run_in_executor(executor, call)


def run_sync_in(
    executor: Executor | None, func: cabc.Callable[..., t.Any]
) -> cabc.Callable[..., cabc.Awaitable[t.Any]]:
    """Wrap the sync ``func`` so that awaiting a call runs it in ``executor``.

    The call runs under a copy of the current context. ``None`` uses the
    loop's default executor. When the current unit of work has a
    :class:`Lane` that can take the call, the call runs there instead.
    """

    @functools.wraps(func)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        loop = _running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, _call_bridged, loop, func, args, kwargs)
        lane = _cv_lane.get()
        rv = NOT_RUN if lane is None else await lane.try_run(loop, call, executor)
        if rv is NOT_RUN:
            rv = await run_in(executor, loop, call)
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
    lane = _cv_lane.get()
    # A step abandoned by a cancelled await keeps running in its thread; the
    # lock makes closing wait for it (a generator cannot be closed while it
    # runs, and a context cannot be entered by two threads at once). On a
    # lane, the close may come while that step waits in the sync bridge on
    # the same thread: then the generator is left to the garbage collector.
    lock = threading.RLock()
    running: list[bool] = []

    def locked(func: cabc.Callable[[], t.Any], closing: bool = False) -> t.Any:
        with lock:
            if closing and running:
                return None
            running.append(True)
            try:
                return ctx.run(_call_bridged, loop, func, (), {})
            finally:
                running.pop()

    def call(func: cabc.Callable[[], t.Any], closing: bool = False) -> cabc.Awaitable[t.Any]:
        fn = functools.partial(locked, func, closing)
        future = lane.try_submit(fn, executor) if lane is not None else None
        if future is not None:
            return _wrap_future(future, loop)
        return run_in(executor, loop, fn)

    def step() -> t.Any:
        try:
            return next(iterator)
        except StopIteration:
            return _EXHAUSTED

    try:
        while True:
            item = await call(step)
            if item is _EXHAUSTED:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            # Closing runs the generator's finally blocks, which may block.
            await call(close, closing=True)
