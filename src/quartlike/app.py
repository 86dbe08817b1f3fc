"""The application object: configuration, registration, contexts and serving.

What happens to a request once it arrives lives in :mod:`quartlike.dispatch`
(the pipeline, mixed into :class:`Quart`), and what speaks ASGI lives in
:mod:`quartlike.asgi`. This module wires them together.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import typing as t
import weakref
from datetime import timedelta
from urllib.parse import quote as _url_quote

from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import Aborter
from werkzeug.exceptions import BadHost
from werkzeug.routing import BuildError
from werkzeug.routing import Map as _WerkzeugMap
from werkzeug.routing import MapAdapter
from werkzeug.routing import Rule
from werkzeug.utils import cached_property
from werkzeug.utils import redirect as _wz_redirect

from .config import DEFAULT_CONFIG
from .config import Config
from .config import ConfigAttribute
from .ctx import AppContext
from .ctx import RequestContext
from .ctx import WebsocketContext
from .ctx import _AppCtxGlobals
from .dispatch import DispatchMixin
from .globals import _cv_app
from .globals import _cv_request
from .globals import _cv_websocket
from .helpers import _find_package
from .helpers import get_debug_flag
from .json.provider import DefaultJSONProvider
from .json.provider import JSONProvider
from .lifespan import Lifespan
from .logging import create_logger
from .pool import ThreadPool
from .routing import Map
from .routing import NoRule
from .routing import StaticRoutes
from .scaffold import Scaffold
from .scaffold import endpoint_from_view_func
from .scaffold import setupmethod
from .sessions import SecureCookieSessionInterface
from .sessions import SessionInterface
from .templating import TemplatingMixin
from .typing import ASGIReceiveCallable
from .typing import ASGISendCallable
from .typing import LifespanCallable
from .typing import RouteCallable
from .typing import Scope
from .typing import TeardownCallable
from .typing import WhileServingCallable
from .wrappers.base import BaseRequestWebsocket
from .wrappers.request import Request
from .wrappers.response import Response
from .wrappers.websocket import Websocket

if t.TYPE_CHECKING:
    import asyncio
    import logging

    from .blueprints import Blueprint
    from .cli import AppGroup
    from .files import AsyncFile
    from .testing import QuartClient
    from .testing import QuartlikeCliRunner
    from .testing import TestApp

T_teardown = t.TypeVar("T_teardown", bound=TeardownCallable)
T_lifespan = t.TypeVar("T_lifespan", bound=LifespanCallable)
T_while = t.TypeVar("T_while", bound=WhileServingCallable)
ShellContextProcessorCallable = cabc.Callable[[], dict[str, t.Any]]
T_shell_context = t.TypeVar("T_shell_context", bound=ShellContextProcessorCallable)


def _make_timedelta(value: timedelta | int) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


_idna_hosts: dict[str, str] = {}
#: ``quartlike.asgi.serve_http``, once the first HTTP request has imported it.
_serve_http: t.Any = None


def _idna_host(host: str) -> str:
    """``host`` (lower-case, with an optional port) with its name IDNA-encoded, cached.

    :raises BadHost: (400) when the name cannot be encoded.
    """
    rv = _idna_hosts.get(host)
    if rv is None:
        name, sep, port = host.lower().partition(":")
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise BadHost() from e
        rv = f"{name}{sep}{port}"
        if len(_idna_hosts) < 1024:
            _idna_hosts[host] = rv
    return rv


class Quart(DispatchMixin, TemplatingMixin, Scaffold):
    """The application: an ASGI 3 callable that speaks Flask's API.

    :param import_name: the name of the application's module, usually
        ``__name__``; used to find ``root_path``, templates and static files.
    :param static_url_path: the URL prefix of the static route.
    :param static_folder: the folder of static files, relative to ``root_path``.
    :param static_host: the host of the static route, with ``host_matching``.
    :param host_matching: match rules on the request host (``Rule(host=...)``).
    :param subdomain_matching: match rules on the subdomain of ``SERVER_NAME``.
    :param template_folder: the folder of templates, relative to ``root_path``.
    :param instance_path: the instance folder; defaults to ``instance/`` beside the app.
    :param instance_relative_config: resolve config file names against the instance folder.
    :param root_path: overrides the folder derived from ``import_name``.
    """

    #: Collaborator classes, swappable by subclasses or assignment.
    request_class: type[Request] = Request
    response_class: type[Response] = Response
    websocket_class: type[Websocket] = Websocket
    url_rule_class: type[Rule] = Rule
    url_map_class: type[_WerkzeugMap] = Map
    config_class: type[Config] = Config
    app_ctx_globals_class: type[_AppCtxGlobals] = _AppCtxGlobals
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    aborter_class: type[Aborter] = Aborter
    test_client_class: type[QuartClient] | None = None
    #: Loads and saves sessions; the default keeps them in a signed cookie.
    session_interface: SessionInterface = SecureCookieSessionInterface()
    test_cli_runner_class: type[QuartlikeCliRunner] | None = None
    #: Run all the sync code of a request (hooks, view, error handlers, teardown)
    #: in one pool thread, taken at its first sync call and held until the
    #: request ends, as a WSGI server would: thread-bound resources (a sqlite3
    #: connection, thread-locals) then work across hooks. Off by default (each
    #: sync call takes any free thread); on in ``quartlike.flask.Flask``.
    request_thread_affinity: bool = False

    #: The defaults every new app's config starts from.
    default_config: ImmutableDict[str, t.Any] = ImmutableDict(DEFAULT_CONFIG)

    testing: ConfigAttribute[bool] = ConfigAttribute("TESTING")
    secret_key: ConfigAttribute[str | bytes | None] = ConfigAttribute("SECRET_KEY")
    permanent_session_lifetime: ConfigAttribute[timedelta] = ConfigAttribute(
        "PERMANENT_SESSION_LIFETIME", get_converter=_make_timedelta
    )

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute. A relative path was"
                " given instead."
            )
        self.instance_path = instance_path
        self.config = self.make_config(instance_relative_config)
        self.json: JSONProvider = self.json_provider_class(self)
        self.aborter = self.aborter_class()
        self.url_map = self.url_map_class(host_matching=host_matching)
        self._static_routes: StaticRoutes | None = None
        #: Raw ``Host`` header values the URL map was bound to without error
        #: (bounded: cleared when full). Binding checks the host (a name that
        #: cannot be IDNA-encoded is a 400, as in Flask), so a request skips
        #: binding only with a host seen to pass (see ``RequestContext.match_request``).
        self._bindable_hosts: set[bytes] = set()
        self.subdomain_matching = subdomain_matching
        self.static_host = static_host

        self.url_build_error_handlers: list[
            cabc.Callable[[Exception, str, dict[str, t.Any]], str | None]
        ] = []
        self.teardown_appcontext_funcs: list[TeardownCallable] = []
        self.before_serving_funcs: list[LifespanCallable] = []
        self.after_serving_funcs: list[LifespanCallable] = []
        self.while_serving_gens: list[WhileServingCallable] = []
        #: Extensions keep their state here, keyed by a name of their choosing.
        self.extensions: dict[str, t.Any] = {}
        #: Registered blueprints by their dotted name (``parent.child`` when nested).
        self.blueprints: dict[str, Blueprint] = {}
        #: Functions returning names for the ``quartlike shell`` namespace.
        self.shell_context_processors: list[ShellContextProcessorCallable] = []

        from .cli import AppGroup

        #: The click group of the app's commands, run by ``quartlike <command>``.
        self.cli: AppGroup = AppGroup(self.name)

        self._executor: ThreadPool | None = None
        self._lifespan = Lifespan(self)
        self._init_dispatch()

        # The static route is added whether or not the folder exists yet (it
        # may be created while the app runs). The view looks the app up through
        # a weak reference, so the app and its view form no reference cycle.
        if self.has_static_folder:
            if bool(static_host) != host_matching:
                raise AssertionError(
                    "Invalid static_host/host_matching combination: 'static_host' is"
                    " required with 'host_matching=True' (when there is a static folder)"
                    " and not allowed without it."
                )
            app_ref = weakref.ref(self)

            async def static(filename: str) -> Response:
                app = app_ref()
                assert app is not None
                return await app.send_static_file(filename)

            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=static,
            )

    # -- identity and configuration ----------------------------------------------

    @cached_property
    def name(self) -> str:
        """The app's name: ``import_name``, or the script's name when run as ``__main__``."""
        if self.import_name == "__main__":
            fn = getattr(sys.modules["__main__"], "__file__", None)
            if fn is None:
                return "__main__"
            return str(os.path.splitext(os.path.basename(fn))[0])
        return self.import_name

    @property
    def debug(self) -> bool:
        """Debug mode (``DEBUG``): detailed errors and propagated exceptions."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        self._sync_auto_reload()  # TEMPLATES_AUTO_RELOAD=None follows debug

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create the config object, seeded from :attr:`default_config`."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def auto_find_instance_path(self) -> str:
        """The default instance folder, where Flask puts it.

        ``instance/`` beside the app's top-level package (or beside its module);
        for an app installed into the interpreter's prefix (site-packages),
        ``<prefix>/var/<name>-instance`` instead, since the installed package's
        folder is no place for runtime files.
        """
        prefix, package_path = _find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    async def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> AsyncFile[t.Any]:
        """Open ``resource`` (relative to :attr:`instance_path`) with aiofiles.

        Any mode is allowed: the instance folder is where an app keeps files
        it writes. A coroutine, unlike Flask's::

            async with await app.open_instance_resource("state.json", "w") as f:
                await f.write(data)

        :param encoding: the encoding of a text mode (ignored in binary modes).
        """
        from .files import open_async

        return await open_async(os.path.join(self.instance_path, resource), mode, encoding)

    @cached_property
    def logger(self) -> logging.Logger:
        """The app's :mod:`logging` logger, named after the app."""
        return create_logger(self)

    @property
    def got_first_request(self) -> bool:
        """Whether the app has started handling requests (setup is then closed)."""
        return self._got_first_request

    # -- sync code -----------------------------------------------------------------

    @property
    def executor(self) -> ThreadPool:
        """The bounded thread pool (``SYNC_WORKERS`` threads) that runs sync callables."""
        if self._executor is None:
            self._executor = ThreadPool(
                max_workers=self.config["SYNC_WORKERS"],
                thread_name_prefix=f"quartlike-{self.name}",
            )
        return self._executor

    # -- routing -------------------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a URL rule and its view; the non-decorator form of :meth:`route`."""
        if endpoint is None:
            endpoint = endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint
        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "'methods' must be a list of method names, for example"
                ' @app.route("/", methods=["POST"]), not a string.'
            )
        methods = {item.upper() for item in methods}
        required_methods = set(getattr(view_func, "required_methods", ()))
        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            if "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]:
                provide_automatic_options = True
                required_methods.add("OPTIONS")
            else:
                provide_automatic_options = False
        methods |= required_methods

        rule_obj = self.url_rule_class(rule, methods=methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
        self.url_map.add(rule_obj)
        if view_func is not None:
            old_func = self.view_functions.get(endpoint)
            if old_func is not None and old_func != view_func:
                raise AssertionError(
                    f"The view function for endpoint {endpoint!r} would be overwritten by"
                    f" {view_func!r}. Give one of them another endpoint name."
                )
            self.view_functions[endpoint] = view_func

    def _binds_lazily(self) -> bool:
        """Whether a connection's URL adapter may be bound on first use, and its
        route matched without one by the route tables (see
        :class:`~quartlike.routing.StaticRoutes` and
        :class:`~quartlike.routing.DynamicRoutes`), which also tell a path no
        rule can match (a 404) without one.

        True for the usual set-up: no host or subdomain matching (every request
        is bound to the empty subdomain), no ``TRUSTED_HOSTS`` (binding cannot
        fail with a 400 that routing must report) and the default binding.
        """
        url_map = self.url_map
        return (
            self.config["TRUSTED_HOSTS"] is None
            and not self.subdomain_matching
            and not url_map.host_matching
            and not url_map.default_subdomain
            and "create_url_adapter" not in self.__dict__
            and type(self).create_url_adapter is Quart.create_url_adapter
        )

    def _match_route(
        self, path: str, method: str, websocket: bool
    ) -> tuple[Rule, dict[str, t.Any]] | NoRule | None:
        """The rule and view arguments for a request, from the static table and
        then the table of all rules; :data:`~quartlike.routing.NO_RULE` when no
        rule can match the path (werkzeug would raise ``NotFound``); or ``None``
        when werkzeug must match.

        Only valid when :meth:`_binds_lazily` is true.
        """
        table = self._static_routes
        url_map = self.url_map
        if table is None or table.url_map is not url_map or table.changes != url_map.changes:
            if not isinstance(url_map, Map):
                return None  # another map class: no change count to trust
            table = self._static_routes = StaticRoutes(url_map)
        rule = table.match(path, method, websocket)
        if rule is not None:
            return rule, {}
        return table.dynamic.match(path, method, websocket)

    def create_url_adapter(self, request: BaseRequestWebsocket | None) -> MapAdapter | None:
        """Bind the URL map to a request (for matching and building) or to ``SERVER_NAME``.

        Raises a 400 ``SecurityError`` when the request's Host is not in
        ``TRUSTED_HOSTS``.
        """
        if request is not None:
            trusted_hosts = self.config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
            host = request.host.lower()  # validates against trusted_hosts
            subdomain: str | None = None
            server_name: str | None = self.config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                subdomain = self.url_map.default_subdomain or ""
            scheme = request.scheme
            if server_name is None:
                server_name = host
            else:
                server_name = server_name.lower()
                if scheme in {"http", "ws"} and server_name.endswith(":80"):
                    server_name = server_name[:-3]
                elif scheme in {"https", "wss"} and server_name.endswith(":443"):
                    server_name = server_name[:-4]
            if subdomain is None and not self.url_map.host_matching:
                current = host.split(".")
                real = server_name.split(".")
                offset = -len(real)
                if current[offset:] != real:
                    subdomain = "<invalid>"
                else:
                    subdomain = ".".join(filter(None, current[:offset]))
            url_map = self.url_map
            if subdomain is None and not url_map.host_matching:
                subdomain = url_map.default_subdomain
            # What Map.bind does, without re-encoding the same host name to
            # IDNA on every request: the encoded name is cached per host.
            return MapAdapter(
                url_map,
                _idna_host(server_name),
                request.root_path or "/",
                subdomain,
                scheme,
                request.path,
                request.method,
                request.query_string.decode("latin-1"),
            )
        if self.config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                self.config["SERVER_NAME"],
                script_name=self.config["APPLICATION_ROOT"],
                url_scheme=self.config["PREFERRED_URL_SCHEME"],
            )
        return None

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Run the ``url_defaults`` functions of the app and of the endpoint's blueprints."""
        names: list[str | None] = [None]
        if "." in endpoint:
            parts = endpoint.rpartition(".")[0].split(".")
            names.extend(".".join(parts[:i]) for i in range(1, len(parts) + 1))
        for name in names:
            if name in self.url_default_functions:
                for func in self.url_default_functions[name]:
                    func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Give :attr:`url_build_error_handlers` a chance to build the URL, else re-raise."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def url_for(
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL of ``endpoint``; see :func:`quartlike.url_for`."""
        req_ctx: RequestContext | WebsocketContext | None = _cv_request.get(None)
        if req_ctx is None:
            req_ctx = _cv_websocket.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            blueprint_name = req_ctx._connection.blueprint
            if endpoint[:1] == ".":
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            if app_ctx is not None:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Cannot build a URL outside a request without SERVER_NAME: set"
                    " app.config['SERVER_NAME'] (and APPLICATION_ROOT and"
                    " PREFERRED_URL_SCHEME as needed), or build it inside a request."
                )
            if _external is None:
                _external = True
        if url_adapter is None:
            raise RuntimeError("This request has no URL adapter (its Host was rejected).")
        if _scheme is not None and not _external:
            raise ValueError("'_scheme' only makes sense with '_external=True'.")
        self.inject_url_defaults(endpoint, values)
        try:
            rv = url_adapter.build(
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)
        if _anchor is not None:
            rv = f"{rv}#{_url_quote(_anchor, safe='%!#$&' + chr(39) + '()*+,/:;=?@')}"
        return rv

    def redirect(self, location: str, code: int = 302) -> Response:
        """A redirect response to ``location`` (``Location`` header and a small HTML body)."""
        return t.cast(Response, _wz_redirect(location, code, Response=self.response_class))  # type: ignore[arg-type]

    # -- blueprints ----------------------------------------------------------------------

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Register ``blueprint``: add its routes, hooks and error handlers to the app.

        ``options`` override the blueprint's own settings for this registration
        (``name``, ``url_prefix``, ``subdomain``, ``url_defaults``,
        ``cli_group``) and are passed to its deferred functions in
        :attr:`BlueprintSetupState.options <quartlike.blueprints.BlueprintSetupState.options>`.
        A blueprint may be registered several times under different names.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> cabc.ValuesView[Blueprint]:
        """The registered blueprints, nested ones included, in registration order."""
        return self.blueprints.values()

    # -- hooks only the app has ---------------------------------------------------------

    @setupmethod
    def teardown_appcontext(self, f: T_teardown) -> T_teardown:
        """Run ``f(error)`` when the app context is popped."""
        self.teardown_appcontext_funcs.append(f)
        return f

    @setupmethod
    def before_serving(self, f: T_lifespan) -> T_lifespan:
        """Run ``f()`` once at startup, in an app context, before any request is served."""
        self.before_serving_funcs.append(f)
        return f

    @setupmethod
    def after_serving(self, f: T_lifespan) -> T_lifespan:
        """Run ``f()`` once at shutdown, in an app context, after the last request."""
        self.after_serving_funcs.append(f)
        return f

    @setupmethod
    def while_serving(self, f: T_while) -> T_while:
        """Run the async generator ``f`` to its ``yield`` at startup and past it at shutdown."""
        self.while_serving_gens.append(f)
        return f

    # -- contexts ----------------------------------------------------------------------

    def app_context(self) -> AppContext:
        """A new app context; use ``async with app.app_context():``."""
        return AppContext(self)

    def request_context(self, request: Request) -> RequestContext:
        """A new request context for ``request``."""
        return RequestContext(self, request)

    def websocket_context(self, websocket: Websocket) -> WebsocketContext:
        """A new websocket context for ``websocket``."""
        return WebsocketContext(self, websocket)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a request built from test arguments.

        Takes the arguments of :meth:`quartlike.testing.QuartClient.open`
        (path, method, headers, query_string, data, form, json, ...); the body
        is available to ``await request.get_data()`` and friends.
        """
        from .testing import make_test_request

        return self.request_context(make_test_request(self, *args, **kwargs))

    def test_app(self) -> TestApp:
        """Run the app's startup and shutdown around tests: ``async with app.test_app():``."""
        from .testing import TestApp

        return TestApp(self)

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> QuartClient:
        """A client that sends requests to the app in-process, through its ASGI interface."""
        cls = self.test_client_class
        if cls is None:
            from .testing import QuartClient

            cls = QuartClient
        return cls(self, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: t.Any) -> QuartlikeCliRunner:
        """A click runner that invokes the app's commands (``app.cli`` by default)."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import QuartlikeCliRunner

            cls = QuartlikeCliRunner
        return cls(self, **kwargs)

    # -- the shell -------------------------------------------------------------------

    @setupmethod
    def shell_context_processor(self, f: T_shell_context) -> T_shell_context:
        """Register ``f()``, returning a dict of names to add to ``quartlike shell``."""
        self.shell_context_processors.append(f)
        return f

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``quartlike shell``: ``app``, ``g`` and the processors' names."""
        from .globals import g

        rv: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            rv.update(processor())
        return rv

    # -- lifespan --------------------------------------------------------------------

    def add_background_task(
        self, func: cabc.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> asyncio.Task[None]:
        """Run ``func(*args, **kwargs)`` in the background, in an app context.

        ``func`` may be sync (it then runs in the thread pool) or async. The task
        is kept alive until it finishes, its exceptions are logged (and sent to
        the ``got_background_exception`` signal), and shutdown waits for it up
        to ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds before cancelling it.
        """
        return self._lifespan.add_background_task(func, *args, **kwargs)

    @property
    def background_tasks(self) -> set[asyncio.Task[None]]:
        """The background tasks still running."""
        return self._lifespan.background_tasks

    async def startup(self) -> None:
        """Run the before-serving hooks and start the while-serving generators.

        Called by the ASGI lifespan protocol; an exception fails the startup.
        """
        await self._lifespan.startup()

    async def shutdown(self) -> None:
        """Run the after-serving hooks and finish the while-serving generators.

        Every hook runs even if one fails; the first error is raised afterwards.
        """
        try:
            await self._lifespan.shutdown()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None

    # -- serving ---------------------------------------------------------------------

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """The ASGI 3 entry point; delegates to :attr:`asgi_app` so middleware can wrap it."""
        await self.asgi_app(scope, receive, send)

    async def asgi_app(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """The ASGI application proper. Wrap it to add ASGI middleware:
        ``app.asgi_app = Middleware(app.asgi_app)``.
        """
        if scope["type"] == "http":
            global _serve_http
            if _serve_http is None:
                # Imported on first use: importing quartlike does not load asyncio.
                from .asgi import serve_http as _serve_http
            await _serve_http(self, scope, receive, send)
        elif scope["type"] == "websocket":
            from .asgi_websocket import serve_websocket

            await serve_websocket(self, scope, receive, send)
        elif scope["type"] == "lifespan":
            from .asgi import serve_lifespan

            await serve_lifespan(self, scope, receive, send)
        else:
            kind = scope["type"]
            raise RuntimeError(f"quartlike cannot serve ASGI scope type {kind!r}.")

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
        use_reloader: bool | None = None,
        **kwargs: t.Any,
    ) -> None:
        """Serve the app with Hypercorn until interrupted (for development).

        With ``use_reloader`` (on by default in debug mode) the app is served as
        ``quartlike run --reload`` serves it: by a worker process that imports it
        again from its module, restarted when a loaded Python file changes. The
        app must then be a global variable of a module that can be imported again
        (``use_reloader=True`` raises :class:`RuntimeError` otherwise, while debug
        mode alone serves without the reloader), and ``app.run()`` must be called
        under ``if __name__ == "__main__":``. Other keyword arguments are set on
        Hypercorn's ``Config``.

        For production run ``hypercorn module:app`` (or any ASGI server) instead.
        """
        from .serving import run_app

        if debug is not None:
            self.debug = debug
        if use_reloader is None and not self.debug:
            use_reloader = False
        run_app(
            self,
            host=host or "127.0.0.1",
            port=port if port is not None else 5000,
            certfile=certfile,
            keyfile=keyfile,
            # None (debug mode): on, unless the app cannot be imported again.
            use_reloader=use_reloader,
            **kwargs,
        )
