from __future__ import annotations

import asyncio
import collections.abc as cabc
import re
import typing as t

import pytest

import chat
from chat import app
from quartlike.testing import QuartClient
from quartlike.testing import TestWebsocketConnection
from quartlike.testing import WebsocketDisconnect
from quartlike.testing import WebsocketResponseError

#: Bound for every wait: a hung websocket fails the test instead of hanging it.
TIMEOUT = 5.0


@pytest.fixture(autouse=True)
def fresh_room() -> cabc.Iterator[None]:
    """Each test starts with an empty room and the default configuration."""
    saved = dict(app.config)
    app.extensions.pop("chat_room", None)
    yield
    app.extensions.pop("chat_room", None)
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def client() -> QuartClient:
    return app.test_client()


async def next_event(ws: TestWebsocketConnection) -> dict[str, t.Any]:
    async with asyncio.timeout(TIMEOUT):
        event = await ws.receive_json()
    assert isinstance(event, dict)
    return event


async def welcome(ws: TestWebsocketConnection) -> dict[str, t.Any]:
    """Read the welcome and the announcement of our own arrival."""
    greeting = await next_event(ws)
    assert greeting["type"] == "welcome"
    joined = await next_event(ws)
    assert joined["type"] == "join"
    assert joined["nick"] == greeting["nick"]
    return greeting


def words(event: dict[str, t.Any]) -> tuple[str, str, str]:
    return event["type"], event["nick"], event.get("text", "")


# -- the page -----------------------------------------------------------------------------


async def test_page_is_served(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = await response.get_data(as_text=True)
    assert '<form id="say"' in page
    assert 'src="/static/chat.js"' in page
    assert f'maxlength="{chat.MAX_TEXT}"' in page


async def test_script_and_styles_are_served_without_external_resources(
    client: QuartClient,
) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    script = await client.get("/static/chat.js")
    styles = await client.get("/static/chat.css")
    assert script.status_code == 200
    assert styles.status_code == 200
    assert script.mimetype in {"text/javascript", "application/javascript"}
    source = await script.get_data(as_text=True)
    assert "new WebSocket(" in source
    assert "/ws?nick=" in source
    assert "innerHTML" not in source  # received text is never turned into markup
    for text in (page, source, await styles.get_data(as_text=True)):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), "no CDNs"


# -- chatting -----------------------------------------------------------------------------


async def test_two_clients_exchange_messages(client: QuartClient) -> None:
    async with client.websocket("/ws?nick=alice") as alice:
        greeting = await welcome(alice)
        assert greeting == {"type": "welcome", "nick": "alice", "history": [], "members": ["alice"]}

        async with client.websocket("/ws?nick=bob") as bob:
            greeting = await welcome(bob)
            assert greeting["members"] == ["alice", "bob"]
            assert words(await next_event(alice)) == ("join", "bob", "")

            await alice.send("hello bob")
            assert words(await next_event(alice)) == ("message", "alice", "hello bob")
            assert words(await next_event(bob)) == ("message", "alice", "hello bob")

            await bob.send("  hi alice  ")
            assert words(await next_event(bob)) == ("message", "bob", "hi alice")
            assert words(await next_event(alice)) == ("message", "bob", "hi alice")

        assert words(await next_event(alice)) == ("leave", "bob", "")


async def test_newcomers_get_the_last_messages(client: QuartClient) -> None:
    app.config["CHAT_HISTORY_SIZE"] = 3
    async with client.websocket("/ws?nick=early") as early:
        await welcome(early)
        for number in range(5):
            await early.send(f"message {number}")
            assert (await next_event(early))["text"] == f"message {number}"

        async with client.websocket("/ws?nick=late") as late:
            greeting = await next_event(late)
    assert greeting["type"] == "welcome"
    assert [words(event) for event in greeting["history"]] == [
        ("message", "early", "message 2"),
        ("message", "early", "message 3"),
        ("message", "early", "message 4"),
    ]
    assert all(isinstance(event["time"], float) for event in greeting["history"])


