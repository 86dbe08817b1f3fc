"""The ``run`` command: serving the app with Hypercorn, in this process or in worker
processes started by Hypercorn's runner (for ``--reload`` and ``--workers``).

``app.run(use_reloader=True)`` serves through :func:`_serve_with_workers` too.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import sys
import typing as t

import click

from ..helpers import get_debug_flag
from ..serving import _url_host
from .discovery import ScriptInfo
from .discovery import pass_script_info
from .options import _debug_option

if t.TYPE_CHECKING:
    from ..app import Quart


def _worker_app(debugger: bool = False) -> Quart:
    """Load the app in a Hypercorn worker process (see the ``run`` command)."""
    info = ScriptInfo(app_import_path=os.environ.get("QUARTLIKE_APP") or None)
    app = info.load_app()
    if debugger:
        from ..debug import install_debug_page

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
    config_options: cabc.Mapping[str, t.Any] | None = None,
) -> int:
    """Serve with Hypercorn's runner: ``workers`` processes that each import the app by
    ``import_path``, restarted when a loaded file changes if ``reload`` is on.

    ``config_options`` are set on Hypercorn's ``Config`` last. Returns the runner's
    exit code.
    """
    from hypercorn.config import Config
    from hypercorn.run import run

    # Workers are new processes that import the app again: they find it with
    # the same import path, through this module's ``_worker_app``.
    os.environ["QUARTLIKE_APP"] = import_path
    config = Config()
    config.application_path = f"{__name__}:_worker_app(debugger={debugger!r})"
    config.bind = [f"{host}:{port}"]
    config.certfile = certfile
    config.keyfile = keyfile
    config.use_reloader = reload
    config.workers = workers
    config.accesslog = "-" if app.debug else None
    config.errorlog = "-"
    for key, value in (config_options or {}).items():
        setattr(config, key, value)
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
            # Looked up on the package, where it can be replaced (as tests do).
            from .. import cli as package

            code = package._serve_with_workers(
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
            from ..serving import run_app

            if debugger:
                from ..debug import install_debug_page

                install_debug_page(app)
            run_app(app, host=host, port=port, certfile=certfile, keyfile=keyfile)
    except OSError as e:
        raise click.ClickException(f"Could not serve on {host}:{port}: {e}") from e


run_command.params.insert(0, _debug_option())
