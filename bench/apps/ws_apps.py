"""Websocket apps for the idle-connection memory benchmark (``bench/memory.py``).

Each serves ``/ws``: accept, send ``ready``, then wait for messages until the client
leaves. Only the handler is registered, so what is measured is the connection.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

Message = dict[str, t.Any]
ASGIApp = cabc.Callable[..., cabc.Awaitable[None]]


async def raw(
    scope: dict[str, t.Any],
    receive: cabc.Callable[[], cabc.Awaitable[Message]],
    send: cabc.Callable[[Message], cabc.Awaitable[None]],
) -> None:
    """A bare ASGI websocket endpoint (and lifespan), the floor."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": "ready"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return


def quartlike() -> ASGIApp:
    from quartlike import Quart
    from quartlike import websocket

    app = Quart(__name__)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("ready")
        while True:
            await websocket.receive()

    return app


def quart() -> ASGIApp:
    from quart import Quart
    from quart import websocket

    app = Quart(__name__)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send("ready")
        while True:
            await websocket.receive()

    return app


def starlette() -> ASGIApp:
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket
    from starlette.websockets import WebSocketDisconnect

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("ready")
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/ws", ws)])


FACTORIES: dict[str, cabc.Callable[[], ASGIApp]] = {
    "raw": lambda: raw,
    "quartlike": quartlike,
    "quart": quart,
    "starlette": starlette,
}
