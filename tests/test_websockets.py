"""Websockets, in-process: through the async test client and through raw ASGI calls.

The test client covers what a handler sees and what a client gets back; the raw
ASGI tests check what goes over the ASGI interface itself (the messages sent,
how many messages the app pulls from ``receive``), which is what a server sees.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import logging
import time
import typing as t

import pytest
from werkzeug.datastructures import Headers

import quartlike
from quartlike import Quart
from quartlike import abort
from quartlike import copy_current_websocket_context
from quartlike import has_request_context
from quartlike import has_websocket_context
from quartlike import session
from quartlike import websocket
from quartlike.globals import _cv_websocket
from quartlike.testing import QuartClient
from quartlike.testing import WebsocketDisconnect
from quartlike.testing import WebsocketResponseError

#: Bound for every wait in this module: a hung connection fails the test instead of CI.
TIMEOUT = 5.0

if t.TYPE_CHECKING:
    from quartlike.blueprints import Blueprint

Message = dict[str, t.Any]


@pytest.fixture(autouse=True)
def websocket_leak_detector(
    _test_task_contexts: list[contextvars.Context],
) -> cabc.Iterator[None]:
    """Like conftest's leak detector, for the websocket context variable."""
    yield
    contexts = (contextvars.copy_context(), *_test_task_contexts)
    leaked = [ctx.get(_cv_websocket) for ctx in contexts if ctx.get(_cv_websocket) is not None]
    if leaked:
        pytest.fail(f"The test left websocket contexts pushed: {leaked!r}", pytrace=False)


# -- raw ASGI ------------------------------------------------------------------------------


def websocket_scope(
    path: str = "/ws",
    *,
    http_response_extension: bool = True,
    subprotocols: cabc.Sequence[str] = (),
) -> dict[str, t.Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
        "subprotocols": list(subprotocols),
        "extensions": {"websocket.http.response": {}} if http_response_extension else {},
    }


