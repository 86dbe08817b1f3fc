#!/usr/bin/env python
"""In-process benchmark: each app called directly, no server and no network.

ASGI apps are awaited with a prepared scope (after their lifespan startup), Flask is
called through its WSGI callable with a prepared environ. Every scenario first checks
the response of every framework (status and body), then times ``--requests`` requests
in a row, ``--rounds`` times, in each of ``--runs`` runs. Runs rotate the order of the
frameworks, so that drift in a noisy machine is spread over all of them. The figure
reported is the median µs/request over all rounds (wall time; ``--clock cpu`` shows
the process's CPU time instead, steadier on a busy machine; both are saved); ratios
come from the same run.

    .venv/bin/python bench/inprocess.py                 # all installed frameworks
    .venv/bin/python bench/inprocess.py --quick         # checks + a tiny timing run
    .venv/bin/python bench/inprocess.py --frameworks quartlike,starlette --json out.json

Exit status: 0, or 1 if a scenario's check failed (nothing is timed then).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import sys
import time
import typing as t
from datetime import UTC
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps import MODULES
from driver import ASGIDriver
from driver import Request
from driver import WSGIDriver
from driver import driver_for
from driver import installed
from driver import null_app
from driver import revision
from driver import version_of
from scenarios import BY_NAME
from scenarios import SCENARIOS
from scenarios import Scenario
from scenarios import session_cookie

ALL_FRAMEWORKS = list(MODULES)
WARMUP = 200


def _request_for(scenario: Scenario, cookies: dict[str, str], framework: str) -> Request:
    request = scenario.request
    if scenario.needs_session:
        headers = [*request.headers, ("cookie", cookies[framework])]
        return Request(request.method, request.path, headers, request.body, request.query_string)
    return request


async def check_all(
    drivers: dict[str, ASGIDriver | WSGIDriver], scenarios: list[Scenario]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Send each scenario's request once to each framework; return the verdicts and cookies."""
    verdicts: dict[str, dict[str, str]] = {}
    cookies: dict[str, str] = {}
    for framework, driver in drivers.items():
        if any(s.needs_session for s in scenarios):
            first = await driver.call(Request("GET", "/session"))
            cookies[framework] = session_cookie(first)
        for scenario in scenarios:
            if not scenario.applies_to(framework):
                continue
            try:
                result = await driver.call(_request_for(scenario, cookies, framework))
                problem = scenario.check(result)
            except Exception as e:  # a crash is a failed check too
                problem = f"{type(e).__name__}: {e}"
            verdicts.setdefault(scenario.name, {})[framework] = problem or "ok"
    return verdicts, cookies


Samples = dict[str, dict[str, list[tuple[float, float]]]]


async def measure(
    drivers: dict[str, ASGIDriver | WSGIDriver],
    scenarios: list[Scenario],
    cookies: dict[str, str],
    requests: int,
    rounds: int,
    runs: int,
    progress: bool,
) -> tuple[Samples, list[tuple[float, float]]]:
    """Time every (scenario, framework): (wall, CPU) µs/request samples, and the harness's own.

    Rounds are interleaved finely: each round of a scenario times every framework once,
    in an order that rotates from run to run.
    """
    runners = {
        (s.name, f): d.runner(_request_for(s, cookies, f))
        for s in scenarios
        for f, d in drivers.items()
        if s.applies_to(f)
    }
    null_runner = ASGIDriver(null_app).runner(Request("GET", "/"))
    warmup = min(WARMUP, requests)
    for run in runners.values():  # warm caches, compiled regexes, pools, templates
        await run(warmup)
    await null_runner(warmup)
    samples: Samples = {}
    null_samples: list[tuple[float, float]] = []
    order = list(drivers)
    for r in range(runs):
        rotated = order[r % len(order) :] + order[: r % len(order)]
        for scenario in scenarios:
            for _ in range(rounds):
                for framework in rotated:
                    runner = runners.get((scenario.name, framework))
                    if runner is not None:
                        cell = samples.setdefault(scenario.name, {}).setdefault(framework, [])
                        cell.append(await _time(runner, requests))
        for _ in range(rounds):
            null_samples.append(await _time(null_runner, requests))
        if progress:
            print(f"  run {r + 1}/{runs} done", file=sys.stderr, flush=True)
    return samples, null_samples


