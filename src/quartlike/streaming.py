"""Streaming helpers: ``stream_with_context`` and server-sent events.

In quartlike the request context stays pushed until the response has been
sent, so a generator returned from a view can already use ``request`` and
``session`` while it streams. :func:`stream_with_context` is for generators
consumed *elsewhere* (handed to a task, or iterated after the view's request
has ended): it binds them to a copy of the current request context.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import functools
import inspect
import typing as t

from .globals import _cv_request
from .globals import current_app

if t.TYPE_CHECKING:
    from .wrappers.response import Response

T = t.TypeVar("T")


@t.overload
def stream_with_context(
    generator_or_function: cabc.AsyncIterator[T],
) -> cabc.AsyncIterator[T]: ...


@t.overload
def stream_with_context(generator_or_function: cabc.Iterator[T]) -> cabc.Iterator[T]: ...


@t.overload
def stream_with_context(
    generator_or_function: cabc.Callable[..., t.Any],
) -> cabc.Callable[..., t.Any]: ...


def stream_with_context(generator_or_function: t.Any) -> t.Any:
    """Run a generator (sync or async) in a copy of the current request context.

    Use it on a generator object, or as a decorator on a generator function.
    The copy runs no teardown callbacks: the original request runs them once.
    """
    if inspect.isasyncgenfunction(generator_or_function) or inspect.isgeneratorfunction(
        generator_or_function
    ):
        func = generator_or_function

        @functools.wraps(func)
        def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return stream_with_context(func(*args, **kwargs))

        return decorator
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError("'stream_with_context' needs an active request: call it inside a view.")
    copy = ctx.copy()
    gen = generator_or_function
    if isinstance(gen, cabc.AsyncIterator):

        async def async_wrapped() -> cabc.AsyncIterator[t.Any]:
            async with copy:
                async for item in gen:
                    yield item

        return async_wrapped()
    if isinstance(gen, cabc.Iterator):

        def sync_wrapped() -> cabc.Iterator[t.Any]:
            copy.push()
            try:
                yield from gen
            finally:
                copy._reset_without_teardown()

        return sync_wrapped()
    raise TypeError(
        "stream_with_context takes a generator, an async generator, or a generator"
        f" function, not {type(gen).__name__}."
    )


@dataclasses.dataclass
class ServerSentEvent:
    """One server-sent event, encoded by :meth:`encode` in the ``text/event-stream`` format.

    :param data: the payload; several lines become several ``data:`` lines.
    :param event: the event type (the browser's ``addEventListener`` name).
    :param id: the event id, resent by the browser as ``Last-Event-ID``.
    :param retry: the client's reconnection delay, in milliseconds.
    """

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def encode(self) -> bytes:
        """The event as it goes on the wire, ending with the blank line."""
        lines = []
        for name, value in (("event", self.event), ("id", self.id)):
            if value is not None:
                if "\n" in value or "\r" in value:
                    raise ValueError(f"An SSE {name} cannot contain a line break.")
                lines.append(f"{name}: {value}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        for line in self.data.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            lines.append(f"data: {line}")
        return ("\n".join(lines) + "\n\n").encode("utf-8")


def event_stream(
    events: cabc.AsyncIterable[ServerSentEvent | str], *, ping: bool = False
) -> Response:
    """A streamed ``text/event-stream`` response from an async iterable of events.

    Strings are sent as ``data``-only events. The response disables caching and
    proxy buffering (``X-Accel-Buffering: no``) so events arrive as they are sent.
    With ``ping``, a comment line is sent first so clients see the stream open.
    """

    async def body() -> cabc.AsyncIterator[bytes]:
        if ping:
            yield b": stream open\n\n"
        async for event in events:
            if isinstance(event, str):
                event = ServerSentEvent(event)
            yield event.encode()

    response = current_app.response_class(body(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response
