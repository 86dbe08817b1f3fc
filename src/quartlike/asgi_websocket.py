"""The ASGI adapter for websockets: the connection, and serving one handler.

Once the handshake is accepted, one pump task owns ``receive``: it puts
incoming messages on a bounded queue (``WEBSOCKET_RECEIVE_QUEUE_SIZE``; when it
is full the pump stops reading, so the server applies back-pressure and memory
stays bounded), closes with 1009 a message larger than
``MAX_WEBSOCKET_MESSAGE_SIZE``, and cancels the handler when the client goes
away so that even a handler that only sends stops promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing as t

from .wrappers.websocket import Websocket

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from .app import Quart
    from .typing import ASGIReceiveCallable
    from .typing import ASGISendCallable
    from .typing import WebsocketScope
    from .wrappers.response import Response

#: Close codes (RFC 6455).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011


class WebsocketDisconnected(ConnectionError):
    """Raised by ``receive``/``send`` once the connection is closed."""

    def __init__(self, code: int | None = None) -> None:
        super().__init__(f"The websocket is closed (code {code}).")
        self.code = code


class ASGIWebsocketConnection:
    """One websocket connection, as seen through ASGI messages."""

    def __init__(
        self,
        app: Quart,
        scope: WebsocketScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        self._receive = receive
        self._send = send
        self._queue: asyncio.Queue[str | bytes | WebsocketDisconnected] = asyncio.Queue(
            maxsize=app.config["WEBSOCKET_RECEIVE_QUEUE_SIZE"]
        )
        self._max_size: int | None = app.config["MAX_WEBSOCKET_MESSAGE_SIZE"]
        self._supports_http_response = "websocket.http.response" in scope.get("extensions", {})
        self._pump: asyncio.Task[None] | None = None
        self.handler_task: asyncio.Task[t.Any] | None = None
        self.accepted = False
        self.closed = False
        #: Why the handler was cancelled by the pump, if it was: "disconnect" or "too_big".
        self.cancelled_by: str | None = None
        self.close_code: int | None = None
        # Set once the client is gone; receive raises it when the queue is empty
        # (the queue may have been too full to hold the marker).
        self._ended: WebsocketDisconnected | None = None

    async def accept(self, headers: Headers | None, subprotocol: str | None) -> None:
        if self.accepted:
            return
        if self.closed:
            raise WebsocketDisconnected(self.close_code)
        message: dict[str, t.Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        if headers:
            message["headers"] = [
                (key.lower().encode("latin-1"), value.encode("latin-1"))
                for key, value in headers.items()
            ]
        await self._send(message)
        self.accepted = True
        self._pump = asyncio.create_task(self._run_pump())

    async def receive(self) -> str | bytes:
        if self._ended is not None and self._queue.empty():
            raise self._ended
        item = await self._queue.get()
        if isinstance(item, WebsocketDisconnected):
            self._queue.put_nowait(item)  # every later receive raises too
            raise item
        return item

    async def send(self, data: str | bytes) -> None:
        if self.closed:
            raise WebsocketDisconnected(self.close_code)
        if isinstance(data, str):
            await self._send({"type": "websocket.send", "text": data})
        elif isinstance(data, bytes | bytearray | memoryview):
            await self._send({"type": "websocket.send", "bytes": bytes(data)})
        else:
            raise TypeError(f"A websocket sends str or bytes, not {type(data).__name__}.")

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def reject(self, response: Response) -> None:
        """Refuse the handshake with an HTTP response (or a plain 403 if unsupported)."""
        self.closed = True
        if not self._supports_http_response:
            await self._send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        body = await response.get_data()
        await self._send(
            {
                "type": "websocket.http.response.start",
                "status": response.status_code,
                "headers": response.final_headers(),
            }
        )
        await self._send({"type": "websocket.http.response.body", "body": body})

    def _too_big(self, data: str | bytes) -> bool:
        limit = self._max_size
        if limit is None:
            return False
        if isinstance(data, str):
            return len(data) > limit or (
                len(data) * 4 > limit and len(data.encode("utf-8")) > limit
            )
        return len(data) > limit

    async def _run_pump(self) -> None:
        while True:
            message = await self._receive()
            kind = message.get("type")
            if kind == "websocket.receive":
                text = message.get("text")
                data: str | bytes = text if text is not None else bytes(message.get("bytes") or b"")
                if self._too_big(data):
                    await self.close(CLOSE_TOO_BIG, "Message too big")
                    self._stop_handler("too_big", CLOSE_TOO_BIG)
                    return
                await self._queue.put(data)
            elif kind == "websocket.disconnect":
                self.closed = True
                self._stop_handler("disconnect", message.get("code"))
                return

    def _stop_handler(self, why: str, code: int | None) -> None:
        self.close_code = code
        self.cancelled_by = why
        self._ended = WebsocketDisconnected(code)
        try:
            self._queue.put_nowait(self._ended)
        except asyncio.QueueFull:
            pass
        if self.handler_task is not None and not self.handler_task.done():
            self.handler_task.cancel()

    def stop(self) -> None:
        """Stop the pump (the handler has finished)."""
        if self._pump is not None:
            self._pump.cancel()


def _websocket_scheme(scheme: str) -> str:
    # Proxy middleware (Hypercorn's ProxyFixMiddleware, say) writes the
    # forwarded "http"/"https" into websocket scopes; routing tells websocket
    # rules from HTTP ones by the ws/wss scheme, so put it back.
    if scheme == "https":
        return "wss"
    if scheme == "http":
        return "ws"
    return scheme


def websocket_from_scope(
    app: Quart, scope: WebsocketScope, connection: ASGIWebsocketConnection
) -> Websocket:
    """Build the app's websocket object from a websocket scope."""
    path = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    websocket = app.websocket_class(
        path,
        scope.get("query_string", b""),
        _websocket_scheme(scope.get("scheme", "ws")),
        scope["headers"],
        root_path,
        scope.get("http_version", "1.1"),
        list(scope.get("subprotocols", ())),
        scope,
        connection,
    )
    for name, value in scope["headers"]:
        if name == b"host":
            websocket._raw_host = value  # lets routing skip binding (see ctx.match_request)
            break
    return websocket


