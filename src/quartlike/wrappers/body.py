"""The request body: an async stream of ``bytes`` chunks read from the ASGI ``receive``.

Reading the body is the only asynchronous part of a request. :class:`Body`
enforces the size limit (413) against the declared ``Content-Length`` and as
chunks arrive, and the time limit for the whole body (408); it arms a timer
only when ``receive()`` actually has to wait. A sync view's one-message body
can be taken on the loop before the view starts (:meth:`Body.peek`) and read
in the view's thread (:meth:`Body.take_now`).
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t
import weakref
from types import CoroutineType

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import RequestTimeout

from ..globals import _cv_app

if t.TYPE_CHECKING:
    import asyncio

    from ..typing import ASGIReceiveCallable
    from ..typing import Message
    from .request import Request

__all__ = ["Body", "ClientDisconnected"]


class ClientDisconnected(BadRequest):
    """The client went away before the request body was complete."""

    description = "The client disconnected before sending the whole request body."


class Body:
    """The request body as an async stream of ``bytes`` chunks.

    Iterate it once with ``async for``; or call :meth:`read` to get it all, after
    which it is cached and may be read again. The stream enforces the size limit
    (413) both against a declared ``Content-Length`` (before reading anything)
    and as chunks arrive, and the time limit for the whole body (408).

    :param receive: the ASGI receive callable, or ``None`` for a body that is
        already known (tests, sync bridges).
    :param data: the complete body, when ``receive`` is ``None``.
    """

    __slots__ = (
        "_receive",
        "_data",
        "_consumed",
        "_complete",
        "declared_length",
        "_owner",
        "_deadline",
        "_received",
        "_early",
        "_pending",
    )

    def __init__(
        self,
        receive: ASGIReceiveCallable | None,
        declared_length: int | None,
        data: bytes = b"",
    ) -> None:
        self._receive = receive
        self._data: bytes | None = data if receive is None else None
        self._consumed = False
        self._complete = receive is None
        self.declared_length = declared_length
        self._owner: weakref.ref[Request] | None = None
        #: The loop time by which the whole body must have arrived (set by :meth:`_open`).
        self._deadline: float | None = None
        #: The number of body bytes received so far.
        self._received = 0
        #: The first message, taken by :meth:`peek` and not yet read.
        self._early: Message | None = None
        #: A ``receive()`` that :meth:`peek` started and that is still waiting:
        #: ``(awaitable, what its first step yielded)``, the step ``None`` when
        #: the awaitable is not a coroutine (nothing of it ran).
        self._pending: tuple[cabc.Awaitable[Message], t.Any] | None = None

    @property
    def owner(self) -> Request | None:
        """The request this body belongs to; its limits apply to ``async for``.

        Held through a weak reference: the request holds its body, and a
        reference back would make every request a cycle that only the garbage
        collector frees.
        """
        ref = self._owner
        return None if ref is None else ref()

    @owner.setter
    def owner(self, request: Request | None) -> None:
        self._owner = None if request is None else weakref.ref(request)

    def receive_from(self, receive: ASGIReceiveCallable) -> None:
        """Read the rest of the body from ``receive`` instead (used while streaming)."""
        if self._receive is not None:
            self._receive = receive

    def peek(self) -> None:
        """On the event loop: take the first message of the body now if the server
        already has it, so that sync code can read a one-message body without
        coming back to the loop (see :meth:`take_now`).

        Nothing is read or checked yet: the message is kept for the first read,
        and limits and errors apply then, as without the peek. If the message
        is not there yet, the started ``receive()`` is kept, and the first read
        finishes it (within the body's deadline).
        """
        if (
            self._receive is None
            or self._consumed
            or self._early is not None
            or self._pending is not None
        ):
            return
        awaitable = self._receive()
        if type(awaitable) is CoroutineType:
            try:
                step = awaitable.send(None)
            except StopIteration as done:
                self._early = done.value
            else:
                self._pending = (awaitable, step)
        else:
            self._pending = (awaitable, None)

    def ready_data(self) -> bytes | None:
        """The whole body if it is here without waiting (read, or peeked in one
        message), else ``None``. Reads nothing and checks no limit."""
        if self._data is not None:
            return self._data
        early = self._early
        if early is None or self._consumed or early.get("more_body", False):
            return None
        if early.get("type") == "http.disconnect":
            return b""  # take_now reports the disconnect
        return bytes(early.get("body", b""))

    def take_now(self, max_length: int | None) -> bytes | None:
        """What :meth:`read` returns, when the body is here without waiting (see
        :meth:`ready_data`); ``None`` otherwise. No event loop is needed: sync
        code in a worker thread may call it. The checks and errors are those of
        :meth:`read`.
        """
        if self._data is not None:
            return self._data
        if self.ready_data() is None:
            return None
        self._open(max_length, None)  # a complete body needs no deadline
        message, self._early = self._early, None
        assert message is not None
        chunk, _more = self._accept(message, max_length)
        self._data = chunk
        return chunk

    @property
    def is_complete(self) -> bool:
        """Whether the whole body has been received."""
        return self._complete

    @property
    def left_unread(self) -> bool:
        """Whether reading the body stopped before its end (413, 408, a disconnect).

        The rest of the body may still be on its way. A body that nothing
        started to read is not counted: whether it has all arrived is the
        server's to know.
        """
        return self._consumed and not self._complete

    def _open(self, max_length: int | None, timeout: float | None) -> None:
        """Start receiving the body: check the declared length and set the deadline.

        :raises RuntimeError: the body was already (being) received by streaming it.
        :raises RequestEntityTooLarge: the declared ``Content-Length`` is over ``max_length``.
        """
        if self._consumed:
            raise RuntimeError(
                "The request body was already consumed by streaming it. Call"
                " 'await request.get_data()' before iterating if you need it twice."
            )
        self._consumed = True
        if (
            max_length is not None
            and self.declared_length is not None
            and self.declared_length > max_length
        ):
            raise RequestEntityTooLarge()
        if timeout is not None:
            self._deadline = _running_loop().time() + timeout

    async def _next(self, max_length: int | None) -> tuple[bytes, bool]:
        """Receive the next message of the body: ``(chunk, more)``, ``more`` false at its end.

        Call :meth:`_open` first.

        :raises RequestTimeout: the deadline passed while waiting for the message.
        :raises ClientDisconnected: the client went away.
        :raises RequestEntityTooLarge: the body grew past ``max_length``.
        """
        if self._early is not None:
            message, self._early = self._early, None
            return self._accept(message, max_length)
        if self._pending is not None:
            return self._accept(await self._resume_pending(), max_length)
        receive = self._receive
        assert receive is not None
        deadline = self._deadline
        if deadline is None:
            message = await receive()
        else:
            try:
                awaitable = receive()
                if type(awaitable) is CoroutineType:
                    # Run the first step of the receive coroutine here: when the
                    # message is already there (the usual case) it returns at
                    # once, and no timer is needed. A timer is armed only if
                    # it suspends; the deadline is absolute, so arming it after
                    # a step that took no time changes nothing.
                    try:
                        step = awaitable.send(None)
                    except StopIteration as done:
                        message = done.value
                    else:
                        message = await _rest_by(awaitable, step, deadline)
                else:
                    message = await _by(awaitable, deadline)
            except TimeoutError:
                raise RequestTimeout() from None
        return self._accept(message, max_length)

    async def _resume_pending(self) -> Message:
        """Finish the ``receive()`` that :meth:`peek` left waiting, within the deadline."""
        assert self._pending is not None
        awaitable, step = self._pending
        self._pending = None
        deadline = self._deadline
        try:
            if step is None:
                return await (awaitable if deadline is None else _by(awaitable, deadline))
            coro = t.cast("cabc.Coroutine[t.Any, t.Any, Message]", awaitable)
            if deadline is None:
                return await _Resumed(coro, step)
            return await _rest_by(coro, step, deadline)
        except TimeoutError:
            raise RequestTimeout() from None

    def _accept(self, message: Message, max_length: int | None) -> tuple[bytes, bool]:
        """Check and count a received message: ``(chunk, more)`` (see :meth:`_next`)."""
        if message.get("type") == "http.disconnect":
            raise ClientDisconnected()
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        if chunk:
            self._received += len(chunk)
            if max_length is not None and self._received > max_length:
                raise RequestEntityTooLarge()
            chunk = bytes(chunk)
        else:
            chunk = b""
        if not more:
            # Received, even if the reader stops before taking this chunk.
            self._complete = True
        return chunk, more

    async def _chunks(
        self, max_length: int | None, timeout: float | None
    ) -> cabc.AsyncIterator[bytes]:
        if self._data is not None:
            if self._data:
                yield self._data
            return
        self._open(max_length, timeout)
        more = True
        while more:
            chunk, more = await self._next(max_length)
            if chunk:
                yield chunk

    async def _rest(self, max_length: int | None) -> cabc.AsyncIterator[bytes]:
        """The chunks after the one :meth:`_first` returned."""
        more = not self._complete
        while more:
            chunk, more = await self._next(max_length)
            if chunk:
                yield chunk

    async def _first(
        self, max_length: int | None = None, timeout: float | None = None
    ) -> tuple[bytes, cabc.AsyncIterator[bytes] | None]:
        """Start receiving the body: its first chunk, and an iterator of the rest, if any.

        The limits are those of :meth:`stream`. When the body is complete with
        its first message (or already read), no iterator is returned, and no
        asynchronous generator is started. Otherwise the iterator must be
        consumed (or closed) by the caller.
        """
        if self._data is not None:
            return self._data, None
        self._open(max_length, timeout)
        chunk, more = await self._next(max_length)
        return chunk, (self._rest(max_length) if more else None)

    def stream(
        self, max_length: int | None = None, timeout: float | None = None
    ) -> cabc.AsyncIterator[bytes]:
        """Iterate the chunks with explicit limits (``None`` means no limit)."""
        return self._chunks(max_length, timeout)

    def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        owner = self.owner
        if owner is not None:
            return self._chunks(owner.max_content_length, owner.body_timeout)
        return self._chunks(*_limits())

    async def read(self, max_length: int | None = None, timeout: float | None = None) -> bytes:
        """Receive the whole body (once) and return it."""
        if self._data is None:
            self._open(max_length, timeout)
            chunk, more = await self._next(max_length)
            if more:
                parts = [chunk]
                while more:
                    chunk, more = await self._next(max_length)
                    parts.append(chunk)
                chunk = b"".join(parts)
            self._data = chunk
        return self._data


def _running_loop() -> asyncio.AbstractEventLoop:
    """:func:`asyncio.get_running_loop`, importing asyncio on first use only.

    Importing quartlike does not load asyncio.
    """
    global _get_running_loop
    if _get_running_loop is None:
        import asyncio

        _get_running_loop = asyncio.get_running_loop
    return _get_running_loop()


_get_running_loop: cabc.Callable[[], asyncio.AbstractEventLoop] | None = None


async def _by(awaitable: cabc.Awaitable[Message], deadline: float) -> Message:
    """Await ``awaitable`` with ``deadline`` (loop time); :exc:`TimeoutError` past it."""
    import asyncio

    async with asyncio.timeout_at(deadline):
        return await awaitable


async def _rest_by(
    coro: cabc.Coroutine[t.Any, t.Any, Message], step: t.Any, deadline: float
) -> Message:
    """Finish ``coro``, suspended at its first step, with ``deadline`` (loop time).

    :param coro: a coroutine whose first step yielded ``step`` to the event loop.
    :param step: what it yielded (the future it waits for).
    :raises TimeoutError: the deadline passed first.
    """
    import asyncio

    resumed = _Resumed(coro, step)
    try:
        async with asyncio.timeout_at(deadline):
            return await resumed
    finally:
        if not resumed.awaited:
            # The timeout could not be set up (no task): do not leave the
            # coroutine suspended.
            coro.close()


class _Resumed:
    """Await the rest of a coroutine that was already run up to its first suspension.

    Awaiting it hands ``step`` (what the first step yielded) to the event loop,
    then does what ``await`` does to the coroutine: sends it the values and
    throws into it the exceptions the loop resumes the awaiting task with, and
    returns its result.
    """

    __slots__ = ("_coro", "_step", "awaited")

    def __init__(self, coro: cabc.Coroutine[t.Any, t.Any, Message], step: t.Any) -> None:
        self._coro = coro
        self._step = step
        self.awaited = False

    def __await__(self) -> cabc.Generator[t.Any, t.Any, Message]:
        self.awaited = True
        coro = self._coro
        step = self._step
        while True:
            try:
                sent = yield step
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                # Thrown into the awaiting task (a cancellation): the coroutine's to handle.
                try:
                    step = coro.throw(exc)
                except StopIteration as done:
                    return t.cast("Message", done.value)
            else:
                try:
                    step = coro.send(sent)
                except StopIteration as done:
                    return t.cast("Message", done.value)


def _limits() -> tuple[int | None, float | None]:
    ctx = _cv_app.get(None)
    if ctx is None:
        return None, None
    config = ctx.app.config
    return config["MAX_CONTENT_LENGTH"], config["BODY_TIMEOUT"]
