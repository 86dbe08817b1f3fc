"""The in-process test client, :class:`QuartClient`.

Each request is built from Flask-style arguments (see
:mod:`quartlike.testing.requests`), sent through the app's full ASGI
interface by :func:`_run_http`, and the messages the app sends back are
collected into a response object. Cookies round-trip through a
:class:`~quartlike.testing.cookies.CookieJar`. ``client.request()`` hands out
a :class:`~quartlike.testing.streaming.StreamedResponse` instead, and
``client.websocket()`` a
:class:`~quartlike.testing.websocket.TestWebsocketConnection`.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import typing as t
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from ..wrappers.response import DataBody
from .cookies import CookieJar
from .requests import _build
from .streaming import StreamedResponse
from .websocket import TestWebsocketConnection

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..typing import HTTPScope
    from ..typing import Message
    from ..typing import WebsocketScope
    from ..wrappers.response import Response

#: Redirects followed before the client gives up with an error.
MAX_REDIRECTS = 20


class QuartClient:
    """Send requests to an app in-process: ``response = await client.get("/")``.

    Cookies set by responses are kept and sent back (unless ``use_cookies`` is
    false). Exceptions the app raises while testing propagate to the caller.
    """

    def __init__(self, app: Quart, use_cookies: bool = True) -> None:
        self.app = app
        self.cookie_jar: CookieJar | None = CookieJar() if use_cookies else None

    # -- cookies ---------------------------------------------------------------

    def set_cookie(
        self, key: str, value: str = "", *, domain: str = "localhost", path: str = "/"
    ) -> None:
        """Store a cookie to send with the following requests."""
        self._jar().set(key, value, domain=domain, path=path)

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget a stored cookie."""
        self._jar().delete(key, domain=domain, path=path)

    def get_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> str | None:
        """The value of a stored cookie, or ``None``."""
        return self._jar().get(key, domain=domain, path=path)

    def _jar(self) -> CookieJar:
        if self.cookie_jar is None:
            raise TypeError("This client was created with use_cookies=False.")
        return self.cookie_jar

    # -- requests ----------------------------------------------------------------

    async def open(
        self,
        path: str = "/",
        *,
        method: str = "GET",
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> Response:
        """Send a request and return the response.

        :param path: the URL path, optionally with a query string (or a full URL).
        :param method: the HTTP method.
        :param headers: request headers.
        :param query_string: a mapping or string for the query string.
        :param data: the body: bytes or str, or a mapping sent as a form
            (multipart when it holds files, as ``(stream_or_bytes, filename)``).
        :param form: form fields; :param files: files, for a multipart form.
        :param json: a value sent as a JSON body.
        :param follow_redirects: follow redirect responses (up to 20).
        """
        response = await self._open_once(path, method, kwargs)
        history: list[Response] = []
        while follow_redirects and response.status_code in (301, 302, 303, 305, 307, 308):
            if len(history) >= MAX_REDIRECTS:
                raise RuntimeError(f"More than {MAX_REDIRECTS} redirects; giving up.")
            history.append(response)
            location = urljoin(response.request_url, response.headers["Location"])  # type: ignore[attr-defined]
            if response.status_code not in (307, 308):
                method = "GET" if method != "HEAD" else "HEAD"
                kwargs = {
                    k: v
                    for k, v in kwargs.items()
                    if k not in ("data", "form", "files", "json", "query_string", "content_type")
                }
            split = urlsplit(location)
            if split.netloc:
                kwargs["base_url"] = f"{split.scheme}://{split.netloc}"
            target = split.path + (f"?{split.query}" if split.query else "")
            response = await self._open_once(target, method, kwargs)
        response.history = tuple(history)  # type: ignore[attr-defined]
        return response

    async def _open_once(self, path: str, method: str, kwargs: dict[str, t.Any]) -> Response:
        scope, body = _build(self.app, path, method=method, **kwargs)
        host = self._host(scope)
        if self.cookie_jar is not None:
            cookie = self.cookie_jar.header_for(host, scope["path"], scope["scheme"])
            if cookie is not None:
                raw = [h for h in scope["headers"] if h[0] != b"cookie"]
                raw.append((b"cookie", cookie.encode("latin-1")))
                scope["headers"] = raw
        status, headers, data = await _run_http(self.app, scope, body)
        # The body is attached as sent, keeping the wire headers (a HEAD
        # response's Content-Length describes a body that was not sent).
        # The headers are assigned after construction, which would otherwise
        # add a default Content-Type to a response sent without one (a 304).
        response = self.app.response_class(status=status)
        response.headers = headers
        response.body = DataBody(data)
        response.request_url = (  # type: ignore[attr-defined]
            f"{scope['scheme']}://{host}{quote(scope['path'])}"
        )
        if self.cookie_jar is not None:
            self.cookie_jar.extract(host, headers)
        return response

    @staticmethod
    def _host(scope: HTTPScope) -> str:
        for name, value in scope["headers"]:
            if name == b"host":
                return value.decode("latin-1")
        server = scope["server"]
        return server[0] if server else "localhost"

    def websocket(
        self, path: str = "/", *, subprotocols: list[str] | None = None, **kwargs: t.Any
    ) -> TestWebsocketConnection:
        """Open a websocket to the app: ``async with client.websocket("/ws") as ws:``.

        Takes ``headers``, ``query_string``, ``scheme``, ``subdomain``,
        ``root_path`` like :meth:`open`. A handshake the app refuses raises
        :class:`WebsocketResponseError` carrying its response.
        """
        http_scope, _ = _build(self.app, path, method="GET", **kwargs)
        if self.cookie_jar is not None:
            cookie = self.cookie_jar.header_for(
                self._host(http_scope), http_scope["path"], http_scope["scheme"]
            )
            if cookie is not None:
                http_scope["headers"] = [
                    *(h for h in http_scope["headers"] if h[0] != b"cookie"),
                    (b"cookie", cookie.encode("latin-1")),
                ]
        scope: WebsocketScope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": http_scope["http_version"],
            "scheme": "wss" if http_scope["scheme"] == "https" else "ws",
            "path": http_scope["path"],
            "raw_path": http_scope.get("raw_path", b""),
            "query_string": http_scope["query_string"],
            "root_path": http_scope["root_path"],
            "headers": http_scope["headers"],
            "client": http_scope["client"],
            "server": http_scope["server"],
            "subprotocols": subprotocols or [],
            "extensions": {"websocket.http.response": {}},
        }
        return TestWebsocketConnection(self.app, scope)

    async def get(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="GET", ...)``."""
        return await self.open(path, method="GET", **kwargs)

    async def post(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="POST", ...)``."""
        return await self.open(path, method="POST", **kwargs)

    async def put(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="PUT", ...)``."""
        return await self.open(path, method="PUT", **kwargs)

    async def patch(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="PATCH", ...)``."""
        return await self.open(path, method="PATCH", **kwargs)

    async def delete(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="DELETE", ...)``."""
        return await self.open(path, method="DELETE", **kwargs)

    async def head(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="HEAD", ...)``."""
        return await self.open(path, method="HEAD", **kwargs)

    async def options(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="OPTIONS", ...)``."""
        return await self.open(path, method="OPTIONS", **kwargs)

    async def trace(self, path: str = "/", **kwargs: t.Any) -> Response:
        """``open(path, method="TRACE", ...)``."""
        return await self.open(path, method="TRACE", **kwargs)

    def request(self, path: str = "/", *, method: str = "GET", **kwargs: t.Any) -> StreamedResponse:
        """Send a request and read its response while the app streams it.

        ::

            async with client.request("/events") as response:
                assert response.status_code == 200
                async for chunk in response.iter_body():
                    ...  # each chunk as the app sends it
                    if enough:
                        await response.disconnect()  # the app gets http.disconnect
                        break

        Entering the block waits for the app's ``http.response.start`` only, so
        ``status_code`` and ``headers`` are there before any of the body is.
        :meth:`StreamedResponse.iter_body` yields the body chunk by chunk, as
        the app sends them; :meth:`StreamedResponse.read` waits for the rest.
        Leaving the block disconnects if the body is not complete yet, and
        waits for the app to return (so its teardown has run); the app's
        exceptions propagate, as with :meth:`open`.

        Takes the arguments of :meth:`open` except ``follow_redirects``.
        ``data`` may also be an async iterable of ``bytes``: the body is then
        sent without ``Content-Length``, one chunk each time the app asks for
        more, so a test can upload while the response streams.
        """
        stream: cabc.AsyncIterable[bytes] | None = None
        if isinstance(kwargs.get("data"), cabc.AsyncIterable):
            stream = kwargs.pop("data")
        scope, body = _build(self.app, path, method=method, **kwargs)
        host = self._host(scope)
        jar = self.cookie_jar
        if jar is not None:
            cookie = jar.header_for(host, scope["path"], scope["scheme"])
            if cookie is not None:
                raw = [h for h in scope["headers"] if h[0] != b"cookie"]
                raw.append((b"cookie", cookie.encode("latin-1")))
                scope["headers"] = raw

        def on_start(headers: Headers) -> None:
            if jar is not None:
                jar.extract(host, headers)

        url = f"{scope['scheme']}://{host}{quote(scope['path'])}"
        return StreamedResponse(self.app, scope, body if stream is None else stream, url, on_start)


async def _run_http(app: Quart, scope: HTTPScope, body: bytes) -> tuple[int, Headers, bytes]:
    """Call the app with ``scope`` and ``body``; collect the response it sends."""
    done = asyncio.Event()
    sent_body = False
    status: int | None = None
    response_headers = Headers()
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "http.response.start":
            if status is not None:
                raise RuntimeError("The app sent http.response.start twice.")
            status = message["status"]
            for name, value in message.get("headers", ()):
                response_headers.add(name.decode("latin-1"), value.decode("latin-1"))
        elif kind == "http.response.body":
            if status is None:
                raise RuntimeError("The app sent a body before http.response.start.")
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if status is None:
        raise RuntimeError("The app returned without sending a response.")
    return status, response_headers, b"".join(chunks)
