"""The ASGI adapter: the only module that reads scopes and sends ASGI messages.

One HTTP request is handled on the server's task, with no extra task, unless
the response is streamed: then a watcher task listens for the client going
away so that the stream can be cancelled promptly.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import typing as t
from types import TracebackType

from .signals import got_serving_exception
from .sync import iterate_sync
from .wrappers.request import Body
from .wrappers.response import DataBody
from .wrappers.response import IterableBody
from .wrappers.response import _to_bytes

if t.TYPE_CHECKING:
    from .app import Quart
    from .ctx import RequestContext
    from .typing import ASGIReceiveCallable
    from .typing import ASGISendCallable
    from .typing import HTTPScope
    from .typing import LifespanScope
    from .typing import Message
    from .wrappers.request import Request
    from .wrappers.response import Response


#: For test clients: called with each request's context as its response is about to
#: be sent (the request and app contexts are still the current ones then).
cv_response_hook: contextvars.ContextVar[cabc.Callable[[RequestContext], None] | None] = (
    contextvars.ContextVar("quartlike.response_hook", default=None)
)


def request_from_scope(app: Quart, scope: HTTPScope, receive: ASGIReceiveCallable) -> Request:
    """Build the app's request object from an HTTP scope; the body reads from ``receive``."""
    path = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        # ASGI servers include root_path in path; routing works on the rest.
        path = path[len(root_path) :]
    declared: int | None = None
    length: bytes | None = None
    host: bytes | None = None
    has_cookie = False
    for name, value in scope["headers"]:
        if name == b"host":
            if host is None:
                host = value
        elif name == b"cookie":
            has_cookie = True
        elif name == b"content-length" and length is None:
            length = value
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            declared = None
    body = Body(receive, declared)
    request = app.request_class(
        scope["method"],
        scope.get("scheme", "http"),
        path,
        scope.get("query_string", b""),
        scope["headers"],
        root_path,
        scope.get("http_version", "1.1"),
        scope,
        body=body,
    )
    request._raw_host = host
    request._has_cookie_header = has_cookie
    return request


