"""Error handling: finding handlers, and what happens to errors nothing handles.

Mixed into :class:`quartlike.Quart` through the pipeline's mixin
(:class:`quartlike.dispatch.DispatchMixin`). The names and the rules follow
Flask: ``handle_user_exception`` for errors of hooks and views,
``handle_http_exception`` for HTTP errors, ``handle_exception`` for what
escapes them (re-raised when propagating, else logged and answered with a
500), ``trap_http_exception`` and ``PROPAGATE_EXCEPTIONS`` to raise instead.
Handlers are looked up when an error happens, by blueprint chain, code and
the exception's MRO: off the hot path.
"""

from __future__ import annotations

import collections.abc as cabc
import sys
import typing as t
from types import TracebackType

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.routing import RequestRedirect
from werkzeug.routing import RoutingException

from .globals import _cv_request
from .globals import _cv_websocket
from .signals import got_request_exception
from .wrappers.response import Response as _BaseResponse
from .wrappers.response import _default_content_type

if t.TYPE_CHECKING:
    from logging import Logger

    from blinker import Signal

    from .config import Config
    from .ctx import RequestContext
    from .ctx import WebsocketContext
    from .scaffold import ErrorHandlerSpec
    from .typing import ResponseReturnValue
    from .wrappers.response import Response

AsyncCallable = cabc.Callable[..., cabc.Awaitable[t.Any]]
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

_BASE_GET_BODY = HTTPException.get_body
_BASE_GET_HEADERS = HTTPException.get_headers
_BASE_GET_DESCRIPTION = HTTPException.get_description
_BASE_NAME = HTTPException.name
_BASE_RESPONSE_INIT = _BaseResponse.__init__
#: Stock error pages by (exception class, code, description): (body, headers,
#: and the Content-Type when that is the only header).
_error_pages: dict[
    tuple[type[HTTPException], int | None, str], tuple[bytes, t.Any, str | None]
] = {}


