"""The request pipeline: hooks, the view, the response, and error handling.

This is mixed into :class:`quartlike.Quart`. The stages and their names follow
Flask (``preprocess_request``, ``dispatch_request``, ``finalize_request``,
``handle_user_exception``, ``handle_exception``, ...), so that code which
overrides them keeps working, but they are coroutines.

The hot path is prepared once: the hooks that apply to a chain of blueprints
are flattened (and sync ones wrapped to run in the thread pool) the first time
that chain is seen, and views are wrapped the first time they are dispatched.
Setup methods are closed after the first request, which keeps those caches
valid.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import typing as t
from concurrent.futures import Executor
from concurrent.futures import Future
from types import TracebackType

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.response import Response as SansIOResponse

from .errors import ErrorsMixin
from .globals import _cv_request
from .globals import _cv_websocket
from .sessions import SecureCookieSessionInterface
from .sessions import SessionInterface
from .sessions import _check_fallbacks as check_fallbacks
from .signals import appcontext_tearing_down
from .signals import got_websocket_exception
from .signals import request_finished
from .signals import request_started
from .signals import request_tearing_down
from .signals import websocket_finished
from .signals import websocket_started
from .signals import websocket_tearing_down
from .sync import awaits_on_loop
from .sync import is_async_callable
from .sync import run_in
from .sync import run_sync_in

if t.TYPE_CHECKING:
    import asyncio
    from logging import Logger

    from blinker import Signal

    from .config import Config
    from .ctx import RequestContext
    from .json.provider import JSONProvider
    from .pool import ThreadPool
    from .scaffold import ErrorHandlerSpec
    from .sessions import SessionMixin
    from .typing import ResponseReturnValue
    from .wrappers.base import BaseRequestWebsocket
    from .wrappers.response import Response

AsyncCallable = cabc.Callable[..., cabc.Awaitable[t.Any]]
P = t.ParamSpec("P")
R = t.TypeVar("R")
ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


#: Whether a stage's function is awaited on the loop (see ``_call_stage``), by function.
_stage_awaits: dict[t.Any, bool] = {}


def _stage_awaits_on_loop(stage: t.Any) -> bool:
    """:func:`awaits_on_loop` for a stage, remembered per function (bounded)."""
    func = getattr(stage, "__func__", stage)
    try:
        return _stage_awaits[func]
    except KeyError:
        pass
    except TypeError:  # an unhashable callable object
        return awaits_on_loop(stage)
    if len(_stage_awaits) >= 256:
        _stage_awaits.clear()
    on_loop = _stage_awaits[func] = awaits_on_loop(stage)
    return on_loop


_INLINE_SESSION_METHODS = frozenset(
    {
        SecureCookieSessionInterface.open_session,
        SecureCookieSessionInterface.save_session,
        SessionInterface.make_null_session,
    }
)


#: The stages of the HTTP pipeline that code may replace, on a subclass or on an
#: app. While an app replaces none of them, requests run them inline (see
#: ``DispatchMixin._lean``): the same steps in the same order, without a
#: coroutine per stage.
_STAGES = frozenset(
    {
        "full_dispatch_request",
        "preprocess_request",
        "dispatch_request",
        "raise_routing_exception",
        "make_default_options_response",
        "finalize_request",
        "make_response",
        "process_response",
        "save_session",
        "do_teardown_request",
        "do_teardown_appcontext",
    }
)


def _class_attribute(cls: type, name: str) -> t.Any:
    """``name`` as the first class in ``cls``'s MRO defines it (descriptors unbound)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


class _HookPlan:
    """The hooks that apply to one chain of blueprints, flattened and made async."""

    __slots__ = ("url_value_preprocessors", "before_request", "after_request", "teardown")

    def __init__(
        self,
        url_value_preprocessors: list[cabc.Callable[..., t.Any]],
        before_request: list[AsyncCallable],
        after_request: list[AsyncCallable],
        teardown: list[AsyncCallable],
    ) -> None:
        self.url_value_preprocessors = url_value_preprocessors
        self.before_request = before_request
        self.after_request = after_request
        self.teardown = teardown


