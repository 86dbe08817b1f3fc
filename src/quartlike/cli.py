"""The ``quartlike`` command: finding the app, and the ``run``, ``routes`` and ``shell`` commands.

``quartlike --app hello run --debug`` does what ``flask --app hello run --debug``
does, on Hypercorn. The pieces mirror Flask's so that code written for
``flask.cli`` ports over:

- :class:`ScriptInfo` knows how to find and load the app (once) from an import
  path, a factory, or the conventional files in the current directory.
- :func:`with_appcontext` runs a command callback inside an app context. The
  callback may be a coroutine function: it is run on an event loop, and the app
  context is popped (running the teardown callbacks) on that same loop.
- :class:`AppGroup` is the group behind ``app.cli``; its commands get an app
  context unless ``with_appcontext=False`` is passed.
- :class:`QuartlikeGroup` adds ``--app``, ``--debug``, ``--env-file``, the
  built-in commands, the commands of ``app.cli`` and those that installed
  packages register under the ``quartlike.commands`` entry point group.
"""

from __future__ import annotations

import ast
import asyncio
import code
import collections.abc as cabc
import concurrent.futures
import contextlib
import contextvars
import functools
import importlib
import importlib.metadata
import inspect
import os
import platform
import sys
import threading
import traceback
import types
import typing as t
from operator import itemgetter
from pathlib import Path

import click
from click.core import ParameterSource

from .globals import _cv_app
from .helpers import get_debug_flag
from .sync import is_async_callable

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule

    from .app import Quart

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])
T = t.TypeVar("T")

#: The files looked for in the current directory when no app is given.
DEFAULT_APP_FILES = ("asgi.py", "wsgi.py", "app.py")
#: The env files loaded (when python-dotenv is installed), lowest precedence first.
DEFAULT_ENV_FILES = (".quartlikeenv", ".env")
#: The entry point group in which installed packages register extra commands.
ENTRY_POINT_GROUP = "quartlike.commands"

_ORIGINAL_ENVIRON_KEY = "quartlike.original_environ"


class NoAppException(click.UsageError):
    """The app could not be found or loaded."""


# -- finding the app -----------------------------------------------------------------


def _quart_class() -> type[Quart]:
    # Imported late: the app module creates ``app.cli`` from this module.
    from .app import Quart

    return Quart


def _call_factory(
    factory: cabc.Callable[..., t.Any],
    args: list[t.Any],
    kwargs: dict[str, t.Any],
    where: str,
) -> t.Any:
    """Call the app factory ``where`` (``'module:name'``) with literal arguments.

    The arguments are checked against the signature before the call, so that
    a ``TypeError`` raised inside the factory reaches the user with its
    traceback instead of being mistaken for a wrong call. An ``async def``
    factory is run to completion.
    """
    try:
        inspect.signature(factory).bind(*args, **kwargs)
    except TypeError as e:
        if args or kwargs:
            raise NoAppException(
                f"The factory '{where}' cannot be called with the given arguments: {e}."
            ) from None
        raise NoAppException(
            f"Detected factory '{where}', but could not call it without arguments."
            f" Use '--app {where}(args)' to pass arguments (Python literals)."
        ) from None
    except ValueError:  # no signature to check (a builtin): just call it
        pass
    rv = factory(*args, **kwargs)
    if inspect.iscoroutine(rv):
        rv = _run_coroutine(rv, contextvars.copy_context())
    return rv


def find_best_app(module: types.ModuleType) -> Quart:
    """Find the app in a module, the way ``--app module`` does.

    In order: an app named ``app`` or ``application``; the only app in the
    module; the result of calling ``create_app()`` or ``make_app()``.
    """
    quart_class = _quart_class()
    name = module.__name__
    for attr_name in ("app", "application"):
        candidate = getattr(module, attr_name, None)
        if isinstance(candidate, quart_class):
            return candidate

    found: dict[int, Quart] = {}
    for value in list(vars(module).values()):
        if isinstance(value, quart_class):
            found.setdefault(id(value), value)
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        raise NoAppException(
            f"Detected multiple quartlike applications in module '{name}'. Use"
            f" '--app {name}:name' to say which one to load."
        )

    for attr_name in ("create_app", "make_app"):
        factory = getattr(module, attr_name, None)
        if inspect.isfunction(factory):
            app = _call_factory(factory, [], {}, f"{name}:{attr_name}")
            if isinstance(app, quart_class):
                return app
            raise NoAppException(
                f"The factory '{name}:{attr_name}' returned {app!r}, not a quartlike application."
            )

    raise NoAppException(
        f"Failed to find a quartlike application or factory in module '{name}'. Use"
        f" '--app {name}:name' to name it, or define 'app' or 'create_app' in the module."
    )