async def _time(run: t.Callable[[int], t.Awaitable[None]], n: int) -> tuple[float, float]:
    """(wall, CPU) µs per request for ``n`` requests.

    CPU time is the whole process's (the thread pool included); it leaves out the time
    the process waited for a core, so on a busy machine it is the steadier of the two.
    """
    gc.collect()
    wall, cpu = time.perf_counter_ns(), time.process_time_ns()
    await run(n)
    cpu, wall = time.process_time_ns() - cpu, time.perf_counter_ns() - wall
    return wall / n / 1000, cpu / n / 1000


def select(data: dict[str, t.Any], clock: str, stat: str) -> None:
    """Set each cell's ``us`` (what the tables show) from its samples: ``clock``, ``stat``."""
    pick = statistics.median if stat == "median" else min
    data["clock"], data["stat"] = clock, stat
    data["harness_us"] = data.get(f"harness_{clock}_us", data.get("harness_us"))
    for cells in data["results"].values():
        for cell in cells.values():
            cell["us"] = pick(cell[f"samples_{clock}_us"])
            cell["median_us"] = cell[f"median_{clock}_us"]


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render_tables(data: dict[str, t.Any]) -> str:
    """The µs/request table and the ratio table, as text."""
    frameworks: list[str] = data["frameworks"]
    medians: dict[str, dict[str, float]] = {
        s: {f: cell.get("us", cell["median_us"]) for f, cell in cells.items()}
        for s, cells in data["results"].items()
    }
    lines = []
    width = max(len(s["label"]) for s in data["scenarios"]) + 2
    header = "scenario".ljust(width) + "".join(f"{f:>11}" for f in frameworks)
    clock = "CPU time" if data.get("clock") == "cpu" else "wall time"
    stat = data.get("stat", "median")
    lines += [f"µs per request ({clock}, {stat}; lower is better)", header, "-" * len(header)]
    for s in data["scenarios"]:
        row = medians.get(s["name"], {})
        cells = "".join(f"{row[f]:>11.1f}" if f in row else f"{'-':>11}" for f in frameworks)
        lines.append(s["label"].ljust(width) + cells)
    lines.append(
        f"(harness alone, a do-nothing ASGI app: {data['harness_us']:.1f} µs/request,"
        " included in every ASGI figure)"
    )
    lines.append("")

    def ratio(row: dict[str, float], a: str, b: str) -> float | None:
        return row[a] / row[b] if a in row and b in row else None

    columns = [
        ("quartlike/raw", "quartlike", "raw"),
        ("quartlike/starlette", "quartlike", "starlette"),
        ("quartlike/fastapi", "quartlike", "fastapi"),
        ("quart/quartlike", "quart", "quartlike"),
        ("flask/quartlike", "flask", "quartlike"),
        ("flask/flaskface", "flask", "flaskface"),
    ]
    columns = [c for c in columns if c[1] in frameworks and c[2] in frameworks]
    if columns:
        header = "scenario".ljust(width) + "".join(f"{c[0]:>21}" for c in columns)
        lines += [
            "ratios (a/b of the figures above; quartlike/X < 1 and quart/quartlike > 1"
            " mean quartlike is faster)",
            header,
            "-" * len(header),
        ]
        for s in data["scenarios"]:
            row = medians.get(s["name"], {})
            cells = "".join(f"{_fmt_ratio(ratio(row, c[1], c[2])):>21}" for c in columns)
            lines.append(s["label"].ljust(width) + cells)
    sync_ratios = [
        f"{f} {row_sync[f] / medians['plaintext'][f]:.2f}"
        for row_sync in [medians.get("plaintext_sync", {})]
        for f in frameworks
        if f in row_sync and f in medians.get("plaintext", {})
    ]
    if sync_ratios:
        lines += ["", "sync view / async view (GET /): " + ", ".join(sync_ratios)]
    return "\n".join(lines)


