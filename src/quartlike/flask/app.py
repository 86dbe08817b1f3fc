"""``flask.app`` for the sync face: :class:`Flask`, a quartlike app with Flask's sync API."""

from __future__ import annotations

import collections.abc as cabc
import copy
import functools
import os
import typing as t

import click
from werkzeug.exceptions import HTTPException

from ..app import Quart
from ..cli import AppGroup
from ..cli import with_appcontext
from ..sync import await_sync
from ..sync import dual
from ..sync import dual_method
from ..sync import is_async_callable
from .testing import FlaskClient
from .testing import FlaskCliRunner
from .testing import FlaskTestApp
from .wrappers import Request
from .wrappers import Response

__all__ = ["Flask"]


class _AppCommands(AppGroup):
    """``app.cli`` of a :class:`Flask` app.

    As with Flask (since 2.2), a plain click command added with
    ``app.cli.add_command(cmd)`` runs in an app context too, not only those
    made with ``@app.cli.command()`` (which choose with ``with_appcontext``).
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._chosen: set[click.Command] = set()

    def command(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        rv = super().command(*args, **kwargs)
        if isinstance(rv, click.Command):
            self._chosen.add(rv)
            return rv

        def decorator(f: cabc.Callable[..., t.Any]) -> click.Command:
            command = t.cast(click.Command, rv(f))
            self._chosen.add(command)
            return command

        return decorator

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        rv = super().get_command(ctx, cmd_name)
        if rv is None or rv.callback is None or isinstance(rv, click.Group) or rv in self._chosen:
            return rv
        command = copy.copy(rv)
        command.callback = with_appcontext(rv.callback)
        return command


class Flask(Quart):
    """The application, for code written for Flask.

    It is a :class:`quartlike.Quart` (an ASGI app, served by Hypercorn or any
    ASGI server; views may be ``def`` or ``async def``) whose Flask-facing
    parts are sync, as in Flask:

    * ``app.test_client()`` is a :class:`~quartlike.flask.testing.FlaskClient`:
      ``client.get("/")`` returns the response without ``await``;
    * ``app.test_app()`` works with a plain ``with`` in sync tests;
    * ``open_resource`` and ``open_instance_resource`` return ordinary file
      objects, and ``send_static_file`` returns the response in sync code;
    * ``request_class`` and ``response_class`` are typed for sync code;
    * all the sync code of a request runs in one thread
      (:attr:`~quartlike.Quart.request_thread_affinity`), so thread-bound
      resources such as a :mod:`sqlite3` connection kept in ``g`` work across
      hooks, view and teardown callbacks.

    ``app.app_context()`` and ``app.test_request_context()`` work with ``with``
    (sync code) and ``async with`` (async code), as for every quartlike app.
    """

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    request_thread_affinity = True
    test_client_class: type[FlaskClient] | None = None  # type: ignore[assignment]
    test_cli_runner_class = FlaskCliRunner

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
            static_url_path=static_url_path,
            static_folder=static_folder,
            static_host=static_host,
            host_matching=host_matching,
            subdomain_matching=subdomain_matching,
            template_folder=template_folder,
            instance_path=instance_path,
            instance_relative_config=instance_relative_config,
            root_path=root_path,
        )
        self.cli = _AppCommands(self.name)

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:  # type: ignore[override]
        """A sync client that sends requests to the app in-process (see :class:`FlaskClient`).

        ``kwargs`` go to :attr:`test_client_class` (a :class:`FlaskClient` subclass).
        """
        cls = self.test_client_class or FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_app(self) -> FlaskTestApp:
        """Run the app's startup and shutdown around tests: ``with app.test_app():``."""
        return FlaskTestApp(self)

    def open_resource(  # type: ignore[override]
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.Any]:
        """Open ``resource`` (relative to :attr:`root_path`) for reading.

        :param mode: ``"rb"`` (the default), ``"r"`` or ``"rt"``.
        :param encoding: the encoding of a text mode.
        :raises ValueError: for a mode that writes.
        """
        if mode not in {"r", "rt", "rb"}:
            raise ValueError(f"Resources can only be opened for reading, not with mode {mode!r}.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def open_instance_resource(  # type: ignore[override]
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open ``resource`` (relative to :attr:`instance_path`), in any mode.

        :param encoding: the encoding of a text mode (ignored in binary modes).
        """
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    def send_static_file(self, filename: str) -> Response:  # type: ignore[override]
        """The response for ``filename`` in the static folder.

        Returns the response in sync code; awaitable in async code.
        """
        return t.cast(Response, dual(super().send_static_file(filename)))

    # The stages of the pipeline that Flask code calls or wraps (Flask-CORS
    # wraps the two exception handlers in sync functions that pass their result
    # to ``make_response``) are Flask's sync methods here: in sync code they
    # return values; on the event loop, awaitables, so the pipeline awaits them.

    @dual_method
    def make_response(self, rv: t.Any) -> Response:  # type: ignore[override]
        """Turn a view's return value into a :attr:`response_class` instance
        (see :meth:`quartlike.Quart.make_response`)."""
        return t.cast(Response, dual(super().make_response(rv)))

    # On the event loop it is the core's stage: requests may still run inline.
    _inline_equivalent_stages: t.ClassVar[dict[str, t.Any]] = {"make_response": make_response}

    @dual_method
    def handle_http_exception(self, e: HTTPException) -> t.Any:
        """The error handler's result for the HTTP exception ``e``, or ``e`` itself."""
        return dual(super().handle_http_exception(e))

    @dual_method
    def handle_user_exception(self, e: Exception) -> t.Any:
        """The error handler's result for ``e``; re-raises ``e`` when it has none."""
        return dual(super().handle_user_exception(e))

    @dual_method
    def handle_exception(self, e: Exception) -> Response:  # type: ignore[override]
        """The 500 response for an unhandled ``e`` (re-raised when propagating)."""
        return t.cast(Response, dual(super().handle_exception(e)))

    def ensure_sync(self, func: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        """Return a sync version of ``func``: itself if it is sync, else
        :meth:`async_to_sync` of it (for extensions that call user callbacks)."""
        if is_async_callable(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(
        self, func: cabc.Callable[..., cabc.Coroutine[t.Any, t.Any, t.Any]]
    ) -> cabc.Callable[..., t.Any]:
        """Wrap the coroutine function ``func`` so that calling it from sync code
        returns its result (through the sync bridge)."""

        @functools.wraps(func)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return await_sync(func(*args, **kwargs))

        return wrapper
