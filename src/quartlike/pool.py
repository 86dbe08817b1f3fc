"""The bounded thread pool that runs sync code, with a light hand-off to the loop.

A sync view costs a thread hop: the call goes to a worker thread, and its
result comes back to the event loop. With ``loop.run_in_executor`` on a
:class:`~concurrent.futures.ThreadPoolExecutor` the hop also builds a
:class:`concurrent.futures.Future` (a condition variable, its locking and
callbacks), chains it to an asyncio future, and marks the worker idle
through a :class:`threading.Semaphore`. :meth:`ThreadPool.run_in_thread`
hands the call to a worker through a :class:`queue.SimpleQueue` and returns
the result with one ``loop.call_soon_threadsafe``, which is all a hop needs;
measured in process CPU time, this takes about a third off the cost of the hop.

**Workers and their inboxes.** Each worker thread waits on an inbox of its
own. A call goes straight to the inbox of an idle worker (the one idle most
recently, whose caches are warm); with none idle, a new worker is started, up
to ``max_workers``; beyond that, calls wait in the pool's backlog, which a
worker empties before it goes idle again.

**Reservations.** :meth:`ThreadPool.reserve` keeps one worker for a sequence
of calls, which then all run in that thread, in order (a request's lane, see
:mod:`quartlike.sync`). Releasing the reservation only marks the worker idle
again: a worker blocked on its inbox is not woken, so keeping a thread for a
request costs no more thread wake-ups than the calls themselves. A worker
that waits for the event loop on behalf of its reservation (the sync bridge)
keeps running the calls that reach its inbox meanwhile (:meth:`Reservation.wait`).

:class:`ThreadPool` is also a regular :class:`~concurrent.futures.Executor`
(:meth:`~ThreadPool.submit`, :meth:`~ThreadPool.shutdown`).
"""

from __future__ import annotations

import collections
import collections.abc as cabc
import functools
import queue
import threading
import typing as t
import weakref
from concurrent.futures import Executor
from concurrent.futures import Future

if t.TYPE_CHECKING:
    import asyncio

__all__ = ["Reservation", "ThreadPool"]

P = t.ParamSpec("P")
R = t.TypeVar("R")

#: In an inbox: the worker stops.
_STOP = object()
#: In an inbox: wakes a worker waiting in :meth:`Reservation.wait` to look again.
_WAKE = object()


class Item(t.Protocol):
    """What a worker runs from its inbox or the backlog."""

    def run(self, worker: _Worker | None, state: _State | None) -> t.Any:
        """Run; call :func:`finish` (when ``worker`` is given) before reporting the
        outcome, and return what it returned."""

    def cancel(self) -> None:
        """The pool shut down with ``cancel_futures`` before this ran."""


class _Worker:
    __slots__ = ("inbox", "thread", "reservation", "queued")

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[t.Any] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        #: The reservation holding this worker, if any.
        self.reservation: Reservation | None = None
        #: Calls put in the inbox (or handed over) and not finished (under the state lock).
        self.queued = 0


class _State:
    """What the workers share with the pool, without keeping the pool alive."""

    __slots__ = ("lock", "idle", "backlog", "workers", "shutdown")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.backlog: collections.deque[t.Any] = collections.deque()
        self.workers: list[_Worker] = []
        self.shutdown = False


def finish(worker: _Worker, state: _State) -> t.Any:
    """Book the end of one of ``worker``'s calls; return what it does next: a call
    from the backlog, :data:`_STOP`, or ``None`` (wait on its inbox).

    Called before the call's caller hears back, so that a caller's next call
    finds this worker idle (and warm) rather than starting another.
    """
    with state.lock:
        worker.queued -= 1
        if worker.reservation is not None or worker.queued:
            return None
        if state.backlog:
            item = state.backlog.popleft()
            if isinstance(item, _Claim):
                item.reservation._bind(worker)
                return None
            worker.queued = 1
            return item
        if state.shutdown:
            return _STOP
        state.idle.append(worker)
        return None


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

    def run(self, worker: _Worker | None, state: _State | None) -> t.Any:
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
        after = finish(worker, state) if worker is not None and state is not None else None
        if not self.cancelled:
            settle_soon(self.loop, self.future, ok, value)
        # Drop references before the next call: a worker may idle a long time.
        self.fn = self.future = None  # type: ignore[assignment]
        return after

    def cancel(self) -> None:
        self.cancelled = True
        try:
            self.loop.call_soon_threadsafe(self.future.cancel)
        except RuntimeError:
            pass  # the loop is closed