def _parse_app_name(
    module_name: str, app_name: str
) -> tuple[str, list[t.Any], dict[str, t.Any], bool]:
    """Split ``name`` or ``name(args)`` into the name, literal arguments and a call flag."""
    try:
        node = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None
    if isinstance(node, ast.Name):
        return node.id, [], {}, False
    if not isinstance(node, ast.Call):
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")
    if not isinstance(node.func, ast.Name):
        raise NoAppException(
            f"The function in {app_name!r} must be a simple name defined in '{module_name}'."
        )
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs: dict[str, t.Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ValueError("'**' is not allowed")
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    except ValueError:
        raise NoAppException(
            f"Failed to parse the arguments in {app_name!r}: only literal values (strings,"
            " numbers, tuples, lists, dicts, booleans, None) can be passed."
        ) from None
    return node.func.id, args, kwargs, True


def find_app_by_string(module: types.ModuleType, app_name: str) -> Quart:
    """Load the app named by ``app_name`` in ``module``: an attribute, or a factory call
    such as ``create_app('dev', debug=True)`` whose arguments are Python literals.
    """
    quart_class = _quart_class()
    module_name = module.__name__
    name, args, kwargs, is_call = _parse_app_name(module_name, app_name)
    try:
        attr = getattr(module, name)
    except AttributeError:
        raise NoAppException(f"Failed to find attribute {name!r} in '{module_name}'.") from None

    if inspect.isfunction(attr):
        app = _call_factory(attr, args, kwargs, f"{module_name}:{name}")
    elif is_call:
        raise NoAppException(
            f"'{module_name}:{name}' is not a function, so it cannot be called with arguments."
        )
    else:
        app = attr

    if isinstance(app, quart_class):
        return app
    raise NoAppException(
        f"A valid quartlike application was not obtained from '{module_name}:{app_name}'"
        f" (got {type(app).__name__})."
    )


def prepare_import(path: str) -> str:
    """Turn ``--app``'s module part (a dotted name or a file path) into a module name.

    For a file, the first folder above it that is not a package is put at the
    front of :data:`sys.path`, so ``src/pkg/app.py`` is imported as
    ``pkg.app``. For a plain module name, the current directory is put there.
    """
    target = Path(path).resolve()
    if target.suffix == ".py":
        target = target.with_suffix("")
    if target.name == "__init__":
        target = target.parent
    names = [target.name]
    root = target.parent
    while (root / "__init__.py").is_file() and root != root.parent:
        names.insert(0, root.name)
        root = root.parent
    if not sys.path or sys.path[0] != str(root):
        sys.path.insert(0, str(root))
    return ".".join(names)


def _import_failed_here(error: ImportError, module_name: str) -> bool:
    """Whether ``error`` says that ``module_name`` itself (or a parent package) is missing,
    rather than that something the module imports is.
    """
    missing = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not missing:
        return False
    return module_name == missing or module_name.startswith(missing + ".")


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> Quart: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool
) -> Quart | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Quart | None:
    """Import ``module_name`` and find the app in it (by ``app_name`` when given).

    A missing module is a :class:`NoAppException` (or ``None`` when
    ``raise_if_not_found`` is false). An ``ImportError`` raised by the
    module's own code is reported with its traceback; other errors raised
    while importing the module propagate unchanged.
    """
    try:
        importlib.import_module(module_name)
    except ImportError as e:
        if not _import_failed_here(e, module_name):
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was raised:\n\n"
                f"{''.join(traceback.format_exception(e))}"
            ) from e
        if raise_if_not_found:
            raise NoAppException(
                f"Could not import {module_name!r}: no such module. Check the name given to"
                " '--app' (or QUARTLIKE_APP) and the current directory."
            ) from None
        return None
    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def _split_import_path(value: str) -> tuple[str, str | None]:
    """Split ``module:name`` at the first colon that is not part of a Windows drive (``C:\\``)."""
    start = 0
    while True:
        index = value.find(":", start)
        if index == -1:
            return value, None
        if value[index + 1 : index + 2] not in ("/", "\\"):
            return value[:index], value[index + 1 :]
        start = index + 1


