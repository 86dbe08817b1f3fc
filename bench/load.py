#!/usr/bin/env python
"""Load and abuse test: quartlike on Hypercorn keeps serving and loses nothing.

A quartlike app is served by Hypercorn (one worker process, in the foreground,
on 127.0.0.1). For a bounded time, N concurrent clients send a mix of normal
traffic (GET, POST JSON, multipart uploads spooled to disk, websocket echo
sessions) and hostile traffic (a declared oversize body, a slow-drip body past
BODY_TIMEOUT, invalid JSON, millions of empty form fields, broken multipart).

Reported: normal-traffic errors (must be 0), hostile outcomes (each must get
its 4xx, never a 5xx), p50/p99 latency per kind, the server's peak RSS and RSS
samples over time (read from /proc/<pid>/status), with the growth between the
second and the last quarter of the run. The exit status is 1 if normal traffic
had any error or hostile traffic got a 5xx (or the server failed), else 0.

    .venv/bin/python bench/load.py                      # 32 clients, 20 s
    .venv/bin/python bench/load.py --clients 64 --duration 60 --json load.json

The server is stopped by its PID (SIGTERM, then SIGKILL after a bounded wait).
Linux only (it reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import typing as t
from collections import Counter
from collections import defaultdict
from pathlib import Path

import httpx
from websockets.asyncio.client import connect as ws_connect

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
#: Per-request client timeout: a request slower than this counts as an error.
REQUEST_TIMEOUT = 15.0

LIMIT = 2 * 1024 * 1024
BODY_TIMEOUT = 2
UPLOAD_SIZE = 600 * 1024  # past the spool threshold (500 KiB): written to a temp file

APP_MODULE = "ql_load_app"
APP_SOURCE = textwrap.dedent(
    f'''
    """The app bench/load.py serves (written there, to a temporary folder)."""

    from quartlike import Quart
    from quartlike import request
    from quartlike import session
    from quartlike import websocket

    app = Quart(__name__)
    app.config.update(
        SECRET_KEY="load test",
        MAX_CONTENT_LENGTH={LIMIT},
        BODY_TIMEOUT={BODY_TIMEOUT},
    )


    @app.get("/")
    async def index() -> str:
        return "hello"


    @app.post("/json")
    async def echo_json() -> dict[str, object]:
        data = await request.get_json()
        session["calls"] = session.get("calls", 0) + 1
        return {{"items": len(data["items"]), "calls": session["calls"]}}


    @app.post("/upload")
    async def upload() -> dict[str, int]:
        files = await request.files
        return {{name: len(f.read()) for name, f in files.items()}}


    @app.post("/form")
    async def form() -> dict[str, int]:
        return {{"fields": len(await request.form)}}


    @app.websocket("/ws")
    async def ws_echo() -> None:
        while True:
            message = await websocket.receive()
            await websocket.send(message)
    '''
)


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """Hypercorn serving the load app in one process (``--workers 0``: no child)."""

    def __init__(self, app_dir: Path, port: int) -> None:
        self.port = port
        self.log_path = app_dir / "server.log"
        self._log = self.log_path.open("wb")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(app_dir), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hypercorn",
                "--workers",
                "0",
                # Longer than any client leaves its connection idle (the slow-body
                # attacks take seconds): otherwise the server closing an idle
                # keep-alive connection races the client reusing it, which
                # shows up as a client error that has nothing to do with the app.
                "--keep-alive",
                "120",
                "--bind",
                f"{HOST}:{port}",
                f"{APP_MODULE}:app",
            ],
            cwd=app_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The server exited early:\n{self.output()}")
            try:
                if httpx.get(f"http://{HOST}:{self.port}/", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"The server was not ready in {STARTUP_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        self._log.close()
        return self.process.returncode


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# -- traffic ------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.normal_errors: Counter[str] = Counter()
        self.error_examples: list[str] = []
        self.hostile: dict[str, Counter[str]] = defaultdict(Counter)

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)

    def error(self, kind: str, detail: str) -> None:
        self.normal_errors[kind] += 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{kind}: {detail}")


NORMAL = {"get": 40, "json": 25, "upload": 8, "websocket": 12}
HOSTILE = {"oversize": 3, "slow-body": 2, "bad-json": 4, "many-fields": 3, "bad-multipart": 3}
#: What each hostile request must be answered with.
HOSTILE_EXPECTED = {
    "oversize": "413",
    "slow-body": "408",
    "bad-json": "400",
    "many-fields": "413",
    "bad-multipart": "400",
}


class Client:
    """One simulated client: a keep-alive HTTP connection and a cookie jar."""

    def __init__(self, port: int, stats: Stats, rng: random.Random) -> None:
        self.port = port
        self.base = f"http://{HOST}:{port}"
        self.stats = stats
        self.rng = rng
        self.http = httpx.AsyncClient(base_url=self.base, timeout=REQUEST_TIMEOUT)
        #: The kind of the previous request (error reports name it).
        self.previous = "none"

    async def run(self, deadline: float) -> None:
        kinds = list(NORMAL) + list(HOSTILE)
        weights = list(NORMAL.values()) + list(HOSTILE.values())
        try:
            while time.monotonic() < deadline:
                kind = self.rng.choices(kinds, weights)[0]
                if kind in NORMAL:
                    await self.normal(kind)
                else:
                    await self.hostile(kind)
                self.previous = kind
        finally:
            await self.http.aclose()

    async def normal(self, kind: str) -> None:
        started = time.monotonic()
        try:
            problem = await getattr(self, f"do_{kind}")()
        except Exception as e:
            problem = f"{type(e).__name__}: {e}"
        if problem is None:
            self.stats.ok(kind, time.monotonic() - started)
        else:
            self.stats.error(kind, f"{problem} (after {self.previous})")

    async def do_get(self) -> str | None:
        response = await self.http.get("/")
        return None if (response.status_code, response.text) == (200, "hello") else repr(response)

    async def do_json(self) -> str | None:
        items = list(range(self.rng.randint(1, 200)))
        response = await self.http.post("/json", json={"items": items})
        if response.status_code != 200 or response.json()["items"] != len(items):
            return f"{response.status_code} {response.text[:100]}"
        return None

    async def do_upload(self) -> str | None:
        content = os.urandom(UPLOAD_SIZE)
        response = await self.http.post("/upload", files={"f": ("f.bin", content)})
        if response.status_code != 200 or response.json() != {"f": UPLOAD_SIZE}:
            return f"{response.status_code} {response.text[:100]}"
        return None

    async def do_websocket(self) -> str | None:
        async with ws_connect(f"ws://{HOST}:{self.port}/ws", open_timeout=REQUEST_TIMEOUT) as ws:
            for n in range(5):
                message = f"message {n} " + "x" * self.rng.randint(0, 500)
                await ws.send(message)
                echoed = await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT)
                if echoed != message:
                    return f"echo mismatch: {echoed!r:.60}"
        return None

    async def hostile(self, kind: str) -> None:
        try:
            outcome = await getattr(self, f"attack_{kind.replace('-', '_')}")()
        except (httpx.TransportError, ConnectionError, asyncio.IncompleteReadError) as e:
            outcome = f"connection closed ({type(e).__name__})"
        except Exception as e:
            outcome = f"client error {type(e).__name__}: {e}"
        self.stats.hostile[kind][outcome] += 1

    async def raw(self, head: bytes, parts: list[bytes], delay: float) -> str:
        """Send a request over a raw socket; the body parts ``delay`` s apart; read the status."""
        reader, writer = await asyncio.open_connection(HOST, self.port)

        async def send_body() -> None:
            with contextlib.suppress(ConnectionError):
                for part in parts:
                    writer.write(part)
                    await writer.drain()
                    if delay:
                        await asyncio.sleep(delay)

        sender = asyncio.create_task(send_body())
        try:
            writer.write(head)
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT)
            if not line:
                return "connection closed (no response)"
            return line.split()[1].decode()
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def attack_oversize(self) -> str:
        head = (
            f"POST /json HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {3 * LIMIT}\r\n\r\n"
        ).encode()
        return await self.raw(head, [b"x" * 65536], 0)

    async def attack_slow_body(self) -> str:
        head = (
            f"POST /json HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n"
        ).encode()
        return await self.raw(head, [b" "] * 100, 0.25)  # 25 s of drip, cut at BODY_TIMEOUT

    async def attack_bad_json(self) -> str:
        body = self.rng.choice([b'{"items": [1, 2', b"\xff\xfe", b"[" * 10_000, b"1" * 10_000])
        response = await self.http.post(
            "/json", content=body, headers={"Content-Type": "application/json"}
        )
        return str(response.status_code)

    async def attack_many_fields(self) -> str:
        response = await self.http.post(
            "/form",
            content=b"&" * (LIMIT - 1),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return str(response.status_code)

    async def attack_bad_multipart(self) -> str:
        body = b"--b\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--b--\r\n"
        response = await self.http.post(
            "/upload", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
        )
        return str(response.status_code)


async def sample_rss(pid: int, samples: list[tuple[float, int]], stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        value = rss_kib(pid)
        if value is not None:
            samples.append((time.monotonic() - started, value))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def drive(port: int, pid: int, clients: int, duration: float, seed: int) -> dict[str, t.Any]:
    stats = Stats()
    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(pid, samples, stop))
    deadline = time.monotonic() + duration
    started = time.monotonic()
    workers = [Client(port, stats, random.Random(seed + n)).run(deadline) for n in range(clients)]
    await asyncio.gather(*workers)
    elapsed = time.monotonic() - started
    await asyncio.sleep(1)  # let the server settle, then take a last sample
    stop.set()
    await sampler
    return {"stats": stats, "samples": samples, "elapsed": elapsed}


# -- the report -----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def report(result: dict[str, t.Any], args: argparse.Namespace) -> tuple[dict[str, t.Any], bool]:
    stats: Stats = result["stats"]
    samples: list[tuple[float, int]] = result["samples"]
    elapsed: float = result["elapsed"]
    latency = {}
    for kind in NORMAL:
        values = stats.latencies.get(kind, [])
        latency[kind] = {
            "ok": len(values),
            "errors": stats.normal_errors[kind],
            "p50_ms": round(percentile(values, 0.5) * 1000, 2) if values else None,
            "p99_ms": round(percentile(values, 0.99) * 1000, 2) if values else None,
        }
    everything = [v for values in stats.latencies.values() for v in values]
    hostile = {kind: dict(outcomes) for kind, outcomes in stats.hostile.items()}
    unexpected_5xx = sum(
        count
        for outcomes in stats.hostile.values()
        for outcome, count in outcomes.items()
        if outcome.startswith("5")
    )
    rss = [kib for _, kib in samples]
    quarter = max(1, len(rss) // 4)
    second_quarter = statistics.median(rss[quarter : 2 * quarter] or rss)
    last_quarter = statistics.median(rss[-quarter:])
    summary = {
        "clients": args.clients,
        "duration_s": round(elapsed, 1),
        "normal_requests": len(everything),
        "normal_errors": sum(stats.normal_errors.values()),
        "normal_rps": round(len(everything) / elapsed, 1),
        "p50_ms": round(percentile(everything, 0.5) * 1000, 2) if everything else None,
        "p99_ms": round(percentile(everything, 0.99) * 1000, 2) if everything else None,
        "per_kind": latency,
        "hostile": hostile,
        "hostile_5xx": unexpected_5xx,
        "rss_peak_mib": round(max(rss) / 1024, 1) if rss else None,
        "rss_second_quarter_mib": round(second_quarter / 1024, 1),
        "rss_last_quarter_mib": round(last_quarter / 1024, 1),
        "rss_growth_pct": round(100 * (last_quarter - second_quarter) / second_quarter, 1),
        "rss_samples_mib": [(round(s, 1), round(kib / 1024, 1)) for s, kib in samples],
        "error_examples": stats.error_examples,
    }
    failed = summary["normal_errors"] > 0 or unexpected_5xx > 0
    return summary, failed


def print_summary(summary: dict[str, t.Any]) -> None:
    print(
        f"{summary['clients']} clients for {summary['duration_s']} s:"
        f" {summary['normal_requests']} normal requests/sessions"
        f" ({summary['normal_rps']}/s), {summary['normal_errors']} errors"
    )
    print(f"latency (all normal kinds): p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
    for kind, row in summary["per_kind"].items():
        print(
            f"  {kind:<10} ok {row['ok']:>6}  errors {row['errors']:>3}"
            f"  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms"
        )
    print("hostile requests (outcome: count; expected in brackets):")
    for kind, outcomes in sorted(summary["hostile"].items()):
        shown = ", ".join(f"{o}: {n}" for o, n in sorted(outcomes.items()))
        print(f"  {kind:<14} [{HOSTILE_EXPECTED[kind]}] {shown}")
    print(
        f"server RSS: peak {summary['rss_peak_mib']} MiB; median of the 2nd quarter"
        f" {summary['rss_second_quarter_mib']} MiB, of the last quarter"
        f" {summary['rss_last_quarter_mib']} MiB ({summary['rss_growth_pct']:+} %)"
    )
    timeline = summary["rss_samples_mib"]
    step = max(1, len(timeline) // 12)
    print("RSS over time (s: MiB): " + ", ".join(f"{s}: {m}" for s, m in timeline[::step]))
    for example in summary["error_examples"]:
        print(f"  error: {example}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (20)")
    parser.add_argument("--seed", type=int, default=9, help="random seed of the traffic mix")
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 3600:
        parser.error("--clients must be 1..1000 and --duration 0..3600 s")
    if not os.path.isdir("/proc/self"):
        parser.error("bench/load.py reads /proc: Linux only")

    with tempfile.TemporaryDirectory(prefix="ql-load-") as folder:
        app_dir = Path(folder)
        (app_dir / f"{APP_MODULE}.py").write_text(APP_SOURCE)
        server = Server(app_dir, free_port())
        try:
            server.wait_ready()
            result = asyncio.run(
                drive(server.port, server.pid, args.clients, args.duration, args.seed)
            )
        finally:
            exit_code = server.stop()
            output = server.output()
    summary, failed = report(result, args)
    summary["server_exit_code"] = exit_code
    print_summary(summary)
    if "Traceback" in output:
        print("the server logged a traceback:\n" + output[-3000:])
        failed = True
    if exit_code != 0:
        print(f"the server exited with {exit_code}")
        failed = True
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2))
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
