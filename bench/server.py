#!/usr/bin/env python
"""Server benchmark: each ASGI app under Hypercorn and uvicorn, loaded over 127.0.0.1.

Every (server, framework) pair runs in its own process (``serve_app.py``: one worker,
access log off). All of them are started first and stay idle while another is being
loaded; the load runs rotate through them ``--reps`` times, so that drift on a noisy
machine falls on every pair alike. Reported: the median req/s over the repetitions,
and ratios to raw ASGI and to Starlette on the same server, from the same run.

The load generator is ``wrk`` when it is on PATH (``--install-wrk`` installs it with
apt-get when it is not), otherwise a bounded in-Python keep-alive generator (asyncio,
raw sockets), which is much slower than wrk and caps what it can show: the output says
which one ran. Every server is stopped by its PID at the end, also on errors.

    .venv/bin/python bench/server.py                     # all installed, 3 x 5 s each
    .venv/bin/python bench/server.py --quick             # 1 x 2 s each
    .venv/bin/python bench/server.py --frameworks raw,quartlike,starlette --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from driver import Result  # noqa: E402
from driver import installed  # noqa: E402
from driver import revision  # noqa: E402
from driver import version_of  # noqa: E402
from scenarios import BY_NAME  # noqa: E402

HOST = "127.0.0.1"
ASGI_FRAMEWORKS = ["raw", "quartlike", "quart", "starlette", "fastapi"]
PATHS = {"/": "plaintext", "/json": "json"}


@dataclass(frozen=True)
class ServerKind:
    name: str
    server: str
    loop: str = "asyncio"
    http: str = "h11"

    def args(self) -> list[str]:
        return [self.server, "--loop", self.loop, "--http", self.http]


def server_kinds() -> list[ServerKind]:
    kinds = [
        ServerKind("hypercorn", "hypercorn"),
        ServerKind("uvicorn (asyncio, h11)", "uvicorn"),
    ]
    if importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools"):
        kinds.append(ServerKind("uvicorn (uvloop, httptools)", "uvicorn", "uvloop", "httptools"))
    return kinds


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """One server process, started with ``serve_app.py`` and stopped by its PID."""

    server: str
    framework: str
    extra: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, logdir: Path) -> None:
        self.port = free_port()
        self.log = logdir / f"{self.server}-{self.framework}-{self.port}.log"
        command = [
            sys.executable,
            str(BENCH / "serve_app.py"),
            self.server,
            self.framework,
            str(self.port),
            *self.extra,
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def wait_ready(self, timeout: float = 20, path: str = "/", websocket: bool = False) -> None:
        """Wait until the port answers (an HTTP request when not a websocket app)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.describe()} exited early:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    pass
                if websocket:
                    return
                fetch(self.port, path)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.describe()} did not start in {timeout} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to our own process by PID; SIGKILL if it does not exit in time."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def rss(self) -> int:
        """The server process's resident set size, in bytes (Linux ``/proc``)."""
        assert self.process is not None
        return rss_of(self.process.pid)

    def describe(self) -> str:
        pid = self.process.pid if self.process else "-"
        return f"{self.server} {' '.join(self.extra)} serving {self.framework} (pid {pid})"

    def log_tail(self) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])


