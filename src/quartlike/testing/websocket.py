"""The client side of a test websocket.

:class:`TestWebsocketConnection` (what ``client.websocket()`` returns) runs
the app's websocket handler in a task, performs the handshake, and exchanges
text, bytes and JSON messages with it. A refused handshake raises
:class:`WebsocketResponseError` with the app's HTTP response; a close by the
app surfaces as :class:`WebsocketDisconnect`.
"""

from __future__ import annotations

import asyncio
import typing as t

from werkzeug.datastructures import Headers

from ..wrappers.response import DataBody

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..typing import Message
    from ..typing import WebsocketScope
    from ..wrappers.response import Response


class WebsocketResponseError(Exception):
    """The app refused a test websocket handshake; :attr:`response` is its answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"The websocket handshake was rejected with {response.status}.")
        self.response = response


class WebsocketDisconnect(Exception):
    """The app closed the test websocket; :attr:`code` and :attr:`reason` say how."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"The websocket was closed with code {code}.")
        self.code = code
        self.reason = reason


class TestWebsocketConnection:
    """The client side of a websocket to an app, for ``async with client.websocket(...)``."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: Quart, scope: WebsocketScope) -> None:
        self.app = app
        self.scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: The subprotocol and headers the app accepted with.
        self.subprotocol: str | None = None
        self.accept_headers = Headers()
        self.closed: WebsocketDisconnect | None = None

    async def __aenter__(self) -> TestWebsocketConnection:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next_message()
        kind = message["type"]
        if kind == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            for name, value in message.get("headers", ()):
                self.accept_headers.add(name.decode("latin-1"), value.decode("latin-1"))
            return self
        await self._finish()
        if kind == "websocket.http.response.start":
            headers = Headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            )
            body = b""
            while True:
                part = await self._from_app.get()
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            response = self.app.response_class(status=message["status"], headers=headers)
            response.body = DataBody(body)
            raise WebsocketResponseError(response)
        response = self.app.response_class(status=403)
        raise WebsocketResponseError(response)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        await self._finish()

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app.put)
        finally:
            await self._from_app.put({"type": "_app_returned"})

    async def _finish(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def _next_message(self) -> Message:
        message = await self._from_app.get()
        if message["type"] == "_app_returned":
            await self._finish()  # re-raises the app's exception, if any
            raise RuntimeError("The app ended the websocket connection without closing it.")
        return message

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if isinstance(data, str):
            await self._to_app.put({"type": "websocket.receive", "text": data})
        else:
            await self._to_app.put({"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, value: t.Any) -> None:
        """Send a value as a JSON text message."""
        await self.send(self.app.json.dumps(value))

    async def receive(self) -> str | bytes:
        """The next message from the app; :class:`WebsocketDisconnect` once it closed."""
        if self.closed is not None:
            raise self.closed
        message = await self._next_message()
        if message["type"] == "websocket.close":
            self.closed = WebsocketDisconnect(message.get("code", 1000), message.get("reason", ""))
            # If the handler failed, its exception is more useful than the close.
            task = self._task
            if task is not None:
                await asyncio.wait({task}, timeout=1)
                if task.done() and task.exception() is not None:
                    await self._finish()
            raise self.closed
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def receive_json(self) -> t.Any:
        """The next message from the app, parsed as JSON."""
        return self.app.json.loads(await self.receive())

    async def close(self, code: int = 1000) -> None:
        """Close from the client side and wait for the app's handler to finish."""
        await self._to_app.put({"type": "websocket.disconnect", "code": code})
        await self._finish()
