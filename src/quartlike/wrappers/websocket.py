"""The websocket object handlers use: the handshake's request data plus messaging.

The handshake part (``path``, ``args``, ``headers``, ``cookies``, routing) is
the same as a request's. Messaging goes through a connection object provided
by the ASGI layer, so this module knows nothing about ASGI messages.
"""

from __future__ import annotations

import json
import typing as t

from .base import BaseRequestWebsocket

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from ..typing import WebsocketScope


class WebsocketConnection(t.Protocol):
    """What the ASGI layer provides to a :class:`Websocket`."""

    accepted: bool
    closed: bool

    async def receive(self) -> str | bytes: ...

    async def send(self, data: str | bytes) -> None: ...

    async def accept(self, headers: Headers | None, subprotocol: str | None) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Websocket(BaseRequestWebsocket):
    """A websocket connection, available as ``websocket`` inside a websocket handler.

    Sending or receiving before :meth:`accept` accepts the connection with no
    extra headers and no subprotocol. When the client goes away the handler is
    cancelled (its ``finally`` blocks run), so a handler that only sends still
    stops promptly.
    """

    json_module: t.Any = json

    def __init__(
        self,
        path: str,
        query_string: bytes,
        scheme: str,
        headers: Headers | t.Iterable[tuple[bytes, bytes]],
        root_path: str,
        http_version: str,
        subprotocols: list[str],
        scope: WebsocketScope,
        connection: WebsocketConnection,
    ) -> None:
        super().__init__("GET", scheme, path, query_string, headers, root_path, http_version, scope)
        #: The subprotocols the client offered, in its order of preference.
        self.requested_subprotocols = subprotocols
        self._connection = connection

    @property
    def accepted(self) -> bool:
        """Whether the handshake was accepted."""
        return self._connection.accepted

    @property
    def closed(self) -> bool:
        """Whether the connection was closed (by either side)."""
        return self._connection.closed

    async def accept(self, headers: Headers | None = None, subprotocol: str | None = None) -> None:
        """Accept the handshake, optionally with response headers and a subprotocol.

        The subprotocol must be one the client offered (``ValueError`` otherwise).
        """
        if subprotocol is not None and subprotocol not in self.requested_subprotocols:
            raise ValueError(
                f"Cannot accept subprotocol {subprotocol!r}: the client offered"
                f" {self.requested_subprotocols!r}."
            )
        await self._connection.accept(headers, subprotocol)

    async def receive(self) -> str | bytes:
        """Wait for the next message: ``str`` for a text frame, ``bytes`` for binary."""
        if not self._connection.accepted:
            await self.accept()
        return await self._connection.receive()

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message."""
        if not self._connection.accepted:
            await self.accept()
        await self._connection.send(data)

    async def receive_json(self) -> t.Any:
        """Receive a message and parse it as JSON (``ValueError`` if it is not JSON)."""
        data = await self.receive()
        from ..globals import _cv_app

        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.json.loads(data)
        return self.json_module.loads(data)

    async def send_json(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send a value as a JSON text message (the arguments work as for ``jsonify``)."""
        if args and kwargs:
            raise TypeError("send_json takes either positional or keyword arguments, not both.")
        value: t.Any = kwargs if kwargs else (args[0] if len(args) == 1 else list(args))
        from ..globals import _cv_app

        ctx = _cv_app.get(None)
        dumps = ctx.app.json.dumps if ctx is not None else self.json_module.dumps
        await self.send(dumps(value))

    async def close(self, code: int, reason: str = "") -> None:
        """Close the connection with a close code (1000 is a normal close)."""
        await self._connection.close(code, reason)