def _parse_list(value: str, allowed: list[str], what: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frameworks",
        help=f"comma-separated, from {','.join(ALL_FRAMEWORKS)} (default: all installed)",
    )
    parser.add_argument("--scenarios", help=f"comma-separated, from {','.join(BY_NAME)}")
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per run")
    parser.add_argument("--runs", type=int, default=5, help="runs (framework order rotates)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: checks, then 1 run of 1 round of 20"
    )
    parser.add_argument("--check-only", action="store_true", help="run the checks, time nothing")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="what the tables and the chart show (both are saved): wall time, or the"
        " process's CPU time, steadier on a busy machine",
    )
    parser.add_argument(
        "--stat",
        choices=["median", "min"],
        default="median",
        help="the figure per cell in the tables: median round, or best round (the least"
        " disturbed by other processes)",
    )
    parser.add_argument("--json", type=Path, help="also save the results as JSON here")
    parser.add_argument(
        "--show", type=Path, metavar="JSON", help="print the tables of a saved run; run nothing"
    )
    args = parser.parse_args(argv)
    if args.show:
        data = json.loads(args.show.read_text())
        select(data, args.clock, args.stat)
        print(render_tables(data))
        return 0
    if args.quick:
        args.requests, args.rounds, args.runs = 20, 1, 1

    if args.frameworks:
        frameworks = _parse_list(args.frameworks, ALL_FRAMEWORKS, "framework")
        missing = [f for f in frameworks if not installed(f)]
        if missing:
            raise SystemExit(f"not installed: {', '.join(missing)} (pip install -e '.[bench]')")
    else:
        frameworks = [f for f in ALL_FRAMEWORKS if installed(f)]
        skipped = [f for f in ALL_FRAMEWORKS if f not in frameworks]
        if skipped:
            print(f"skipping (not installed): {', '.join(skipped)}", file=sys.stderr)
    scenarios = (
        [BY_NAME[n] for n in _parse_list(args.scenarios, list(BY_NAME), "scenario")]
        if args.scenarios
        else SCENARIOS
    )
    scenarios = [s for s in scenarios if any(s.applies_to(f) for f in frameworks)]
    return asyncio.run(_main(args, frameworks, scenarios))


async def _main(args: argparse.Namespace, frameworks: list[str], scenarios: list[Scenario]) -> int:
    drivers = {f: driver_for(f) for f in frameworks}
    for driver in drivers.values():
        await driver.startup()
    try:
        verdicts, cookies = await check_all(drivers, scenarios)
        failed = [
            (s, f, v) for s, by_framework in verdicts.items() for f, v in by_framework.items()
        ]
        failed = [x for x in failed if x[2] != "ok"]
        print(f"checks: {sum(len(v) for v in verdicts.values()) - len(failed)} ok", end="")
        print(f", {len(failed)} failed" if failed else "")
        for scenario, framework, problem in failed:
            print(f"  FAILED {scenario} on {framework}: {problem}")
        data: dict[str, t.Any] = {
            "kind": "inprocess",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "revision": revision(),
            "machine": f"{platform.system()} {platform.machine()}",
            "frameworks": frameworks,
            "versions": {f: version_of(f) for f in frameworks},
            "scenarios": [{"name": s.name, "label": s.label} for s in scenarios],
            "checks": verdicts,
            "settings": {"requests": args.requests, "rounds": args.rounds, "runs": args.runs},
            "results": {},
            "harness_us": None,
        }
        if failed or args.check_only:
            _save(args.json, data)
            return 1 if failed else 0
        print(
            f"timing: {args.runs} runs x {args.rounds} rounds x {args.requests} requests"
            f" per scenario and framework ({', '.join(frameworks)})",
            file=sys.stderr,
            flush=True,
        )
        samples, null_samples = await measure(
            drivers, scenarios, cookies, args.requests, args.rounds, args.runs, progress=True
        )
    finally:
        for driver in drivers.values():
            await driver.shutdown()
    data["harness_wall_us"] = statistics.median(x[0] for x in null_samples)
    data["harness_cpu_us"] = statistics.median(x[1] for x in null_samples)
    data["results"] = {
        s: {
            f: {
                "median_wall_us": statistics.median(v[0] for v in values),
                "median_cpu_us": statistics.median(v[1] for v in values),
                "samples_wall_us": [round(v[0], 3) for v in values],
                "samples_cpu_us": [round(v[1], 3) for v in values],
            }
            for f, values in cells.items()
        }
        for s, cells in samples.items()
    }
    select(data, args.clock, args.stat)
    print()
    print(render_tables(data))
    _save(args.json, data)
    return 0


def _save(path: Path | None, data: dict[str, t.Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"saved {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