def rss_of(pid: int | str = "self") -> int:
    """Resident set size in bytes, from ``/proc/<pid>/status`` (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fetch(port: int, path: str) -> Result:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Result(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


# -- load generators -------------------------------------------------------------------


@dataclass
class Load:
    requests_per_s: float
    errors: int
    generator: str
    #: Requests completed during the run.
    requests: int = 0
    #: CPU time the server process spent per request (user + system), µs.
    cpu_us: float | None = None


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU time of a process so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def find_wrk(install: bool) -> str | None:
    wrk = shutil.which("wrk")
    if wrk or not install:
        return wrk
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print("cannot install wrk: needs apt-get and root", file=sys.stderr)
        return None
    print("installing wrk with apt-get ...", file=sys.stderr, flush=True)
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, capture_output=True, timeout=300, check=False)
        if done.returncode != 0:
            print(f"{' '.join(command)} failed:\n{done.stderr.decode()[-2000:]}", file=sys.stderr)
            return None
    return shutil.which("wrk")


def run_wrk(wrk: str, port: int, path: str, seconds: float, connections: int) -> Load:
    command = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "5s",
        f"http://{HOST}:{port}{path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30)
    out = done.stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{out}\n{done.stderr}")
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: (.*)"):
        found = re.search(pattern, out)
        if found:
            errors += sum(int(n) for n in re.findall(r"\d+", found.group(1)))
    total = re.search(r"(\d+) requests in", out)
    return Load(float(match.group(1)), errors, "wrk", int(total.group(1)) if total else 0)


async def _python_load(port: int, path: str, seconds: float, connections: int) -> Load:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: bench\r\n\r\n".encode()
    done = 0
    errors = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.monotonic() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                lower = head.lower()
                match = re.search(rb"content-length:\s*(\d+)", lower)
                if match:
                    await reader.readexactly(int(match.group(1)))
                elif b"transfer-encoding: chunked" in lower:
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                        await reader.readexactly(size + 2)
                        if size == 0:
                            break
                if status >= 400:
                    errors += 1
                done += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    start = time.monotonic()
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(client() for _ in range(connections)), return_exceptions=True),
        timeout=seconds + 30,
    )
    elapsed = time.monotonic() - start
    errors += sum(1 for o in outcomes if isinstance(o, BaseException))
    return Load(done / elapsed, errors, "python", done)


def run_python_load(port: int, path: str, seconds: float, connections: int) -> Load:
    return asyncio.run(_python_load(port, path, seconds, connections))


# -- the benchmark --------------------------------------------------------------------------


def render_tables(data: dict[str, t.Any]) -> str:
    frameworks: list[str] = data["frameworks"]
    lines = [
        f"requests per second (median of {data['settings']['reps']} x"
        f" {data['settings']['seconds']} s, {data['settings']['connections']} connections,"
        f" load generator: {data['generator']}; higher is better)"
    ]
    width = max(len(f"{k} GET {p}") for k in data["servers"] for p in data["paths"]) + 2
    header = "server / path".ljust(width) + "".join(f"{f:>11}" for f in frameworks)
    lines += [header, "-" * len(header)]
    results = data["results"]
    for kind in data["servers"]:
        for path in data["paths"]:
            row = results.get(kind, {}).get(path, {})
            cells = "".join(
                f"{row[f]['median_rps']:>11.0f}" if f in row else f"{'-':>11}" for f in frameworks
            )
            lines.append(f"{kind} GET {path}".ljust(width) + cells)
    lines.append("")
    columns = [
        (f, base) for base in ("raw", "starlette") for f in frameworks if f not in ("raw", base)
    ]
    columns = [c for c in columns if c[1] in frameworks]
    if columns:
        header = "server / path".ljust(width) + "".join(f"{f'{a}/{b}':>20}" for a, b in columns)
        lines += ["throughput ratios (a/b; > 1 means a serves more)", header, "-" * len(header)]
        for kind in data["servers"]:
            for path in data["paths"]:
                row = results.get(kind, {}).get(path, {})
                cells = ""
                for a, b in columns:
                    if a in row and b in row and row[b]["median_rps"]:
                        cells += f"{row[a]['median_rps'] / row[b]['median_rps']:>20.2f}"
                    else:
                        cells += f"{'-':>20}"
                lines.append(f"{kind} GET {path}".ljust(width) + cells)
    if any(
        cell.get("median_cpu_us") is not None
        for by_path in results.values()
        for row in by_path.values()
        for cell in row.values()
    ):
        lines += [
            "",
            "server CPU time per request (µs, median; lower is better; steadier than req/s"
            " on a busy machine)",
        ]
        header = "server / path".ljust(width) + "".join(f"{f:>11}" for f in frameworks)
        lines += [header, "-" * len(header)]
        for kind in data["servers"]:
            for path in data["paths"]:
                row = results.get(kind, {}).get(path, {})
                cells = "".join(
                    f"{row[f]['median_cpu_us']:>11.1f}"
                    if row.get(f, {}).get("median_cpu_us") is not None
                    else f"{'-':>11}"
                    for f in frameworks
                )
                lines.append(f"{kind} GET {path}".ljust(width) + cells)
        if columns:
            header = "server / path".ljust(width) + "".join(f"{f'{a}/{b}':>20}" for a, b in columns)
            lines += [
                "",
                "ratios of CPU time per request, inverted (b's µs / a's µs: the throughput ratio"
                " if the server had a core to itself; > 1 means a serves more)",
                header,
                "-" * len(header),
            ]
            for kind in data["servers"]:
                for path in data["paths"]:
                    row = results.get(kind, {}).get(path, {})
                    cells = ""
                    for a, b in columns:
                        ca = row.get(a, {}).get("median_cpu_us")
                        cb = row.get(b, {}).get("median_cpu_us")
                        cells += f"{cb / ca:>20.2f}" if ca and cb else f"{'-':>20}"
                    lines.append(f"{kind} GET {path}".ljust(width) + cells)
    errors = [
        f"{kind} {path} {f}: {cell['errors']}"
        for kind, by_path in results.items()
        for path, row in by_path.items()
        for f, cell in row.items()
        if cell["errors"]
    ]
    if errors:
        lines += ["", "error responses or socket errors: " + "; ".join(errors)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", help=f"comma-separated, from {','.join(ASGI_FRAMEWORKS)}")
    parser.add_argument("--seconds", type=float, default=5, help="length of one load run")
    parser.add_argument("--reps", type=int, default=3, help="load runs per pair and path")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1, help="seconds of load before timing")
    parser.add_argument("--quick", action="store_true", help="1 rep of 2 s, no warm-up")
    parser.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], default="auto", help="default: wrk if found"
    )
    parser.add_argument("--install-wrk", action="store_true", help="apt-get install wrk if missing")
    parser.add_argument("--json", type=Path, help="also save the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.reps, args.warmup = 2, 1, 0

    if args.frameworks:
        frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
        unknown = [f for f in frameworks if f not in ASGI_FRAMEWORKS]
        if unknown:
            raise SystemExit(f"unknown or non-ASGI framework: {', '.join(unknown)}")
        missing = [f for f in frameworks if not installed(f)]
        if missing:
            raise SystemExit(f"not installed: {', '.join(missing)} (pip install -e '.[bench]')")
    else:
        frameworks = [f for f in ASGI_FRAMEWORKS if installed(f)]

    wrk = None if args.loadgen == "python" else find_wrk(args.install_wrk)
    if wrk is None and args.loadgen == "wrk":
        raise SystemExit("wrk is not installed (apt-get install wrk, or pass --install-wrk)")
    if wrk is None:
        print(
            "NOTE: wrk not found; using the in-Python load generator, which saturates before"
            " fast servers do (figures are lower bounds; install wrk with apt-get install wrk"
            " or pass --install-wrk)",
            file=sys.stderr,
        )

    def load(server: ServerProcess, path: str, seconds: float) -> Load:
        assert server.process is not None
        before = cpu_seconds_of(server.process.pid)
        if wrk is not None:
            result = run_wrk(wrk, server.port, path, seconds, args.connections)
        else:
            result = run_python_load(server.port, path, seconds, args.connections)
        # The server's own CPU time per request: unlike req/s, barely moved by
        # other processes competing for the machine's cores.
        used = cpu_seconds_of(server.process.pid) - before
        if result.requests:
            result.cpu_us = used / result.requests * 1e6
        return result

    kinds = server_kinds()
    if not any(k.loop == "uvloop" for k in kinds):
        print("uvloop/httptools not installed: uvicorn runs with asyncio and h11 only")
    servers: dict[tuple[str, str], ServerProcess] = {}
    samples: dict[str, dict[str, dict[str, list[Load]]]] = {}
    with tempfile.TemporaryDirectory(prefix="quartlike-bench-") as logdir:
        try:
            for kind in kinds:
                for framework in frameworks:
                    server = ServerProcess(kind.server, framework, kind.args()[1:])
                    server.start(Path(logdir))
                    servers[kind.name, framework] = server
            for (kind_name, framework), server in servers.items():
                server.wait_ready()
                for path, scenario in PATHS.items():
                    problem = BY_NAME[scenario].check(fetch(server.port, path))
                    if problem is not None:
                        raise RuntimeError(f"{kind_name} {framework} GET {path}: {problem}")
            print(
                f"checks ok; {len(servers)} servers up; load: {wrk or 'in-Python generator'},"
                f" {args.reps} x {args.seconds:g} s per server and path",
                file=sys.stderr,
                flush=True,
            )
            order = list(servers)
            for rep in range(args.reps):
                rotated = order[rep % len(order) :] + order[: rep % len(order)]
                for kind_name, framework in rotated:
                    server = servers[kind_name, framework]
                    for path in PATHS:
                        if args.warmup and rep == 0:
                            load(server, path, args.warmup)
                        result = load(server, path, args.seconds)
                        samples.setdefault(kind_name, {}).setdefault(path, {}).setdefault(
                            framework, []
                        ).append(result)
                        if server.process is not None and server.process.poll() is not None:
                            raise RuntimeError(f"{server.describe()} died:\n{server.log_tail()}")
                print(f"  rep {rep + 1}/{args.reps} done", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.stop()

    generator = "wrk" if wrk else "python"
    data: dict[str, t.Any] = {
        "kind": "server",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "revision": revision(),
        "frameworks": frameworks,
        "versions": {
            **{f: version_of(f) for f in frameworks},
            "hypercorn": _version("hypercorn"),
            "uvicorn": _version("uvicorn"),
        },
        "servers": [k.name for k in kinds],
        "paths": list(PATHS),
        "generator": generator,
        "settings": {"seconds": args.seconds, "reps": args.reps, "connections": args.connections},
        "results": {
            kind: {
                path: {
                    f: {
                        "median_rps": statistics.median(x.requests_per_s for x in loads),
                        "samples_rps": [round(x.requests_per_s, 1) for x in loads],
                        "median_cpu_us": _median_or_none([x.cpu_us for x in loads]),
                        "samples_cpu_us": [
                            None if x.cpu_us is None else round(x.cpu_us, 1) for x in loads
                        ],
                        "errors": sum(x.errors for x in loads),
                    }
                    for f, loads in by_framework.items()
                }
                for path, by_framework in by_path.items()
            }
            for kind, by_path in samples.items()
        },
    }
    print()
    print(render_tables(data))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2) + "\n")
        print(f"saved {args.json}", file=sys.stderr)
    return 0


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    sys.exit(main())