class ErrorsMixin:
    """The error-handling half of the pipeline (see the module docs)."""

    if t.TYPE_CHECKING:
        config: Config
        logger: Logger
        debug: bool
        testing: bool
        error_handler_spec: ErrorHandlerSpec

        async def send_signal(self, signal: Signal, **kwargs: t.Any) -> None: ...
        async def _call_stage(self, stage: cabc.Callable[..., t.Any], *args: t.Any) -> t.Any: ...
        def _async(self, func: cabc.Callable[..., t.Any]) -> AsyncCallable: ...
        async def finalize_request(
            self, rv: ResponseReturnValue | HTTPException, from_error_handler: bool = False
        ) -> Response: ...

        response_class: type[Response]

        def redirect(self, location: str, code: int = 302) -> Response: ...
        def _coerce_response(self, rv: t.Any) -> Response: ...

    @property
    def _propagate_exceptions(self) -> bool:
        rv = self.config["PROPAGATE_EXCEPTIONS"]
        if rv is not None:
            return bool(rv)
        return self.testing or self.debug

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should be raised like any other error (see config)."""
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def _find_error_handler(
        self, e: BaseException, blueprints: list[str]
    ) -> cabc.Callable[..., t.Any] | None:
        spec = self.error_handler_spec
        if not spec:
            return None  # no handler registered anywhere (a 404 of an app without any)
        exc_class = type(e)
        code = getattr(e, "code", None) if isinstance(e, HTTPException) else None
        names = (*blueprints, None)
        for c in (code, None) if code is not None else (None,):
            for name in names:
                by_code = spec.get(name)
                if not by_code:
                    continue
                handler_map = by_code.get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def _request_blueprints(self) -> list[str]:
        ctx: RequestContext | WebsocketContext | None = _cv_request.get(None)
        if ctx is None:
            ctx = _cv_websocket.get(None)
        return ctx._connection.blueprints if ctx is not None else []

    async def handle_http_exception(self, e: HTTPException) -> HTTPException | ResponseReturnValue:
        """Find the error handler for an HTTP exception; without one, the exception is
        the response. Routing redirects and code-less exceptions are never handled.
        """
        if e.code is None:
            return e
        if isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, self._request_blueprints())
        if handler is None:
            return e
        return t.cast("ResponseReturnValue", await self._async(handler)(e))

    async def handle_user_exception(self, e: Exception) -> HTTPException | ResponseReturnValue:
        """Handle an error raised by a hook or view: HTTP errors go to
        :meth:`handle_http_exception`, others to their registered handler; with no
        handler the error is re-raised (to :meth:`handle_exception`).
        """
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return t.cast(
                "HTTPException | ResponseReturnValue",
                await self._call_stage(self.handle_http_exception, e),
            )
        handler = self._find_error_handler(e, self._request_blueprints())
        if handler is None:
            # Not a bare raise: called through the sync bridge (a sync wrapper
            # of this method), this runs in a task of its own, with no active
            # exception to re-raise.
            if sys.exc_info()[1] is e:
                raise
            raise e
        return t.cast("ResponseReturnValue", await self._async(handler)(e))

    async def handle_exception(self, e: Exception) -> Response:
        """Handle an error nothing else handled: re-raise it when propagating
        (testing/debug), else log it and answer 500 (through a 500 handler if any,
        which receives an ``InternalServerError`` with ``original_exception`` set).
        """
        if got_request_exception.receivers:
            await self.send_signal(got_request_exception, exception=e)
        if self._propagate_exceptions:
            if sys.exc_info()[1] is e:
                raise
            raise e
        return await self.finalize_request(await self._server_error(e), from_error_handler=True)

    async def _server_error(self, e: Exception) -> t.Any:
        """Log ``e`` (unhandled) and return what stands for it: the 500 handler's
        result if there is one, else an ``InternalServerError`` carrying it."""
        self.log_exception((type(e), e, t.cast(TracebackType, e.__traceback__)))
        server_error: t.Any = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, self._request_blueprints())
        if handler is not None:
            server_error = await self._async(handler)(server_error)
        return server_error

    def log_exception(self, exc_info: ExcInfo) -> None:
        """Log an unhandled error with the request's path and method."""
        ctx = _cv_request.get(None)
        where = f" on {ctx.request.path} [{ctx.request.method}]" if ctx is not None else ""
        self.logger.error(f"Exception{where}", exc_info=exc_info)

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Return True to hide ``error`` from the teardown callbacks."""
        return False

    def _http_exception_response(self, e: HTTPException) -> Response:
        if e.response is not None:
            response = e.response
            if isinstance(response, self.response_class):
                return response
            return self._coerce_response(response)
        if isinstance(e, RequestRedirect):
            return self.redirect(e.new_url, e.code)
        kind = type(e)
        if (
            kind.get_body is _BASE_GET_BODY
            and kind.get_headers is _BASE_GET_HEADERS
            and kind.get_description is _BASE_GET_DESCRIPTION
            and kind.name is _BASE_NAME
            and type(kind.description) is str  # not a property (BadRequestKeyError)
            and "description" not in e.__dict__
            and "code" not in e.__dict__
        ):
            # A stock error page (a 404 for a URL nobody routes, say) depends on the
            # class only: render it once per class (and code and description).
            key = (kind, kind.code, kind.description)
            page = _error_pages.get(key)
            if page is None:
                if len(_error_pages) >= 256:
                    _error_pages.clear()
                headers = tuple(e.get_headers())
                only_type = (
                    headers[0][1] if len(headers) == 1 and headers[0][0] == "Content-Type" else None
                )
                page = _error_pages[key] = (e.get_body().encode(), headers, only_type)
            response_class = self.response_class
            if (
                page[2] is not None
                and response_class.__init__ is _BASE_RESPONSE_INIT
                and page[2] == _default_content_type(response_class)
            ):
                # The page's one header is the class's default Content-Type:
                # built like a view's string (the same headers, in the same
                # order), then given the status; a third of the generic way.
                response = response_class(page[0])
                response.status_code = e.code or 500
                return response
            return response_class(page[0], status=e.code or 500, headers=page[1])
        request_ctx = _cv_request.get(None)
        scope: t.Any = request_ctx.request.scope if request_ctx is not None else None
        return self.response_class(
            e.get_body(scope=scope),
            status=e.code or 500,
            headers=e.get_headers(scope=scope),
        )
