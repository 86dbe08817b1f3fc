"""Testing an app in-process: a client that speaks ASGI to it, and test requests.

Requests are built with werkzeug's ``EnvironBuilder`` (so ``data``, ``json``,
``query_string``, ``headers``, ``auth`` and file uploads mean what they mean in
Flask's test client), translated into an ASGI scope, and sent through the app's
full ASGI interface, exactly as a server would.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import time
import typing as t
from http.cookies import SimpleCookie
from io import BytesIO
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder

from .wrappers.request import Body
from .wrappers.response import DataBody

if t.TYPE_CHECKING:
    from .app import Quart
    from .typing import HTTPScope
    from .typing import Message
    from .typing import WebsocketScope
    from .wrappers.request import Request
    from .wrappers.response import Response

_missing: t.Any = object()
#: Redirects followed before the client gives up with an error.
MAX_REDIRECTS = 20


def _build(
    app: Quart,
    path: str = "/",
    *,
    method: str = "GET",
    headers: t.Any = None,
    query_string: cabc.Mapping[str, t.Any] | str | bytes | None = None,
    data: t.Any = None,
    form: cabc.Mapping[str, t.Any] | None = None,
    files: cabc.Mapping[str, t.Any] | None = None,
    json: t.Any = _missing,
    scheme: str | None = None,
    root_path: str | None = None,
    http_version: str = "1.1",
    subdomain: str | None = None,
    base_url: str | None = None,
    auth: t.Any = None,
    content_type: str | None = None,
    remote_addr: str = "127.0.0.1",
) -> tuple[HTTPScope, bytes]:
    """Build an ASGI HTTP scope and body from Flask-style test arguments."""
    if base_url is None:
        host = app.config["SERVER_NAME"] or "localhost"
        if subdomain:
            host = f"{subdomain}.{host}"
        app_root = root_path if root_path is not None else app.config["APPLICATION_ROOT"]
        url = urlsplit(path)
        base_scheme = url.scheme or scheme or app.config["PREFERRED_URL_SCHEME"]
        base_url = f"{base_scheme}://{url.netloc or host}/{app_root.lstrip('/')}"
        path = url.path
        if url.query:
            path = f"{path}?{url.query}"
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    if form is not None or files is not None:
        if data is not None:
            raise TypeError("Pass the body as 'data' or as 'form'/'files', not both.")
        data = {**(form or {}), **(files or {})}
    builder_kwargs: dict[str, t.Any] = {}
    if json is not _missing:
        if data is not None:
            raise TypeError("Pass the body as 'data' or as 'json', not both.")
        data = app.json.dumps(json)
        content_type = content_type or "application/json"
    if isinstance(data, cabc.Mapping):
        data = {key: _file_tuple(value) for key, value in data.items()}
    builder = EnvironBuilder(
        path=path,
        base_url=base_url,
        query_string=query_string,
        method=method,
        headers=headers,
        data=data,
        auth=auth,
        content_type=content_type,
        **builder_kwargs,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    body = environ["wsgi.input"].read()
    raw_headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key.replace("_", "-").lower()
        else:
            continue
        raw_headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    script_name = environ.get("SCRIPT_NAME", "").encode("latin-1").decode("utf-8", "replace")
    path_info = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    full_path = script_name + path_info
    port = environ.get("SERVER_PORT")
    scope: HTTPScope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": environ["REQUEST_METHOD"],
        "scheme": environ["wsgi.url_scheme"],
        "path": full_path,
        "raw_path": quote(full_path).encode("ascii"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": script_name,
        "headers": raw_headers,
        "client": (remote_addr, 50000),
        "server": (environ["SERVER_NAME"], int(port) if port else None),
        "extensions": {},
    }
    return scope, body


def _file_tuple(value: t.Any) -> t.Any:
    # Flask's test client accepts (bytes, filename) too; EnvironBuilder wants a stream.
    if isinstance(value, list):
        return [_file_tuple(item) for item in value]
    if isinstance(value, tuple) and value and isinstance(value[0], bytes | bytearray):
        return (BytesIO(bytes(value[0])), *value[1:])
    return value


def make_test_request(app: Quart, path: str = "/", **kwargs: t.Any) -> Request:
    """A request object built from test arguments, with its body already received."""
    scope, body = _build(app, path, **kwargs)
    root_path = scope["root_path"]
    route_path = scope["path"][len(root_path) :] if root_path else scope["path"]
    return app.request_class(
        scope["method"],
        scope["scheme"],
        route_path,
        scope["query_string"],
        scope["headers"],
        root_path,
        scope["http_version"],
        scope,
        body=Body(None, len(body), data=body),
    )


class _Cookie(t.NamedTuple):
    value: str
    expires: float | None
    secure: bool


class CookieJar:
    """The cookies the test client stores and sends back, keyed by domain, path and name."""

    def __init__(self) -> None:
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}

    def __len__(self) -> int:
        return len(self._cookies)

    def set(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        path: str = "/",
        expires: float | None = None,
        secure: bool = False,
    ) -> None:
        """Store a cookie (replacing one with the same domain, path and name)."""
        if expires is not None and expires <= time.time():
            self._cookies.pop((domain, path, key), None)
        else:
            self._cookies[(domain, path, key)] = _Cookie(value, expires, secure)

    def delete(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget a cookie."""
        self._cookies.pop((domain, path, key), None)

    def get(self, key: str, *, domain: str = "localhost", path: str = "/") -> str | None:
        """The value of a stored cookie, or ``None``."""
        cookie = self._cookies.get((domain, path, key))
        return cookie.value if cookie is not None else None

    def header_for(self, host: str, path: str, scheme: str) -> str | None:
        """The ``Cookie`` header to send to ``host`` and ``path``, or ``None``."""
        now = time.time()
        host = host.split(":")[0].lower()
        parts = []
        for (domain, cookie_path, name), cookie in list(self._cookies.items()):
            if cookie.expires is not None and cookie.expires <= now:
                del self._cookies[(domain, cookie_path, name)]
                continue
            if cookie.secure and scheme != "https":
                continue
            if not _domain_matches(host, domain) or not _path_matches(path, cookie_path):
                continue
            parts.append(f"{name}={cookie.value}")
        return "; ".join(parts) if parts else None

    def extract(self, host: str, headers: Headers) -> None:
        """Store the cookies a response sets."""
        host = host.split(":")[0].lower()
        for header in headers.getlist("Set-Cookie"):
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except Exception:
                continue
            for name, morsel in parsed.items():
                domain = (morsel["domain"] or host).lstrip(".").lower()
                path = morsel["path"] or "/"
                expires: float | None = None
                if morsel["max-age"]:
                    try:
                        expires = time.time() + int(morsel["max-age"])
                    except ValueError:
                        expires = None
                elif morsel["expires"]:
                    from werkzeug.http import parse_date

                    date = parse_date(morsel["expires"])
                    if date is not None:
                        expires = date.timestamp()
                raw_value = header.split(";", 1)[0].partition("=")[2].strip()
                self.set(
                    name,
                    raw_value,
                    domain=domain,
                    path=path,
                    expires=expires,
                    secure=bool(morsel["secure"]),
                )