async def test_history_survives_everyone_leaving(client: QuartClient) -> None:
    async with client.websocket("/ws?nick=first") as first:
        await welcome(first)
        await first.send("anyone?")
        await next_event(first)
    async with client.websocket("/ws?nick=second") as second:
        greeting = await next_event(second)
    assert greeting["members"] == ["second"]
    assert [words(event) for event in greeting["history"]] == [("message", "first", "anyone?")]


async def test_blank_messages_are_ignored_and_long_ones_cut(client: QuartClient) -> None:
    async with client.websocket("/ws?nick=ada") as ada:
        await welcome(ada)
        await ada.send("   ")
        await ada.send("")
        await ada.send("x" * (chat.MAX_TEXT + 50))
        event = await next_event(ada)
    assert event["text"] == "x" * chat.MAX_TEXT


# -- refusals and limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["", "?nick=", "?nick=%20%20", f"?nick={'n' * (chat.MAX_NICKNAME + 1)}"]
)
async def test_a_nickname_is_required(client: QuartClient, query: str) -> None:
    with pytest.raises(WebsocketResponseError) as info:
        async with asyncio.timeout(TIMEOUT), client.websocket(f"/ws{query}"):
            pass
    assert info.value.response.status_code == 400
    assert "nick" in await info.value.response.get_data(as_text=True)


async def test_nickname_whitespace_is_tidied(client: QuartClient) -> None:
    async with client.websocket("/ws", query_string={"nick": "  Grace \t Hopper "}) as ws:
        greeting = await welcome(ws)
    assert greeting["nick"] == "Grace Hopper"


async def test_binary_messages_are_refused(client: QuartClient) -> None:
    async with client.websocket("/ws?nick=bin") as ws:
        await welcome(ws)
        await ws.send(b"\x00\x01")
        with pytest.raises(WebsocketDisconnect) as info:
            async with asyncio.timeout(TIMEOUT):
                await ws.receive()
    assert info.value.code == chat.CLOSE_UNSUPPORTED_DATA


async def test_oversized_message_closes_with_1009(client: QuartClient) -> None:
    app.config["MAX_WEBSOCKET_MESSAGE_SIZE"] = 64
    async with client.websocket("/ws?nick=big") as big, client.websocket("/ws?nick=obs") as obs:
        await welcome(big)
        await welcome(obs)
        assert words(await next_event(big)) == ("join", "obs", "")
        await big.send("y" * 65)
        with pytest.raises(WebsocketDisconnect) as info:
            async with asyncio.timeout(TIMEOUT):
                await big.receive()
        assert info.value.code == 1009
        # The room saw it leave, and never saw the message.
        assert words(await next_event(obs)) == ("leave", "big", "")


async def test_slow_consumer_is_disconnected_not_buffered(client: QuartClient) -> None:
    app.config["CHAT_OUTBOX_SIZE"] = 4
    async with client.websocket("/ws?nick=slow") as slow, client.websocket("/ws?nick=fast") as fast:
        await welcome(slow)
        await welcome(fast)
        assert words(await next_event(slow)) == ("join", "fast", "")
        room: chat.Room = app.extensions["chat_room"]
        slow_member = next(m for m in room.members if m.nickname == "slow")
        # The test client never makes the app wait, so a slow reader is
        # simulated: more events than its queue holds, before its writer runs.
        for number in range(20):
            slow_member.deliver({"type": "message", "nick": "x", "text": f"burst {number}"})
        assert slow_member.outbox.qsize() == 1  # only the order to close is left

        with pytest.raises(WebsocketDisconnect) as info:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    await slow.receive()
        assert info.value.code == chat.CLOSE_POLICY_VIOLATION
        assert "slow" in info.value.reason.lower()

        # The others carry on, and see the slow one go.
        assert words(await next_event(fast)) == ("leave", "slow", "")
        await fast.send("still here")
        assert words(await next_event(fast)) == ("message", "fast", "still here")
        assert [m.nickname for m in room.members] == ["fast"]
