"""Running an app on Hypercorn for development (``app.run()``).

Without the reloader the app is served in this process by
``hypercorn.asyncio.serve``. With it, the app is served the way
``quartlike run --reload`` serves it: Hypercorn's runner starts a worker
process that imports the app again, by its module and global name, and
restarts it when a loaded Python file changes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import types
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from .app import Quart

# True while the reloader serves from this process. Hypercorn's runner imports
# the app's module again before it starts the workers; a module that calls
# app.run() when imported (not under ``if __name__ == "__main__":``) would
# start a second server on the same address.
_reloader_running = False


def _url_host(host: str) -> str:
    if ":" in host and not host.startswith("["):
        return f"[{host}]"  # an IPv6 address
    return host


def _module_import_name(module_name: str, module: types.ModuleType) -> str | None:
    """The name or file path by which another process imports the module ``module_name``
    (``None`` for a ``__main__`` that has no file, such as an interactive session).
    """
    if module_name != "__main__":
        return module_name
    spec_name = getattr(module.__spec__, "name", None)
    if spec_name and spec_name != "__main__":
        return str(spec_name)  # python -m module
    path = getattr(module, "__file__", None)
    if path and Path(path).suffix == ".py" and Path(path).stem != "__main__":
        return str(path)  # python app.py
    return None


def _reload_import_path(app: Quart) -> str:
    """The import path (``module:name``) by which a worker process imports ``app`` again.

    Raises :class:`RuntimeError`, saying why, when there is none.
    """
    module = sys.modules.get(app.import_name)
    if threading.current_thread() is not threading.main_thread():
        problem = "the reloader only runs in the main thread"
    elif module is None:
        problem = f"no module named {app.import_name!r} is loaded"
    else:
        import_name = _module_import_name(app.import_name, module)
        names = [name for name, value in list(vars(module).items()) if value is app]
        if import_name is None:
            problem = "its module '__main__' has no file to import it from"
        elif not names:
            problem = f"the app is not a global variable of its module {app.import_name!r}"
        else:
            return f"{import_name}:{names[0]}"
    raise RuntimeError(
        f"The reloader cannot import the app {app.name!r} again: {problem}. Serve it with"
        " 'quartlike --app module:name run --reload' instead (or pass use_reloader=False)."
    )


def _serve_with_reloader(
    app: Quart,
    import_path: str,
    *,
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    options: dict[str, t.Any],
) -> None:
    """Serve with Hypercorn's runner, as ``quartlike run --reload`` does."""
    global _reloader_running
    from .cli import _serve_with_workers

    # The workers load the app as the ``quartlike`` command's workers do: by
    # QUARTLIKE_APP, in the debug mode QUARTLIKE_DEBUG gives (this app's).
    saved = {key: os.environ.get(key) for key in ("QUARTLIKE_APP", "QUARTLIKE_DEBUG")}
    os.environ["QUARTLIKE_DEBUG"] = "1" if app.debug else "0"
    _reloader_running = True
    try:
        code = _serve_with_workers(
            app,
            import_path,
            host=host,
            port=port,
            certfile=certfile,
            keyfile=keyfile,
            reload=True,
            workers=options.pop("workers", 1),
            debugger=False,
            config_options=options,
        )
    finally:
        _reloader_running = False
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if code:
        raise SystemExit(code)


def run_app(
    app: Quart,
    *,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    use_reloader: bool | None = False,
    **kwargs: t.Any,
) -> None:
    """Serve ``app`` on Hypercorn until SIGINT/SIGTERM, then shut down gracefully.

    With ``use_reloader`` the app is served by a worker process that imports it
    again and is restarted when a loaded Python file changes; that needs the app
    to be a global variable of a module that can be imported again
    (:class:`RuntimeError` otherwise). ``None`` means the reloader is used when
    it can be. The other keyword arguments are set on Hypercorn's ``Config``.
    """
    if _reloader_running:
        raise RuntimeError(
            "app.run() was called while the reloader imported the app's module again."
            " Call app.run() under 'if __name__ == \"__main__\":', so that importing the"
            " module does not start a server."
        )
    host = _url_host(host)
    if use_reloader is not False:
        try:
            import_path = _reload_import_path(app)
        except RuntimeError as e:
            if use_reloader:
                raise
            print(f" * Reloader: off. {e}", flush=True)
        else:
            _serve_with_reloader(
                app,
                import_path,
                host=host,
                port=port,
                certfile=certfile,
                keyfile=keyfile,
                options=kwargs,
            )
            return

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.certfile = certfile
    config.keyfile = keyfile
    config.accesslog = "-" if app.debug else None
    config.errorlog = "-"
    for key, value in kwargs.items():
        setattr(config, key, value)
    scheme = "https" if certfile else "http"
    print(f" * Serving quartlike app {app.name!r}", flush=True)
    print(f" * Debug mode: {'on' if app.debug else 'off'}", flush=True)
    print(f" * Running on {scheme}://{host}:{port} (CTRL + C to quit)", flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-main thread
                pass
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(main())
