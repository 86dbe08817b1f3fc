"""Functions views call: ``url_for``, ``redirect``, ``abort``, ``make_response``, ..."""

from __future__ import annotations

import collections.abc as cabc
import functools
import os
import sys
import typing as t

from werkzeug.exceptions import abort as _wz_abort
from werkzeug.utils import redirect as _wz_redirect

from .globals import _cv_app
from .globals import _cv_request
from .globals import _cv_websocket
from .globals import current_app
from .sync import dual
from .sync import is_async_callable

if t.TYPE_CHECKING:
    from werkzeug.sansio.response import Response as SansIOResponse

    from .wrappers.response import Response

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])


def get_debug_flag() -> bool:
    """Whether ``QUARTLIKE_DEBUG`` asks for debug mode."""
    value = os.environ.get("QUARTLIKE_DEBUG", "")
    return bool(value) and value.lower() not in {"0", "false", "no"}


def has_app_context() -> bool:
    """Whether an app context is active (``current_app`` and ``g`` are usable)."""
    return _cv_app.get(None) is not None


def has_request_context() -> bool:
    """Whether a request context is active (``request`` is usable)."""
    return _cv_request.get(None) is not None


def has_websocket_context() -> bool:
    """Whether a websocket context is active (``websocket`` is usable)."""
    return _cv_websocket.get(None) is not None


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build the URL of ``endpoint`` with ``values`` for the rule's variables.

    Unknown values become query arguments. ``".name"`` is relative to the
    current blueprint. Inside a request the URL is relative unless
    ``_external`` (or ``_scheme``) is given; outside one it is absolute and
    needs ``SERVER_NAME``.

    :param _anchor: appended as ``#anchor``.
    :param _method: pick the rule that accepts this method.
    :param _scheme: the scheme of an external URL.
    :param _external: build an absolute URL.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[SansIOResponse] | None = None
) -> Response:
    """A redirect response to ``location``, made by the current app when there is one."""
    ctx = _cv_app.get(None)
    if ctx is not None and Response is None:
        return ctx.app.redirect(location, code)
    if Response is None:
        from .wrappers.response import Response as response_class

        Response = response_class
    rv: t.Any = _wz_redirect(location, code, Response=Response)  # type: ignore[arg-type]
    return rv  # type: ignore[no-any-return]


def abort(code: int | SansIOResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the HTTP exception for ``code`` (or with ``code`` as its response)."""
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _wz_abort(code, *args, **kwargs)


def make_response(*args: t.Any) -> t.Any:
    """Turn view-style return values into a response, to change it before returning.

    ``await make_response()`` is an empty response; one argument is converted
    as a view return value; several are treated as a tuple. In sync code (a
    plain ``def`` view) it returns the response itself, through the sync bridge.
    """
    return dual(_make_response(*args))


async def _make_response(*args: t.Any) -> Response:
    if not args:
        return current_app.response_class()
    value = args[0] if len(args) == 1 else args
    return await current_app.make_response(value)


def after_this_request(f: F) -> F:
    """Run ``f(response)`` after the current request only; it must return a response."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used in a request: call it from a view or"
            " a before_request hook."
        )
    ctx._after_request_functions.append(f)
    return f


def copy_current_websocket_context(func: F) -> F:
    """Make the async ``func`` run in a copy of the current websocket context.

    For tasks started from a websocket handler that need ``websocket`` (to send
    from a background loop, say). The copy runs no teardown callbacks.
    """
    ctx = _cv_websocket.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_websocket_context' needs an active websocket: call it inside a"
            " websocket handler."
        )
    if not is_async_callable(func):
        raise TypeError("copy_current_websocket_context wraps async functions only.")
    copy = ctx.copy()

    @functools.wraps(func)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        async with copy:
            return await func(*args, **kwargs)

    return t.cast(F, wrapper)


def copy_current_request_context(func: F) -> F:
    """Make ``func`` run in a copy of the current request context, wherever it is called.

    Useful for work that outlives the view (a task started with
    ``asyncio.create_task``, a callback). Works for sync and async functions.
    The copy shares the request and session; it runs no teardown callbacks
    (the original request context runs them once, when the request ends).
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' needs an active request: call it inside a view."
        )
    ctx = ctx.copy()

    if is_async_callable(func):

        @functools.wraps(func)
        async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            async with ctx:
                return await func(*args, **kwargs)

        return t.cast(F, async_wrapper)

    @functools.wraps(func)
    def sync_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        ctx.push()
        try:
            return func(*args, **kwargs)
        finally:
            ctx._reset_without_teardown()

    return t.cast(F, sync_wrapper)


def _find_package(import_name: str) -> tuple[str | None, str]:
    """``(install prefix or None, folder containing the top-level package or module)``."""
    import importlib.util
    import pathlib

    root_name = import_name.partition(".")[0]
    module = sys.modules.get(root_name)
    origin: str | None = None
    if root_name == "__main__":
        # As Flask finds it: by the module's spec, which a script run directly
        # (``python app.py``, a console script) has not: then the working directory.
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.origin not in (None, "namespace", "built-in", "frozen"):
            origin = spec.origin
    elif module is not None:
        origin = getattr(module, "__file__", None)
    if origin is None and root_name != "__main__":
        try:
            spec = importlib.util.find_spec(root_name)
        except (ImportError, ValueError):
            spec = None
        if spec is not None:
            if spec.origin not in (None, "namespace", "built-in", "frozen"):
                origin = spec.origin
            elif spec.submodule_search_locations:
                # A namespace package: its (first) folder stands for the package.
                origin = os.path.join(next(iter(spec.submodule_search_locations)), "__init__.py")
    if origin is None:
        return None, os.getcwd()
    folder = os.path.dirname(os.path.abspath(origin))
    if os.path.basename(origin).startswith("__init__."):
        folder = os.path.dirname(folder)  # a package: the folder that contains it
    prefix = os.path.abspath(sys.prefix)
    if pathlib.PurePath(folder).is_relative_to(prefix):
        return prefix, folder
    parent, name = os.path.split(folder)
    if name.lower() == "site-packages":
        lib_parent, lib = os.path.split(parent)
        if lib.lower() == "lib":
            return lib_parent, folder  # <prefix>/Lib/site-packages
        if os.path.basename(lib_parent).lower() == "lib":
            return os.path.dirname(lib_parent), folder  # <prefix>/lib/pythonX.Y/site-packages
        return parent, folder
    return None, folder
