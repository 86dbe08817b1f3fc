"""A websocket chat room: every message from one client is broadcast to everyone.

Serve it with ``hypercorn chat:app`` (or ``scripts/run-example chat`` from the
repository root), open http://127.0.0.1:5000/ in two browser windows and chat.

The protocol on ``/ws?nick=NAME`` is small: the client sends plain text
messages; the server sends JSON events, first a ``welcome`` (with the last
``CHAT_HISTORY_SIZE`` messages and who is here), then ``message``, ``join``
and ``leave`` events as they happen.

Memory stays bounded however clients behave: incoming frames are limited by
``MAX_WEBSOCKET_MESSAGE_SIZE``, the history is a fixed-size ring, and each
connection has an outgoing queue of ``CHAT_OUTBOX_SIZE`` events. A client that
reads so slowly that its queue fills up is disconnected (close code 1008)
instead of making the server buffer without limit for it.
"""

from __future__ import annotations

import asyncio
import collections
import time
import typing as t

from quartlike import Quart
from quartlike import current_app
from quartlike import render_template
from quartlike import websocket

app = Quart(__name__)
app.config.update(
    # A frame larger than this closes the connection with 1009 (message too big).
    MAX_WEBSOCKET_MESSAGE_SIZE=4 * 1024,
    # Messages kept for newcomers.
    CHAT_HISTORY_SIZE=50,
    # Events waiting to be sent to one client before it counts as too slow.
    CHAT_OUTBOX_SIZE=100,
)

#: Longest nickname, and longest message text kept (longer text is cut).
MAX_NICKNAME = 24
MAX_TEXT = 1000
#: Close codes (RFC 6455) the chat uses.
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008

Event = dict[str, t.Any]


class Member:
    """One connected client: its nickname and its bounded queue of outgoing events.

    ``None`` in the queue means "too slow, disconnect".
    """

    def __init__(self, nickname: str, outbox_size: int) -> None:
        self.nickname = nickname
        self.outbox: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=outbox_size)
        self.too_slow = False

    def deliver(self, event: Event) -> None:
        """Queue ``event`` for sending, or give up on a client that has fallen behind."""
        if self.too_slow:
            return
        try:
            self.outbox.put_nowait(event)
        except asyncio.QueueFull:
            # Drop the backlog (nobody will read it) and leave only the order to close.
            self.too_slow = True
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)


class Room:
    """The members of the chat and the last messages said in it."""

    def __init__(self, history_size: int) -> None:
        self.members: set[Member] = set()
        self.history: collections.deque[Event] = collections.deque(maxlen=history_size)

    def nicknames(self) -> list[str]:
        return sorted(member.nickname for member in self.members)

    def join(self, member: Member) -> list[Event]:
        """Add ``member``, announce it, and return the history it has missed."""
        history = list(self.history)
        self.members.add(member)
        self.publish({"type": "join", "nick": member.nickname, "time": time.time()})
        return history

    def leave(self, member: Member) -> None:
        if member in self.members:
            self.members.remove(member)
            self.publish({"type": "leave", "nick": member.nickname, "time": time.time()})

    def say(self, member: Member, text: str) -> None:
        event = {"type": "message", "nick": member.nickname, "text": text, "time": time.time()}
        self.history.append(event)
        self.publish(event)

    def publish(self, event: Event) -> None:
        for member in list(self.members):
            member.deliver(event)


def get_room() -> Room:
    """The current app's room, created on first use (with the configured history size)."""
    room = current_app.extensions.get("chat_room")
    if room is None:
        room = current_app.extensions["chat_room"] = Room(current_app.config["CHAT_HISTORY_SIZE"])
    return t.cast(Room, room)


def clean_nickname(value: str) -> str | None:
    """``value`` with whitespace tidied, or ``None`` when it cannot be a nickname."""
    nickname = " ".join(value.split())
    if not nickname or len(nickname) > MAX_NICKNAME or not nickname.isprintable():
        return None
    return nickname


@app.route("/")
async def index() -> str:
    page: str = await render_template("index.html", max_text=MAX_TEXT, max_nickname=MAX_NICKNAME)
    return page


@app.websocket("/ws")
async def chat_socket() -> tuple[str, int] | None:
    nickname = clean_nickname(websocket.args.get("nick", ""))
    if nickname is None:
        # Returned before accepting, this refuses the handshake with a 400.
        return f"Connect with ?nick=NAME (1 to {MAX_NICKNAME} printable characters).", 400
    await websocket.accept()
    room = get_room()
    member = Member(nickname, current_app.config["CHAT_OUTBOX_SIZE"])
    history = room.join(member)
    tasks: list[asyncio.Task[None]] = []
    try:
        await websocket.send_json(
            {"type": "welcome", "nick": nickname, "history": history, "members": room.nicknames()}
        )
        tasks.append(asyncio.create_task(read_messages(room, member)))
        tasks.append(asyncio.create_task(write_events(member)))
        # Whichever ends first ends the connection: the client sent something
        # unacceptable, or fell too far behind. (When the client leaves, this
        # handler is cancelled and the finally block cleans up.)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        room.leave(member)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return None


async def read_messages(room: Room, member: Member) -> None:
    """Receive the client's text messages and say them in the room."""
    while True:
        data = await websocket.receive()
        if not isinstance(data, str):
            await websocket.close(CLOSE_UNSUPPORTED_DATA, "Send text messages")
            return
        text = data.strip()
        if text:
            room.say(member, text[:MAX_TEXT])


async def write_events(member: Member) -> None:
    """Send the member's queued events until it is found too slow."""
    while True:
        event = await member.outbox.get()
        if event is None:
            await websocket.close(CLOSE_POLICY_VIOLATION, "Too slow: messages were piling up")
            return
        await websocket.send_json(event)
