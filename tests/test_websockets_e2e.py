"""Websockets behind real servers: Hypercorn (everything) and uvicorn (the basics).

Each test writes a small app module into its temporary folder, starts a server
for it in a subprocess on a free loopback port, talks to it with the
``websockets`` client library, and stops it by PID (SIGTERM, then SIGKILL of
its process group after a bounded wait). Every network wait has a timeout.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextlib
import json
import signal
import textwrap
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.exceptions import InvalidStatus

from tests.servers import STOP_TIMEOUT
from tests.servers import Server
from tests.servers import app_env
from tests.servers import free_port
from tests.servers import launchers
from tests.servers import start_server
from tests.servers import write_app

pytestmark = pytest.mark.slow

#: Bound for each network wait of a test.
TIMEOUT = 10.0
#: The app's MAX_WEBSOCKET_MESSAGE_SIZE.
LIMIT = 1024
#: Clients in the broadcast test.
CLIENTS = 50

APP_MODULE = "ql_ws_app"
APP_SOURCE = textwrap.dedent(
    f'''
    """The app the websocket server tests run (written by tests/test_websockets_e2e.py)."""

    from __future__ import annotations

    import asyncio
    import os
    from pathlib import Path

    from quartlike import Quart
    from quartlike import abort
    from quartlike import websocket

    app = Quart(__name__)
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = {LIMIT}
    markers = Path(os.environ["QL_MARKER_DIR"])
    #: One outgoing queue per connected chat client.
    chat_clients: set[asyncio.Queue[str | bytes]] = set()
    holding = 0


    @app.before_serving
    async def started() -> None:
        (markers / "started").write_text(str(os.getpid()))


    @app.after_serving
    async def stopped() -> None:
        (markers / "stopped").write_text(str(holding))


    @app.route("/")
    async def index() -> str:
        return "ready"


    @app.websocket("/ws/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())


    @app.websocket("/ws/extensions")
    async def extensions() -> None:
        await websocket.send_json(sorted(websocket.scope.get("extensions") or {{}}))


    @app.websocket("/ws/chat")
    async def chat() -> None:
        outbox: asyncio.Queue[str | bytes] = asyncio.Queue()

        async def forward() -> None:
            while True:
                await websocket.send(await outbox.get())

        chat_clients.add(outbox)
        forwarder = asyncio.create_task(forward())
        try:
            await websocket.send("joined")
            while True:
                message = await websocket.receive()
                for other in chat_clients:
                    if other is not outbox:
                        other.put_nowait(message)
        finally:
            chat_clients.discard(outbox)
            forwarder.cancel()


    @app.websocket("/ws/forbidden")
    async def forbidden() -> None:
        abort(403)


    @app.websocket("/ws/unauthorized")
    async def unauthorized() -> tuple[str, int, dict[str, str]]:
        return "token required", 401, {{"WWW-Authenticate": "Token", "X-Rejected": "yes"}}


    @app.websocket("/plain/unauthorized")
    async def plain_unauthorized() -> tuple[str, int]:
        return "token required", 401


    @app.websocket("/ws/protocol")
    async def protocol() -> None:
        chosen = next(
            (p for p in ("chat.v2", "chat.v1") if p in websocket.requested_subprotocols), None
        )
        await websocket.accept(subprotocol=chosen)
        await websocket.send(f"accepted {{chosen}}")
        await websocket.receive()


    @app.websocket("/ws/hold")
    async def hold() -> None:
        global holding
        holding += 1
        try:
            await websocket.send("holding")
            while True:
                await websocket.receive()
        finally:
            holding -= 1
            with (markers / "released").open("a") as f:
                f.write("released\\n")


    async def asgi(scope, receive, send):
        """The app, except that /plain/ websockets get no websocket.http.response extension."""
        if scope["type"] == "websocket" and scope["path"].startswith("/plain/"):
            scope = {{**scope, "extensions": {{}}}}
        await app(scope, receive, send)
    '''
)


LAUNCHERS = launchers(f"{APP_MODULE}:asgi")


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP_MODULE, APP_SOURCE)


def running(name: str, app_dir: Path) -> Server:
    port = free_port()
    return start_server(LAUNCHERS[name](port), port=port, cwd=app_dir, env=app_env(app_dir))


@pytest.fixture
def hypercorn(app_dir: Path) -> cabc.Iterator[Server]:
    with running("hypercorn", app_dir) as server:
        yield server


@pytest.fixture(params=sorted(LAUNCHERS))
def server(request: pytest.FixtureRequest, app_dir: Path) -> cabc.Iterator[Server]:
    with running(request.param, app_dir) as server:
        yield server


def client(url: str, **kwargs: object) -> connect:
    return connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]


async def receive(ws: ClientConnection) -> str | bytes:
    async with asyncio.timeout(TIMEOUT):
        return await ws.recv()


async def closed_with(ws: ClientConnection) -> int | None:
    """Wait for the server to close ``ws``; the close code it sent."""
    with pytest.raises(ConnectionClosed) as info:
        await receive(ws)
    received = info.value.rcvd
    return received.code if received is not None else None


# -- every server -----------------------------------------------------------------------


async def test_echo(server: Server) -> None:
    async with client(f"{server.ws_url}/ws/echo") as ws:
        for message in ["hello", "ünïcødé", "x" * LIMIT, ""]:
            await ws.send(message)
            assert await receive(ws) == message
        await ws.send(b"\x00\x01binary")
        assert await receive(ws) == b"\x00\x01binary"


async def test_abort_403_before_accept(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with client(f"{server.ws_url}/ws/forbidden"):
            pass
    assert info.value.response.status_code == 403


async def test_rejection_without_the_extension_is_403(server: Server) -> None:
    # Without websocket.http.response the app can only close before accepting,
    # which every server answers with 403.
    with pytest.raises(InvalidStatus) as info:
        async with client(f"{server.ws_url}/plain/unauthorized"):
            pass
    assert info.value.response.status_code == 403


async def test_unknown_websocket_path(server: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with client(f"{server.ws_url}/ws/nowhere"):
            pass
    assert info.value.response.status_code == 404


# -- Hypercorn --------------------------------------------------------------------------


async def test_hypercorn_offers_the_http_response_extension(hypercorn: Server) -> None:
    async with client(f"{hypercorn.ws_url}/ws/extensions") as ws:
        assert "websocket.http.response" in json.loads(await receive(ws))


async def test_custom_rejection_response(hypercorn: Server) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with client(f"{hypercorn.ws_url}/ws/unauthorized"):
            pass
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert response.headers["X-Rejected"] == "yes"
    assert response.body == b"token required"


async def test_broadcast_to_many_clients(hypercorn: Server) -> None:
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(client(f"{hypercorn.ws_url}/ws/chat"))
            for _ in range(CLIENTS)
        ]
        # "joined" is sent once the connection is registered for broadcasts.
        for ws in sockets:
            assert await receive(ws) == "joined"
        for number, ws in enumerate(sockets):
            await ws.send(f"from {number}")
        for number, ws in enumerate(sockets):
            got = {await receive(ws) for _ in range(CLIENTS - 1)}
            assert got == {f"from {n}" for n in range(CLIENTS) if n != number}
        # Nothing more is on the way: the sender does not get its own message.
        await sockets[0].send("last")
        for ws in sockets[1:]:
            assert await receive(ws) == "last"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await sockets[0].recv()


async def test_oversized_message_closes_with_1009(hypercorn: Server) -> None:
    async with client(f"{hypercorn.ws_url}/ws/echo") as ws:
        await ws.send("x" * LIMIT)
        assert await receive(ws) == "x" * LIMIT
        await ws.send("x" * (LIMIT + 1))
        assert await closed_with(ws) == 1009
    # The server carries on.
    async with client(f"{hypercorn.ws_url}/ws/echo") as ws:
        await ws.send("still here")
        assert await receive(ws) == "still here"


async def test_subprotocol_negotiation(hypercorn: Server) -> None:
    async with client(f"{hypercorn.ws_url}/ws/protocol", subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol == "chat.v2"
        assert await receive(ws) == "accepted chat.v2"
    async with client(f"{hypercorn.ws_url}/ws/protocol", subprotocols=["chat.v1"]) as ws:
        assert ws.subprotocol == "chat.v1"
        assert await receive(ws) == "accepted chat.v1"
    async with client(f"{hypercorn.ws_url}/ws/protocol") as ws:
        assert ws.subprotocol is None
        assert await receive(ws) == "accepted None"


async def test_client_disconnect_stops_the_handler(hypercorn: Server, app_dir: Path) -> None:
    released = app_dir / "markers" / "released"
    async with client(f"{hypercorn.ws_url}/ws/hold") as ws:
        assert await receive(ws) == "holding"
    async with asyncio.timeout(TIMEOUT):
        while not released.exists():
            await asyncio.sleep(0.05)
    assert released.read_text() == "released\n"


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
async def test_sigterm_closes_open_websockets_and_runs_after_serving(
    name: str, app_dir: Path
) -> None:
    markers = app_dir / "markers"
    with running(name, app_dir) as server:
        async with (
            client(f"{server.ws_url}/ws/hold") as first,
            client(f"{server.ws_url}/ws/hold") as second,
        ):
            assert await receive(first) == "holding"
            assert await receive(second) == "holding"
            server.process.send_signal(signal.SIGTERM)
            codes = [await closed_with(first), await closed_with(second)]
        returncode = await asyncio.to_thread(server.process.wait, STOP_TIMEOUT)
    # Hypercorn cancels the handlers once its graceful timeout is over, and the
    # app then closes with 1001 (going away); uvicorn closes them itself with
    # 1012 (service restart) and then cancels them.
    assert codes == ([1001, 1001] if name == "hypercorn" else [1012, 1012]), server.output
    # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully.
    assert returncode in ({0} if name == "hypercorn" else {0, -signal.SIGTERM}), server.output
    # Every handler was released, and after_serving ran after that.
    assert (markers / "released").read_text() == "released\n" * 2
    assert (markers / "stopped").read_text() == "0", server.output
