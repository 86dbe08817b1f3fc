#!/usr/bin/env python
"""What the Flask extension shim costs: the same app with and without it, in-process.

Each variant runs in a subprocess of its own (the shim is process-wide): the app
is a ``Flask`` of quartlike's sync face with one ``async def`` view, awaited
directly through its ASGI interface (after its lifespan startup) with a
prepared scope; no server, no network.

- ``without``: ``from quartlike.flask import Flask``; ``flask`` is not imported.
- ``with``: ``import quartlike.flask_patch`` first, then ``from flask import Flask``.
- ``with+bridge``: as ``with``, and the view is wrapped in the smallest sync
  decorator an extension writes, ``current_app.ensure_sync(view)(...)``: the
  cost of the thread hop and the sync bridge alone.
- ``with+login`` (when Flask-Login is installed): as ``with``, and the view is
  decorated with Flask-Login's ``login_required`` (a sync wrapper, so it runs
  in the thread pool and calls the async view back on the loop through the
  sync bridge), the user coming from a request loader. Not the shim's cost:
  what a sync extension decorator on an async view costs.

Each variant is run ``--runs`` times, the runs of the variants interleaved (in
rotating order) so that a busy machine's drift is spread over all of them. The
figure is the median µs/request over all rounds (``--rounds`` rounds of
``--requests`` requests in each run, after a warm-up), in wall time and in the
process's CPU time (steadier on a busy machine); the ratios are to ``without``.

    .venv/bin/python bench/shim_cost.py
    .venv/bin/python bench/shim_cost.py --requests 2000 --rounds 7 --runs 5 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import statistics
import subprocess
import sys
import time
import typing as t

VARIANTS = ["without", "with", "with+bridge", "with+login"]
WARMUP = 200
CHILD_TIMEOUT = 600

Message = dict[str, t.Any]


def make_app(variant: str) -> t.Any:
    if variant == "without":
        from quartlike.flask import Flask
    else:
        import quartlike.flask_patch  # noqa: F401 - the shim, before flask

        # isort: split
        from flask import Flask  # type: ignore[assignment]

        assert sys.modules["flask"].__name__ == "quartlike.flask"

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"

    async def hello() -> str:
        return "hello"

    view: t.Any = hello
    if variant == "with+bridge":
        import functools

        from flask import current_app

        @functools.wraps(hello)
        def bridged(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return current_app.ensure_sync(hello)(*args, **kwargs)

        view = bridged
    elif variant == "with+login":
        from flask_login import LoginManager
        from flask_login import UserMixin
        from flask_login import login_required

        class User(UserMixin):  # type: ignore[misc]
            id = "ada"

        manager = LoginManager(app)
        manager.user_loader(lambda user_id: None)
        manager.request_loader(lambda request: User() if request.headers.get("x-user") else None)
        view = login_required(hello)
    app.add_url_rule("/", "hello", view)
    return app


class Driver:
    """Calls an ASGI app in-process: lifespan startup, then prepared HTTP requests."""

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost"), (b"x-user", b"ada")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        self._lifespan: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        reply = await asyncio.wait_for(self._from_app.get(), 30)
        assert reply["type"] == "lifespan.startup.complete", reply

    async def stop(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._from_app.get(), 30)
        assert self._lifespan is not None
        await asyncio.wait_for(self._lifespan, 30)

    async def call(self) -> tuple[int, bytes]:
        status = 0
        body = bytearray()
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # a disconnect would come here
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(dict(self.scope), receive, send)
        return status, bytes(body)


async def measure(variant: str, requests: int, rounds: int) -> dict[str, t.Any]:
    driver = Driver(make_app(variant))
    await driver.start()
    try:
        status, body = await driver.call()
        if (status, body) != (200, b"hello"):
            raise SystemExit(f"{variant}: unexpected response {status} {body!r}")
        for _ in range(WARMUP):
            await driver.call()
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(rounds):
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(requests):
                await driver.call()
            wall.append((time.perf_counter() - start) / requests * 1e6)
            cpu.append((time.process_time() - start_cpu) / requests * 1e6)
    finally:
        await driver.stop()
    return {"wall_us": wall, "cpu_us": cpu, "flask_imported": "flask" in sys.modules}


def child(variant: str, requests: int, rounds: int) -> None:
    result = asyncio.run(measure(variant, requests, rounds))
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs (subprocesses) per variant")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.rounds)
        return 0

    variants = list(VARIANTS)
    if importlib.util.find_spec("flask_login") is None:
        variants.remove("with+login")
        print("Flask-Login is not installed: skipping with+login", file=sys.stderr)
    rounds: dict[str, dict[str, list[float]]] = {v: {"wall_us": [], "cpu_us": []} for v in variants}
    flask_imported: dict[str, bool] = {}
    for run in range(args.runs):
        shift = run % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            command = [
                sys.executable,
                __file__,
                "--child",
                variant,
                "--requests",
                str(args.requests),
                "--rounds",
                str(args.rounds),
            ]
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
            )
            if done.returncode != 0:
                print(f"{variant}: failed\n{done.stderr}", file=sys.stderr)
                return 1
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for clock in ("wall_us", "cpu_us"):
                rounds[variant][clock].extend(result[clock])
            flask_imported[variant] = result["flask_imported"]

    medians = {
        v: {clock: statistics.median(values) for clock, values in r.items()}
        for v, r in rounds.items()
    }
    base = medians["without"]
    print(f"{args.runs} runs x {args.rounds} rounds x {args.requests} requests per variant")
    print(f"{'variant':<12} {'wall µs':>9} {'ratio':>7} {'cpu µs':>9} {'ratio':>7}  flask imported")
    for variant, m in medians.items():
        print(
            f"{variant:<12} {m['wall_us']:>9.1f} {m['wall_us'] / base['wall_us']:>7.3f}"
            f" {m['cpu_us']:>9.1f} {m['cpu_us'] / base['cpu_us']:>7.3f}  {flask_imported[variant]}"
        )
    ratio = medians["with"]["wall_us"] / base["wall_us"]
    ratio_cpu = medians["with"]["cpu_us"] / base["cpu_us"]
    print(f"\nshim cost: with/without = {ratio:.3f} (wall), {ratio_cpu:.3f} (cpu)")
    if args.json:
        summary = {"requests": args.requests, "rounds": args.rounds, "runs": args.runs}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**summary, "medians": medians, "rounds_us": rounds}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