class _AppExecutor(Executor):
    """Submits to the app's current pool, looked up on each call.

    Sync callables are wrapped once and cached; the pool they run in is shut
    down at the end of each lifespan and recreated on demand, so a wrapper must
    not keep a reference to one pool.
    """

    def __init__(self, app: DispatchMixin) -> None:
        self._app = app

    def submit(self, fn: cabc.Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return self._app.executor.submit(fn, *args, **kwargs)

    def run_in_thread(self, loop: asyncio.AbstractEventLoop, fn: cabc.Callable[[], R]) -> t.Any:
        """The pool's light hand-off (:meth:`quartlike.pool.ThreadPool.run_in_thread`)."""
        return run_in(self._app.executor, loop, fn)


class DispatchMixin(ErrorsMixin):
    """The request-handling half of :class:`quartlike.Quart`."""

    if t.TYPE_CHECKING:
        config: Config
        json: JSONProvider
        logger: Logger
        debug: bool
        testing: bool

        @property
        def executor(self) -> ThreadPool: ...

        response_class: type[Response]
        session_interface: SessionInterface
        view_functions: dict[str, cabc.Callable[..., t.Any]]
        error_handler_spec: ErrorHandlerSpec
        before_request_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        after_request_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        teardown_request_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        before_websocket_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        after_websocket_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        teardown_websocket_funcs: dict[str | None, list[cabc.Callable[..., t.Any]]]
        url_value_preprocessors: dict[str | None, list[cabc.Callable[..., t.Any]]]
        teardown_appcontext_funcs: list[cabc.Callable[..., t.Any]]
        _got_first_request: bool

        def redirect(self, location: str, code: int = 302) -> Response: ...

    #: Stage overrides (by name, the objects in the class's ``__dict__``) that
    #: behave as the core's stages on the event loop (the sync face's
    #: ``make_response``, say): they do not stop the pipeline running its
    #: stages inline. A further override of the same name does.
    _inline_equivalent_stages: t.ClassVar[dict[str, t.Any]] = {}

    def _init_dispatch(self) -> None:
        self._plans: dict[tuple[bool | str, ...], _HookPlan] = {}
        self._async_cache: dict[t.Any, AsyncCallable] = {}
        self._view_cache: dict[str, tuple[t.Any, AsyncCallable]] = {}
        self._lean_pipeline: bool | None = None

    def __setattr__(self, name: str, value: t.Any) -> None:
        object.__setattr__(self, name, value)
        if name in _STAGES:
            # A stage replaced on the app (an extension wrapping it, a test):
            # from now on it is called as a stage.
            object.__setattr__(self, "_lean_pipeline", None)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in _STAGES:
            object.__setattr__(self, "_lean_pipeline", None)

    def _lean(self) -> bool:
        """Whether no stage of the HTTP pipeline is replaced, so that a request
        may run them inline. Worked out once per app, again when a stage is
        set on the app; replacing a stage on the class after the app served
        its first request is not seen.
        """
        lean = self._lean_pipeline
        if lean is None:
            cls = type(self)
            equivalent = cls._inline_equivalent_stages
            lean = _STAGES.isdisjoint(vars(self)) and all(
                (found := _class_attribute(cls, name)) is DispatchMixin.__dict__[name]
                or found is equivalent.get(name)
                for name in _STAGES
            )
            if self._got_first_request:
                self._lean_pipeline = lean
        return lean

    # -- sync and async callables ------------------------------------------------------

    async def send_signal(self, signal: Signal, **kwargs: t.Any) -> None:
        """Send ``signal`` with this app as sender; sync receivers run in the thread pool.

        Callers check ``signal.receivers`` first, so signals nobody listens to
        cost nothing.
        """
        # Not the cached ``_async``: caching would keep weakly connected
        # receivers alive (and firing) after their owner dropped them.
        await signal.send_async(self, _sync_wrapper=self.ensure_async, **kwargs)  # type: ignore[arg-type]

    # -- sessions --------------------------------------------------------------------------

    async def open_session(self, request: BaseRequestWebsocket) -> SessionMixin:
        """Load the session with :attr:`session_interface` (the null session if it gives none)."""
        interface = self.session_interface
        session = await self._call_session_method(interface.open_session, request)
        if session is None:
            session = await self._call_session_method(interface.make_null_session)
        return t.cast("SessionMixin", session)

    def _session_opens_inline(self) -> bool:
        """Whether the session interface is the built-in one, which never does I/O.

        A misconfigured ``SECRET_KEY_FALLBACKS`` is reported here, on every
        request, even though the session itself is only opened when used.
        """
        fallbacks = self.config["SECRET_KEY_FALLBACKS"]
        if isinstance(fallbacks, str | bytes):
            check_fallbacks(fallbacks)
        interface = self.session_interface
        return (
            getattr(interface.open_session, "__func__", None) in _INLINE_SESSION_METHODS
            and getattr(interface.make_null_session, "__func__", None) in _INLINE_SESSION_METHODS
        )

    def _open_session_inline(self, request: BaseRequestWebsocket) -> SessionMixin:
        interface = self.session_interface
        session = interface.open_session(self, request)  # type: ignore[arg-type]
        if session is None:
            session = interface.make_null_session(self)  # type: ignore[arg-type]
        return t.cast("SessionMixin", session)

    def _session_needs_refresh(self, request: BaseRequestWebsocket) -> bool:
        # An unused session still matters when its cookie must be refreshed on
        # every request (a permanent session with SESSION_REFRESH_EACH_REQUEST).
        if request._has_cookie_header is False or not self.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        name = self.session_interface.get_cookie_name(self)  # type: ignore[arg-type]
        if "cookies" not in request.__dict__ and not any(
            name in value for value in request._header_values(b"cookie")
        ):
            return False  # no cookie header names it: no need to parse them
        return name in request.cookies

    async def save_session(self, session: SessionMixin, response: Response) -> None:
        """Store the session on the response with :attr:`session_interface`."""
        await self._call_session_method(self.session_interface.save_session, session, response)

    async def _call_session_method(self, method: cabc.Callable[..., t.Any], *args: t.Any) -> t.Any:
        # Our own cookie interface is pure CPU work and runs inline; sync methods
        # of other interfaces may do I/O (a database, a cache) and run in the pool.
        if getattr(method, "__func__", None) in _INLINE_SESSION_METHODS:
            return method(self, *args)
        return await self._async(method)(self, *args)

    def ensure_async(self, func: cabc.Callable[..., t.Any]) -> AsyncCallable:
        """Return an async version of ``func``: itself if it is async, else a wrapper
        that runs it in the app's thread pool with the current contexts.
        """
        if is_async_callable(func):
            return func
        return run_sync_in(_AppExecutor(self), func)

    async def _call_stage(self, stage: cabc.Callable[..., t.Any], *args: t.Any) -> t.Any:
        """Call a stage of the pipeline (``self.handle_exception`` and the like).

        Code may have put a plain sync function in its place: a Flask
        extension wrapping the bound method (Flask-CORS wraps
        ``handle_exception`` and ``handle_user_exception`` so that error
        responses get its headers), or a sync override in a subclass. That is
        sync code, so it runs in the thread pool, where the methods it calls
        (the sync face's ``make_response`` and the wrapped stage itself)
        return values through the sync bridge; an awaitable it returns is
        awaited.
        """
        if _stage_awaits_on_loop(stage):
            return await stage(*args)
        return await self.ensure_async(stage)(*args)

    def _async(self, func: cabc.Callable[..., t.Any]) -> AsyncCallable:
        try:
            return self._async_cache[func]
        except KeyError:
            rv = self._async_cache[func] = self.ensure_async(func)
            return rv
        except TypeError:  # unhashable callable
            return self.ensure_async(func)

    def _plan(self, blueprints: list[str], websocket: bool = False) -> _HookPlan:
        key: tuple[bool | str, ...] = (websocket, *blueprints)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._build_plan(tuple(blueprints), websocket)
            # Hooks may still be registered until the first request (a test
            # request context pops before it), so only cache once setup is closed.
            if self._got_first_request:
                self._plans[key] = plan
        return plan

    def _plan_for(self, connection: BaseRequestWebsocket, websocket: bool = False) -> _HookPlan:
        """``_plan(connection.blueprints, websocket)``, quicker for an app-level endpoint."""
        rule = connection.url_rule
        if rule is None or "." not in rule.endpoint:
            plan = self._plans.get((websocket,))
            if plan is not None:
                return plan
        return self._plan(connection.blueprints, websocket)

    def _build_plan(self, blueprints: tuple[str, ...], websocket: bool) -> _HookPlan:
        # One pipeline for both kinds of connection: only the hook tables differ.
        if websocket:
            befores, afters, teardowns = (
                self.before_websocket_funcs,
                self.after_websocket_funcs,
                self.teardown_websocket_funcs,
            )
        else:
            befores, afters, teardowns = (
                self.before_request_funcs,
                self.after_request_funcs,
                self.teardown_request_funcs,
            )
        outer_first: list[str | None] = [None, *reversed(blueprints)]
        inner_first: list[str | None] = [*blueprints, None]
        preprocessors = [
            f for name in outer_first for f in self.url_value_preprocessors.get(name, ())
        ]
        before = [self._async(f) for name in outer_first for f in befores.get(name, ())]
        after = [self._async(f) for name in inner_first for f in reversed(afters.get(name, ()))]
        teardown = [
            self._async(f) for name in inner_first for f in reversed(teardowns.get(name, ()))
        ]
        return _HookPlan(preprocessors, before, after, teardown)

    # -- the pipeline ---------------------------------------------------------------------

    async def _respond(self, ctx: RequestContext) -> Response:
        """Open the session, then :meth:`full_dispatch_request`, with every stage
        inlined: what a request runs while no stage is replaced (see :meth:`_lean`).

        The steps, their order and their errors are those of the stages; only
        the coroutine per stage is saved. Keep the two in step.
        """
        if ctx._session is None and not ctx._lazy_session:
            if self._session_opens_inline():
                ctx._lazy_session = True
            else:
                ctx._session = await self.open_session(ctx.request)
        if not self._got_first_request:
            self._got_first_request = True
        request = ctx.request
        plan = ctx._hook_plan = self._plan_for(request)
        rv: t.Any
        try:
            if request_started.receivers:
                await self.send_signal(request_started)
            rv = None
            if plan.url_value_preprocessors:
                for func in plan.url_value_preprocessors:
                    func(request.endpoint, request.view_args)
            for before in plan.before_request:
                rv = await before()
                if rv is not None:
                    break
            if rv is None:
                if request.routing_exception is not None:
                    raise request.routing_exception
                rule = request.url_rule
                assert rule is not None
                if request.method == "OPTIONS" and getattr(
                    rule, "provide_automatic_options", False
                ):
                    rv = self.make_default_options_response()
                else:
                    rv = await self._call_view(rule.endpoint, request)
        except Exception as e:
            rv = await self._call_stage(self.handle_user_exception, e)
        try:
            response = self._make_response(rv)
        except TypeError:
            if not inspect.isawaitable(rv):
                raise
            response = self._make_response(await rv)
        for func in ctx._after_request_functions:
            response = await self._async(func)(response)
        for after in plan.after_request:
            response = await after(response)
        session = ctx._session
        if session is None and ctx._lazy_session and self._session_needs_refresh(request):
            session = ctx.session
        if session is not None and not self.session_interface.is_null_session(session):
            await self._call_session_method(self.session_interface.save_session, session, response)
        if request_finished.receivers:
            await self.send_signal(request_finished, response=response)
        return response

    async def full_dispatch_request(self) -> Response:
        """Run the before-request hooks, the view, and turn the result into a response."""
        self._got_first_request = True
        rv: ResponseReturnValue | HTTPException | None
        try:
            if request_started.receivers:
                await self.send_signal(request_started)
            rv = await self.preprocess_request()
            if rv is None:
                rv = await self.dispatch_request()
        except Exception as e:
            rv = await self._call_stage(self.handle_user_exception, e)
        return await self.finalize_request(rv)

    async def preprocess_request(self) -> ResponseReturnValue | None:
        """Run URL value preprocessors, then before-request hooks, outermost first.

        A hook that returns a value stops the chain; that value is the response.
        """
        request = _cv_request.get().request
        plan = self._plan(request.blueprints)
        if plan.url_value_preprocessors:
            for func in plan.url_value_preprocessors:
                func(request.endpoint, request.view_args)
        for before in plan.before_request:
            rv = await before()
            if rv is not None:
                return t.cast("ResponseReturnValue", rv)
        return None

    async def dispatch_request(self) -> ResponseReturnValue:
        """Call the matched view (or answer OPTIONS automatically); raise routing errors."""
        request = _cv_request.get().request
        if request.routing_exception is not None:
            self.raise_routing_exception(request)
        rule = request.url_rule
        assert rule is not None
        if request.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        return t.cast("ResponseReturnValue", await self._call_view(rule.endpoint, request))

    async def _call_view(self, endpoint: str, connection: BaseRequestWebsocket) -> t.Any:
        # The async form of each view is made once and reused while the
        # registered function stays the same (it may be swapped in tests).
        view = self.view_functions[endpoint]
        cached = self._view_cache.get(endpoint)
        if cached is None or cached[0] is not view:
            cached = self._view_cache[endpoint] = (view, self.ensure_async(view))
        if cached[1] is not view:
            # A sync view runs in a worker thread. If the request has a body,
            # take its first message now when the server already has it: then
            # the view reads a one-message body (request.form, get_json(),
            # get_data()) in its thread, without a round trip to the loop.
            body = getattr(connection, "body", None)
            if body is not None and body.declared_length:
                body.peek()
        return await cached[1](**(connection.view_args or {}))

    def raise_routing_exception(self, request: BaseRequestWebsocket) -> t.NoReturn:
        """Raise the error routing stored on the request (404, 405, redirect, 400)."""
        assert request.routing_exception is not None
        raise request.routing_exception

    def make_default_options_response(self) -> Response:
        """The automatic OPTIONS response: empty, with ``Allow`` listing the URL's methods."""
        adapter = _cv_request.get().url_adapter
        assert adapter is not None
        rv = self.response_class()
        rv.allow.update(adapter.allowed_methods())
        return rv

    async def finalize_request(
        self, rv: ResponseReturnValue | HTTPException, from_error_handler: bool = False
    ) -> Response:
        """Make a response from ``rv`` and run the after-request hooks on it.

        When finalizing the response of an error handler, an error here is
        logged rather than raised, so the client still gets that response.
        """
        response = await self.make_response(rv)
        try:
            response = await self.process_response(response)
            if request_finished.receivers:
                await self.send_signal(request_finished, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    async def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` callbacks, then the after-request hooks, innermost first."""
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = await self._async(func)(response)
        for after in self._plan(ctx.request.blueprints).after_request:
            response = await after(response)
        session = ctx._session
        if session is None and ctx._lazy_session and self._session_needs_refresh(ctx.request):
            session = ctx.session  # a permanent session is re-sent even if unused
        if session is not None and not self.session_interface.is_null_session(session):
            await self.save_session(session, response)
        return response

    async def do_teardown_request(self, exc: BaseException | None = None) -> None:
        """Run every teardown-request callback, innermost blueprint first.

        All callbacks run even if some raise; errors are logged, and the first
        one is re-raised when exceptions propagate (testing or debug).
        """
        ctx = _cv_request.get()
        plan = self._plan(ctx.request.blueprints)
        await self._run_teardowns(plan.teardown, exc)
        if request_tearing_down.receivers:
            await self.send_signal(request_tearing_down, exc=exc)

    async def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
        """Run every teardown-appcontext callback, last registered first."""
        funcs = [self._async(f) for f in reversed(self.teardown_appcontext_funcs)]
        await self._run_teardowns(funcs, exc)
        if appcontext_tearing_down.receivers:
            await self.send_signal(appcontext_tearing_down, exc=exc)

    async def _run_teardowns(self, funcs: list[AsyncCallable], exc: BaseException | None) -> None:
        first: Exception | None = None
        for func in funcs:
            try:
                await func(exc)
            except Exception as e:
                self.logger.exception("A teardown callback failed")
                if first is None:
                    first = e
        # Re-raise (when propagating) only if no other error is on its way: the
        # view's exception matters more than a teardown that tripped over it.
        if first is not None and exc is None and self._propagate_exceptions:
            raise first

    # -- the websocket pipeline -----------------------------------------------------------------

    async def full_dispatch_websocket(self) -> Response | None:
        """Run the before-websocket hooks and the handler; return a response if the
        handshake is to be rejected with one, else ``None``.
        """
        self._got_first_request = True
        rv: ResponseReturnValue | HTTPException | None
        try:
            if websocket_started.receivers:
                await self.send_signal(websocket_started)
            websocket = _cv_websocket.get().websocket
            plan = self._plan(websocket.blueprints, websocket=True)
            for func in plan.url_value_preprocessors:
                func(websocket.endpoint, websocket.view_args)
            rv = None
            for before in plan.before_request:
                rv = await before()
                if rv is not None:
                    break
            if rv is None:
                rv = await self.dispatch_websocket()
        except Exception as e:
            rv = await self._call_stage(self.handle_user_exception, e)
        return await self.finalize_websocket(rv)

    async def dispatch_websocket(self) -> ResponseReturnValue | None:
        """Call the matched websocket handler; raise routing errors."""
        websocket = _cv_websocket.get().websocket
        if websocket.routing_exception is not None:
            self.raise_routing_exception(websocket)
        rule = websocket.url_rule
        assert rule is not None
        return t.cast("ResponseReturnValue | None", await self._call_view(rule.endpoint, websocket))

    async def finalize_websocket(
        self, rv: ResponseReturnValue | HTTPException | None, from_error_handler: bool = False
    ) -> Response | None:
        """Make the handler's return value a response (if any) and run the
        after-websocket hooks on it (they receive ``None`` when there is none).
        """
        response = await self.make_response(rv) if rv is not None else None
        try:
            websocket = _cv_websocket.get().websocket
            for after in self._plan(websocket.blueprints, websocket=True).after_request:
                response = await after(response)
            if websocket_finished.receivers:
                await self.send_signal(websocket_finished, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Finalizing a websocket failed while handling an error")
        return response

    async def handle_websocket_exception(self, e: Exception) -> Response | None:
        """The websocket twin of :meth:`handle_exception`: propagate (testing/debug),
        else log and produce the 500 handler's response (used only if the handshake
        has not been accepted yet).
        """
        if got_websocket_exception.receivers:
            await self.send_signal(got_websocket_exception, exception=e)
        if self._propagate_exceptions:
            raise e
        return await self.finalize_websocket(await self._server_error(e), from_error_handler=True)

    async def do_teardown_websocket(self, exc: BaseException | None = None) -> None:
        """Run every teardown-websocket callback, innermost blueprint first."""
        websocket = _cv_websocket.get().websocket
        plan = self._plan(websocket.blueprints, websocket=True)
        await self._run_teardowns(plan.teardown, exc)
        if websocket_tearing_down.receivers:
            await self.send_signal(websocket_tearing_down, exc=exc)

    # -- turning return values into responses ------------------------------------------------

    async def make_response(self, rv: ResponseReturnValue | HTTPException) -> Response:
        """Turn a view's return value into a :attr:`response_class` instance.

        Accepted: a response; ``str``/``bytes``; a ``dict`` or ``list`` (JSON);
        an iterator or async iterator (streamed); an ``HTTPException``; or a
        tuple ``(body, status)``, ``(body, headers)``, ``(body, status, headers)``.
        An awaitable (the coroutine of an ``async def`` view, called by a sync
        decorator such as Flask-CORS's ``cross_origin``) is awaited first.
        """
        try:
            return self._make_response(rv)
        except TypeError:
            if not inspect.isawaitable(rv):
                raise
        return self._make_response(await rv)

    def _make_response(self, rv: t.Any) -> Response:
        kind = type(rv)
        if kind is str:
            return self.response_class(rv)  # the usual view results, first
        if kind is dict:
            return self.json.response(rv)
        if isinstance(rv, HTTPException):  # an error raised and not handled
            return self._http_exception_response(rv)
        status: t.Any = None
        headers: t.Any = None
        if type(rv) is tuple:
            n = len(rv)
            if n == 3:
                rv, status, headers = rv
            elif n == 2:
                if isinstance(rv[1], Headers | dict | tuple | list):
                    rv, headers = rv
                else:
                    rv, status = rv
            else:
                raise TypeError(
                    "The view function returned a tuple of the wrong size. Return"
                    " (body, status, headers), (body, status), or (body, headers)."
                )
        if rv is None:
            request_ctx = _cv_request.get(None)
            endpoint = request_ctx.request.endpoint if request_ctx is not None else None
            raise TypeError(
                f"The view function for {endpoint!r} did not return a valid response: it"
                " returned None or ended without a return statement."
            )
        if isinstance(status, bytes | bytearray):
            status = status.decode("latin-1")
        response_class = self.response_class
        if not isinstance(rv, response_class):
            if isinstance(rv, (str | bytes | bytearray, cabc.Iterator | cabc.AsyncIterator)):
                rv = response_class(rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, dict | list):
                rv = self.json.response(rv)
            elif isinstance(rv, HTTPException):
                rv = self._http_exception_response(rv)
            elif isinstance(rv, SansIOResponse):
                rv = self._coerce_response(rv)
            else:
                raise TypeError(
                    "The view function did not return a valid response. It must return a"
                    " string, bytes, dict, list, iterator, tuple with headers or status,"
                    f" or a Response, but it returned a {type(rv).__name__}."
                )
        if status is not None:
            if isinstance(status, str | bytes | bytearray):
                rv.status = status if isinstance(status, str) else status.decode()
            else:
                rv.status_code = status
        if headers:
            rv.headers.update(headers)
        return t.cast("Response", rv)

    def _coerce_response(self, rv: SansIOResponse) -> Response:
        """Convert another response class (werkzeug's WSGI one, say) to ours."""
        from .wrappers.response import Response as BaseResponse

        if isinstance(rv, BaseResponse):
            # Another of our classes (the core's, in a quartlike.flask app whose
            # response_class is the sync face's): keep its body, streamed or not.
            new = self.response_class(status=rv.status, headers=Headers(rv.headers))
            new.body = rv.body
            new.timeout = rv.timeout
            return new
        get_data = getattr(rv, "get_data", None)
        body = get_data() if get_data is not None else b""
        new = self.response_class(body, status=rv.status, headers=Headers(rv.headers))
        return new
