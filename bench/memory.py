#!/usr/bin/env python
"""Memory benchmark: RSS over 10,000 in-process requests, and bytes per idle websocket.

1. **Requests** (quartlike, in-process, like ``inprocess.py``): after a warm-up, the
   process's RSS and the number of live objects the garbage collector tracks are read,
   then 10,000 requests cycling through every scenario are sent, with a reading every
   1,000. A flat series means nothing is kept per request.
2. **Idle websockets**: each app of ``apps/ws_apps.py`` is served by Hypercorn (one
   worker, own process); this process opens ``--connections`` websockets to it with the
   ``websockets`` client (up to 100 handshakes at a time), waits until every handler has
   sent ``ready``, and reads the server's RSS. Bytes per connection = the RSS growth
   divided by the number of connections, compared with a bare ASGI app on the same server.

    .venv/bin/python bench/memory.py                       # both parts
    .venv/bin/python bench/memory.py --quick               # 1,000 requests, 100 sockets
    .venv/bin/python bench/memory.py --skip-websockets --json out.json

Linux only (RSS is read from /proc). Every server is stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import platform
import resource
import sys
import tempfile
import time
import typing as t
from datetime import UTC
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import driver_for
from driver import installed
from driver import revision
from inprocess import _request_for
from inprocess import check_all
from scenarios import SCENARIOS
from server import ServerProcess
from server import rss_of

MiB = 1024 * 1024
WS_FRAMEWORKS = ["raw", "quartlike", "starlette", "quart"]


async def requests_part(total: int, every: int) -> dict[str, t.Any]:
    driver = driver_for("quartlike")
    await driver.startup()
    try:
        scenarios = [s for s in SCENARIOS if s.applies_to("quartlike")]
        verdicts, cookies = await check_all({"quartlike": driver}, scenarios)
        failed = {s: v["quartlike"] for s, v in verdicts.items() if v["quartlike"] != "ok"}
        if failed:
            raise SystemExit(f"checks failed: {failed}")
        runners = [driver.runner(_request_for(s, cookies, "quartlike")) for s in scenarios]

        async def send(n: int) -> None:
            # Round-robin over the scenarios, one request at a time.
            for i in range(n):
                await runners[i % len(runners)](1)

        await send(1000)  # warm-up: imports, caches, the thread pool, compiled templates
        gc.collect()
        readings = [(0, rss_of(), len(gc.get_objects()))]
        for done in range(every, total + 1, every):
            await send(every)
            gc.collect()
            readings.append((done, rss_of(), len(gc.get_objects())))
    finally:
        await driver.shutdown()
    first, last = readings[0], readings[-1]
    return {
        "requests": total,
        "scenarios": [s.name for s in scenarios],
        "readings": [{"requests": n, "rss": rss, "gc_objects": objs} for n, rss, objs in readings],
        "rss_before": first[1],
        "rss_after": last[1],
        "rss_growth": last[1] - first[1],
        "bytes_per_request": (last[1] - first[1]) / total,
        "gc_objects_growth": last[2] - first[2],
    }


async def _open_websockets(port: int, count: int, timeout: float) -> list[t.Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(100)
    sockets: list[t.Any] = []

    async def one() -> None:
        async with gate:
            ws = await connect(
                f"ws://127.0.0.1:{port}/ws", ping_interval=None, open_timeout=timeout
            )
            sockets.append(ws)
            message = await ws.recv()
            if message != "ready":
                raise RuntimeError(f"unexpected first message {message!r}")

    try:
        await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), timeout)
    except BaseException:
        await _close_all(sockets)
        raise
    return sockets


async def _close_all(sockets: list[t.Any]) -> None:
    async def close(ws: t.Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)

    await asyncio.gather(*(close(ws) for ws in sockets))


def websocket_part(framework: str, count: int, logdir: Path, timeout: float) -> dict[str, t.Any]:
    server = ServerProcess("hypercorn", framework, ["--websocket"])
    server.start(logdir)
    try:
        server.wait_ready(websocket=True)

        async def measure() -> dict[str, t.Any]:
            # One connection first, so that lazily imported code is loaded before the baseline.
            await _close_all(await _open_websockets(server.port, 1, timeout))
            await asyncio.sleep(0.5)
            before = server.rss()
            start = time.monotonic()
            sockets = await _open_websockets(server.port, count, timeout)
            opened_in = time.monotonic() - start
            await asyncio.sleep(1)  # let the server settle
            during = server.rss()
            await _close_all(sockets)
            await asyncio.sleep(1)
            after = server.rss()
            return {
                "framework": framework,
                "connections": count,
                "rss_before": before,
                "rss_open": during,
                "rss_after_close": after,
                "bytes_per_connection": (during - before) / count,
                "opened_in_s": round(opened_in, 2),
            }

        return asyncio.run(measure())
    finally:
        server.stop()


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def render(data: dict[str, t.Any]) -> str:
    lines = []
    req = data.get("requests")
    if req:
        lines += [
            f"quartlike, {req['requests']:,} in-process requests"
            f" (round-robin over: {', '.join(req['scenarios'])})",
            f"{'requests':>10} {'RSS MiB':>10} {'gc objects':>12}",
        ]
        for r in req["readings"]:
            lines.append(f"{r['requests']:>10,} {r['rss'] / MiB:>10.2f} {r['gc_objects']:>12,}")
        lines.append(
            f"RSS growth: {req['rss_growth'] / 1024:.0f} KiB"
            f" ({req['bytes_per_request']:.1f} bytes/request);"
            f" tracked objects: {req['gc_objects_growth']:+,}"
        )
        lines.append("")
    ws = data.get("websockets")
    if ws:
        lines += [
            f"idle websockets on Hypercorn (server RSS; {ws[0]['connections']:,} connections)",
            f"{'app':<12}{'before MiB':>12}{'open MiB':>10}{'closed MiB':>12}{'bytes/conn':>12}",
        ]
        for w in ws:
            lines.append(
                f"{w['framework']:<12}{w['rss_before'] / MiB:>12.1f}{w['rss_open'] / MiB:>10.1f}"
                f"{w['rss_after_close'] / MiB:>12.1f}{w['bytes_per_connection']:>12,.0f}"
            )
        raw = next((w for w in ws if w["framework"] == "raw"), None)
        if raw:
            for w in ws:
                if w is not raw:
                    extra = w["bytes_per_connection"] - raw["bytes_per_connection"]
                    lines.append(f"{w['framework']}: {extra:,.0f} bytes/connection above raw ASGI")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=1_000)
    parser.add_argument(
        "--frameworks",
        help=f"websocket apps, from {','.join(WS_FRAMEWORKS)} (default: all installed)",
    )
    parser.add_argument("--timeout", type=float, default=120, help="to open all websockets")
    parser.add_argument("--skip-requests", action="store_true")
    parser.add_argument("--skip-websockets", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1,000 requests, 100 websockets")
    parser.add_argument("--json", type=Path, help="also save the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.connections = 1_000, 100
    if not Path("/proc/self/status").exists():
        raise SystemExit("memory.py reads RSS from /proc: Linux only")

    data: dict[str, t.Any] = {
        "kind": "memory",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "revision": revision(),
    }
    if not args.skip_requests:
        every = max(1, args.requests // 10)
        data["requests"] = asyncio.run(requests_part(args.requests, every))
        print(render({"requests": data["requests"]}), flush=True)
    if not args.skip_websockets:
        if args.frameworks:
            frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
        else:
            frameworks = [f for f in WS_FRAMEWORKS if installed(f)]
        _raise_fd_limit(args.connections + 256)
        results = []
        with tempfile.TemporaryDirectory(prefix="quartlike-bench-") as logdir:
            for framework in frameworks:
                print(f"  websockets: {framework} ...", file=sys.stderr, flush=True)
                results.append(
                    websocket_part(framework, args.connections, Path(logdir), args.timeout)
                )
        data["websockets"] = results
        print(render({"websockets": results}))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"saved {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