class ScriptInfo:
    """What the ``quartlike`` command knows about the app to load; passed to commands
    as the click context object.

    :param app_import_path: ``module``, ``module:name``, ``module:factory(args)`` or
        a file path, as given to ``--app``.
    :param create_app: a function returning the app; used instead of an import path.
    :param set_debug_flag: set ``app.debug`` from ``QUARTLIKE_DEBUG`` after loading.
    :param load_dotenv_defaults: load ``.env`` and ``.quartlikeenv``.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: cabc.Callable[..., Quart] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = load_dotenv_defaults
        #: Free space for commands and extensions to keep data in.
        self.data: dict[t.Any, t.Any] = {}
        #: The import path the app was actually loaded from (``--app`` or a default file).
        self.loaded_import_path: str | None = None
        self._loaded_app: Quart | None = None

    def load_app(self) -> Quart:
        """Load the app (once; later calls return the same object)."""
        if self._loaded_app is not None:
            return self._loaded_app
        app: Quart | None = None
        if self.create_app is not None:
            app = _call_factory(self.create_app, [], {}, "create_app")
            if not isinstance(app, _quart_class()):
                raise NoAppException(
                    f"The create_app function returned {app!r}, not a quartlike application."
                )
        elif self.app_import_path:
            module_path, app_name = _split_import_path(self.app_import_path)
            module_name = prepare_import(module_path)
            app = locate_app(module_name, app_name)
            self.loaded_import_path = self.app_import_path
        else:
            for filename in DEFAULT_APP_FILES:
                if not os.path.isfile(filename):
                    continue
                app = locate_app(prepare_import(filename), None, raise_if_not_found=False)
                if app is not None:
                    self.loaded_import_path = filename
                    break
        if app is None:
            raise NoAppException(
                "Could not locate a quartlike application. Name it with the"
                " 'quartlike --app module:name' option or the 'QUARTLIKE_APP' environment"
                " variable, or put it in an 'asgi.py', 'wsgi.py' or 'app.py' file in the"
                " current directory."
            )
        if self.set_debug_flag:
            app.debug = get_debug_flag()
        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


# -- running callbacks in an app context -------------------------------------------------


def _run_coroutine(coro: cabc.Coroutine[t.Any, t.Any, T], context: contextvars.Context) -> T:
    """Run ``coro`` to completion on a new event loop, as a task in ``context``.

    When this thread already runs a loop (an async test using the CLI runner,
    say), the coroutine runs on a private loop in a helper thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        with asyncio.Runner() as runner:
            return runner.run(coro, context=context)

    click_ctx = click.get_current_context(silent=True)

    def run_in_thread() -> T:
        with contextlib.ExitStack() as stack:
            if click_ctx is not None:
                stack.enter_context(click_ctx.scope(cleanup=False))
            with asyncio.Runner() as runner:
                return runner.run(coro, context=context)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="quartlike-cli") as pool:
        return pool.submit(run_in_thread).result()


async def _finish(awaitable: cabc.Awaitable[T], app_ctx: t.Any) -> T:
    error: BaseException | None = None
    try:
        return await awaitable
    except BaseException as e:
        error = e
        raise
    finally:
        if app_ctx is not None:
            await app_ctx.pop(error)


