"""Registration shared by the application and blueprints.

Routes, hooks and error handlers are stored in dictionaries keyed by the
blueprint name (``None`` for the app), under the attribute names Flask uses,
so extensions that read or extend them keep working. The app turns these into
flat per-blueprint-chain lists the first time a request needs them.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
from abc import ABC
from abc import abstractmethod
from collections import defaultdict
from functools import update_wrapper

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions
from werkzeug.utils import cached_property

from .sync import is_async_callable
from .typing import AfterRequestCallable
from .typing import BeforeRequestCallable
from .typing import ErrorHandlerCallable
from .typing import RouteCallable
from .typing import TeardownCallable
from .typing import URLDefaultCallable
from .typing import URLValuePreprocessorCallable

if t.TYPE_CHECKING:
    from aiofiles.threadpool.binary import AsyncBufferedReader
    from aiofiles.threadpool.text import AsyncTextIOWrapper
    from jinja2 import BaseLoader

    from .files import AsyncFile
    from .templating import TemplateContextProcessorCallable
    from .wrappers.response import Response

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])
T_route = t.TypeVar("T_route", bound=RouteCallable)
T_before = t.TypeVar("T_before", bound=BeforeRequestCallable)
T_after = t.TypeVar("T_after", bound=AfterRequestCallable)
T_teardown = t.TypeVar("T_teardown", bound=TeardownCallable)
T_error = t.TypeVar("T_error", bound=ErrorHandlerCallable)
T_url_defaults = t.TypeVar("T_url_defaults", bound=URLDefaultCallable)
T_url_preprocessor = t.TypeVar("T_url_preprocessor", bound=URLValuePreprocessorCallable)
T_context_processor = t.TypeVar("T_context_processor", bound=cabc.Callable[[], t.Any])

ErrorHandlerSpec = dict[
    str | None, dict[int | None, dict[type[BaseException], ErrorHandlerCallable]]
]


def setupmethod(f: F) -> F:
    """Mark a registration method: calling it after the first request is an error."""

    def wrapper_func(self: Scaffold, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self._check_setup_finished(f.__name__)
        return f(self, *args, **kwargs)

    return t.cast(F, update_wrapper(wrapper_func, f))


def get_exc_class_and_code(
    exc_class_or_code: type[BaseException] | int,
) -> tuple[type[BaseException], int | None]:
    """Resolve an error handler key to ``(exception class, status code or None)``."""
    if isinstance(exc_class_or_code, int):
        try:
            exc_class: type[BaseException] = default_exceptions[exc_class_or_code]
        except KeyError:
            raise ValueError(
                f"'{exc_class_or_code}' is not an HTTP error code werkzeug knows. Register"
                " the handler for an HTTPException subclass with that code instead."
            ) from None
    else:
        exc_class = exc_class_or_code
    if isinstance(exc_class, BaseException):
        raise TypeError(
            f"{exc_class!r} is an exception instance; register the handler for its"
            " class or for an HTTP status code."
        )
    if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
        name = getattr(exc_class, "__name__", repr(exc_class))
        raise ValueError(
            f"'{name}' is not a subclass of Exception. Error handlers take"
            " Exception subclasses or HTTP status codes."
        )
    if issubclass(exc_class, HTTPException):
        return exc_class, exc_class.code
    return exc_class, None


def endpoint_from_view_func(view_func: cabc.Callable[..., t.Any] | None) -> str:
    """The default endpoint of a view: its function name."""
    if view_func is None:
        raise TypeError("An endpoint name is required when no view function is given.")
    return view_func.__name__


class Scaffold(ABC):
    """What an app and a blueprint both register: routes, hooks and error handlers.

    :param import_name: the module the object is defined in, used to find
        ``root_path`` (and, for the app, the static and template folders).
    :param root_path: overrides the folder derived from ``import_name``.
    """

    name: str
    _got_first_request = False

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        self.import_name = import_name
        if root_path is None:
            root_path = get_root_path(import_name)
        self.root_path = root_path
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        self.template_folder = template_folder

        #: endpoint -> view function, exactly as registered.
        self.view_functions: dict[str, RouteCallable] = {}
        #: blueprint name (or None) -> code (or None) -> exception class -> handler.
        self.error_handler_spec: ErrorHandlerSpec = defaultdict(lambda: defaultdict(dict))
        self.before_request_funcs: dict[str | None, list[BeforeRequestCallable]] = defaultdict(list)
        self.after_request_funcs: dict[str | None, list[AfterRequestCallable]] = defaultdict(list)
        self.teardown_request_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)
        self.before_websocket_funcs: dict[str | None, list[BeforeRequestCallable]] = defaultdict(
            list
        )
        self.after_websocket_funcs: dict[str | None, list[AfterRequestCallable]] = defaultdict(list)
        self.teardown_websocket_funcs: dict[str | None, list[TeardownCallable]] = defaultdict(list)
        self.url_value_preprocessors: dict[str | None, list[URLValuePreprocessorCallable]] = (
            defaultdict(list)
        )
        self.url_default_functions: dict[str | None, list[URLDefaultCallable]] = defaultdict(list)
        #: blueprint name (or None) -> functions returning names for templates.
        self.template_context_processors: dict[
            str | None, list[TemplateContextProcessorCallable]
        ] = defaultdict(list)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on {self!r}: it has"
                " already handled its first request, and changes now would apply to some"
                " requests and not others. Register everything before the app serves,"
                " for example in the app factory."
            )

    # -- static folder -------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured."""
        return self.static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix of the static route (defaults to ``/<folder name>``)."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self.static_folder is not None:
            basename = os.path.basename(self.static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """The ``max_age`` of a file sent without one: ``SEND_FILE_MAX_AGE_DEFAULT``.

        ``None`` (the default) means no ``max-age``: clients revalidate with a
        conditional request each time. A :class:`~datetime.timedelta` is
        converted to seconds. Override it to vary the value by file name.
        """
        from datetime import timedelta

        from .globals import current_app

        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if isinstance(value, timedelta):
            return int(value.total_seconds())
        return int(value)

    async def send_static_file(self, filename: str) -> Response:
        """Send ``filename`` from :attr:`static_folder`: the view of the static route.

        Unsafe or missing names are a 404 (see
        :func:`~quartlike.send_from_directory`).

        :raises RuntimeError: if there is no static folder.
        """
        if not self.has_static_folder:
            raise RuntimeError(f"{self!r} has no 'static_folder' to send static files from.")
        from .files import send_from_directory

        max_age = self.get_send_file_max_age(filename)
        return await send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)

    async def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> AsyncFile[AsyncBufferedReader | AsyncTextIOWrapper]:
        """Open ``resource`` (relative to :attr:`root_path`) for reading, with aiofiles.

        Unlike Flask's, this is a coroutine and the file is asynchronous::

            async with await app.open_resource("schema.sql", "r") as f:
                schema = await f.read()

        :param mode: ``"rb"`` (the default), ``"r"`` or ``"rt"``.
        :param encoding: the encoding of a text mode.
        :raises ValueError: for a mode that writes.
        """
        if mode not in {"r", "rt", "rb"}:
            raise ValueError(f"Resources can only be opened for reading, not with mode {mode!r}.")
        from .files import open_async

        return await open_async(os.path.join(self.root_path, resource), mode, encoding)

    # -- templates -------------------------------------------------------------------

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """A Jinja loader for :attr:`template_folder` (relative to ``root_path``), or
        ``None`` when there is no template folder. Created on first access.
        """
        if self.template_folder is None:
            return None
        from jinja2 import FileSystemLoader

        return FileSystemLoader(os.path.join(self.root_path, self.template_folder))

    # -- routes ----------------------------------------------------------------

    @abstractmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a URL rule (and optionally its view); see :meth:`route`."""

    def route(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """Register the decorated function as the view for ``rule``.

        Takes the options of :class:`werkzeug.routing.Rule` (``methods``,
        ``defaults``, ``strict_slashes``, ``host``, ``subdomain``,
        ``redirect_to``, ...) plus ``endpoint`` and ``provide_automatic_options``.
        """

        def decorator(f: T_route) -> T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    def _method_route(
        self, method: str, rule: str, options: dict[str, t.Any]
    ) -> cabc.Callable[[T_route], T_route]:
        if "methods" in options:
            raise TypeError("Use 'route' to give several methods; 'methods' is not allowed here.")
        return self.route(rule, methods=[method], **options)

    def get(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """``route(rule, methods=["GET"])``."""
        return self._method_route("GET", rule, options)

    def post(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """``route(rule, methods=["POST"])``."""
        return self._method_route("POST", rule, options)

    def put(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """``route(rule, methods=["PUT"])``."""
        return self._method_route("PUT", rule, options)

    def delete(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """``route(rule, methods=["DELETE"])``."""
        return self._method_route("DELETE", rule, options)

    def patch(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """``route(rule, methods=["PATCH"])``."""
        return self._method_route("PATCH", rule, options)

    def websocket(self, rule: str, **options: t.Any) -> cabc.Callable[[T_route], T_route]:
        """Register the decorated function as the websocket handler for ``rule``.

        Inside it, ``websocket`` is the connection: ``await websocket.receive()``,
        ``await websocket.send(...)``. Returning a response before accepting
        rejects the handshake with that response.
        """

        def decorator(f: T_route) -> T_route:
            endpoint = options.pop("endpoint", None)
            self.add_websocket(rule, endpoint, f, **options)
            return f

        return decorator

    def add_websocket(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        **options: t.Any,
    ) -> None:
        """Register a websocket rule and handler; the non-decorator form of :meth:`websocket`."""
        self.add_url_rule(
            rule,
            endpoint,
            view_func,
            provide_automatic_options=False,
            websocket=True,
            methods={"GET"},
            **options,
        )

    @setupmethod
    def endpoint(self, endpoint: str) -> cabc.Callable[[F], F]:
        """Register the decorated function as the view of an existing ``endpoint``."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- hooks -------------------------------------------------------------------

    @setupmethod
    def before_request(self, f: T_before) -> T_before:
        """Run ``f`` before each request; a non-``None`` return value is the response."""
        self.before_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def after_request(self, f: T_after) -> T_after:
        """Run ``f(response)`` after each request; it must return a response."""
        self.after_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def teardown_request(self, f: T_teardown) -> T_teardown:
        """Run ``f(error)`` when the request context is popped, even after an error."""
        self.teardown_request_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def before_websocket(self, f: T_before) -> T_before:
        """Run ``f`` before each websocket handler; a non-``None`` return rejects the handshake."""
        self.before_websocket_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def after_websocket(self, f: T_after) -> T_after:
        """Run ``f(response)`` after each websocket handler (``response`` may be ``None``)."""
        self.after_websocket_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def teardown_websocket(self, f: T_teardown) -> T_teardown:
        """Run ``f(error)`` when the websocket context is popped, even after an error."""
        self.teardown_websocket_funcs.setdefault(None, []).append(f)
        return f

    @setupmethod
    def url_value_preprocessor(self, f: T_url_preprocessor) -> T_url_preprocessor:
        """Run ``f(endpoint, view_args)`` after matching, before the before-request hooks.

        It must be a plain (sync) function: it runs inline, on the event loop.
        """
        _require_sync(f, "url_value_preprocessor")
        self.url_value_preprocessors[None].append(f)
        return f

    @setupmethod
    def url_defaults(self, f: T_url_defaults) -> T_url_defaults:
        """Run ``f(endpoint, values)`` when building a URL, to fill in default values.

        It must be a plain (sync) function, because ``url_for`` is synchronous.
        """
        _require_sync(f, "url_defaults")
        self.url_default_functions[None].append(f)
        return f

    @setupmethod
    def context_processor(self, f: T_context_processor) -> T_context_processor:
        """Register ``f()``, returning a dict of names to add to the templates' context.

        An app's processors apply to every template; a blueprint's, to templates
        rendered during its requests. ``f`` may be ``async def``; a plain
        function runs in the thread pool.
        """
        self.template_context_processors[None].append(f)
        return f

    # -- errors ----------------------------------------------------------------------

    @setupmethod
    def errorhandler(
        self, code_or_exception: type[BaseException] | int
    ) -> cabc.Callable[[T_error], T_error]:
        """Register the decorated function to handle an HTTP code or exception class."""

        def decorator(f: T_error) -> T_error:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[BaseException] | int, f: ErrorHandlerCallable
    ) -> None:
        """Register ``f`` to handle an HTTP code or exception class (non-decorator form)."""
        exc_class, code = get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f


def _require_sync(f: cabc.Callable[..., t.Any], kind: str) -> None:
    if is_async_callable(f):
        raise TypeError(
            f"{kind} functions must be plain functions, not coroutines: they run inline"
            f" and their result is not awaited. Make {f.__name__!r} a regular 'def'."
        )


def get_root_path(import_name: str) -> str:
    """The folder of the module or package ``import_name`` (the CWD if unknown)."""
    import importlib.util
    import sys

    mod = sys.modules.get(import_name)
    if mod is not None and getattr(mod, "__file__", None) is not None:
        return os.path.dirname(os.path.abspath(t.cast(str, mod.__file__)))
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in", "frozen"):
        if spec is not None and spec.submodule_search_locations:
            return os.path.abspath(next(iter(spec.submodule_search_locations)))
        return os.getcwd()
    assert spec.origin is not None
    return os.path.dirname(os.path.abspath(spec.origin))