class Settles(t.Protocol):
    """A future that a worker settles: a :class:`concurrent.futures.Future`, or alike."""

    def set_running_or_notify_cancel(self) -> bool: ...
    def set_result(self, result: t.Any) -> None: ...
    def set_exception(self, exception: BaseException | None) -> None: ...
    def cancel(self) -> bool: ...


def _ran() -> t.NoReturn:
    raise RuntimeError("this call already ran")


class FutureCall:
    """``fn()`` run for ``future`` (unless it was cancelled before it started):
    the item of :meth:`ThreadPool.submit`, and of lanes (:mod:`quartlike.sync`)."""

    __slots__ = ("future", "fn")

    def __init__(self, future: Settles, fn: cabc.Callable[[], t.Any]) -> None:
        self.future = future
        self.fn = fn

    def run(self, worker: _Worker | None, state: _State | None) -> t.Any:
        future = self.future
        fn, self.fn = self.fn, _ran
        started = future.set_running_or_notify_cancel()
        ok, value = False, None
        if started:
            try:
                value = fn()
            except BaseException as e:
                value = e
            else:
                ok = True
        # Let go of the call (and the context it runs in) before the caller hears back.
        del fn
        after = finish(worker, state) if worker is not None and state is not None else None
        if started:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        return after

    def cancel(self) -> None:
        self.future.cancel()


class _Claim:
    """In the backlog: the first free worker binds to ``reservation``."""

    __slots__ = ("reservation",)

    def __init__(self, reservation: Reservation) -> None:
        self.reservation = reservation

    def run(self, worker: _Worker | None, state: _State | None) -> t.Any:
        raise AssertionError("a claim is bound by finish(), never run")

    def cancel(self) -> None:
        self.reservation._cancel_pending()


def _work(worker: _Worker, state: _State) -> None:
    inbox = worker.inbox
    while True:
        item = inbox.get()
        while item is not None:
            if item is _STOP:
                return
            if item is _WAKE:
                break  # left over from a wait that had already ended
            item = item.run(worker, state)
        del item


def _stop_idle(state: _State) -> None:
    # Under the lock, with ``state.shutdown`` set: idle workers stop now; busy
    # ones stop when they would go idle (see finish()), reserved ones when released.
    for worker in state.idle:
        worker.inbox.put(_STOP)
    state.idle.clear()


def _stop(state: _State) -> None:
    # The pool was shut down or garbage collected.
    with state.lock:
        state.shutdown = True
        _stop_idle(state)


