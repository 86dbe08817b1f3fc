"""Application and request contexts, kept in :mod:`contextvars`.

An app context makes ``current_app`` and ``g`` available; a request context
makes ``request`` available and owns the per-request state (the URL adapter,
``after_this_request`` callbacks). Pushing is synchronous and cheap; popping
is asynchronous because it runs the teardown callbacks, which may be
coroutines. Both contexts work with ``async with``, and in sync code (a
script, a sync test, a worker thread) with a plain ``with``: there the
teardown coroutines run through the sync bridge (:func:`~quartlike.sync.await_sync`),
while sync teardown callbacks run in the calling thread.
"""

from __future__ import annotations

import collections.abc as cabc
import contextvars
import sys
import typing as t
from abc import ABC
from abc import abstractmethod
from types import TracebackType

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound

from .globals import _cv_app
from .globals import _cv_request
from .globals import _cv_websocket
from .routing import NO_RULE
from .signals import appcontext_popped
from .signals import appcontext_pushed
from .signals import appcontext_tearing_down
from .signals import request_tearing_down
from .sync import Lane
from .sync import _cv_lane
from .sync import await_sync
from .sync import on_event_loop

if t.TYPE_CHECKING:
    from werkzeug.routing import MapAdapter

    from .app import Quart
    from .dispatch import _HookPlan
    from .pool import ThreadPool
    from .sessions import SessionMixin
    from .wrappers.base import BaseRequestWebsocket
    from .wrappers.request import Request
    from .wrappers.websocket import Websocket

_sentinel: t.Any = object()
#: A connection's URL adapter before it is bound (see ``url_adapter``).
_UNBOUND: t.Any = object()


def _refuse_on_loop(instead: str) -> None:
    if on_event_loop():
        raise RuntimeError(
            "A plain 'with' block on a context cannot run on the event loop's own thread:"
            " leaving it runs the teardown callbacks, which may have to wait for the loop."
            f" In 'async def' code, use '{instead}'."
        )


class _AppCtxGlobals:
    """The namespace behind ``g``: plain attributes, plus dict-like helpers."""

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: t.Any) -> None:
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    def get(self, name: str, default: t.Any = None) -> t.Any:
        """Return ``g.name``, or ``default`` when it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove ``g.name`` and return it; ``default`` (or KeyError) when missing."""
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return ``g.name``, setting it to ``default`` first when missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> cabc.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<quartlike.g of {ctx.app.name!r}>"
        return object.__repr__(self)


