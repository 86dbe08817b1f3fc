"""``flask.testing`` for the sync face: a test client that needs no ``await``.

:class:`FlaskClient` has the methods of Flask's client (``get``, ``post``, ...,
``open``, ``session_transaction``, cookies, ``with client:``) and returns
responses whose body is read without ``await``. Each request goes through the
app's real ASGI interface, on the process-wide background event loop of
:func:`quartlike.sync.background_loop`; the calling thread waits, and runs the
app's sync code (views, hooks, teardown callbacks) itself meanwhile, so a
request made by a sync test runs its sync code in the test's thread, as
Flask's client does. Async views, async hooks, background tasks and
websockets run on the background loop.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import contextvars
import datetime
import importlib.metadata
import typing as t
from types import TracebackType

from werkzeug.datastructures import Headers
from werkzeug.test import Cookie

from ..asgi import cv_response_hook
from ..globals import _cv_app
from ..sync import await_sync
from ..sync import on_event_loop
from ..testing import QuartClient
from ..testing import QuartlikeCliRunner
from ..testing import TestApp
from ..testing import TestWebsocketConnection
from ..testing import _build
from .wrappers import Response

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..ctx import AppContext
    from ..ctx import RequestContext
    from ..sessions import SessionMixin
    from ..typing import ASGIReceiveCallable
    from ..typing import ASGISendCallable
    from ..typing import Scope
    from .wrappers import Request

__all__ = ["FlaskCliRunner", "FlaskClient", "FlaskTestApp", "SyncWebsocket", "TestResponse"]

T = t.TypeVar("T")

#: The runner of ``app.test_cli_runner()``: the core's runner is already sync.
FlaskCliRunner = QuartlikeCliRunner

# The contexts of each request the client makes, recorded when the app starts
# its response (see ``_RecordingApp``).
_Recorded = list[tuple["RequestContext", "AppContext | None"]]
_cv_recorded: contextvars.ContextVar[_Recorded | None] = contextvars.ContextVar(
    "quartlike.flask.recorded", default=None
)


def _loop_thread_error(what: str, instead: str) -> RuntimeError:
    return RuntimeError(
        f"{what} is for sync code, and this runs on an event loop's own thread (an"
        f" 'async def' test?), which waiting would block. In async code, {instead}."
    )


class TestResponse(Response):
    """A response returned by :class:`FlaskClient`, with the extras of Flask's test responses.

    The body has been received in full, so ``data``, ``text``, ``json``,
    ``get_data()`` and ``get_json()`` need no ``await``.
    """

    __test__ = False  # not a pytest test class

    #: The request that produced this response, as the app saw it.
    request: Request | None = None
    #: The responses of the redirects followed to get here, oldest first.
    history: tuple[TestResponse, ...] = ()
    #: The URL the request was sent to.
    request_url: str

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.get_data(as_text=True)

    def close(self) -> None:
        """Release the body (kept for Flask compatibility; the body is in memory)."""

    def __enter__(self) -> TestResponse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_test_response_classes: dict[type[Response], type[TestResponse]] = {}


def _test_response_class(response_class: type[Response]) -> type[TestResponse]:
    if issubclass(response_class, TestResponse):
        return response_class
    cls = _test_response_classes.get(response_class)
    if cls is None:
        cls = type("TestResponse", (TestResponse, response_class), {"__module__": __name__})
        _test_response_classes[response_class] = cls
    return cls


def _as_test_response(response: t.Any) -> TestResponse:
    # The core client made an instance of the app's response class; give it
    # the test extras without copying it (the classes share their layout).
    response_class: type[Response] = type(response)
    response.__class__ = _test_response_class(response_class)
    return t.cast(TestResponse, response)


class _RecordingApp:
    """The app as the client calls it: records the contexts of each request.

    When the app is about to send its response, its request and app contexts
    are the current ones (:data:`quartlike.asgi.cv_response_hook` hands them
    over); they are what ``response.request`` and ``with client:`` give back.
    Everything else is the app's.
    """

    def __init__(self, app: Quart) -> None:
        self._app = app

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._app, name)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        recorded = _cv_recorded.get()
        if recorded is None or scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        def record(request_ctx: RequestContext) -> None:
            recorded.append((request_ctx, _cv_app.get(None)))

        token = cv_response_hook.set(record)
        try:
            await self._app(scope, receive, send)
        finally:
            cv_response_hook.reset(token)


def _header_name(environ_key: str) -> str:
    return environ_key[5:].replace("_", "-").title()


class FlaskClient:
    """Send requests to an app from sync code: ``response = client.get("/")``.

    Made by ``app.test_client()``. Cookies are kept between requests (unless
    ``use_cookies`` is false). With ``TESTING`` on, an exception raised by the
    app propagates to the caller.

    Inside ``with client:`` the request context of the last request stays
    pushed in the calling thread, so ``request``, ``session`` and ``g`` can be
    inspected after it; it is popped (without running the teardown callbacks
    again) at the next request or at the end of the block.

    :param application: the app.
    :param response_wrapper: accepted for Flask compatibility; the responses
        are always the app's ``response_class`` with :class:`TestResponse`'s extras.
    :param use_cookies: keep and send back cookies.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        application: Quart,
        response_wrapper: type[t.Any] | None = None,
        use_cookies: bool = True,
        allow_subdomain_redirects: bool = False,
    ) -> None:
        self.application = application
        self.allow_subdomain_redirects = allow_subdomain_redirects
        #: The asynchronous client that does the work, on the background loop.
        self.async_client = QuartClient(t.cast("Quart", _RecordingApp(application)), use_cookies)
        #: WSGI-style defaults for every request: ``HTTP_*`` keys are headers,
        #: ``REMOTE_ADDR`` the client address, ``wsgi.url_scheme`` the scheme.
        self.environ_base: dict[str, t.Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{importlib.metadata.version('werkzeug')}",
        }
        #: Whether the last request's contexts are kept (inside ``with client:``).
        self.preserve_context = False
        self._preserved: list[tuple[RequestContext, AppContext | None]] = []

    # -- running on the loop ---------------------------------------------------------

    def _run(self, awaitable: cabc.Awaitable[T], recorded: _Recorded | None = None) -> T:
        if on_event_loop():
            if isinstance(awaitable, cabc.Coroutine):
                awaitable.close()
            raise _loop_thread_error(
                f"The {type(self).__name__} test client",
                "use the async client, quartlike.testing.QuartClient"
                " ('response = await client.get(...)')",
            )
        context = contextvars.copy_context()
        if recorded is not None:
            context.run(_cv_recorded.set, recorded)
        return context.run(await_sync, awaitable)

    # -- cookies ---------------------------------------------------------------------

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        domain: str = "localhost",
        origin_only: bool = True,
        path: str = "/",
        **kwargs: t.Any,
    ) -> None:
        """Store a cookie to send with the following requests to ``domain`` and ``path``.

        ``origin_only`` and the other cookie attributes (``kwargs``) are accepted
        for Flask compatibility; the client matches on domain (and its
        subdomains) and path.
        """
        self._jar().set(key, value, domain=domain, path=path)

    def get_cookie(self, key: str, domain: str = "localhost", path: str = "/") -> Cookie | None:
        """The stored cookie ``key`` (a :class:`werkzeug.test.Cookie`), or ``None``."""
        jar = self._jar()
        stored = jar._cookies.get((domain, path, key))
        if stored is None:
            return None
        expires = (
            datetime.datetime.fromtimestamp(stored.expires, datetime.UTC)
            if stored.expires is not None
            else None
        )
        return Cookie(
            key=key,
            value=stored.value,
            decoded_key=key,
            decoded_value=stored.value,
            expires=expires,
            max_age=None,
            domain=domain,
            origin_only=True,
            path=path,
            secure=stored.secure,
            http_only=None,
            same_site=None,
        )

    def delete_cookie(self, key: str, *, domain: str = "localhost", path: str = "/") -> None:
        """Forget a stored cookie."""
        self._jar().delete(key, domain=domain, path=path)

    def _jar(self) -> t.Any:
        jar = self.async_client.cookie_jar
        if jar is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        return jar

    # -- requests --------------------------------------------------------------------

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Send a request and return the response, with its whole body.

        Takes the arguments of Flask's client: the path (optionally with a
        query string, or a full URL) and ``base_url`` positionally or by name,
        ``method``, ``headers``, ``query_string``, ``data`` (bytes, str, or a
        dict of form fields and files as ``(stream, filename[, content_type])``),
        ``json``, ``content_type``/``mimetype``, ``auth``, ``subdomain``,
        ``url_scheme``, ``environ_base`` and ``environ_overrides`` (``HTTP_*``
        keys as headers, ``REMOTE_ADDR``, ``wsgi.url_scheme``, ``SCRIPT_NAME``),
        and ``follow_redirects``. ``buffered`` is accepted and ignored: the body
        is always read in full.
        """
        path, method, options = self._request_args(args, kwargs)
        self._pop_preserved()
        recorded: _Recorded = []
        response = self._run(
            self.async_client.open(
                path, method=method, follow_redirects=follow_redirects, **options
            ),
            recorded,
        )
        history = tuple(_as_test_response(r) for r in getattr(response, "history", ()))
        rv = _as_test_response(response)
        rv.history = history
        for hop, (request_ctx, _app_ctx) in zip((*history, rv), recorded, strict=False):
            hop.request = t.cast("Request", request_ctx.request)
        if self.preserve_context and recorded:
            self._preserve(*recorded[-1])
        return rv

    def _request_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> tuple[str, str, dict[str, t.Any]]:
        if args and not isinstance(args[0], str):
            raise TypeError(
                "The sync test client takes the request as arguments (path, method, data,"
                f" headers, ...), not as a {type(args[0]).__name__}."
            )
        if len(args) > 2:
            raise TypeError("Pass the request's options by name, after the path and base_url.")
        path: str = args[0] if args else kwargs.pop("path", "/")
        if len(args) > 1:
            kwargs["base_url"] = args[1]
        method = str(kwargs.pop("method", "GET")).upper()
        if "url_scheme" in kwargs:
            kwargs["scheme"] = kwargs.pop("url_scheme")
        if "mimetype" in kwargs:
            kwargs.setdefault("content_type", kwargs.pop("mimetype"))
        stream = kwargs.pop("input_stream", None)
        if stream is not None and kwargs.get("data") is None:
            kwargs["data"] = stream.read()
        headers = Headers()
        environ = {**self.environ_base, **(kwargs.pop("environ_base", None) or {})}
        overrides = kwargs.pop("environ_overrides", None) or {}
        self._apply_environ(environ, headers, kwargs, override=False)
        given = kwargs.pop("headers", None)
        if given is not None:
            for key, value in Headers(given).items():
                headers.set(key, value)
        self._apply_environ(overrides, headers, kwargs, override=True)
        kwargs["headers"] = headers
        return path, method, kwargs

    @staticmethod
    def _apply_environ(
        environ: cabc.Mapping[str, t.Any],
        headers: Headers,
        kwargs: dict[str, t.Any],
        override: bool,
    ) -> None:
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers.set(_header_name(key), str(value))
            elif key == "CONTENT_TYPE" and (override or "content_type" not in kwargs):
                kwargs["content_type"] = value
            elif key == "REMOTE_ADDR" and (override or "remote_addr" not in kwargs):
                kwargs["remote_addr"] = value
            elif key == "wsgi.url_scheme" and (override or "scheme" not in kwargs):
                kwargs["scheme"] = value
            elif key == "SCRIPT_NAME" and (override or "root_path" not in kwargs):
                kwargs["root_path"] = value

    def get(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="GET")``."""
        return self.open(*args, method="GET", **kwargs)

    def post(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="POST")``."""
        return self.open(*args, method="POST", **kwargs)

    def put(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="PUT")``."""
        return self.open(*args, method="PUT", **kwargs)

    def patch(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="PATCH")``."""
        return self.open(*args, method="PATCH", **kwargs)

    def delete(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="DELETE")``."""
        return self.open(*args, method="DELETE", **kwargs)

    def head(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="HEAD")``."""
        return self.open(*args, method="HEAD", **kwargs)

    def options(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="OPTIONS")``."""
        return self.open(*args, method="OPTIONS", **kwargs)

    def trace(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        """``open(..., method="TRACE")``."""
        return self.open(*args, method="TRACE", **kwargs)

    def websocket(
        self, path: str = "/", *, subprotocols: list[str] | None = None, **kwargs: t.Any
    ) -> SyncWebsocket:
        """Open a websocket to the app: ``with client.websocket("/ws") as ws:``.

        Takes the arguments of :meth:`quartlike.testing.QuartClient.websocket`.
        """
        connection = self.async_client.websocket(path, subprotocols=subprotocols, **kwargs)
        return SyncWebsocket(self, connection)

    # -- sessions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> cabc.Iterator[SessionMixin]:
        """Open the session the client's cookies carry, to read or change it::

            with client.session_transaction() as session:
                session["user_id"] = 1

        Leaving the block saves the session back into the cookies. The
        arguments are those of ``app.test_request_context()`` (they decide which
        cookies apply, and what the session interface sees).
        """
        jar = self._jar()
        app = self.application
        if args:
            kwargs["path"] = args[0]
            args = args[1:]
        if args:
            raise TypeError("Pass the request's options by name, after the path.")
        scope, _body = _build(app, **kwargs)
        host = QuartClient._host(scope)
        headers = Headers(kwargs.pop("headers", None) or ())
        cookie = jar.header_for(host, scope["path"], scope["scheme"])
        if cookie is not None:
            headers.set("Cookie", cookie)
        ctx = app.test_request_context(headers=headers, **kwargs)
        with ctx:
            session = ctx.session
        if session is None:
            raise RuntimeError("Session backend did not open a session.")
        yield session
        if app.session_interface.is_null_session(session):
            return
        response = app.response_class()
        with ctx:
            await_sync(app.save_session(session, response))
        jar.extract(host, response.headers)

    # -- preserving the last request's contexts --------------------------------------------

    def _preserve(self, request_ctx: RequestContext, app_ctx: AppContext | None) -> None:
        if app_ctx is not None:
            app_ctx.push()
        try:
            request_ctx.push()
        except BaseException:
            if app_ctx is not None:
                app_ctx._reset()
            raise
        self._preserved.append((request_ctx, app_ctx))

    def _pop_preserved(self) -> None:
        while self._preserved:
            request_ctx, app_ctx = self._preserved.pop()
            try:
                request_ctx._reset_without_teardown()
            finally:
                if app_ctx is not None:
                    app_ctx._reset()

    def __enter__(self) -> FlaskClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        self._pop_preserved()


class SyncWebsocket:
    """A test websocket used from sync code: ``with client.websocket("/ws") as ws:``."""

    def __init__(self, client: FlaskClient, connection: TestWebsocketConnection) -> None:
        self._client = client
        #: The asynchronous connection that does the work, on the background loop.
        self.connection = connection

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the app accepted with."""
        return self.connection.subprotocol

    @property
    def accept_headers(self) -> Headers:
        """The headers the app accepted with."""
        return self.connection.accept_headers

    def __enter__(self) -> SyncWebsocket:
        self._client._run(self.connection.__aenter__())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client._run(self.connection.__aexit__(*exc_info))

    def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        self._client._run(self.connection.send(data))

    def send_json(self, value: t.Any) -> None:
        """Send a value as a JSON text message."""
        self._client._run(self.connection.send_json(value))

    def receive(self) -> str | bytes:
        """The next message from the app (:class:`~quartlike.testing.WebsocketDisconnect`
        once it closed)."""
        return self._client._run(self.connection.receive())

    def receive_json(self) -> t.Any:
        """The next message from the app, parsed as JSON."""
        return self._client._run(self.connection.receive_json())

    def close(self, code: int = 1000) -> None:
        """Close from the client side and wait for the app's handler to finish."""
        self._client._run(self.connection.close(code))


class FlaskTestApp(TestApp):
    """``app.test_app()`` that sync tests can use with a plain ``with``.

    Entering runs the app's startup (``before_serving``, ``while_serving``) on
    the background loop the sync client uses, and leaving its shutdown (waiting
    for background tasks, then ``after_serving``). ``async with`` still works.
    """

    __test__ = False  # not a pytest test class

    def test_client(self, **kwargs: t.Any) -> FlaskClient:  # type: ignore[override]
        """A sync test client for the running app."""
        return t.cast(FlaskClient, self.app.test_client(**kwargs))

    def __enter__(self) -> FlaskTestApp:
        if on_event_loop():
            raise _loop_thread_error("'with app.test_app()'", "use 'async with app.test_app():'")
        await_sync(self.startup())
        return self

    def __exit__(self, *exc_info: object) -> None:
        await_sync(self.shutdown())
