#!/usr/bin/env python
"""Where quartlike spends its time per request: cProfile over an in-process request loop.

    .venv/bin/python bench/profile_quartlike.py                  # GET /, 20,000 requests
    .venv/bin/python bench/profile_quartlike.py --scenario json --top 30

First the loop is timed without the profiler (µs/request), then profiled. The tables
give each function's own time (``tottime``) and the time of the pipeline's stages
including what they call (``cumtime``), as a share of the profiled total and converted
to µs of the unprofiled request. cProfile adds a roughly constant cost to every call,
so many small calls look a little more expensive than they are: read the shares as
"where to look", not to the microsecond.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
import typing as t
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from driver import ASGIDriver
from driver import Request
from driver import driver_for
from driver import null_app
from inprocess import _request_for
from inprocess import check_all
from scenarios import BY_NAME

#: Pipeline stages: (module, function) in quartlike, in the order a request meets them.
#: While an app replaces no stage, the request runs them inline (``_respond``,
#: ``_pop_quick``); the stage-by-stage names appear when one is replaced.
#: Where several functions match (the request and app contexts both ``push``; ``a|b``
#: names alternatives), the outermost one (the largest inclusive time) is the stage.
STAGES = [
    ("asgi.py", "serve_http", "the whole request (asgi.serve_http)"),
    ("asgi.py", "request_from_scope", "build the Request from the scope"),
    ("app.py", "request_context", "create the RequestContext"),
    ("app.py", "create_url_adapter", "  bind the URL map (create_url_adapter)"),
    ("ctx.py", "push", "push the contexts (and match the URL)"),
    ("ctx.py", "match_request", "  match the URL (match_request)"),
    ("ctx.py", "open_session", "open the session"),
    ("dispatch.py", "_respond", "session, hooks, view, response (inlined stages: _respond)"),
    ("dispatch.py", "_call_view", "  call the view (_call_view)"),
    ("dispatch.py", "_make_response", "  make the response (_make_response)"),
    ("dispatch.py", "full_dispatch_request", "hooks + view + response (full_dispatch_request)"),
    ("dispatch.py", "dispatch_request", "  call the view (dispatch_request)"),
    ("dispatch.py", "finalize_request", "  make_response, after hooks, save the session"),
    ("dispatch.py", "make_response", "    make_response"),
    ("dispatch.py", "process_response", "    process_response (after hooks, session)"),
    ("wrappers/response.py", "final_headers", "response headers (final_headers)"),
    ("asgi.py", "send_response", "send the response (send_response)"),
    ("ctx.py", "pop|_pop", "pop the contexts and tear down (ctx.pop)"),
    ("ctx.py", "_pop_quick", "pop the contexts, nothing to tear down (_pop_quick)"),
]


def _group(filename: str) -> str:
    if "/quartlike/" in filename:
        return "quartlike"
    for package in ("werkzeug", "jinja2", "itsdangerous", "markupsafe", "blinker"):
        if f"/{package}/" in filename:
            return package
    if "/bench/" in filename:
        return "bench harness"
    if filename == "~":
        return "builtins (C)"
    if "asyncio" in filename:
        return "asyncio"
    return "other stdlib"


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":
        return name
    parts = Path(filename).parts
    for anchor in ("quartlike", "werkzeug", "jinja2", "bench", "asyncio", "itsdangerous"):
        if anchor in parts:
            i = len(parts) - 1 - parts[::-1].index(anchor)
            return f"{'/'.join(parts[i:])}:{line}({name})"
    return f"{Path(filename).name}:{line}({name})"


async def _run(scenario: str, n: int, profile: cProfile.Profile | None) -> tuple[float, float]:
    driver = driver_for("quartlike")
    await driver.startup()
    try:
        verdicts, cookies = await check_all({"quartlike": driver}, [BY_NAME[scenario]])
        if verdicts[scenario]["quartlike"] != "ok":
            raise SystemExit(f"check failed: {verdicts[scenario]['quartlike']}")
        run = driver.runner(_request_for(BY_NAME[scenario], cookies, "quartlike"))
        null = ASGIDriver(null_app).runner(Request("GET", "/"))
        await run(2000)
        await null(2000)
        start = time.perf_counter()
        await null(n)
        harness = (time.perf_counter() - start) / n * 1e6
        start = time.perf_counter()
        await run(n)
        plain = (time.perf_counter() - start) / n * 1e6
        if profile is not None:
            profile.enable()
            await run(n)
            profile.disable()
        return plain, harness
    finally:
        await driver.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="plaintext", choices=list(BY_NAME))
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--save", type=Path, help="also save the raw pstats file here")
    args = parser.parse_args(argv)

    profile = cProfile.Profile()
    plain_us, harness_us = asyncio.run(_run(args.scenario, args.requests, profile))
    stats = pstats.Stats(profile)
    if args.save:
        stats.dump_stats(args.save)
    raw: dict[t.Any, t.Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())  # all own time = the profiled wall time
    n = args.requests
    scale = plain_us / (total / n * 1e6)  # profiled µs -> unprofiled µs

    print(
        f"quartlike {BY_NAME[args.scenario].label}: {plain_us:.1f} µs/request unprofiled"
        f" ({harness_us:.1f} of it the harness); {total / n * 1e6:.1f} µs/request under cProfile"
    )
    print()
    print(f"{'own time by package':<30}{'share':>8}{'µs/req':>9}")
    groups: dict[str, float] = {}
    for key, (_cc, _nc, tottime, _ct, _callers) in raw.items():
        groups[_group(key[0])] = groups.get(_group(key[0]), 0.0) + tottime
    for name, value in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"{name:<30}{value / total:>8.1%}{value / n * 1e6 * scale:>9.2f}")

    print()
    print(f"{'pipeline stage (inclusive)':<52}{'share':>8}{'µs/req':>9}{'calls/req':>11}")
    for module, name, label in STAGES:
        matches = [
            v
            for k, v in raw.items()
            if k[2] in name.split("|") and k[0].endswith(f"/quartlike/{module}")
        ]
        if not matches:
            continue
        outer = max(matches, key=lambda v: v[3])
        cumtime = outer[3]
        calls = outer[0]  # primitive calls (a resumed coroutine counts once)
        print(
            f"{label:<52}{cumtime / total:>8.1%}{cumtime / n * 1e6 * scale:>9.2f}{calls / n:>11.1f}"
        )

    print()
    print(f"top {args.top} functions by own time")
    print(f"{'share':>7}{'µs/req':>9}{'calls/req':>11}  function")
    ranked = sorted(raw.items(), key=lambda kv: -kv[1][2])[: args.top]
    for key, (_cc, nc, tottime, _ct, _callers) in ranked:
        print(
            f"{tottime / total:>7.1%}{tottime / n * 1e6 * scale:>9.2f}{nc / n:>11.1f}"
            f"  {_where(key)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
