"""Calling ASGI and WSGI apps in-process, the way a server would, with no network.

Shared by ``inprocess.py``, ``memory.py`` and ``profile_quartlike.py``. A request is
prepared once (its scope or environ, its body); each call then makes only what a
server makes per request: a copy of the scope, a ``receive`` that hands over the body
and then waits until the response is complete before reporting ``http.disconnect``
(as a client that keeps its connection does), and a ``send`` that collects the response.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import importlib
import importlib.util
import io
import sys
import typing as t
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from apps import MODULES  # noqa: E402
from apps import REQUIRES  # noqa: E402

Message = dict[str, t.Any]
ASGIApp = cabc.Callable[..., cabc.Awaitable[None]]
WSGIApp = cabc.Callable[..., cabc.Iterable[bytes]]

WSGI_FRAMEWORKS = frozenset({"flask"})
_DISCONNECT: Message = {"type": "http.disconnect"}


def installed(framework: str) -> bool:
    """Whether the packages the app of ``framework`` needs can all be imported."""
    return all(importlib.util.find_spec(package) is not None for package in REQUIRES[framework])


def load_app(framework: str) -> t.Any:
    """Import the benchmark app of ``framework`` (``apps/<framework>_app.py``)."""
    return importlib.import_module(MODULES[framework]).app


def version_of(framework: str) -> str:
    if not REQUIRES[framework]:
        return "-"
    package = REQUIRES[framework][0]
    from importlib.metadata import version

    return version(package)


def revision() -> str:
    """The commit measured, ``+dirty`` when ``src/`` differs from it (read-only git calls)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=BENCH.parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--", "src") else "")


@dataclass
class Request:
    """A request to replay: method, path, headers (lower-case names) and body."""

    method: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    query_string: bytes = b""


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def headers_named(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


BASE_HEADERS = [
    ("host", "127.0.0.1:8000"),
    ("user-agent", "quartlike-bench/1"),
    ("accept", "*/*"),
]


class _Exchange:
    """One request's ``receive`` and ``send``."""

    __slots__ = ("_request", "status", "headers", "chunks", "done", "_waiter")

    def __init__(self, request_message: Message) -> None:
        self._request: Message | None = request_message
        self.status = 0
        self.headers: t.Any = None
        self.chunks: list[bytes] = []
        self.done = False
        self._waiter: asyncio.Future[None] | None = None

    async def receive(self) -> Message:
        message = self._request
        if message is not None:
            self._request = None
            return message
        if not self.done:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return _DISCONNECT

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", [])
        elif kind == "http.response.body":
            body = message.get("body", b"")
            if body:
                self.chunks.append(body)
            if not message.get("more_body", False):
                self.done = True
                waiter = self._waiter
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)


class ASGIDriver:
    """Runs requests through an ASGI app; :meth:`startup` runs its lifespan first."""

    kind = "asgi"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, t.Any] = {}
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()

    async def startup(self, timeout: float = 10) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}}
        scope["state"] = self.state
        self._lifespan = asyncio.create_task(
            self.app(scope, self._to_app.get, self._from_app.put)  # type: ignore[arg-type]
        )
        await self._to_app.put({"type": "lifespan.startup"})
        reply = await self._next_lifespan_message(timeout)
        if reply is not None and reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {reply!r}")

    async def shutdown(self, timeout: float = 10) -> None:
        if self._lifespan is None or self._lifespan.done():
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._next_lifespan_message(timeout)
        self._lifespan.cancel()
        try:
            await self._lifespan
        except (asyncio.CancelledError, Exception):
            pass

    async def _next_lifespan_message(self, timeout: float) -> Message | None:
        assert self._lifespan is not None
        getter = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait(
            {getter, self._lifespan}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self._lifespan in done:
            return None  # the app does not do lifespan: fine
        raise TimeoutError("the app did not answer the lifespan message in time")

    def prepare(self, request: Request) -> tuple[dict[str, t.Any], Message]:
        headers = [*BASE_HEADERS, *request.headers]
        if request.body:
            headers.append(("content-length", str(len(request.body))))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.path.encode(),
            "query_string": request.query_string,
            "root_path": "",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        message = {"type": "http.request", "body": request.body, "more_body": False}
        return scope, message

    async def call(self, request: Request) -> Result:
        scope, message = self.prepare(request)
        scope["state"] = self.state.copy()
        exchange = _Exchange(message)
        await self.app(scope, exchange.receive, exchange.send)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in exchange.headers or []]
        return Result(exchange.status, headers, b"".join(exchange.chunks))

    def runner(self, request: Request) -> cabc.Callable[[int], cabc.Awaitable[None]]:
        """A coroutine function that sends ``request`` ``n`` times, one after another."""
        scope, message = self.prepare(request)
        app = self.app
        state = self.state

        async def run(n: int) -> None:
            for _ in range(n):
                exchange = _Exchange(message)
                request_scope = scope.copy()
                request_scope["state"] = state.copy()
                await app(request_scope, exchange.receive, exchange.send)

        return run


class WSGIDriver:
    """Runs requests through a WSGI app with a prepared environ (a fresh input per call)."""

    kind = "wsgi"

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    async def startup(self, timeout: float = 10) -> None:
        pass

    async def shutdown(self, timeout: float = 10) -> None:
        pass

    def prepare(self, request: Request) -> dict[str, t.Any]:
        from werkzeug.test import EnvironBuilder

        headers = [(k, v) for k, v in [*BASE_HEADERS, *request.headers] if k != "content-type"]
        content_type = dict(request.headers).get("content-type")
        builder = EnvironBuilder(
            path=request.path,
            method=request.method,
            headers=headers,
            data=request.body or None,
            content_type=content_type,
            query_string=request.query_string.decode("latin-1") or None,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        environ["REMOTE_ADDR"] = "127.0.0.1"
        environ["REMOTE_PORT"] = 50000
        return environ

    async def call(self, request: Request) -> Result:
        environ = self.prepare(request)
        environ["wsgi.input"] = io.BytesIO(request.body)
        response: list[t.Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None):  # type: ignore[no-untyped-def]
            response[:] = [int(status.split(" ", 1)[0]), headers]

        iterable = self.app(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return Result(response[0], list(response[1]), body)

    def runner(self, request: Request) -> cabc.Callable[[int], cabc.Awaitable[None]]:
        environ = self.prepare(request)
        app = self.app
        body = request.body
        BytesIO = io.BytesIO

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None):  # type: ignore[no-untyped-def]
            return None

        async def run(n: int) -> None:
            for _ in range(n):
                env = environ.copy()
                env["wsgi.input"] = BytesIO(body)
                iterable = app(env, start_response)
                try:
                    b"".join(iterable)
                finally:
                    close = getattr(iterable, "close", None)
                    if close is not None:
                        close()

        return run


def driver_for(framework: str, app: t.Any = None) -> ASGIDriver | WSGIDriver:
    """The driver for ``framework``'s benchmark app (or for ``app``, when given)."""
    if app is None:
        app = load_app(framework)
    if framework in WSGI_FRAMEWORKS:
        return WSGIDriver(app)
    return ASGIDriver(app)


async def null_app(scope: dict[str, t.Any], receive: t.Any, send: t.Any) -> None:
    """A do-nothing ASGI app: what the harness itself costs per request."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"Hello, World!"})