def _invoke_in_app_context(
    f: cabc.Callable[..., t.Any], app_ctx: t.Any, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
) -> t.Any:
    click_ctx = click.get_current_context()
    # The app context lives in a context copy of our own, so that a teardown
    # coroutine can run as a task in the very context that pushed it.
    context = contextvars.copy_context()
    if app_ctx is not None:
        context.run(app_ctx.push)
    try:
        rv = context.run(click_ctx.invoke, f, *args, **kwargs)
    except BaseException as e:
        if app_ctx is not None:
            _run_coroutine(app_ctx.pop(e), context)
        raise
    if inspect.isawaitable(rv):
        # An async callback (or a sync wrapper around one): run it, then pop
        # the app context, on the same loop.
        return _run_coroutine(_finish(rv, app_ctx), context)
    if app_ctx is not None:
        _run_coroutine(app_ctx.pop(None), context)
    return rv


def with_appcontext(f: F) -> F:
    """Run the decorated command callback inside the app's context.

    The app is loaded through the :class:`ScriptInfo` unless an app context
    is already active. Both ``def`` and ``async def`` callbacks work; an
    async callback runs on a new event loop (with ``asyncio.Runner``), and the
    app context's teardown runs on that same loop after it.

    Commands added with ``app.cli.command()`` (and built-ins like ``routes``)
    already have this; use it for commands of a plain :class:`click.Group`.
    """

    @functools.wraps(f)
    def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        app_ctx = None
        if _cv_app.get(None) is None:
            click_ctx = click.get_current_context()
            app = click_ctx.ensure_object(ScriptInfo).load_app()
            app_ctx = app.app_context()
        return _invoke_in_app_context(f, app_ctx, args, kwargs)

    return t.cast(F, decorator)


def _run_async_callback(f: F) -> F:
    """Make an ``async def`` callback runnable by click, without an app context."""
    if not is_async_callable(f):
        return f

    @functools.wraps(f)
    def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return _invoke_in_app_context(f, None, args, kwargs)

    return t.cast(F, decorator)


