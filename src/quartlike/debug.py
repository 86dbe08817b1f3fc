"""The debug page: the traceback of an unhandled error, for the development server.

In debug mode an error that no error handler handled propagates out of the
app (as in Flask, so tests and servers see it). ``quartlike run --debug``
wraps the app's ``asgi_app`` with :class:`DebugMiddleware`, which answers such
an error with a plain HTML page showing its traceback (chained exceptions
included) instead of the server's bare 500, as Flask's development server does
with its debugger. The page is read-only (no interactive console) and every
piece of text on it is HTML-escaped. Never serve it where untrusted clients
can reach the app: it shows source code and the text of error messages.
"""

from __future__ import annotations

import collections.abc as cabc
import html
import traceback
import typing as t

if t.TYPE_CHECKING:
    from .app import Quart
    from .typing import ASGIReceiveCallable
    from .typing import ASGISendCallable
    from .typing import Message
    from .typing import Scope
    from .wrappers.request import Request
    from .wrappers.response import Response

    ASGIApp = cabc.Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], cabc.Awaitable[None]]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} // quartlike debug page</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }}
.message {{ font-size: 1.1em; margin-top: 0; }}
.where {{ color: #666; }}
pre {{ background: #f4f4f4; padding: 1em; overflow-x: auto; line-height: 1.35; }}
footer {{ color: #888; font-size: 0.85em; }}
</style>
</head>
<body>
<h1>{exc_type}</h1>
<p class="message">{message}</p>
<p class="where">{where}</p>
<pre>{traceback}</pre>
<footer>This page is shown because the app is in debug mode. Turn debug mode off
(no <code>--debug</code>, no <code>QUARTLIKE_DEBUG</code>) wherever others can reach
the app.</footer>
</body>
</html>
"""


def render_debug_page(error: BaseException, request: Request | None = None) -> str:
    """The HTML of the debug page for ``error`` (raised while handling ``request``)."""
    exc_type = type(error).__qualname__
    module = type(error).__module__
    if module not in ("builtins", "__main__"):
        exc_type = f"{module}.{exc_type}"
    message = str(error)
    where = ""
    if request is not None:
        where = f"{request.method} {request.full_path.rstrip('?')}"
    text = "".join(traceback.format_exception(error))
    return _PAGE.format(
        title=html.escape(f"{exc_type}: {message}" if message else exc_type),
        exc_type=html.escape(exc_type),
        message=html.escape(message),
        where=html.escape(where),
        traceback=html.escape(text),
    )


def debug_response(
    error: BaseException,
    request: Request | None = None,
    *,
    response_class: type[Response] | None = None,
) -> Response:
    """A 500 response with the debug page for ``error``, which nobody may cache."""
    if response_class is None:
        from .wrappers.response import Response as default_class

        response_class = default_class
    response = response_class(render_debug_page(error, request), status=500, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


class DebugMiddleware:
    """ASGI middleware that answers an error escaping an HTTP request with the debug page.

    Errors escape the app in debug mode (``PROPAGATE_EXCEPTIONS``). When the
    response has already started, nothing can be sent any more and the error
    is re-raised for the server. Other scope types pass through untouched.
    """

    def __init__(self, app: Quart, asgi_app: ASGIApp) -> None:
        self.app = app
        self.asgi_app = asgi_app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.asgi_app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.asgi_app(scope, receive, watching_send)
        except Exception as error:
            if started:
                raise
            from .asgi import request_from_scope
            from .asgi import send_response

            request = request_from_scope(self.app, scope, receive)
            self.app.logger.error(
                f"Exception on {request.path} [{request.method}]",
                exc_info=(type(error), error, error.__traceback__),
            )
            response = debug_response(error, request, response_class=self.app.response_class)
            await send_response(self.app, request, response, send, receive)


def install_debug_page(app: Quart) -> None:
    """Wrap ``app.asgi_app`` with :class:`DebugMiddleware` (once)."""
    if not isinstance(app.asgi_app, DebugMiddleware):
        app.asgi_app = DebugMiddleware(app, app.asgi_app)  # type: ignore[method-assign]
