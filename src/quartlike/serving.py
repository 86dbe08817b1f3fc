"""Running an app on Hypercorn for development (``app.run()``)."""

from __future__ import annotations

import asyncio
import signal
import typing as t

if t.TYPE_CHECKING:
    from .app import Quart


def run_app(
    app: Quart,
    *,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    use_reloader: bool = False,
    **kwargs: t.Any,
) -> None:
    """Serve ``app`` on Hypercorn until SIGINT/SIGTERM, then shut down gracefully."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.certfile = certfile
    config.keyfile = keyfile
    config.use_reloader = use_reloader
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