def _domain_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _path_matches(path: str, cookie_path: str) -> bool:
    if path == cookie_path or cookie_path == "/":
        return True
    return path.startswith(cookie_path.rstrip("/") + "/")


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


class LifespanError(Exception):
    """The app's startup or shutdown failed under :class:`TestApp`."""


class TestApp:
    """Run an app's startup and shutdown around tests: ``async with app.test_app() as t:``.

    Inside, ``before_serving`` and ``while_serving`` have run; leaving runs the
    shutdown (waiting for background tasks, then ``after_serving``), exactly
    as a server's ASGI lifespan would. Startup or shutdown failures raise
    :class:`LifespanError` with the app's message.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Quart, timeout: float = 60) -> None:
        self.app = app
        self.timeout = timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def test_client(self, **kwargs: t.Any) -> QuartClient:
        """A test client for the running app."""
        return self.app.test_client(**kwargs)

    async def _expect(self, event: str) -> None:
        await self._to_app.put({"type": f"lifespan.{event}"})
        async with asyncio.timeout(self.timeout):
            message = await self._from_app.get()
        if message["type"] != f"lifespan.{event}.complete":
            raise LifespanError(message.get("message", message["type"]))

    async def startup(self) -> None:
        """Run the app's startup."""
        scope: t.Any = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._expect("startup")

    async def shutdown(self) -> None:
        """Run the app's shutdown and wait for the lifespan handler to return."""
        try:
            await self._expect("shutdown")
        finally:
            if self._task is not None:
                task, self._task = self._task, None
                await task

    async def __aenter__(self) -> TestApp:
        await self.startup()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()


class WebsocketResponseError(Exception):
    """The app refused a test websocket handshake; :attr:`response` is its answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"The websocket handshake was rejected with {response.status}.")
        self.response = response


class WebsocketDisconnect(Exception):
    """The app closed the test websocket; :attr:`code` and :attr:`reason` say how."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"The websocket was closed with code {code}.")
        self.code = code
        self.reason = reason


