#!/usr/bin/env python
"""Serve one benchmark app with one server, for ``server.py`` and ``memory.py``.

    python bench/serve_app.py hypercorn quartlike 8001
    python bench/serve_app.py uvicorn starlette 8002 --loop uvloop --http httptools
    python bench/serve_app.py hypercorn quartlike 8003 --websocket   # apps/ws_apps.py

One process, one worker, 127.0.0.1 only, access logs off (servers log nothing per
request, for every framework alike). Runs until it is sent SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps import MODULES

HOST = "127.0.0.1"


def load(framework: str, websocket: bool) -> t.Any:
    if websocket:
        from apps.ws_apps import FACTORIES

        return FACTORIES[framework]()
    from driver import load_app

    return load_app(framework)


def serve_hypercorn(app: t.Any, port: int) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{HOST}:{port}"]
    config.accesslog = None
    config.loglevel = "WARNING"
    config.workers = 1

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(main())


def serve_uvicorn(app: t.Any, port: int, loop: str, http: str) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host=HOST,
        port=port,
        loop=loop,
        http=http,
        ws="websockets",
        lifespan="on",
        access_log=False,
        log_level="warning",
        workers=1,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("server", choices=["hypercorn", "uvicorn"])
    parser.add_argument("framework", choices=list(MODULES))
    parser.add_argument("port", type=int)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--websocket", action="store_true", help="serve apps/ws_apps.py instead")
    args = parser.parse_args()
    app = load(args.framework, args.websocket)
    if args.server == "hypercorn":
        if args.loop != "asyncio" or args.http != "h11":
            parser.error("this harness runs Hypercorn with asyncio and h11 only")
        serve_hypercorn(app, args.port)
    else:
        serve_uvicorn(app, args.port, args.loop, args.http)


if __name__ == "__main__":
    main()