async def serve_websocket(
    app: Quart, scope: WebsocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Handle one websocket connection: handshake, handler, close, teardown."""
    first = await receive()
    if first.get("type") != "websocket.connect":
        return  # the client left before the handshake
    connection = ASGIWebsocketConnection(app, scope, receive, send)
    task = asyncio.current_task()
    assert task is not None
    connection.handler_task = task
    websocket = websocket_from_scope(app, scope, connection)
    ctx = app.websocket_context(websocket)
    ctx.push()
    error: BaseException | None = None
    try:
        try:
            await ctx.open_session()
            response = await app.full_dispatch_websocket()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            error = e
            response = await app.handle_websocket_exception(e)
        if response is not None and not connection.accepted:
            await connection.reject(response)
        elif not connection.closed:
            # An unhandled error after the handshake is an internal error (1011).
            await connection.close(CLOSE_NORMAL if error is None else CLOSE_INTERNAL_ERROR, "")
    except asyncio.CancelledError:
        if connection.cancelled_by is None or task.uncancel() > 0:
            # Cancelled by the server (shutting down, say): the client is told 1001.
            if connection.accepted and not connection.closed:
                with contextlib.suppress(Exception):
                    await connection.close(CLOSE_GOING_AWAY, "")
            raise
        # The client left, or sent a message over the limit: a normal end.
    except BaseException as e:
        error = e
        if connection.accepted and not connection.closed:
            await connection.close(CLOSE_INTERNAL_ERROR, "")
        raise
    finally:
        connection.stop()
        await ctx.pop(error)