class TestWebsocketConnection:
    """The client side of a websocket to an app, for ``async with client.websocket(...)``."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: Quart, scope: WebsocketScope) -> None:
        self.app = app
        self.scope = scope
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        #: The subprotocol and headers the app accepted with.
        self.subprotocol: str | None = None
        self.accept_headers = Headers()
        self.closed: WebsocketDisconnect | None = None

    async def __aenter__(self) -> TestWebsocketConnection:
        self._task = asyncio.create_task(self._run())
        await self._to_app.put({"type": "websocket.connect"})
        message = await self._next_message()
        kind = message["type"]
        if kind == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            for name, value in message.get("headers", ()):
                self.accept_headers.add(name.decode("latin-1"), value.decode("latin-1"))
            return self
        await self._finish()
        if kind == "websocket.http.response.start":
            headers = Headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            )
            body = b""
            while True:
                part = await self._from_app.get()
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            response = self.app.response_class(status=message["status"], headers=headers)
            response.body = DataBody(body)
            raise WebsocketResponseError(response)
        response = self.app.response_class(status=403)
        raise WebsocketResponseError(response)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        await self._finish()

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._to_app.get, self._from_app.put)
        finally:
            await self._from_app.put({"type": "_app_returned"})

    async def _finish(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def _next_message(self) -> Message:
        message = await self._from_app.get()
        if message["type"] == "_app_returned":
            await self._finish()  # re-raises the app's exception, if any
            raise RuntimeError("The app ended the websocket connection without closing it.")
        return message

    async def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if isinstance(data, str):
            await self._to_app.put({"type": "websocket.receive", "text": data})
        else:
            await self._to_app.put({"type": "websocket.receive", "bytes": bytes(data)})

    async def send_json(self, value: t.Any) -> None:
        """Send a value as a JSON text message."""
        await self.send(self.app.json.dumps(value))

    async def receive(self) -> str | bytes:
        """The next message from the app; :class:`WebsocketDisconnect` once it closed."""
        if self.closed is not None:
            raise self.closed
        message = await self._next_message()
        if message["type"] == "websocket.close":
            self.closed = WebsocketDisconnect(message.get("code", 1000), message.get("reason", ""))
            # If the handler failed, its exception is more useful than the close.
            task = self._task
            if task is not None:
                await asyncio.wait({task}, timeout=1)
                if task.done() and task.exception() is not None:
                    await self._finish()
            raise self.closed
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def receive_json(self) -> t.Any:
        """The next message from the app, parsed as JSON."""
        return self.app.json.loads(await self.receive())

    async def close(self, code: int = 1000) -> None:
        """Close from the client side and wait for the app's handler to finish."""
        await self._to_app.put({"type": "websocket.disconnect", "code": code})
        await self._finish()


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


class IncompleteResponseError(Exception):
    """The app returned without the final body message of a streamed response.

    A server drops the connection then, and a real client reports a truncated
    body; :class:`StreamedResponse` raises this instead.
    """


_APP_RETURNED: Message = {"type": "_app_returned"}


