"""Reading a test response while the app is still sending it.

:class:`StreamedResponse` (what ``client.request()`` returns) runs the app in
a task and plays both sides of the connection: it feeds the request body
(possibly chunk by chunk from an async iterable), hands the response's
status, headers and body chunks to the test as they arrive, and delivers
``http.disconnect`` when the test leaves early. :class:`IncompleteResponseError`
reports an app that returned without finishing its response.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import typing as t

from werkzeug.datastructures import Headers

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..typing import HTTPScope
    from ..typing import Message


class IncompleteResponseError(Exception):
    """The app returned without the final body message of a streamed response.

    A server drops the connection then, and a real client reports a truncated
    body; :class:`StreamedResponse` raises this instead.
    """


_APP_RETURNED: Message = {"type": "_app_returned"}


class StreamedResponse:
    """A response read while the app sends it; made by :meth:`QuartClient.request`.

    Use it with ``async with``. Inside, :attr:`status_code` and :attr:`headers`
    are set, and the body is read with :meth:`iter_body` or :meth:`read`.
    """

    def __init__(
        self,
        app: Quart,
        scope: HTTPScope,
        body: bytes | cabc.AsyncIterable[bytes],
        request_url: str,
        on_start: cabc.Callable[[Headers], None] | None = None,
    ) -> None:
        self.app = app
        self.scope = scope
        #: The URL the request was sent to.
        self.request_url = request_url
        #: The status code and headers of ``http.response.start``.
        self.status_code = 0
        self.headers = Headers()
        #: Whether the body's final message has been read (by :meth:`iter_body`
        #: or :meth:`read`): the response arrived whole.
        self.is_complete = False
        self._on_start = on_start
        self._body = body
        self._body_iter: cabc.AsyncIterator[bytes] | None = None
        self._body_sent = False
        self._gone = asyncio.Event()  # the client left, or the response is complete
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._returned = False
        self._sent_final = False
        self._received: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def mimetype(self) -> str:
        """The ``Content-Type`` without its parameters."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    # -- the app's side of the connection ------------------------------------------------

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        finally:
            self._gone.set()
            self._from_app.put_nowait(_APP_RETURNED)

    async def _receive(self) -> Message:
        if not self._body_sent:
            if isinstance(self._body, bytes):
                self._body_sent = True
                return {"type": "http.request", "body": self._body, "more_body": False}
            chunk = await self._next_chunk()
            if chunk is not None:
                return {"type": "http.request", "body": chunk, "more_body": True}
            if not self._gone.is_set():
                self._body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
        # Once the body is sent, the next message is the client leaving (or
        # the server noticing that the exchange is over).
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _next_chunk(self) -> bytes | None:
        """The next chunk of a streamed request body; ``None`` at its end or
        when the client leaves while waiting for it.
        """
        if self._gone.is_set():
            return None
        if self._body_iter is None:
            assert not isinstance(self._body, bytes)
            self._body_iter = aiter(self._body)
        iterator = self._body_iter

        async def pull() -> bytes | None:
            try:
                return bytes(await anext(iterator))
            except StopAsyncIteration:
                return None

        pulling = asyncio.ensure_future(pull())
        leaving = asyncio.ensure_future(self._gone.wait())
        try:
            await asyncio.wait({pulling, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
            if not pulling.done():
                pulling.cancel()
                await asyncio.wait({pulling})
        if pulling.cancelled() or self._gone.is_set():
            if not pulling.cancelled():
                pulling.exception()  # retrieved: the client left, the chunk is moot
            return None
        return pulling.result()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status_code:
                raise RuntimeError("The app sent http.response.start twice.")
            self.status_code = message["status"]
            for name, value in message.get("headers", ()):
                self.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            if self._on_start is not None:
                self._on_start(self.headers)
        elif kind == "http.response.body":
            if not self.status_code:
                raise RuntimeError("The app sent a body before http.response.start.")
            if self._sent_final:
                raise RuntimeError("The app sent a body after the response was complete.")
            if not message.get("more_body", False):
                self._sent_final = True
                self._gone.set()
        else:
            return
        self._from_app.put_nowait(message)

    # -- the client's side ----------------------------------------------------------------

    async def __aenter__(self) -> StreamedResponse:
        self._task = asyncio.create_task(self._run())
        try:
            message = await self._from_app.get()
            if message is _APP_RETURNED:
                self._returned = True
                await self._finish()  # re-raises the app's exception, if any
                raise RuntimeError("The app returned without sending a response.")
        except BaseException:
            await self._abandon()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            await self.disconnect()
        else:
            await self._abandon()

    async def iter_body(self) -> cabc.AsyncIterator[bytes]:
        """Yield the body's chunks as the app sends them (empty ones skipped).

        Iteration ends with the app's final body message. If the app returns
        without sending it, its exception (if any) is raised, or else
        :class:`IncompleteResponseError`.
        """
        while not self.is_complete:
            if self._returned and self._from_app.empty():
                await self._finish()
                raise IncompleteResponseError(
                    "The app ended the response without its final body message."
                )
            message = await self._from_app.get()
            if message is _APP_RETURNED:
                self._returned = True
                continue
            if not message.get("more_body", False):
                self.is_complete = True
            chunk = bytes(message.get("body", b""))
            if chunk:
                self._received.append(chunk)
                yield chunk

    async def read(self) -> bytes:
        """Wait for the rest of the body; return all of it (chunks already iterated included)."""
        async for _chunk in self.iter_body():
            pass
        return b"".join(self._received)

    async def disconnect(self) -> None:
        """Leave: the app receives ``http.disconnect`` (if it had not finished the
        response yet). Waits for the app to return, and re-raises its exception.
        """
        self._gone.set()
        await self._finish()

    async def _finish(self) -> None:
        task = self._task
        if task is None:
            return
        try:
            await task
        finally:
            if task.done():
                self._task = None

    async def _abandon(self) -> None:
        # Leaving because of an error: give the app a moment to notice the
        # disconnect, then cancel it; its own errors are dropped in favour of
        # the one already on its way.
        self._gone.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait({task}, timeout=1)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            if not task.cancelled():
                task.exception()