class AppGroup(click.Group):
    """A :class:`click.Group` whose commands run in an app context by default.

    ``@group.command(with_appcontext=False)`` opts a command out. ``async def``
    callbacks are run on an event loop either way. Sub-groups made with
    :meth:`group` are ``AppGroup``\\ s too.
    """

    @t.overload
    def command(self, __func: cabc.Callable[..., t.Any]) -> click.Command: ...

    @t.overload
    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Command]: ...

    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Command] | click.Command:
        """Register a command, like :meth:`click.Group.command`; the callback gets an app
        context unless ``with_appcontext=False`` is given.
        """
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command()(args[0])
        wrap_for_ctx = kwargs.pop("with_appcontext", True)

        def decorator(f: cabc.Callable[..., t.Any]) -> click.Command:
            f = with_appcontext(f) if wrap_for_ctx else _run_async_callback(f)
            register = super(AppGroup, self).command(*args, **kwargs)
            return t.cast(click.Command, register(f))

        return decorator

    @t.overload
    def group(self, __func: cabc.Callable[..., t.Any]) -> click.Group: ...

    @t.overload
    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Group]: ...

    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Group] | click.Group:
        """Register a sub-group, like :meth:`click.Group.group`; it is an :class:`AppGroup`."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.group()(args[0])
        kwargs.setdefault("cls", AppGroup)
        return t.cast(
            "cabc.Callable[[cabc.Callable[..., t.Any]], click.Group]",
            super().group(*args, **kwargs),
        )


# -- environment files -------------------------------------------------------------------


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load the default env files: false when ``QUARTLIKE_SKIP_DOTENV`` is set
    (to anything but ``0``, ``false`` or ``no``).
    """
    value = os.environ.get("QUARTLIKE_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in ("0", "false", "no")


def _read_env_files(
    path: str | os.PathLike[str] | None, load_defaults: bool
) -> tuple[dict[str, str | None], bool]:
    import dotenv

    data: dict[str, str | None] = {}
    found = False
    if load_defaults:
        for name in DEFAULT_ENV_FILES:
            default_path = dotenv.find_dotenv(name, usecwd=True)
            if default_path:
                data.update(dotenv.dotenv_values(default_path, encoding="utf-8"))
                found = True
    if path is not None and os.path.isfile(path):
        data.update(dotenv.dotenv_values(path, encoding="utf-8"))
        found = True
    return data, found


def _apply_env(data: dict[str, str | None], protected: cabc.Container[str]) -> None:
    for key, value in data.items():
        if value is None or key in protected:
            continue
        os.environ[key] = value


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load environment variables from env files, with python-dotenv.

    ``.quartlikeenv`` then ``.env`` are found from the current directory
    upwards (when ``load_defaults``), then ``path`` is read; later files take
    precedence over earlier ones, and variables already in the environment
    are never changed.

    Without python-dotenv nothing is loaded (a tip is printed when such files
    exist). Returns whether a file was loaded.
    """
    try:
        import dotenv  # noqa: F401
    except ImportError:
        present = [name for name in DEFAULT_ENV_FILES if os.path.isfile(name)]
        if path is not None or present:
            click.secho(
                " * Tip: there are .env or .quartlikeenv files present. Install"
                " python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False
    data, found = _read_env_files(path, load_defaults)
    _apply_env(data, os.environ)
    return found


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        import dotenv  # noqa: F401
    except ImportError:
        raise click.BadParameter(
            "python-dotenv must be installed to load an env file: pip install python-dotenv"
            " (or quartlike[dotenv]).",
            ctx=ctx,
            param=param,
        ) from None
    # The default files were loaded before the options were parsed; this file
    # wins over them, but not over variables that were set in the environment.
    protected = ctx.meta.get(_ORIGINAL_ENVIRON_KEY)
    if protected is None:
        protected = set(os.environ)
    data, _ = _read_env_files(value, load_defaults=False)
    _apply_env(data, protected)
    return value


def _app_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    info = ctx.ensure_object(ScriptInfo)
    info.app_import_path = value
    return value


def _debug_callback(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    source = ctx.get_parameter_source(param.name or "debug")
    if value is None or source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # The app reads the flag when it is created; set it before the app is loaded.
    os.environ["QUARTLIKE_DEBUG"] = "1" if value else "0"
    return value


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug/--no-debug"],
        default=None,
        help="Set debug mode (QUARTLIKE_DEBUG).",
        expose_value=False,
        callback=_debug_callback,
    )


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    lines = [f"Python {platform.python_version()}"]
    for dist in ("quartlike", "Werkzeug", "Hypercorn"):
        try:
            lines.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            lines.append(f"{dist} (not installed)")
    click.echo("\n".join(lines), color=ctx.color)
    ctx.exit()


def _env_file_option() -> click.Option:
    return click.Option(
        ["-e", "--env-file"],
        type=click.Path(exists=True, dir_okay=False),
        help="Load environment variables from this file, over those from '.env' and"
        " '.quartlikeenv'; variables set in the environment still win."
        " Needs python-dotenv.",
        is_eager=True,
        expose_value=False,
        callback=_env_file_callback,
    )


def _app_option() -> click.Option:
    return click.Option(
        ["-A", "--app"],
        metavar="IMPORT",
        help="The app or app factory to load, as 'module:name'. The module can be a dotted"
        " import or a file path. The name may be left out when it is 'app',"
        " 'application', 'create_app' or 'make_app', and can be 'name(args)' to call a"
        " factory with literal arguments.",
        is_eager=True,
        expose_value=False,
        callback=_app_callback,
    )


# -- built-in commands ---------------------------------------------------------------------


def _url_host(host: str) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]"  # an IPv6 address
    return host


def _worker_app(debugger: bool = False) -> Quart:
    """Load the app in a Hypercorn worker process (see the ``run`` command)."""
    info = ScriptInfo(app_import_path=os.environ.get("QUARTLIKE_APP") or None)
    app = info.load_app()
    if debugger:
        from .debug import install_debug_page

        install_debug_page(app)
    return app


def _serve_with_workers(
    app: Quart,
    import_path: str,
    *,
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    reload: bool,
    workers: int,
    debugger: bool,
) -> int:
    from hypercorn.config import Config
    from hypercorn.run import run

    # Workers are new processes that import the app again: they find it with
    # the same import path, through this module's ``_worker_app``.
    os.environ["QUARTLIKE_APP"] = import_path
    config = Config()
    config.application_path = f"quartlike.cli:_worker_app(debugger={debugger!r})"
    config.bind = [f"{host}:{port}"]
    config.certfile = certfile
    config.keyfile = keyfile
    config.use_reloader = reload
    config.workers = workers
    config.accesslog = "-" if app.debug else None
    config.errorlog = "-"
    scheme = "https" if certfile else "http"
    click.echo(f" * Serving quartlike app {app.name!r}")
    click.echo(f" * Debug mode: {'on' if app.debug else 'off'}")
    click.echo(f" * Reloader: {'on' if reload else 'off'}; workers: {workers}")
    click.echo(f" * Running on {scheme}://{host}:{port} (CTRL + C to quit)")
    sys.stdout.flush()
    return int(run(config))


@click.command(
    "run",
    short_help="Run a development server.",
    help="""Serve the app with Hypercorn.

    Without --reload and with one worker (the default unless --debug is on),
    the app is served in this process with hypercorn.asyncio.serve. With
    --reload or --workers N, Hypercorn's own runner starts worker processes,
    each importing the app again from its --app import path; the reloader
    restarts them when a loaded Python file changes.

    With --debug (or --debugger), an unhandled error is answered with a page
    showing its traceback; never expose that to untrusted clients.

    CTRL+C or SIGTERM stops the server gracefully: requests in progress
    finish and the app's after_serving hooks run. (With worker processes,
    signal the main process; a worker killed on its own stops at once.)

    For production, run Hypercorn or another ASGI server directly, for
    example: hypercorn 'module:app'.
    """,
)
@click.option(
    "--host", "-h", default="127.0.0.1", show_default=True, help="The interface to bind to."
)
@click.option(
    "--port",
    "-p",
    default=5000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The port to bind to.",
)
@click.option(
    "--certfile",
    "--cert",
    type=click.Path(exists=True, dir_okay=False),
    help="A certificate file (PEM) to serve HTTPS.",
)
@click.option(
    "--keyfile",
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    help="The private key file for --certfile (when the key is not in it).",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Restart the server when a source file changes. On by default with --debug.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Answer unhandled errors with a page showing the traceback. On by default with --debug.",
)
@click.option(
    "--workers",
    "-w",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="The number of worker processes.",
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    reload: bool | None,
    debugger: bool | None,
    workers: int,
) -> None:
    if keyfile is not None and certfile is None:
        raise click.BadParameter("--keyfile needs --certfile.", param_hint="'--keyfile'")
    debug = get_debug_flag()
    if reload is None:
        reload = debug
    if debugger is None:
        debugger = debug
    app = info.load_app()
    host = _url_host(host)
    try:
        if reload or workers > 1:
            import_path = info.loaded_import_path
            if import_path is None:
                raise click.UsageError(
                    "--reload and --workers start new processes that import the app, so the"
                    " app must be given by import path (--app or QUARTLIKE_APP), not by a"
                    " create_app function."
                )
            code = _serve_with_workers(
                app,
                import_path,
                host=host,
                port=port,
                certfile=certfile,
                keyfile=keyfile,
                reload=reload,
                workers=workers,
                debugger=debugger,
            )
            if code:
                raise click.exceptions.Exit(code)
        else:
            from .serving import run_app

            if debugger:
                from .debug import install_debug_page

                install_debug_page(app)
            run_app(app, host=host, port=port, certfile=certfile, keyfile=keyfile)
    except OSError as e:
        raise click.ClickException(f"Could not serve on {host}:{port}: {e}") from e


run_command.params.insert(0, _debug_option())


def _rule_methods(rule: Rule, ignored: cabc.Container[str]) -> str:
    if getattr(rule, "websocket", False):
        return "WEBSOCKET"
    return ", ".join(sorted(m for m in (rule.methods or ()) if m not in ignored))


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help="How to sort the routes. 'match' is the order in which the rules were added.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all the app's routes: endpoints, methods and rules.

    A Host or Subdomain column is added when a rule has one. Websocket rules
    show WEBSOCKET as their method.
    """
    from .globals import current_app

    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = current_app.url_map.host_matching

    def domain(rule: Rule) -> str:
        return (rule.host if host_matching else rule.subdomain) or ""

    rows = [
        (rule.endpoint, _rule_methods(rule, ignored), domain(rule), rule.rule) for rule in rules
    ]
    sort_column = {"endpoint": 0, "methods": 1, "domain": 2, "rule": 3}.get(sort)
    if sort_column is not None:
        rows.sort(key=itemgetter(sort_column))

    headers: tuple[str, ...] = (
        "Endpoint",
        "Methods",
        "Host" if host_matching else "Subdomain",
        "Rule",
    )
    show_domain = any(row[2] for row in rows)
    table: list[tuple[str, ...]] = [headers, *rows]
    if not show_domain:
        table = [(row[0], row[1], row[3]) for row in table]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    click.echo("\n".join(line.rstrip() for line in lines))


