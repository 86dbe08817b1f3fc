"""Raw ASGI requests with scripted messages, for tests that control every message a
server would pass on (``test_faults``, ``test_hostile_input``).
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import typing as t

from quartlike.globals import _cv_app
from quartlike.globals import _cv_request

if t.TYPE_CHECKING:
    from quartlike import Quart
    from quartlike.typing import HTTPScope
    from quartlike.typing import Message

#: Seconds any single exchange may take before the test calls it a hang.
BOUND = 10.0


def http_scope(
    path: str = "/",
    *,
    method: str = "POST",
    headers: cabc.Iterable[tuple[bytes, bytes]] = (),
    host: bytes | None = b"example.com",
    query_string: bytes = b"",
) -> HTTPScope:
    """An HTTP/1.1 scope; ``host=None`` sends no Host header."""
    raw_headers = [(b"host", host)] if host is not None else []
    raw_headers.extend(headers)
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query_string,
        "root_path": "",
        "headers": raw_headers,
        "client": ("198.51.100.4", 50123),
        "server": ("example.com", 80),
    }


def body(data: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


class Exchange:
    """One raw ASGI request: scripted incoming messages, recorded outgoing ones.

    After the script, ``receive`` stalls (``then="stall"``, a client that
    stops sending), or reports a disconnect (``then="disconnect"``), or waits
    for the end of the response and then reports a disconnect, as a server
    does (``then="end"``). ``delay`` is slept before each scripted message: a
    client dripping its body.
    """

    def __init__(self, *messages: Message, then: str = "end", delay: float = 0.0) -> None:
        self.incoming = list(messages)
        self.then = then
        self.delay = delay
        self.receive_calls = 0
        self.sent: list[Message] = []
        self._finished = asyncio.Event()

    async def receive(self) -> Message:
        self.receive_calls += 1
        if self.incoming:
            if self.delay:
                await asyncio.sleep(self.delay)
            return self.incoming.pop(0)
        if self.then == "stall":
            await asyncio.Event().wait()
        if self.then == "end":
            await self._finished.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._finished.set()

    async def run(self, app: Quart, scope: HTTPScope) -> Exchange:
        async with asyncio.timeout(BOUND):
            await app(scope, self.receive, self.send)
        # Everything the app pushed for the request is popped again.
        assert _cv_app.get(None) is None
        assert _cv_request.get(None) is None
        return self

    @property
    def start(self) -> Message:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.sent
        return starts[0]

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self.start["headers"])

    def header(self, name: bytes) -> bytes | None:
        values = [v for k, v in self.headers if k == name]
        assert len(values) <= 1
        return values[0] if values else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def complete(self) -> bool:
        """Whether the response ended (a final body message was sent)."""
        return any(
            m["type"] == "http.response.body" and not m.get("more_body", False) for m in self.sent
        )