class Reservation:
    """One worker of a :class:`ThreadPool` kept for a sequence of calls, which all
    run in its thread, in the order they were put (see :meth:`ThreadPool.reserve`).

    The worker is taken at the first :meth:`put`: an idle one, a new one, or, when
    the pool is at ``max_workers``, the first to become free (calls put until then
    wait, in order).
    """

    __slots__ = ("_state", "_pool", "_worker", "_pending", "_released", "_claimed")

    def __init__(self, pool: ThreadPool) -> None:
        self._pool = pool
        self._state = pool._state
        self._worker: _Worker | None = None
        self._pending: list[t.Any] | None = None
        self._released = False
        self._claimed = False

    @property
    def thread(self) -> threading.Thread | None:
        """The thread running this reservation's calls (``None`` before the first
        call has a worker, and after :meth:`release`)."""
        worker = self._worker
        return None if worker is None or self._released else worker.thread

    def put(self, item: Item) -> bool:
        """Queue ``item`` on the reserved worker; ``False`` if this reservation
        was released, or the pool shut down before a worker was taken."""
        state = self._state
        start = None
        with state.lock:
            if self._released:
                return False
            worker = self._worker
            if worker is None:
                if self._pending is not None:
                    self._pending.append(item)
                    return True
                if state.shutdown:
                    return False
                if state.idle:
                    worker = state.idle.pop()
                elif len(state.workers) < self._pool._max_workers:
                    worker = start = self._pool._new_worker()
                else:
                    self._pending = [item]
                    state.backlog.append(_Claim(self))
                    return True
                worker.reservation = self
                self._worker = worker
            worker.queued += 1
            worker.inbox.put(item)
        if start is not None:
            self._pool._start(start)
        return True

    def release(self) -> None:
        """End the reservation: calls already put still run; the worker then
        returns to the pool, without being woken if it is waiting for work."""
        state = self._state
        with state.lock:
            if self._released:
                return
            self._released = True
            worker = self._worker
            if worker is None or worker.reservation is not self:
                return  # not bound yet: the claim binds the worker, then frees it
            worker.reservation = None
            if worker.queued:
                return  # finish() frees it after its last call
            if state.shutdown:
                worker.inbox.put(_STOP)
            elif state.backlog:
                # Someone is waiting for a worker: this one takes the next call.
                item = state.backlog.popleft()
                if isinstance(item, _Claim):
                    item.reservation._bind(worker)
                else:
                    worker.queued = 1
                    worker.inbox.put(item)
            else:
                state.idle.append(worker)

    def wait(self, done: cabc.Callable[[], bool]) -> None:
        """In the reserved thread: run the calls that reach it until ``done()``;
        call :meth:`wake` to have ``done`` checked again."""
        worker = self._worker
        assert worker is not None and worker.thread is threading.current_thread()
        state = self._state
        inbox = worker.inbox
        while not done():
            item = inbox.get()
            if item is _WAKE:
                continue
            # Only calls reach a worker busy with a call of its reservation.
            assert item is not None and item is not _STOP
            after = item.run(worker, state)
            assert after is None

    def wake(self) -> None:
        """Wake the reserved thread if it waits in :meth:`wait`."""
        worker = self._worker
        if worker is not None:
            worker.inbox.put(_WAKE)

    def _bind(self, worker: _Worker) -> None:
        # Under the state lock: the worker came free for a reservation whose
        # first calls waited in the backlog.
        pending = self._pending or []
        self._pending = None
        self._worker = worker
        if not self._released:
            worker.reservation = self
        worker.queued += len(pending)
        for item in pending:
            worker.inbox.put(item)

    def _cancel_pending(self) -> None:
        pending = self._pending or []
        self._pending = None
        self._released = True
        for item in pending:
            item.cancel()


class ThreadPool(Executor):
    """Up to ``max_workers`` threads, started on demand, named ``<prefix>_<n>``."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "quartlike") -> None:
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._state = _State()
        # Idle workers hold no reference to the pool; dropping it stops them.
        self._finalizer = weakref.finalize(self, _stop, self._state)

    @property
    def max_workers(self) -> int:
        """The most threads this pool starts."""
        return self._max_workers

    def _new_worker(self) -> _Worker:
        # Under the state lock; started by _start() once the lock is released.
        worker = _Worker()
        state = self._state
        worker.thread = threading.Thread(
            target=_work,
            args=(worker, state),
            name=f"{self._prefix}_{len(state.workers)}",
            daemon=True,
        )
        state.workers.append(worker)
        return worker

    def _start(self, worker: _Worker) -> None:
        assert worker.thread is not None
        worker.thread.start()

    def _put(self, item: Item) -> None:
        state = self._state
        start = None
        with state.lock:
            if state.shutdown:
                raise RuntimeError("cannot schedule new calls after the pool was shut down")
            if state.idle:
                worker = state.idle.pop()
            elif len(state.workers) < self._max_workers:
                worker = start = self._new_worker()
            else:
                state.backlog.append(item)  # the first worker to be free takes it
                return
            worker.queued = 1
            worker.inbox.put(item)
        if start is not None:
            self._start(start)

    def reserve(self) -> Reservation:
        """A :class:`Reservation`: one worker for a sequence of calls, taken at the first."""
        return Reservation(self)

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
        self._put(FutureCall(future, functools.partial(fn, *args, **kwargs)))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new calls; let the workers finish the queued ones (or cancel them
        with ``cancel_futures``) and stop. ``wait`` joins the workers (a worker
        kept by a :class:`Reservation` stops once that is released).
        """
        state = self._state
        if cancel_futures:
            with state.lock:
                cancelled = list(state.backlog)
                state.backlog.clear()
            for item in cancelled:
                item.cancel()
        self._finalizer()
        if wait:
            with state.lock:
                threads = [w.thread for w in state.workers if w.thread is not None]
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()