class _ShellLoop:
    """An event loop running in a thread of its own for the shell's lifetime.

    Every statement typed in the shell runs on it (so background tasks keep
    running between statements, as in ``python -m asyncio``), in one
    :mod:`contextvars` context that holds the app context.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="quartlike-shell-loop", daemon=True
        )

    def __enter__(self) -> _ShellLoop:
        self._thread.start()
        return self

    def run(self, coro: cabc.Coroutine[t.Any, t.Any, T], context: contextvars.Context) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = self.loop.create_task(coro, context=context)

            def finished(task: asyncio.Task[T]) -> None:
                if task.cancelled():
                    done.cancel()
                elif task.exception() is not None:
                    done.set_exception(t.cast(BaseException, task.exception()))
                else:
                    done.set_result(task.result())

            task.add_done_callback(finished)

        self.loop.call_soon_threadsafe(start)
        return done.result()

    def __exit__(self, *exc_info: object) -> None:
        async def finish() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            asyncio.run_coroutine_threadsafe(finish(), self.loop).result(timeout=10)
        except Exception:  # pragma: no cover - best effort
            pass
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self.loop.close()


class _AsyncConsole(code.InteractiveConsole):
    """An interactive console where ``await`` works at the top level.

    Source is compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``; each statement
    runs on the shell's loop thread, a coroutine statement as a task.
    """

    def __init__(
        self, namespace: dict[str, t.Any], shell_loop: _ShellLoop, context: contextvars.Context
    ) -> None:
        super().__init__(namespace)
        self.namespace = namespace
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self._shell_loop = shell_loop
        self._context = context
        self._task: asyncio.Task[t.Any] | None = None

    def runcode(self, code: types.CodeType) -> None:
        loop = self._shell_loop.loop
        outcome: concurrent.futures.Future[BaseException | None] = concurrent.futures.Future()

        def start() -> None:
            try:
                rv = eval(code, self.namespace)
            except BaseException as e:
                outcome.set_result(e)
                return
            if not code.co_flags & inspect.CO_COROUTINE:
                outcome.set_result(None)
                return
            self._task = task = loop.create_task(rv, context=self._context)

            def finished(task: asyncio.Task[t.Any]) -> None:
                self._task = None
                if task.cancelled():
                    outcome.set_result(KeyboardInterrupt())
                else:
                    outcome.set_result(task.exception())

            task.add_done_callback(finished)

        loop.call_soon_threadsafe(start, context=self._context)
        try:
            error = outcome.result()
        except KeyboardInterrupt:
            task = self._task
            if task is not None:
                loop.call_soon_threadsafe(task.cancel)
            with contextlib.suppress(concurrent.futures.TimeoutError):
                outcome.result(timeout=5)
            self.write("\nKeyboardInterrupt\n")
            return
        if error is None:
            return
        if isinstance(error, SystemExit):
            raise error
        if isinstance(error, KeyboardInterrupt):
            self.write("\nKeyboardInterrupt\n")
            return
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        tb = error.__traceback__
        # Hide this module's frames: the traceback starts at the typed code.
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
        self.write("".join(traceback.format_exception(type(error), error, tb)))


@click.command("shell", short_help="Run a shell in the app context.")
@pass_script_info
def shell_command(info: ScriptInfo) -> None:
    """Run an interactive Python shell in the app's context.

    The namespace holds 'app', 'g', 'asyncio' and what the app's shell context
    processors return. 'await' works at the top level; the code runs on an
    event loop that lives as long as the shell, so tasks started in one
    statement keep running afterwards.
    """
    app = info.load_app()
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {app.instance_path}\n"
        "Top-level 'await' works here."
    )
    namespace: dict[str, t.Any] = {"__name__": "__console__", "__doc__": None, "asyncio": asyncio}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as f:
            exec(compile(f.read(), startup, "exec"), namespace)

    with _ShellLoop() as shell_loop:
        context = contextvars.copy_context()
        app_ctx = app.app_context()
        context.run(app_ctx.push)
        try:
            namespace.update(context.run(app.make_shell_context))
            interactive_hook = getattr(sys, "__interactivehook__", None)
            if interactive_hook is not None and sys.stdin.isatty():
                try:
                    import readline
                    from rlcompleter import Completer
                except ImportError:  # pragma: no cover
                    pass
                else:
                    readline.set_completer(Completer(namespace).complete)
                    interactive_hook()
            console = _AsyncConsole(namespace, shell_loop, context)
            console.interact(banner=banner, exitmsg="")
        finally:
            shell_loop.run(app_ctx.pop(None), context)


# -- the group -------------------------------------------------------------------------------


class QuartlikeGroup(AppGroup):
    """The ``quartlike`` command group: loads the app and offers its commands.

    Besides its own commands it lists the built-ins (``run``, ``shell``,
    ``routes``), the commands of ``app.cli``, and commands that installed
    packages register in the ``quartlike.commands`` entry point group.

    :param add_default_commands: add ``run``, ``shell`` and ``routes``.
    :param create_app: a function returning the app, instead of ``--app``.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load ``.env`` and ``.quartlikeenv`` (with python-dotenv)
        before the options are parsed.
    :param set_debug_flag: set ``app.debug`` from ``--debug``/``QUARTLIKE_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: cabc.Callable[..., Quart] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option(), _app_option(), _debug_option()))
        if add_version_option:
            params.append(
                click.Option(
                    ["--version"],
                    help="Show the quartlike version.",
                    expose_value=False,
                    callback=_show_version,
                    is_flag=True,
                    is_eager=True,
                )
            )
        extra["context_settings"] = {
            "auto_envvar_prefix": "QUARTLIKE",
            **(extra.get("context_settings") or {}),
        }
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            self.add_command(entry_point.load(), entry_point.name)
        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugin_commands()
        rv = super().get_command(ctx, cmd_name)
        if rv is not None:
            return rv
        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        return app.cli.get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        rv = set(super().list_commands(ctx))
        info = ctx.ensure_object(ScriptInfo)
        try:
            rv.update(info.load_app().cli.list_commands(ctx))
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            # The app failed to import: show why, and still list the built-ins.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(rv)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Before any option is handled (--help lists app.cli's commands, so it
        # needs QUARTLIKE_APP from an env file too): load the default env files,
        # remembering what the environment itself set, which --env-file must
        # not override.
        ctx.meta[_ORIGINAL_ENVIRON_KEY] = set(os.environ)
        info = ctx.ensure_object(ScriptInfo)
        if info.load_dotenv_defaults and get_load_dotenv():
            load_dotenv()
        if info.app_import_path is None:
            info.app_import_path = os.environ.get("QUARTLIKE_APP") or None
        return super().parse_args(ctx, args)


cli = QuartlikeGroup(
    name="quartlike",
    help="""A general utility script for quartlike applications.

    The app to load is given with the '--app' option, the 'QUARTLIKE_APP'
    environment variable, or found in an 'asgi.py', 'wsgi.py' or 'app.py' file
    in the current directory.
    """,
)


def main() -> None:
    """The entry point of the ``quartlike`` console script and ``python -m quartlike``."""
    cli.main()


__all__ = [
    "AppGroup",
    "NoAppException",
    "QuartlikeGroup",
    "ScriptInfo",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "get_load_dotenv",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "with_appcontext",
]
