"""Finding and loading the app: :class:`ScriptInfo` and the functions behind ``--app``.

The app is named by an import path (``module``, ``module:name``,
``module:factory(args)`` or a file path), made by a ``create_app`` function,
or found in one of the conventional files in the current directory.
"""

from __future__ import annotations

import ast
import collections.abc as cabc
import contextvars
import importlib
import inspect
import os
import sys
import traceback
import types
import typing as t
from pathlib import Path

import click

from ..helpers import get_debug_flag
from .callbacks import _run_coroutine

if t.TYPE_CHECKING:
    from ..app import Quart

#: The files looked for in the current directory when no app is given.
DEFAULT_APP_FILES = ("asgi.py", "wsgi.py", "app.py")


class NoAppException(click.UsageError):
    """The app could not be found or loaded."""


def _quart_class() -> type[Quart]:
    # Imported late: the app module creates ``app.cli`` from this module.
    from ..app import Quart

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