async def serve_http(
    app: Quart, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Handle one HTTP request: contexts, pipeline, response, teardown (after sending)."""
    request = request_from_scope(app, scope, receive)
    ctx = app.request_context(request)
    ctx.push()
    error: BaseException | None = None
    # While no stage of the pipeline is replaced, they run inline.
    lean = app._lean()
    popped = False
    try:
        try:
            if lean:
                response = await app._respond(ctx)
            else:
                await ctx.open_session()
                response = await app.full_dispatch_request()
            # Invalid headers are an error of the app, handled like any other.
            headers = response.final_headers()
        except Exception as e:
            error = e
            response = await app._call_stage(app.handle_exception, e)
            headers = response.final_headers()
        hook = cv_response_hook.get()
        if hook is not None:
            hook(ctx)
        body = response.body
        status = response.status_code
        if (
            type(body) is DataBody
            and request.method != "HEAD"
            and status >= 200
            and status != 204
            and status != 304
            and not request.body.left_unread
        ):
            # The usual response, whole in memory: what send_response does with it.
            # Sent with the contexts popped (when popping runs nothing: no
            # teardown, no signal, so when it happens is not observable) or
            # detached: see RequestContext._detach.
            detached = None
            if lean and ctx._pop_quick(error):
                popped = True
            else:
                detached = ctx._detach()
            try:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body.data})
            finally:
                if detached is not None:
                    ctx._reattach(detached)
        else:
            await send_response(app, request, response, send, receive, headers)
    except BaseException as e:
        error = e
        raise
    finally:
        if not popped:
            if error is not None and app.should_ignore_error(error):
                error = None
            if not (lean and ctx._pop_quick(error)):
                await ctx.pop(error)


async def send_response(
    app: Quart,
    request: Request,
    response: Response,
    send: ASGISendCallable,
    receive: ASGIReceiveCallable,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send ``response``; stream its body if it is not in memory.

    ``headers`` are the response's :meth:`~Response.final_headers`, when
    already computed.
    """
    if headers is None:
        headers = response.final_headers()
    if (
        request.body.left_unread
        and request.http_version in ("1.0", "1.1")
        and not any(name == b"connection" for name, _ in headers)
    ):
        # The server cannot reuse a connection on which an unread body is still
        # arriving, and closes it: saying so keeps the client from sending its
        # next request there (RFC 9112, 9.6). HTTP/2 and 3 forbid this header.
        headers = [*headers, (b"connection", b"close")]
    start = {"type": "http.response.start", "status": response.status_code, "headers": headers}
    body = response.body
    if request.method == "HEAD" or response.body_is_empty_for_status:
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        await body.aclose()
        return
    if isinstance(body, DataBody):
        await send(start)
        await send({"type": "http.response.body", "body": body.data})
        return
    chunks: cabc.AsyncIterable[bytes] = body
    if (
        isinstance(body, IterableBody)
        and not isinstance(body.iterable, cabc.AsyncIterable)
        and not body.is_buffered
    ):
        chunks = _encode(iterate_sync(app.executor, body.iterable))
    timeout = app.config["RESPONSE_TIMEOUT"] if response.timeout is ... else response.timeout
    await send(start)
    await _stream(app, request, chunks, body.aclose, send, receive, timeout)


async def _encode(items: cabc.AsyncIterator[t.Any]) -> cabc.AsyncIterator[bytes]:
    try:
        async for item in items:
            yield _to_bytes(item)
    finally:
        # Close the source when the stream stops early (a disconnect or timeout):
        # ``iterate_sync`` then closes a sync generator in the pool, not on the loop.
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def _stream(
    app: Quart,
    request: Request,
    chunks: cabc.AsyncIterable[bytes],
    close: cabc.Callable[[], cabc.Awaitable[None]],
    send: ASGISendCallable,
    receive: ASGIReceiveCallable,
    timeout: float | None,
) -> None:
    task = asyncio.current_task()
    assert task is not None
    disconnected = False
    # While streaming, one watcher task owns ``receive``: it notices the client
    # leaving and cancels the stream. Request body messages that arrive
    # meanwhile are relayed to the request body, so a stream that is still
    # reading the upload gets every chunk. The watcher never waits for the
    # reader (a disconnect queued behind unread body messages would go
    # unnoticed): the relay holds up to the request's size limit, which reading
    # the body could hold anyway, and drops what comes past it, where the
    # reader stops with a 413.
    relay: asyncio.Queue[Message] | None = None
    if not request.body.is_complete:
        relay = asyncio.Queue()
        request.body.receive_from(relay.get)
    relayed = 0

    async def watch() -> None:
        nonlocal disconnected, relay, relayed
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                disconnected = True
                task.cancel()
                return
            if relay is not None:
                relay.put_nowait(message)
                relayed += len(message.get("body", b""))
                limit = request.max_content_length
                if not message.get("more_body", False) or (limit is not None and relayed > limit):
                    relay = None

    watcher = asyncio.create_task(watch())
    iterator = aiter(chunks)
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            async for chunk in iterator:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if disconnected and task.uncancel() == 0:
            return  # the client went away: nothing more to send to anyone
        raise
    except Exception as e:
        # The response has started, so no error page can be sent; ending
        # without the final message makes the server drop the connection.
        if isinstance(e, TimeoutError) and deadline.expired():
            app.logger.warning("Streaming the response took longer than %s s; stopped it.", timeout)
            return
        # An error of the body itself: logged like any unhandled error, and
        # raised on (teardown receives it, the server sees the failure).
        if not app._propagate_exceptions:
            app.log_exception((type(e), e, t.cast(TracebackType, e.__traceback__)))
        raise
    finally:
        watcher.cancel()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
        await close()


async def serve_lifespan(
    app: Quart, scope: LifespanScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """Run the app's startup hooks on ``lifespan.startup`` and shutdown hooks on shutdown."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            try:
                await app.startup()
            except Exception as e:
                app.logger.exception("Startup failed")
                await _report_serving_exception(app, e)
                await send({"type": "lifespan.startup.failed", "message": _describe(e)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            try:
                await app.shutdown()
            except Exception as e:
                app.logger.exception("Shutdown failed")
                await _report_serving_exception(app, e)
                await send({"type": "lifespan.shutdown.failed", "message": _describe(e)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _report_serving_exception(app: Quart, e: Exception) -> None:
    if got_serving_exception.receivers:
        try:
            await app.send_signal(got_serving_exception, exception=e)
        except Exception:
            app.logger.exception("A got_serving_exception receiver failed")


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"