class AppContext:
    """The application context: ``current_app``, ``g`` and a URL adapter for building."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self._url_adapter: MapAdapter | None = _UNBOUND
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._tokens: list[contextvars.Token[AppContext]] = []

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to ``SERVER_NAME`` (``None`` without one), for
        building URLs outside a request; made on first use."""
        adapter = self._url_adapter
        if adapter is _UNBOUND:
            adapter = self._url_adapter = self.app.create_url_adapter(None)
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def push(self) -> None:
        """Make this the current app context.

        Sends ``appcontext_pushed``; its receivers are called inline (pushing is
        synchronous), so they must be plain functions and quick.
        """
        self._tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            try:
                appcontext_pushed.send(self.app)
            except BaseException:
                self._reset()
                raise

    def pop(self, exc: BaseException | None = _sentinel) -> t.Any:
        """Run the teardown callbacks (on the last pop) and restore the previous context.

        In async code, ``await ctx.pop()``. In sync code, where this is the
        current app context, it pops at once (as in Flask); otherwise it
        returns the coroutine, to be run in the context that pushed it.
        """
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if _cv_app.get(None) is self and not on_event_loop():
            self._pop_sync(exc)
            return None
        return self._pop(exc)

    async def _pop(self, exc: BaseException | None) -> None:
        try:
            if len(self._tokens) == 1:
                await self.app.do_teardown_appcontext(exc)
        finally:
            self._reset()
        if appcontext_popped.receivers:
            await self.app.send_signal(appcontext_popped)

    def _pop_sync(self, exc: BaseException | None) -> None:
        try:
            if len(self._tokens) == 1:
                await_sync(self.app.do_teardown_appcontext(exc))
        finally:
            self._reset()
        if appcontext_popped.receivers:
            await_sync(self.app.send_signal(appcontext_popped))

    def _reset(self) -> None:
        ctx = _cv_app.get()
        _cv_app.reset(self._tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped the wrong app context ({ctx!r} instead of {self!r}).")

    async def __aenter__(self) -> AppContext:
        self.push()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pop(exc_value)

    def __enter__(self) -> AppContext:
        _refuse_on_loop("async with app.app_context():")
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pop_sync(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.app.name!r}>"


class _ConnectionContext(ABC):
    """What request and websocket contexts share: routing, session, push and pop.

    Subclasses name the context variable they live in and the teardown they run.
    """

    _cv: t.ClassVar[contextvars.ContextVar[t.Any]]
    #: Whether a context of this kind pushed on the loop takes a lane of its own
    #: when the app asks for it (``Quart.request_thread_affinity``).
    _takes_lane: t.ClassVar[bool] = False
    #: Whether this context serves a websocket (its rules are the websocket ones).
    _websocket: t.ClassVar[bool] = False

    def __init__(self, app: Quart, connection: BaseRequestWebsocket) -> None:
        self.app = app
        self._connection = connection
        self._url_adapter: MapAdapter | None = _UNBOUND
        if not app._binds_lazily():
            self._url_adapter = None
            try:
                self._url_adapter = app.create_url_adapter(connection)
            except HTTPException as e:
                # An untrusted Host, for example: reported by routing, so the
                # app's error handlers see it.
                connection.routing_exception = e
        self._after_request_functions: list[cabc.Callable[..., t.Any]] = []
        self._tokens: list[tuple[contextvars.Token[t.Any], AppContext | None]] = []

    # Per-connection state that most requests leave as it starts: class
    # defaults, set on the instance only when it changes.
    _session: SessionMixin | None = None
    #: True while the session can be opened on first use instead (the default
    #: cookie interface: pure CPU work, no I/O), see ``session``.
    _lazy_session = False
    #: Flashed messages read during this request (see ``get_flashed_messages``).
    flashes: list[tuple[str, str]] | None = None
    _matched = False
    #: A copy (copy_current_request_context) shares the request; teardown and
    #: closing uploads stay with the original context.
    _is_copy = False
    _lane: Lane | None = None
    _lane_token: contextvars.Token[Lane | None] | None = None
    #: The hooks of the matched endpoint, when the pipeline looked them up.
    _hook_plan: _HookPlan | None = None

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this connection, for matching and building URLs.

        In the usual set-up (see :meth:`Quart._binds_lazily`) it is bound on
        first use: a request to a static rule that builds no URL never needs it.
        """
        adapter = self._url_adapter
        if adapter is _UNBOUND:
            adapter = self._url_adapter = self.app.create_url_adapter(self._connection)
        return adapter

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def match_request(self) -> None:
        """Match the URL, storing the rule and arguments, or the routing error."""
        connection = self._connection
        if self._url_adapter is _UNBOUND and connection._raw_host in self.app._bindable_hosts:
            # A Host header that bound before (so binding cannot fail with a
            # 400 now): a rule the route tables find needs no adapter.
            found = self.app._match_route(connection.path, connection.method, self._websocket)
            if found is not None:
                if found is NO_RULE:
                    # No rule is near the path: werkzeug's matcher would raise
                    # just this (see quartlike.routing.DynamicRoutes).
                    connection.routing_exception = NotFound()
                else:
                    connection.url_rule, connection.view_args = found
                return
        try:
            adapter = self.url_adapter
        except HTTPException as e:
            # A Host name that cannot be encoded, for example: a 400 that
            # routing reports, so the app's error handlers see it.
            self._url_adapter = None
            connection.routing_exception = e
            return
        if adapter is None:
            return
        raw_host = connection._raw_host
        if raw_host is not None:
            hosts = self.app._bindable_hosts
            if raw_host not in hosts:
                if len(hosts) >= 1024:
                    hosts.clear()
                hosts.add(raw_host)
        try:
            rule, view_args = adapter.match(return_rule=True)
        except HTTPException as e:
            connection.routing_exception = e
        else:
            connection.url_rule = rule
            connection.view_args = dict(view_args)

    def push(self) -> None:
        """Make this the current context (and push an app context if needed)."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._tokens.append((self._cv.set(self), app_ctx))
        if (
            self._takes_lane
            and self.app.request_thread_affinity
            and self._lane_token is None
            and not self._is_copy
            and _cv_lane.get() is None
            and on_event_loop()
        ):
            # All the sync code of this request will run in one pool thread.
            self._lane = Lane(self._pool)
            self._lane_token = _cv_lane.set(self._lane)
        if not self._matched:
            self._matched = True
            self.match_request()

    def _pool(self) -> ThreadPool:
        return self.app.executor

    def _release_lane(self) -> None:
        token = self._lane_token
        if token is not None and not self._tokens:
            lane, self._lane, self._lane_token = self._lane, None, None
            _cv_lane.reset(token)
            if lane is not None:
                lane.close()

    def _detach(self) -> tuple[AppContext | None, Lane | None] | None:
        """Make current again what was current before this context was pushed, until
        :meth:`_reattach`; ``None`` (nothing done) unless this context was pushed
        once and is current.

        The response is sent detached: a server's ``send`` may schedule a timer
        (a keep-alive timeout), and a timer keeps a copy of the context it was
        scheduled in until it expires, cancelled or not. Sent attached, the
        request, its app context and ``g`` would stay alive with it, and the
        garbage collector would keep meeting them.
        """
        tokens = self._tokens
        if len(tokens) != 1 or self._cv.get(None) is not self:
            return None
        token, app_ctx = tokens[0]
        if app_ctx is not None and (len(app_ctx._tokens) != 1 or _cv_app.get(None) is not app_ctx):
            return None
        lane = self._lane if self._lane_token is not None else None
        if lane is not None:
            _cv_lane.reset(self._lane_token)
        self._cv.reset(token)
        if app_ctx is not None:
            _cv_app.reset(app_ctx._tokens[0])
        return app_ctx, lane

    def _reattach(self, detached: tuple[AppContext | None, Lane | None]) -> None:
        """Undo :meth:`_detach`."""
        app_ctx, lane = detached
        if app_ctx is not None:
            app_ctx._tokens[0] = _cv_app.set(app_ctx)
        self._tokens[0] = (self._cv.set(self), app_ctx)
        if lane is not None:
            self._lane_token = _cv_lane.set(lane)

    @abstractmethod
    async def _teardown(self, exc: BaseException | None) -> None:
        """Run the teardown callbacks of this kind of connection."""

    def pop(self, exc: BaseException | None = _sentinel) -> t.Any:
        """Run the teardown callbacks (on the last pop) and restore the previous contexts.

        In async code, ``await ctx.pop()``. In sync code, where this is the
        current context, it pops at once (as in Flask); otherwise it returns
        the coroutine, to be run in the context that pushed it.
        """
        if exc is _sentinel:
            exc = sys.exc_info()[1]
        if self._cv.get(None) is self and not on_event_loop():
            self._pop_sync(exc)
            return None
        return self._pop(exc)

    async def _pop(self, exc: BaseException | None) -> None:
        last = len(self._tokens) == 1 and not self._is_copy
        try:
            if last:
                await self._teardown(exc)
        finally:
            ctx = self._cv.get()
            token, app_ctx = self._tokens.pop()
            self._cv.reset(token)
            try:
                if app_ctx is not None:
                    await app_ctx._pop(exc)
            finally:
                self._release_lane()
            if ctx is not self:
                raise AssertionError(f"Popped the wrong context ({ctx!r} instead of {self!r}).")

    def _pop_sync(self, exc: BaseException | None) -> None:
        last = len(self._tokens) == 1 and not self._is_copy
        try:
            if last:
                await_sync(self._teardown(exc))
        finally:
            ctx = self._cv.get()
            token, app_ctx = self._tokens.pop()
            self._cv.reset(token)
            try:
                if app_ctx is not None:
                    app_ctx._pop_sync(exc)
            finally:
                self._release_lane()
            if ctx is not self:
                raise AssertionError(f"Popped the wrong context ({ctx!r} instead of {self!r}).")

    @property
    def session(self) -> SessionMixin | None:
        """The session (``None`` before :meth:`open_session`).

        With the default signed-cookie interface the cookie is read and
        verified on first use, so a request that never touches the session
        pays nothing for it.
        """
        session = self._session
        if session is None and self._lazy_session:
            self._lazy_session = False
            session = self._session = self.app._open_session_inline(self._connection)
        return session

    @session.setter
    def session(self, value: SessionMixin | None) -> None:
        self._session = value
        self._lazy_session = False

    @property
    def session_opened(self) -> bool:
        """Whether the session was loaded (or set) for this connection."""
        return self._session is not None

    async def open_session(self) -> None:
        """Prepare the session for this connection, once (the pipeline calls this).

        An interface whose methods may do I/O is called now, off the hot
        path's critical section; the default cookie interface is deferred to
        the first use of ``session``.
        """
        if self._session is not None or self._lazy_session:
            return
        if self.app._session_opens_inline():
            self._lazy_session = True
        else:
            self._session = await self.app.open_session(self._connection)

    def _reset_without_teardown(self) -> None:
        token, app_ctx = self._tokens.pop()
        self._cv.reset(token)
        try:
            if app_ctx is not None:
                app_ctx._reset()
        finally:
            self._release_lane()

    def copy(self) -> t.Self:
        """A new context for the same connection and app, for work outside the handler."""
        ctx = type(self)(self.app, self._connection)
        ctx._url_adapter = self._url_adapter
        ctx._session = self._session
        ctx._lazy_session = self._lazy_session
        ctx._matched = True
        ctx._is_copy = True
        return ctx

    async def __aenter__(self) -> t.Self:
        self.push()
        try:
            await self.open_session()
        except BaseException:
            self._reset_without_teardown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pop(exc_value)

    def __enter__(self) -> t.Self:
        _refuse_on_loop("async with app.test_request_context(...):")
        self.push()
        try:
            await_sync(self.open_session())
        except BaseException:
            self._reset_without_teardown()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pop_sync(exc_value)

    def __repr__(self) -> str:
        connection = self._connection
        return (
            f"<{type(self).__name__} {connection.url!r} [{connection.method}] of {self.app.name!r}>"
        )


class RequestContext(_ConnectionContext):
    """The request context: ``request``, its URL adapter and per-request callbacks.

    Pushing it also pushes an app context when the current one belongs to
    another app (or there is none), and matches the request URL.
    """

    _cv = _cv_request
    _takes_lane = True

    def __init__(self, app: Quart, request: Request) -> None:
        super().__init__(app, request)
        self.request = request

    async def _teardown(self, exc: BaseException | None) -> None:
        try:
            await self.app.do_teardown_request(exc)
        finally:
            self.request.close()

    def _pop_quick(self, exc: BaseException | None) -> bool:
        """Pop this context and its app context at once, when popping would
        await nothing: no teardown callback and no signal receiver, the usual
        request. Returns False, having done nothing, when :meth:`pop` is needed.

        Only for an app whose teardown stages are not replaced (``Quart._lean``).
        """
        tokens = self._tokens
        if len(tokens) != 1 or self._is_copy or self._cv.get() is not self:
            return False
        app = self.app
        app_ctx = tokens[0][1]
        plan = self._hook_plan
        if plan is None or plan.teardown or request_tearing_down.receivers:
            return False
        if app_ctx is not None and (
            len(app_ctx._tokens) != 1
            or app.teardown_appcontext_funcs
            or appcontext_tearing_down.receivers
            or appcontext_popped.receivers
        ):
            return False
        try:
            self.request.close()
        finally:
            self._reset_without_teardown()
        return True


class WebsocketContext(_ConnectionContext):
    """The websocket context: ``websocket`` and its URL adapter, for one connection."""

    _cv = _cv_websocket
    _websocket = True

    def __init__(self, app: Quart, websocket: Websocket) -> None:
        super().__init__(app, websocket)
        self.websocket = websocket

    async def _teardown(self, exc: BaseException | None) -> None:
        await self.app.do_teardown_websocket(exc)