class RawClient:
    """Calls the app's ASGI interface as a server would, recording the traffic.

    ``incoming`` is what the "client" sends (the handshake ``websocket.connect``
    is queued already); ``sent`` is every message the app sent; ``pulled`` counts
    the calls of ``receive`` that returned a message.
    """

    def __init__(self, app: Quart, scope: dict[str, t.Any]) -> None:
        self.app = app
        self.scope = scope
        self.incoming: asyncio.Queue[Message] = asyncio.Queue()
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.sent: list[Message] = []
        self.pulled = 0
        self._changed = asyncio.Event()

    async def receive(self) -> Message:
        message = await self.incoming.get()
        self.pulled += 1
        return message

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        self._changed.set()

    async def run(self) -> None:
        await self.app(self.scope, self.receive, self.send)  # type: ignore[arg-type]

    async def wait_sent(self, kind: str) -> Message:
        """The first sent message of type ``kind``, waiting for it if needed."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for message in self.sent:
                    if message["type"] == kind:
                        return message
                self._changed.clear()
                await self._changed.wait()


async def settle(pulled: cabc.Callable[[], int]) -> int:
    """Let the loop run until ``pulled()`` stops changing; return its value."""
    last = -1
    async with asyncio.timeout(TIMEOUT):
        while pulled() != last:
            last = pulled()
            for _ in range(50):
                await asyncio.sleep(0)
            await asyncio.sleep(0.02)
    return last


# -- messaging ------------------------------------------------------------------------------


async def test_echo_text_and_bytes(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send("hello")
        assert await ws.receive() == "hello"
        await ws.send(b"\x00\xffbinary")
        assert await ws.receive() == b"\x00\xffbinary"
        await ws.send("")
        assert await ws.receive() == ""
        await ws.send("ünïcødé ✓")
        assert await ws.receive() == "ünïcødé ✓"


async def test_text_and_binary_frames_keep_their_type(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def kinds() -> None:
        while True:
            data = await websocket.receive()
            await websocket.send(type(data).__name__)

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send("abc")
        assert await ws.receive() == "str"
        await ws.send(b"abc")
        assert await ws.receive() == "bytes"
        await ws.send(b"")
        assert await ws.receive() == "bytes"


async def test_bytes_reply_is_a_binary_frame(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def binary() -> None:
        await websocket.send(b"raw")
        await websocket.send(bytearray(b"array"))  # type: ignore[arg-type]
        await websocket.send(memoryview(b"view"))  # type: ignore[arg-type]
        await websocket.receive()

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == b"raw"
        assert await ws.receive() == b"array"
        assert await ws.receive() == b"view"


async def test_sending_something_else_is_a_type_error(app: Quart, client: QuartClient) -> None:
    seen: list[BaseException] = []

    @app.websocket("/ws")
    async def wrong() -> None:
        try:
            await websocket.send(42)  # type: ignore[arg-type]
        except TypeError as e:
            seen.append(e)
        await websocket.send("still open")
        await websocket.receive()

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "still open"
    assert len(seen) == 1
    assert "int" in str(seen[0])


async def test_receive_json_and_send_json(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def doubler() -> None:
        data = await websocket.receive_json()
        await websocket.send_json({"doubled": [n * 2 for n in data["numbers"]]})
        await websocket.send_json(1, "two", None)
        await websocket.send_json(name="keyword", ok=True)
        await websocket.send_json([])

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send_json({"numbers": [1, 2, 3]})
        assert await ws.receive_json() == {"doubled": [2, 4, 6]}
        assert await ws.receive_json() == [1, "two", None]
        assert await ws.receive_json() == {"name": "keyword", "ok": True}
        assert await ws.receive() == "[]"  # a JSON text frame


async def test_send_json_uses_the_app_json_provider(app: Quart, client: QuartClient) -> None:
    app.json.sort_keys = True  # type: ignore[attr-defined]

    @app.websocket("/ws")
    async def ordered() -> None:
        await websocket.send_json({"b": 1, "a": 2})

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        text = await ws.receive()
    assert isinstance(text, str)
    assert text.index('"a"') < text.index('"b"')


async def test_receive_json_of_invalid_json_raises(app: Quart, client: QuartClient) -> None:
    errors: list[BaseException] = []

    @app.websocket("/ws")
    async def strict() -> None:
        try:
            await websocket.receive_json()
        except ValueError as e:
            errors.append(e)
        await websocket.send("done")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send("{not json")
        assert await ws.receive() == "done"
    assert len(errors) == 1


async def test_handshake_request_data(app: Quart, client: QuartClient) -> None:
    @app.websocket("/room/<int:number>")
    async def info(number: int) -> None:
        await websocket.send_json(
            {
                "number": number,
                "path": websocket.path,
                "args": websocket.args.to_dict(flat=False),
                "header": websocket.headers.get("X-Client"),
                "cookie": websocket.cookies.get("flavour"),
                "endpoint": websocket.endpoint,
                "method": websocket.method,
                "scheme": websocket.scheme,
                "url": websocket.url,
            }
        )

    client.set_cookie("flavour", "oatmeal")
    async with (
        asyncio.timeout(TIMEOUT),
        client.websocket("/room/7?tag=a&tag=b&q=%C3%A9", headers={"X-Client": "tests"}) as ws,
    ):
        data = await ws.receive_json()
    assert data == {
        "number": 7,
        "path": "/room/7",
        "args": {"tag": ["a", "b"], "q": ["é"]},
        "header": "tests",
        "cookie": "oatmeal",
        "endpoint": "info",
        "method": "GET",
        "scheme": "ws",
        "url": "ws://localhost/room/7?tag=a&tag=b&q=é",  # an IRI, as request.url is
    }


async def test_query_string_argument(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def args() -> None:
        await websocket.send(websocket.args.get("token", "none"))

    async with (
        asyncio.timeout(TIMEOUT),
        client.websocket("/ws", query_string={"token": "s3cret"}) as ws,
    ):
        assert await ws.receive() == "s3cret"


# -- accepting, subprotocols, closing --------------------------------------------------------


async def test_explicit_accept_with_headers_and_subprotocol(
    app: Quart, client: QuartClient
) -> None:
    supported = ["chat.v2", "chat.v1"]

    @app.websocket("/ws")
    async def negotiate() -> None:
        offered = websocket.requested_subprotocols
        chosen = next((p for p in supported if p in offered), None)
        await websocket.accept(headers=Headers({"X-Served-By": "quartlike"}), subprotocol=chosen)
        await websocket.send(f"offered {offered}, accepted {chosen}")

    async with (
        asyncio.timeout(TIMEOUT),
        client.websocket("/ws", subprotocols=["chat.v1", "chat.v2", "other"]) as ws,
    ):
        assert ws.subprotocol == "chat.v2"
        assert ws.accept_headers["X-Served-By"] == "quartlike"
        assert await ws.receive() == "offered ['chat.v1', 'chat.v2', 'other'], accepted chat.v2"

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws", subprotocols=["chat.v1"]) as ws:
        assert ws.subprotocol == "chat.v1"

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws", subprotocols=["x"]) as ws:
        assert ws.subprotocol is None
        assert await ws.receive() == "offered ['x'], accepted None"


async def test_a_subprotocol_the_client_did_not_offer_is_a_value_error(
    app: Quart, client: QuartClient
) -> None:
    errors: list[ValueError] = []

    @app.websocket("/ws")
    async def bad_choice() -> None:
        try:
            await websocket.accept(subprotocol="not-offered")
        except ValueError as e:
            errors.append(e)
        assert not websocket.accepted
        await websocket.accept(subprotocol="offered")
        await websocket.send("accepted")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws", subprotocols=["offered"]) as ws:
        assert ws.subprotocol == "offered"
        assert await ws.receive() == "accepted"
    assert len(errors) == 1
    assert "not-offered" in str(errors[0])


async def test_unoffered_subprotocol_error_propagates_in_testing(
    app: Quart, client: QuartClient
) -> None:
    @app.websocket("/ws")
    async def bad_choice() -> None:
        await websocket.accept(subprotocol="never")

    with pytest.raises(ValueError, match="never"):
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws", subprotocols=["a"]):
            pass


@pytest.mark.parametrize("first", ["send", "receive"])
async def test_implicit_accept(app: Quart, client: QuartClient, first: str) -> None:
    states: list[bool] = []

    @app.websocket("/ws")
    async def implicit() -> None:
        states.append(websocket.accepted)
        if first == "send":
            await websocket.send("hi")
        else:
            await websocket.send(await websocket.receive())
        states.append(websocket.accepted)

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws", subprotocols=["p"]) as ws:
        assert ws.subprotocol is None  # an implicit accept picks no subprotocol
        assert len(ws.accept_headers) == 0
        if first == "receive":
            await ws.send("hi")
        assert await ws.receive() == "hi"
    assert states == [False, True]


async def test_accept_twice_is_harmless(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def twice() -> None:
        await websocket.accept()
        await websocket.accept(headers=Headers({"X-Ignored": "1"}))
        await websocket.send("once")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert "X-Ignored" not in ws.accept_headers
        assert await ws.receive() == "once"


async def test_close_with_code_and_reason(app: Quart, client: QuartClient) -> None:
    after_close: list[bool] = []

    @app.websocket("/ws")
    async def closing() -> None:
        await websocket.send("bye soon")
        await websocket.close(4001, "custom reason")
        after_close.append(websocket.closed)

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "bye soon"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
        assert info.value.code == 4001
        assert info.value.reason == "custom reason"
        # Every later receive says the same.
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()
    assert after_close == [True]


async def test_returning_from_the_handler_closes_normally(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def short() -> None:
        await websocket.send("only message")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "only message"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1000


async def test_sending_after_close_raises(app: Quart, client: QuartClient) -> None:
    errors: list[BaseException] = []

    @app.websocket("/ws")
    async def closed_send() -> None:
        await websocket.accept()
        await websocket.close(1000)
        try:
            await websocket.send("too late")
        except ConnectionError as e:
            errors.append(e)

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()
    assert len(errors) == 1


async def test_returning_without_accepting_rejects_the_handshake(
    app: Quart, client: QuartClient
) -> None:
    @app.websocket("/ws")
    async def silent() -> None:
        return None

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 403


async def test_close_before_accept_rejects_the_handshake(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def refuse() -> None:
        await websocket.close(1000)

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 403


# -- hooks --------------------------------------------------------------------------------


async def test_before_websocket_response_rejects_the_handshake(
    app: Quart, client: QuartClient
) -> None:
    ran: list[str] = []

    @app.before_websocket
    async def check_token() -> tuple[str, int, dict[str, str]] | None:
        if websocket.args.get("token") != "good":
            return "Token required", 401, {"WWW-Authenticate": "Token"}
        return None

    @app.websocket("/ws")
    async def guarded() -> None:
        ran.append("handler")
        await websocket.send("welcome")

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    response = info.value.response
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert await response.get_data(as_text=True) == "Token required"
    assert ran == []

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws?token=good") as ws:
        assert await ws.receive() == "welcome"
    assert ran == ["handler"]


async def test_before_websocket_does_not_run_for_requests(app: Quart, client: QuartClient) -> None:
    calls: list[str] = []

    @app.before_websocket
    def before_ws() -> None:  # a sync hook runs too
        calls.append(f"ws:{has_websocket_context()}")

    @app.before_request
    def before_http() -> None:
        calls.append("http")

    @app.websocket("/ws")
    async def ws_view() -> None:
        await websocket.send("x")

    @app.route("/")
    async def index() -> str:
        return "x"

    await client.get("/")
    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.receive()
    assert calls == ["http", "ws:True"]


async def test_after_websocket_gets_none_after_a_normal_handler(
    app: Quart, client: QuartClient
) -> None:
    seen: list[object] = []

    @app.after_websocket
    async def after(response: object) -> object:
        seen.append(response)
        return response

    @app.websocket("/ws")
    async def normal() -> None:
        await websocket.send("hi")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "hi"
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()
    assert seen == [None]


async def test_after_websocket_gets_and_can_change_the_rejection(
    app: Quart, client: QuartClient
) -> None:
    seen: list[int] = []

    @app.after_websocket
    def after(response: quartlike.Response | None) -> quartlike.Response | None:
        assert response is not None
        seen.append(response.status_code)
        response.headers["X-After"] = "yes"
        return response

    @app.websocket("/ws")
    async def reject() -> tuple[str, int]:
        return "go away", 418

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert seen == [418]
    assert info.value.response.status_code == 418
    assert info.value.response.headers["X-After"] == "yes"
    assert await info.value.response.get_data(as_text=True) == "go away"


async def test_a_response_returned_after_accept_is_ignored(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def late() -> tuple[str, int]:
        await websocket.send("accepted already")
        return "ignored", 500

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "accepted already"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1000


async def test_teardown_websocket_runs_once_with_the_exception(
    app: Quart, client: QuartClient
) -> None:
    teardowns: list[BaseException | None] = []
    request_teardowns: list[BaseException | None] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        request_teardowns.append(exc)

    @app.websocket("/ok")
    async def ok() -> None:
        await websocket.send("ok")

    @app.websocket("/fail")
    async def fail() -> None:
        await websocket.send("about to fail")
        raise KeyError("handler failed")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ok") as ws:
        await ws.receive()
    assert teardowns == [None]

    teardowns.clear()
    with pytest.raises(KeyError, match="handler failed"):
        async with asyncio.timeout(TIMEOUT), client.websocket("/fail") as ws:
            assert await ws.receive() == "about to fail"
            await ws.receive()
    assert len(teardowns) == 1
    assert isinstance(teardowns[0], KeyError)
    assert request_teardowns == []


async def test_hooks_see_the_websocket_context(app: Quart, client: QuartClient) -> None:
    seen: list[tuple[str, str]] = []

    @app.before_websocket
    async def before() -> None:
        seen.append(("before", websocket.path))

    @app.after_websocket
    async def after(response: None) -> None:
        seen.append(("after", websocket.path))

    @app.teardown_websocket
    async def teardown(exc: BaseException | None) -> None:
        seen.append(("teardown", websocket.path))

    @app.websocket("/here")
    async def here() -> None:
        seen.append(("handler", websocket.path))
        await websocket.accept()

    async with asyncio.timeout(TIMEOUT), client.websocket("/here") as ws:
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()
    assert seen == [
        ("before", "/here"),
        ("handler", "/here"),
        ("after", "/here"),
        ("teardown", "/here"),
    ]


# -- blueprints ---------------------------------------------------------------------------


def blueprint_class() -> type[Blueprint]:
    blueprint_cls: type[Blueprint] | None = getattr(quartlike, "Blueprint", None)
    if blueprint_cls is None:
        pytest.skip("quartlike.Blueprint does not exist yet (blueprints are being added)")
    return blueprint_cls


async def test_websocket_routes_on_a_blueprint(app: Quart, client: QuartClient) -> None:
    blueprint_cls = blueprint_class()
    calls: list[str] = []
    bp = blueprint_cls("live", __name__)

    @bp.before_websocket
    async def bp_before() -> tuple[str, int] | None:
        calls.append("bp before")
        if websocket.args.get("deny"):
            return "denied by blueprint", 403
        return None

    @bp.after_websocket
    async def bp_after(response: object) -> object:
        calls.append("bp after")
        return response

    @bp.teardown_websocket
    async def bp_teardown(exc: BaseException | None) -> None:
        calls.append("bp teardown")

    @bp.websocket("/feed/<name>")
    async def feed(name: str) -> None:
        await websocket.send(f"{websocket.endpoint} {websocket.blueprint} {name}")

    @app.before_websocket
    async def app_before() -> None:
        calls.append("app before")

    @app.websocket("/plain")
    async def plain() -> None:
        await websocket.send("plain")

    app.register_blueprint(bp, url_prefix="/live")

    async with asyncio.timeout(TIMEOUT), client.websocket("/live/feed/news") as ws:
        assert await ws.receive() == "live.feed live news"
        with pytest.raises(WebsocketDisconnect):
            await ws.receive()  # the handler returned
    assert calls == ["app before", "bp before", "bp after", "bp teardown"]

    calls.clear()
    async with asyncio.timeout(TIMEOUT), client.websocket("/plain") as ws:
        assert await ws.receive() == "plain"
    assert calls == ["app before"]  # the blueprint's hooks are for its own routes

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/live/feed/x?deny=1"):
            pass
    assert info.value.response.status_code == 403
    assert await info.value.response.get_data(as_text=True) == "denied by blueprint"


async def test_blueprint_error_handler_for_its_websocket(app: Quart, client: QuartClient) -> None:
    blueprint_cls = blueprint_class()
    bp = blueprint_cls("guarded", __name__)

    @bp.errorhandler(PermissionError)
    async def bp_denied(e: PermissionError) -> tuple[str, int]:
        return "blueprint handler", 401

    @app.errorhandler(PermissionError)
    async def app_denied(e: PermissionError) -> tuple[str, int]:
        return "app handler", 403

    @bp.websocket("/ws")
    async def bp_ws() -> None:
        raise PermissionError

    @app.websocket("/ws")
    async def app_ws() -> None:
        raise PermissionError

    app.register_blueprint(bp, url_prefix="/bp")

    for path, status, body in [("/bp/ws", 401, "blueprint handler"), ("/ws", 403, "app handler")]:
        with pytest.raises(WebsocketResponseError) as info:
            async with asyncio.timeout(TIMEOUT), client.websocket(path):
                pass
        assert info.value.response.status_code == status
        assert await info.value.response.get_data(as_text=True) == body


# -- errors -------------------------------------------------------------------------------


async def test_error_handler_response_rejects_the_handshake(
    app: Quart, client: QuartClient
) -> None:
    handled: list[BaseException] = []

    @app.errorhandler(PermissionError)
    async def denied(e: PermissionError) -> tuple[dict[str, str], int]:
        handled.append(e)
        return {"error": str(e)}, 401

    @app.before_websocket
    async def check() -> None:
        if "user" not in websocket.args:
            raise PermissionError("log in first")

    @app.websocket("/ws")
    async def private() -> None:
        await websocket.send("private")

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 401
    assert await info.value.response.get_json() == {"error": "log in first"}
    assert len(handled) == 1

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws?user=ada") as ws:
        assert await ws.receive() == "private"


async def test_error_handler_for_http_code_rejects_the_handshake(
    app: Quart, client: QuartClient
) -> None:
    @app.errorhandler(404)
    async def not_found(e: Exception) -> tuple[str, int]:
        return "no such socket", 404

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/missing"):
            pass
    assert info.value.response.status_code == 404
    assert await info.value.response.get_data(as_text=True) == "no such socket"


async def test_error_handled_after_accept_closes_normally(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(LookupError)
    async def lookup(e: LookupError) -> tuple[str, int]:
        return "handled", 404

    @app.websocket("/ws")
    async def failing() -> None:
        await websocket.send("accepted")
        raise LookupError("gone")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "accepted"
        with pytest.raises(WebsocketDisconnect) as info:
            await ws.receive()
    assert info.value.code == 1000


async def test_abort_before_accept_is_an_http_rejection(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def forbidden() -> None:
        abort(403)

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 403
    assert "Forbidden" in await info.value.response.get_data(as_text=True)


async def test_abort_in_before_websocket(app: Quart, client: QuartClient) -> None:
    @app.before_websocket
    async def gate() -> None:
        abort(429)

    @app.websocket("/ws")
    async def never() -> None:
        raise AssertionError("the handler must not run")

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 429


async def test_rejection_without_the_http_response_extension_closes(app: Quart) -> None:
    @app.websocket("/ws")
    async def forbidden() -> None:
        abort(401)

    raw = RawClient(app, websocket_scope(http_response_extension=False))
    async with asyncio.timeout(TIMEOUT):
        await raw.run()
    assert [m["type"] for m in raw.sent] == ["websocket.close"]


async def test_rejection_with_the_http_response_extension_sends_the_response(
    app: Quart,
) -> None:
    @app.websocket("/ws")
    async def forbidden() -> tuple[str, int, dict[str, str]]:
        return "nope", 401, {"X-Reason": "test"}

    raw = RawClient(app, websocket_scope())
    async with asyncio.timeout(TIMEOUT):
        await raw.run()
    assert [m["type"] for m in raw.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    start, body = raw.sent
    assert start["status"] == 401
    assert (b"x-reason", b"test") in [(k.lower(), v) for k, v in start["headers"]]
    assert body["body"] == b"nope"
    assert not body.get("more_body", False)


async def test_client_leaving_before_the_handshake(app: Quart) -> None:
    ran: list[str] = []

    @app.websocket("/ws")
    async def never() -> None:
        ran.append("handler")

    raw = RawClient(app, websocket_scope())
    raw.incoming = asyncio.Queue()
    raw.incoming.put_nowait({"type": "websocket.disconnect", "code": 1001})
    async with asyncio.timeout(TIMEOUT):
        await raw.run()
    assert raw.sent == []
    assert ran == []


async def test_unhandled_error_after_accept_closes_with_1011(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    teardowns: list[BaseException | None] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.websocket("/ws")
    async def broken() -> None:
        await websocket.send("hello")
        raise RuntimeError("boom after accept")

    with caplog.at_level(logging.ERROR):
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
            assert await ws.receive() == "hello"
            with pytest.raises(WebsocketDisconnect) as info:
                await ws.receive()
    assert info.value.code == 1011
    assert "boom after accept" in caplog.text
    assert len(teardowns) == 1
    assert isinstance(teardowns[0], RuntimeError)


async def test_unhandled_error_before_accept_is_a_500_rejection(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.websocket("/ws")
    async def broken() -> None:
        raise RuntimeError("boom before accept")

    with caplog.at_level(logging.ERROR), pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws"):
            pass
    assert info.value.response.status_code == 500
    assert "boom before accept" in caplog.text


async def test_unhandled_error_after_accept_raw_asgi(app: Quart) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    logging.getLogger(app.name).disabled = True

    @app.websocket("/ws")
    async def broken() -> None:
        await websocket.accept()
        raise RuntimeError("boom")

    raw = RawClient(app, websocket_scope())
    try:
        async with asyncio.timeout(TIMEOUT):
            await raw.run()
    finally:
        logging.getLogger(app.name).disabled = False
    assert [m["type"] for m in raw.sent] == ["websocket.accept", "websocket.close"]
    assert raw.sent[1]["code"] == 1011


async def test_unhandled_error_after_accept_propagates_in_testing(
    app: Quart, client: QuartClient
) -> None:
    assert app.testing

    @app.websocket("/ws")
    async def broken() -> None:
        await websocket.send("hello")
        raise RuntimeError("propagated")

    with pytest.raises(RuntimeError, match="propagated"):
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
            assert await ws.receive() == "hello"
            await ws.receive()


async def test_unhandled_error_propagates_raw_and_closes_1011(app: Quart) -> None:
    @app.websocket("/ws")
    async def broken() -> None:
        await websocket.accept()
        raise RuntimeError("propagated raw")

    raw = RawClient(app, websocket_scope())
    with pytest.raises(RuntimeError, match="propagated raw"):
        async with asyncio.timeout(TIMEOUT):
            await raw.run()
    assert [m["type"] for m in raw.sent] == ["websocket.accept", "websocket.close"]
    assert raw.sent[1]["code"] == 1011


# -- routing ------------------------------------------------------------------------------


async def test_http_request_to_a_websocket_rule(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws")
    async def ws_only() -> None:
        await websocket.send("x")

    # werkzeug matches the rule but refuses the mismatch: 400 Bad Request.
    response = await client.get("/ws")
    assert response.status_code == 400
    # Any other method is not allowed by the websocket rule (which is GET only).
    response = await client.post("/ws")
    assert response.status_code == 405


async def test_websocket_to_an_http_rule_is_rejected(app: Quart, client: QuartClient) -> None:
    @app.route("/page")
    async def page() -> str:
        return "a page"

    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/page"):
            pass
    assert info.value.response.status_code == 400
    assert (await client.get("/page")).status_code == 200


async def test_websocket_to_an_unknown_path_is_404(app: Quart, client: QuartClient) -> None:
    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket("/nowhere"):
            pass
    assert info.value.response.status_code == 404


async def test_http_and_websocket_share_a_path(app: Quart, client: QuartClient) -> None:
    @app.route("/live")
    async def live_page() -> str:
        return "the page"

    @app.websocket("/live")
    async def live_socket() -> None:
        await websocket.send("the socket")

    assert await (await client.get("/live")).get_data(as_text=True) == "the page"
    async with asyncio.timeout(TIMEOUT), client.websocket("/live") as ws:
        assert await ws.receive() == "the socket"


async def test_add_websocket_and_url_for(app: Quart, client: QuartClient) -> None:
    @app.route("/page")
    async def page() -> str:
        return ""

    async def handler() -> None:
        await websocket.send(
            " ".join(
                [
                    quartlike.url_for("stream", _external=True),
                    quartlike.url_for("page"),
                    quartlike.url_for("page", _external=True),
                    quartlike.url_for("stream", room="r1"),
                ]
            )
        )

    app.add_websocket("/stream", "stream", handler)

    async with asyncio.timeout(TIMEOUT), client.websocket("/stream") as ws:
        # werkzeug builds websocket rules as absolute ws:// URLs, like Quart does.
        assert await ws.receive() == (
            "ws://localhost/stream /page http://localhost/page ws://localhost/stream?room=r1"
        )


# -- sessions and contexts ----------------------------------------------------------------


async def test_session_set_over_http_is_read_in_a_websocket(
    app: Quart, client: QuartClient
) -> None:
    app.secret_key = "websocket tests"

    @app.route("/login/<name>")
    async def login(name: str) -> str:
        session["user"] = name
        return "logged in"

    @app.websocket("/ws")
    async def whoami() -> None:
        await websocket.send(session.get("user", "anonymous"))

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "anonymous"

    response = await client.get("/login/ada")
    assert response.status_code == 200
    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "ada"


async def test_has_websocket_context(app: Quart, client: QuartClient) -> None:
    seen: dict[str, tuple[bool, bool]] = {}

    @app.route("/")
    async def index() -> str:
        seen["http"] = (has_websocket_context(), has_request_context())
        return ""

    @app.websocket("/ws")
    async def ws_view() -> None:
        seen["ws"] = (has_websocket_context(), has_request_context())
        await websocket.send("ok")

    assert not has_websocket_context()
    await client.get("/")
    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.receive()
    assert seen == {"http": (False, True), "ws": (True, False)}
    assert not has_websocket_context()
    with pytest.raises(RuntimeError):
        websocket.path  # noqa: B018 - outside a websocket context


async def test_copy_current_websocket_context_sends_from_elsewhere(
    app: Quart, client: QuartClient
) -> None:
    # A worker started outside any websocket: jobs it runs see no websocket
    # context of their own, which is what copy_current_websocket_context is for.
    jobs: asyncio.Queue[cabc.Callable[[], cabc.Awaitable[None]]] = asyncio.Queue()
    errors: list[BaseException] = []

    async def worker() -> None:
        while True:
            job = await jobs.get()
            try:
                await job()
            except Exception as e:
                errors.append(e)

    worker_task = asyncio.create_task(worker())

    @app.websocket("/ws")
    async def ws_view() -> None:
        done = asyncio.Event()

        async def report() -> None:
            try:
                await websocket.send(f"from the worker: {websocket.path} {has_websocket_context()}")
            finally:
                done.set()

        await websocket.accept()
        await jobs.put(report)  # without the copy: no websocket there
        await done.wait()
        done.clear()
        await jobs.put(copy_current_websocket_context(report))
        await done.wait()
        await websocket.receive()

    try:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
            assert await ws.receive() == "from the worker: /ws True"
    finally:
        worker_task.cancel()
    assert len(errors) == 1
    assert isinstance(errors[0], RuntimeError)


async def test_copy_current_websocket_context_in_a_task_runs_no_teardown(
    app: Quart, client: QuartClient
) -> None:
    teardowns: list[BaseException | None] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.websocket("/ws")
    async def ws_view() -> None:
        @copy_current_websocket_context
        async def background(n: int) -> None:
            await websocket.send(f"background {n}")

        await asyncio.gather(*(asyncio.create_task(background(n)) for n in range(3)))
        await websocket.send("handler done")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        received = {await ws.receive() for _ in range(4)}
    assert received == {"background 0", "background 1", "background 2", "handler done"}
    assert teardowns == [None]


async def test_copy_current_websocket_context_needs_a_websocket() -> None:
    async def job() -> None:
        pass

    with pytest.raises(RuntimeError):
        copy_current_websocket_context(job)


async def test_copy_current_websocket_context_wraps_async_functions_only(
    app: Quart, client: QuartClient
) -> None:
    errors: list[BaseException] = []

    @app.websocket("/ws")
    async def ws_view() -> None:
        try:
            copy_current_websocket_context(lambda: None)
        except TypeError as e:
            errors.append(e)
        await websocket.send("checked")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "checked"
    assert len(errors) == 1


async def test_g_is_per_connection(app: Quart, client: QuartClient) -> None:
    @app.before_websocket
    async def set_user() -> None:
        quartlike.g.name = websocket.args["name"]

    @app.websocket("/ws")
    async def ws_view() -> None:
        await websocket.receive()
        await websocket.send(quartlike.g.name)

    async with (
        asyncio.timeout(TIMEOUT),
        client.websocket("/ws?name=one") as one,
        client.websocket("/ws?name=two") as two,
    ):
        await two.send("go")
        await one.send("go")
        assert await one.receive() == "one"
        assert await two.receive() == "two"


# -- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "too_big"),
    [
        ("x" * 10, False),
        ("x" * 11, True),
        (b"x" * 10, False),
        (b"x" * 11, True),
        ("é" * 5, False),  # 10 bytes in UTF-8
        ("é" * 6, True),  # 6 characters, but 12 bytes
    ],
)
async def test_oversized_message_closes_with_1009(
    app: Quart, client: QuartClient, message: str | bytes, too_big: bool
) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = 10
    received: list[str | bytes] = []
    stopped: list[str] = []

    @app.websocket("/ws")
    async def collect() -> None:
        try:
            while True:
                data = await websocket.receive()
                received.append(data)
                await websocket.send("ok")
        finally:
            stopped.append("finally")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send("small")
        assert await ws.receive() == "ok"
        await ws.send(message)
        if too_big:
            with pytest.raises(WebsocketDisconnect) as info:
                await ws.receive()
            assert info.value.code == 1009
            await ws.close()  # returns once the handler has stopped
            assert stopped == ["finally"]
        else:
            assert await ws.receive() == "ok"
    assert received == (["small"] if too_big else ["small", message])
    assert stopped == ["finally"]


async def test_no_message_size_limit(app: Quart, client: QuartClient) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = None

    @app.websocket("/ws")
    async def size() -> None:
        await websocket.send(str(len(await websocket.receive())))

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        await ws.send(b"x" * (4 * 1024 * 1024))
        assert await ws.receive() == str(4 * 1024 * 1024)


async def test_oversized_message_raw_asgi(app: Quart) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = 100
    teardowns: list[BaseException | None] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.websocket("/ws")
    async def reader() -> None:
        while True:
            await websocket.receive()

    raw = RawClient(app, websocket_scope())
    raw.incoming.put_nowait({"type": "websocket.receive", "bytes": b"x" * 101})
    async with asyncio.timeout(TIMEOUT):
        await raw.run()  # the app returns by itself: the handler was stopped
    assert [m["type"] for m in raw.sent] == ["websocket.accept", "websocket.close"]
    assert raw.sent[1]["code"] == 1009
    assert teardowns == [None]


@pytest.mark.parametrize("queue_size", [16, 3])
async def test_receive_queue_is_bounded(app: Quart, queue_size: int) -> None:
    """A handler that does not read makes the app stop pulling from ``receive``."""
    app.config["WEBSOCKET_RECEIVE_QUEUE_SIZE"] = queue_size
    total = 10_000
    release = asyncio.Event()
    got: list[str | bytes] = []

    @app.websocket("/ws")
    async def lazy() -> None:
        await websocket.accept()
        await release.wait()
        for _ in range(total):
            got.append(await websocket.receive())

    raw = RawClient(app, websocket_scope())
    for n in range(total):
        raw.incoming.put_nowait({"type": "websocket.receive", "text": str(n)})
    task = asyncio.create_task(raw.run())
    try:
        pulled = await settle(lambda: raw.pulled)
        # The handshake, a full queue, and the one message waiting for room.
        assert pulled == 1 + queue_size + 1
        assert raw.incoming.qsize() == total - queue_size - 1

        release.set()
        async with asyncio.timeout(TIMEOUT):
            await task
    finally:
        task.cancel()
    assert got == [str(n) for n in range(total)]  # nothing lost, in order
    assert raw.sent[-1] == {"type": "websocket.close", "code": 1000, "reason": ""}


async def test_bounded_queue_through_the_test_client(app: Quart, client: QuartClient) -> None:
    app.config["WEBSOCKET_RECEIVE_QUEUE_SIZE"] = 4

    @app.websocket("/ws")
    async def slow() -> None:
        await websocket.send("ready")
        while True:
            data = await websocket.receive()
            await asyncio.sleep(0)
            await websocket.send(data)

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "ready"
        for n in range(200):
            await ws.send(str(n))
        assert [await ws.receive() for _ in range(200)] == [str(n) for n in range(200)]


# -- disconnects --------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["ticking", "waiting", "receiving"])
async def test_client_disconnect_cancels_the_handler(
    app: Quart, client: QuartClient, style: str
) -> None:
    events: list[str] = []
    teardowns: list[BaseException | None] = []
    after: list[object] = []

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.after_websocket
    def after_ws(response: object) -> object:
        after.append(response)
        return response

    @app.websocket("/ws")
    async def sender() -> None:
        await websocket.send("started")
        try:
            if style == "ticking":
                while True:
                    await websocket.send("tick")
                    await asyncio.sleep(0.01)
            elif style == "waiting":
                await asyncio.Event().wait()
            else:
                while True:
                    await websocket.receive()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        finally:
            events.append("finally")

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "started"
        await asyncio.sleep(0.05)
        started = time.monotonic()
        async with asyncio.timeout(1):
            await ws.close(1001)
        assert time.monotonic() - started < 1
    assert events == ["cancelled", "finally"]
    assert teardowns == [None]
    assert after == []  # the handler did not finish, so there is no result to see


async def test_disconnect_raw_asgi_no_close_is_sent(app: Quart) -> None:
    teardowns: list[BaseException | None] = []
    handler_finally = asyncio.Event()

    @app.teardown_websocket
    def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    @app.websocket("/ws")
    async def sender() -> None:
        try:
            while True:
                await websocket.send("tick")
                await asyncio.sleep(0.01)
        finally:
            handler_finally.set()

    raw = RawClient(app, websocket_scope())
    task = asyncio.create_task(raw.run())
    try:
        await raw.wait_sent("websocket.send")
        raw.incoming.put_nowait({"type": "websocket.disconnect", "code": 1006})
        async with asyncio.timeout(1):
            await task
    finally:
        task.cancel()
    assert handler_finally.is_set()
    assert teardowns == [None]
    # After the client is gone nothing more is sent, not even a close.
    assert "websocket.close" not in [m["type"] for m in raw.sent]


async def test_two_connections_are_independent(app: Quart, client: QuartClient) -> None:
    @app.websocket("/ws/<name>")
    async def named(name: str) -> None:
        while True:
            await websocket.send(f"{name}: {await websocket.receive()!s}")

    async with (
        asyncio.timeout(TIMEOUT),
        client.websocket("/ws/a") as a,
        client.websocket("/ws/b") as b,
    ):
        await a.send("1")
        await b.send("2")
        assert await b.receive() == "b: 2"
        assert await a.receive() == "a: 1"
        await a.close()
        await b.send("3")
        assert await b.receive() == "b: 3"


async def test_cancelling_the_server_task_is_not_swallowed(app: Quart) -> None:
    # A server cancelling the app (its own shutdown) must see the cancellation.
    started = asyncio.Event()

    @app.websocket("/ws")
    async def forever() -> None:
        await websocket.accept()
        started.set()
        await asyncio.Event().wait()

    raw = RawClient(app, websocket_scope())
    task = asyncio.create_task(raw.run())
    async with asyncio.timeout(TIMEOUT):
        await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(TIMEOUT):
            await task
    # The client is told the server is going away (rather than left hanging).
    assert raw.sent[-1] == {"type": "websocket.close", "code": 1001, "reason": ""}


async def test_disconnect_behind_a_full_queue_is_seen_once_the_handler_reads(
    app: Quart,
) -> None:
    # While the queue is full the app reads nothing more, so it cannot see the
    # client leave; as soon as the handler reads again it does, and the handler
    # is stopped instead of being left waiting for a client that is gone.
    app.config["WEBSOCKET_RECEIVE_QUEUE_SIZE"] = 2
    release = asyncio.Event()
    got: list[str | bytes] = []
    events: list[str] = []

    @app.websocket("/ws")
    async def lazy() -> None:
        await websocket.accept()
        await release.wait()
        try:
            while True:
                got.append(await websocket.receive())
        finally:
            events.append("finally")

    raw = RawClient(app, websocket_scope())
    for n in range(10):
        raw.incoming.put_nowait({"type": "websocket.receive", "text": str(n)})
    raw.incoming.put_nowait({"type": "websocket.disconnect", "code": 1001})
    task = asyncio.create_task(raw.run())
    try:
        assert await settle(lambda: raw.pulled) == 1 + 2 + 1
        assert events == []
        release.set()
        async with asyncio.timeout(TIMEOUT):
            await task
    finally:
        task.cancel()
    assert events == ["finally"]
    assert got == [str(n) for n in range(len(got))]
    assert "websocket.close" not in [m["type"] for m in raw.sent]


async def test_receive_after_the_client_left_never_hangs(app: Quart) -> None:
    # Code that outlives the cancellation (here: the handler itself, by
    # catching it) gets WebsocketDisconnected-style errors from receive, even
    # when the queue was full when the client left.
    app.config["WEBSOCKET_RECEIVE_QUEUE_SIZE"] = 2
    outcome: list[str] = []

    @app.websocket("/ws")
    async def stubborn() -> None:
        await websocket.accept()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
        drained = 0
        try:
            while True:
                await websocket.receive()
                drained += 1
        except ConnectionError:
            outcome.append(f"drained {drained}, then disconnected")

    raw = RawClient(app, websocket_scope())
    raw.incoming.put_nowait({"type": "websocket.receive", "text": "a"})
    raw.incoming.put_nowait({"type": "websocket.receive", "text": "b"})
    raw.incoming.put_nowait({"type": "websocket.disconnect", "code": 1001})
    async with asyncio.timeout(TIMEOUT):
        await raw.run()
    assert outcome == ["cancelled", "drained 2, then disconnected"]


async def test_session_changes_in_a_websocket_are_not_saved(
    app: Quart, client: QuartClient
) -> None:
    app.secret_key = "websocket tests"

    @app.websocket("/ws")
    async def change() -> None:
        session["from_ws"] = "set"
        await websocket.send(session["from_ws"])

    @app.route("/read")
    async def read() -> str:
        return str(session.get("from_ws"))

    async with asyncio.timeout(TIMEOUT), client.websocket("/ws") as ws:
        assert await ws.receive() == "set"
    # No HTTP response carried a cookie, so nothing was stored.
    assert client.get_cookie("session") is None
    assert await (await client.get("/read")).get_data(as_text=True) == "None"


async def test_url_value_preprocessor_runs_for_websockets(app: Quart, client: QuartClient) -> None:
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        if values is not None:
            quartlike.g.lang = values.pop("lang", None)

    @app.websocket("/<lang>/ws")
    async def localized() -> None:
        await websocket.send(f"{quartlike.g.lang} {websocket.view_args}")

    async with asyncio.timeout(TIMEOUT), client.websocket("/fr/ws") as ws:
        assert await ws.receive() == "fr {}"


async def test_websocket_signals(app: Quart, client: QuartClient) -> None:
    from quartlike import signals

    seen: list[tuple[str, object]] = []

    def started(sender: object, **extra: object) -> None:
        seen.append(("started", websocket.path))

    def finished(sender: object, **extra: object) -> None:
        seen.append(("finished", extra.get("response")))

    def failed(sender: object, **extra: object) -> None:
        seen.append(("exception", type(extra.get("exception")).__name__))

    def tearing_down(sender: object, **extra: object) -> None:
        seen.append(("tearing down", type(extra.get("exc")).__name__))

    @app.websocket("/ok")
    async def ok() -> None:
        await websocket.send("ok")

    @app.websocket("/fail")
    async def fail() -> None:
        await websocket.accept()
        raise ZeroDivisionError

    pairs = [
        (signals.websocket_started, started),
        (signals.websocket_finished, finished),
        (signals.got_websocket_exception, failed),
        (signals.websocket_tearing_down, tearing_down),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, app)
    try:
        async with asyncio.timeout(TIMEOUT), client.websocket("/ok") as ws:
            await ws.receive()
            with pytest.raises(WebsocketDisconnect):
                await ws.receive()  # the handler returned (had the client left, it would
                # have been cancelled, and no websocket_finished would be sent)
        assert seen == [("started", "/ok"), ("finished", None), ("tearing down", "NoneType")]
        seen.clear()
        with pytest.raises(ZeroDivisionError):
            async with asyncio.timeout(TIMEOUT), client.websocket("/fail") as ws:
                await ws.receive()
        assert seen == [
            ("started", "/fail"),
            ("exception", "ZeroDivisionError"),
            ("tearing down", "ZeroDivisionError"),
        ]
    finally:
        for signal, receiver in pairs:
            signal.disconnect(receiver, app)


@pytest.mark.parametrize(("scheme", "expected"), [("https", "wss"), ("http", "ws")])
async def test_http_scheme_in_a_websocket_scope_is_read_as_ws(scheme: str, expected: str) -> None:
    # Proxy middleware writes the forwarded http/https into websocket scopes.
    app = Quart(__name__)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(websocket.scheme)

    sent: list[dict[str, t.Any]] = []
    incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

    async def receive() -> dict[str, t.Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(dict(message))

    scope: t.Any = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": scheme,
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"example.com")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 443),
        "subprotocols": [],
    }
    await asyncio.wait_for(app(scope, receive, send), 5)
    assert sent[0]["type"] == "websocket.accept"
    assert {"type": "websocket.send", "text": expected} in sent
