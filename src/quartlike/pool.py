"""The bounded thread pool that runs sync code, with a light hand-off to the loop.

A sync view costs a thread hop: the call goes to a worker thread, and its
result comes back to the event loop. With ``loop.run_in_executor`` on a
:class:`~concurrent.futures.ThreadPoolExecutor` the hop also builds a
:class:`concurrent.futures.Future` (a condition variable, its locking and
callbacks), chains it to an asyncio future, and marks the worker idle
through a :class:`threading.Semaphore`. :meth:`ThreadPool.run` hands the
call to a worker through a :class:`queue.SimpleQueue` and returns the result
with one ``loop.call_soon_threadsafe``, which is all a hop needs
(:meth:`ThreadPool.run_in_thread`); measured in process CPU time, this takes
about a third off the cost of the hop.

:class:`ThreadPool` is also a regular :class:`~concurrent.futures.Executor`
(:meth:`~ThreadPool.submit`, :meth:`~ThreadPool.shutdown`), bounded the same
way: a thread is started for a call only when no started thread is idle, up
to ``max_workers``. Calls wait in the queue when all are busy.
"""

from __future__ import annotations

import collections.abc as cabc
import queue
import threading
import typing as t
import weakref
from concurrent.futures import Executor
from concurrent.futures import Future

if t.TYPE_CHECKING:
    import asyncio

__all__ = ["ThreadPool"]

P = t.ParamSpec("P")
R = t.TypeVar("R")


class _State:
    """What the workers share with the pool, without keeping the pool alive."""

    __slots__ = ("lock", "idle", "threads", "shutdown")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle = 0
        self.threads: list[threading.Thread] = []
        self.shutdown = False


class _LoopCall:
    """A call whose result goes to an asyncio future on ``loop``."""

    __slots__ = ("loop", "future", "fn", "cancelled")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[t.Any], fn: t.Any
    ) -> None:
        self.loop = loop
        self.future = future
        self.fn = fn
        self.cancelled = False

    def run(self, state: _State) -> None:
        if self.cancelled:
            ok, value = False, None
        else:
            try:
                value = self.fn()
            except BaseException as e:
                ok = False
                value = e
            else:
                ok = True
        # Idle before the caller hears back, so that its next call finds this
        # (warm) thread rather than starting another.
        with state.lock:
            state.idle += 1
        if not self.cancelled:
            settle_soon(self.loop, self.future, ok, value)
        # Drop references before the next call: a worker may idle a long time.
        self.fn = self.future = None  # type: ignore[assignment]

    def cancel(self) -> None:
        self.cancelled = True
        try:
            self.loop.call_soon_threadsafe(self.future.cancel)
        except RuntimeError:
            pass  # the loop is closed


def _settle(future: asyncio.Future[t.Any], ok: bool, value: t.Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def settle_soon(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[t.Any], ok: bool, value: t.Any
) -> None:
    """From a worker thread: give ``future`` (of ``loop``) the result ``value``
    (``ok``) or the exception ``value``, unless it was cancelled meanwhile.
    Nothing happens when the loop is closed: nobody is waiting any more."""
    try:
        loop.call_soon_threadsafe(_settle, future, ok, value)
    except RuntimeError:
        pass


class _FutureCall:
    """A call submitted through the :class:`~concurrent.futures.Executor` API."""

    __slots__ = ("future", "fn", "args", "kwargs")

    def __init__(
        self, future: Future[t.Any], fn: t.Any, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self, state: _State) -> None:
        future = self.future
        if future.set_running_or_notify_cancel():
            try:
                value = self.fn(*self.args, **self.kwargs)
            except BaseException as e:
                with state.lock:
                    state.idle += 1
                future.set_exception(e)
            else:
                with state.lock:
                    state.idle += 1
                future.set_result(value)
        else:
            with state.lock:
                state.idle += 1
        self.fn = self.args = self.kwargs = self.future = None  # type: ignore[assignment]

    def cancel(self) -> None:
        self.future.cancel()


_Call = _LoopCall | _FutureCall


def _work(calls: queue.SimpleQueue[_Call | None], state: _State) -> None:
    while True:
        call = calls.get()
        if call is None:
            return
        call.run(state)  # marks this worker idle again
        del call


def _stop(calls: queue.SimpleQueue[_Call | None], state: _State) -> None:
    # The pool was shut down or garbage collected: one stop per thread.
    with state.lock:
        state.shutdown = True
        count = len(state.threads)
    for _ in range(count):
        calls.put(None)


class ThreadPool(Executor):
    """Up to ``max_workers`` threads, started on demand, named ``<prefix>_<n>``."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "quartlike") -> None:
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._state = _State()
        # Idle workers hold no reference to the pool; dropping it stops them.
        self._finalizer = weakref.finalize(self, _stop, self._calls, self._state)

    @property
    def max_workers(self) -> int:
        """The most threads this pool starts."""
        return self._max_workers

    def _put(self, call: _Call) -> None:
        state = self._state
        with state.lock:
            if state.shutdown:
                raise RuntimeError("cannot schedule new calls after the pool was shut down")
            self._calls.put(call)
            if state.idle:
                state.idle -= 1  # an idle worker will take it
                return
            if len(state.threads) >= self._max_workers:
                return  # it waits for the first worker to be free
            thread = threading.Thread(
                target=_work,
                args=(self._calls, state),
                name=f"{self._prefix}_{len(state.threads)}",
                daemon=True,
            )
            state.threads.append(thread)
            thread.start()

    async def run_in_thread(self, loop: asyncio.AbstractEventLoop, fn: cabc.Callable[[], R]) -> R:
        """Run ``fn()`` in a worker and return its result to the caller on ``loop``.

        If the caller is cancelled before a worker has started the call, the
        call does not run; once it has started, it runs to its end (a thread
        cannot be interrupted) and its result is dropped.
        """
        future: asyncio.Future[R] = loop.create_future()
        call = _LoopCall(loop, future, fn)
        self._put(call)
        try:
            return await future
        except BaseException:
            call.cancelled = True
            raise

    def submit(self, fn: cabc.Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        """Run ``fn(*args, **kwargs)`` in a worker (the ``Executor`` API)."""
        future: Future[R] = Future()
        self._put(_FutureCall(future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; let the workers finish the queued ones (or cancel them
        with ``cancel_futures``) and stop. ``wait`` joins the workers.
        """
        state = self._state
        if cancel_futures:
            stops = 0
            while True:
                try:
                    call = self._calls.get_nowait()
                except queue.Empty:
                    break
                if call is None:
                    stops += 1  # from an earlier shutdown: the workers still need it
                else:
                    call.cancel()
            for _ in range(stops):
                self._calls.put(None)
        self._finalizer()
        if wait:
            with state.lock:
                threads = list(state.threads)
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
