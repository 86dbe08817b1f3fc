#!/usr/bin/env python
"""Instructions per request under each server, counted by valgrind's callgrind.

    .venv/bin/python bench/instructions.py                      # raw, quartlike, starlette
    .venv/bin/python bench/instructions.py --frameworks raw,quartlike --requests 500

Requests per second on a shared machine swing by more than the frameworks differ
(see docs/performance.rst). An instruction count does not: for the same code and
input it is the same whatever else the machine does. Each (server, framework)
pair is started under ``valgrind --tool=callgrind`` on 127.0.0.1, warmed up, its
counters zeroed, then sent exactly ``--requests`` keep-alive requests from 4
connections, and dumped; the dump's total divided by the requests is the figure.
It counts instructions, not time (cache misses and branch mispredictions are not
in it), so it complements ``server.py``, it does not replace it. Needs valgrind
(``apt-get install valgrind``); each pair takes 10–30 s. Every server is stopped
by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from datetime import UTC
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from driver import installed  # noqa: E402
from driver import revision  # noqa: E402
from server import HOST  # noqa: E402
from server import PATHS  # noqa: E402
from server import fetch  # noqa: E402
from server import free_port  # noqa: E402
from server import server_kinds  # noqa: E402

FRAMEWORKS = ["raw", "quartlike", "quart", "starlette", "fastapi"]
DEFAULT = ["raw", "quartlike", "starlette"]


async def _send(port: int, path: str, requests: int, connections: int) -> int:
    """Send exactly ``requests`` GETs over keep-alive connections; return how many completed."""
    per = requests // connections
    message = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
    done = 0

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for _ in range(per):
                writer.write(message)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(connections))), 900)
    return done


def send(port: int, path: str, requests: int, connections: int = 4) -> int:
    return asyncio.run(_send(port, path, requests, connections))


def count(kind_args: list[str], framework: str, path: str, requests: int, workdir: Path) -> float:
    """Instructions per request for one (server, framework, path)."""
    port = free_port()
    out = workdir / f"cg-{framework}-{port}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}.%p",
        sys.executable,
        str(BENCH / "serve_app.py"),
        kind_args[0],
        framework,
        str(port),
        *kind_args[1:],
    ]
    log = (workdir / f"{framework}-{port}.log").open("wb")
    # A fixed hash seed: dict and set layouts, and so the instructions, are the
    # same from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited early (see {log.name})")
            try:
                fetch(port, path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{framework} under valgrind did not start") from None
                time.sleep(0.5)
        send(port, path, 200)  # warm-up: first-request caches, imports on first use
        control = {"check": True, "timeout": 60, "capture_output": True}
        subprocess.run(["callgrind_control", "-z", str(process.pid)], **control)
        done = send(port, path, requests)
        subprocess.run(["callgrind_control", "-d", str(process.pid)], **control)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(60)
        log.close()
    for dump in workdir.glob(f"cg-{framework}-{port}.*"):
        text = dump.read_text(errors="replace")
        if "Trigger: dump" in text:
            for line in text.splitlines():
                if line.startswith("summary:"):
                    return int(line.split()[1]) / done
    raise RuntimeError(f"no callgrind dump for {framework} on port {port}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", default=",".join(DEFAULT))
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also save the results as JSON here")
    args = parser.parse_args(argv)
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (apt-get install valgrind)")
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in FRAMEWORKS or not installed(f)]
    if unknown:
        raise SystemExit(f"unknown or not installed: {', '.join(unknown)}")
    kinds = [k for k in server_kinds() if k.http != "h11" or k.server == "hypercorn"]
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="quartlike-instructions-") as tmp:
        for kind in kinds:
            for path in PATHS:
                for framework in frameworks:
                    value = count(kind.args(), framework, path, args.requests, Path(tmp))
                    results.setdefault(kind.name, {}).setdefault(path, {})[framework] = value
                    print(f"  {kind.name} GET {path} {framework}: {value:,.0f}", file=sys.stderr)
    print(render(results, frameworks))
    if args.json:
        data: dict[str, t.Any] = {
            "kind": "instructions",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "revision": revision(),
            "requests": args.requests,
            "frameworks": frameworks,
            "results": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


def render(results: dict[str, dict[str, dict[str, float]]], frameworks: list[str]) -> str:
    width = max(len(f"{k} GET {p}") for k, by in results.items() for p in by) + 2
    lines = ["instructions per request (callgrind; lower is better)"]
    header = "server / path".ljust(width) + "".join(f"{f:>12}" for f in frameworks)
    lines += [header, "-" * len(header)]
    for kind, by_path in results.items():
        for path, row in by_path.items():
            cells = "".join(f"{row[f]:>12,.0f}" for f in frameworks)
            lines.append(f"{kind} GET {path}".ljust(width) + cells)
    pairs = [(f, "raw") for f in frameworks if f != "raw" and "raw" in frameworks]
    pairs += [
        (f, "starlette")
        for f in frameworks
        if f not in ("raw", "starlette") and "starlette" in frameworks
    ]
    if pairs:
        lines += [
            "",
            "ratios, inverted (b's instructions / a's: > 1 means a does less work per request)",
        ]
        header = "server / path".ljust(width) + "".join(f"{f'{a}/{b}':>20}" for a, b in pairs)
        lines += [header, "-" * len(header)]
        for kind, by_path in results.items():
            for path, row in by_path.items():
                cells = "".join(f"{row[b] / row[a]:>20.3f}" for a, b in pairs)
                lines.append(f"{kind} GET {path}".ljust(width) + cells)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