class StreamedResponse:
    """A response read while the app sends it; made by :meth:`QuartClient.request`.

    Use it with ``async with``. Inside, :attr:`status_code` and :attr:`headers`
    are set, and the body is read with :meth:`iter_body` or :meth:`read`.
    """

    def __init__(
        self,
        app: Quart,
        scope: HTTPScope,
        body: bytes | cabc.AsyncIterable[bytes],
        request_url: str,
        on_start: cabc.Callable[[Headers], None] | None = None,
    ) -> None:
        self.app = app
        self.scope = scope
        #: The URL the request was sent to.
        self.request_url = request_url
        #: The status code and headers of ``http.response.start``.
        self.status_code = 0
        self.headers = Headers()
        #: Whether the body's final message has been read (by :meth:`iter_body`
        #: or :meth:`read`): the response arrived whole.
        self.is_complete = False
        self._on_start = on_start
        self._body = body
        self._body_iter: cabc.AsyncIterator[bytes] | None = None
        self._body_sent = False
        self._gone = asyncio.Event()  # the client left, or the response is complete
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._returned = False
        self._sent_final = False
        self._received: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def mimetype(self) -> str:
        """The ``Content-Type`` without its parameters."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    # -- the app's side of the connection ------------------------------------------------

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        finally:
            self._gone.set()
            self._from_app.put_nowait(_APP_RETURNED)

    async def _receive(self) -> Message:
        if not self._body_sent:
            if isinstance(self._body, bytes):
                self._body_sent = True
                return {"type": "http.request", "body": self._body, "more_body": False}
            chunk = await self._next_chunk()
            if chunk is not None:
                return {"type": "http.request", "body": chunk, "more_body": True}
            if not self._gone.is_set():
                self._body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
        # Once the body is sent, the next message is the client leaving (or
        # the server noticing that the exchange is over).
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _next_chunk(self) -> bytes | None:
        """The next chunk of a streamed request body; ``None`` at its end or
        when the client leaves while waiting for it.
        """
        if self._gone.is_set():
            return None
        if self._body_iter is None:
            assert not isinstance(self._body, bytes)
            self._body_iter = aiter(self._body)
        iterator = self._body_iter

        async def pull() -> bytes | None:
            try:
                return bytes(await anext(iterator))
            except StopAsyncIteration:
                return None

        pulling = asyncio.ensure_future(pull())
        leaving = asyncio.ensure_future(self._gone.wait())
        try:
            await asyncio.wait({pulling, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
            if not pulling.done():
                pulling.cancel()
                await asyncio.wait({pulling})
        if pulling.cancelled() or self._gone.is_set():
            if not pulling.cancelled():
                pulling.exception()  # retrieved: the client left, the chunk is moot
            return None
        return pulling.result()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.status_code:
                raise RuntimeError("The app sent http.response.start twice.")
            self.status_code = message["status"]
            for name, value in message.get("headers", ()):
                self.headers.add(name.decode("latin-1"), value.decode("latin-1"))
            if self._on_start is not None:
                self._on_start(self.headers)
        elif kind == "http.response.body":
            if not self.status_code:
                raise RuntimeError("The app sent a body before http.response.start.")
            if self._sent_final:
                raise RuntimeError("The app sent a body after the response was complete.")
            if not message.get("more_body", False):
                self._sent_final = True
                self._gone.set()
        else:
            return
        self._from_app.put_nowait(message)

    # -- the client's side ----------------------------------------------------------------

    async def __aenter__(self) -> StreamedResponse:
        self._task = asyncio.create_task(self._run())
        try:
            message = await self._from_app.get()
            if message is _APP_RETURNED:
                self._returned = True
                await self._finish()  # re-raises the app's exception, if any
                raise RuntimeError("The app returned without sending a response.")
        except BaseException:
            await self._abandon()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is None:
            await self.disconnect()
        else:
            await self._abandon()

    async def iter_body(self) -> cabc.AsyncIterator[bytes]:
        """Yield the body's chunks as the app sends them (empty ones skipped).

        Iteration ends with the app's final body message. If the app returns
        without sending it, its exception (if any) is raised, or else
        :class:`IncompleteResponseError`.
        """
        while not self.is_complete:
            if self._returned and self._from_app.empty():
                await self._finish()
                raise IncompleteResponseError(
                    "The app ended the response without its final body message."
                )
            message = await self._from_app.get()
            if message is _APP_RETURNED:
                self._returned = True
                continue
            if not message.get("more_body", False):
                self.is_complete = True
            chunk = bytes(message.get("body", b""))
            if chunk:
                self._received.append(chunk)
                yield chunk

    async def read(self) -> bytes:
        """Wait for the rest of the body; return all of it (chunks already iterated included)."""
        async for _chunk in self.iter_body():
            pass
        return b"".join(self._received)

    async def disconnect(self) -> None:
        """Leave: the app receives ``http.disconnect`` (if it had not finished the
        response yet). Waits for the app to return, and re-raises its exception.
        """
        self._gone.set()
        await self._finish()

    async def _finish(self) -> None:
        task = self._task
        if task is None:
            return
        try:
            await task
        finally:
            if task.done():
                self._task = None

    async def _abandon(self) -> None:
        # Leaving because of an error: give the app a moment to notice the
        # disconnect, then cancel it; its own errors are dropped in favour of
        # the one already on its way.
        self._gone.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait({task}, timeout=1)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            if not task.cancelled():
                task.exception()


from click.testing import CliRunner  # noqa: E402 - only the CLI runner needs click's testing
from click.testing import Result  # noqa: E402


class QuartlikeCliRunner(CliRunner):
    """A :class:`click.testing.CliRunner` for an app's commands; see ``app.test_cli_runner()``.

    :meth:`invoke` runs ``app.cli`` unless another command is given, and passes
    a :class:`~quartlike.cli.ScriptInfo` that loads this app (and leaves its
    ``debug`` alone).
    """

    def __init__(self, app: Quart, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Invoke ``cli`` (default: ``app.cli``) with ``args``; other keyword arguments are
        those of :meth:`click.testing.CliRunner.invoke`.
        """
        from .cli import ScriptInfo

        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app, set_debug_flag=False)
        return super().invoke(cli, args, **kwargs)
