#!/usr/bin/env python
"""Render the in-process results (``inprocess.py --json``) as a bar chart PNG.

    .venv/bin/python bench/inprocess.py --json bench/results/inprocess.json
    .venv/bin/python bench/chart.py bench/results/inprocess.json  # docs/_static/performance.png

One group of bars per scenario, one bar per framework, µs/request (median) on a
logarithmic scale, each bar labelled with its value. Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "_static" / "performance.png"

COLORS = {
    "raw": "#9e9e9e",
    "quartlike": "#d9480f",
    "quart": "#5c7cfa",
    "starlette": "#2b8a3e",
    "fastapi": "#0b7285",
    "flask": "#495057",
    "flaskface": "#f08c00",
}


def render(data: dict[str, t.Any], out: Path, clock_key: str = "wall") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frameworks: list[str] = data["frameworks"]
    scenarios = [s for s in data["scenarios"] if s["name"] in data["results"]]
    results = data["results"]
    n = len(frameworks)
    bar = 0.84 / n
    fig, ax = plt.subplots(figsize=(12, 6.2), dpi=110)
    for framework in frameworks:
        xs, ys = [], []
        for j, scenario in enumerate(scenarios):
            cells = results[scenario["name"]]
            if framework not in cells:
                continue
            cell = cells[framework]
            present = [f for f in frameworks if f in cells]  # centre short groups
            xs.append(j + (present.index(framework) - (len(present) - 1) / 2) * bar)
            ys.append(cell[f"median_{clock_key}_us"])
        bars = ax.bar(xs, ys, width=bar * 0.92, label=framework, color=COLORS.get(framework))
        labels = [f"{y:.0f}" if y >= 10 else f"{y:.1f}" for y in ys]
        ax.bar_label(bars, labels=labels, padding=2, fontsize=6.5, rotation=90)
    labels = [textwrap.fill(s["label"], 18) for s in scenarios]
    ax.set_xticks(range(len(scenarios)), labels, fontsize=8)
    ax.set_yscale("log")
    clock = "CPU time" if clock_key == "cpu" else "wall time"
    ax.set_ylabel(f"µs per request ({clock}, median; lower is better; log scale)")
    settings = data["settings"]
    ax.set_title(
        "quartlike and its peers, called in-process"
        f" (Python {data['python']}; {settings['runs']} runs x {settings['rounds']} rounds"
        f" x {settings['requests']} requests)",
        fontsize=10,
    )
    ax.grid(axis="y", which="both", alpha=0.25)
    ax.legend(loc="upper left", fontsize=8, ncols=n)
    ax.margins(y=0.15)
    top = max(c[f"median_{clock_key}_us"] for cells in results.values() for c in cells.values())
    ax.set_ylim(top=top * 4)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="JSON written by inprocess.py --json")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args(argv)
    data = json.loads(args.results.read_text())
    if data.get("kind") != "inprocess" or not data.get("results"):
        raise SystemExit(f"{args.results} holds no in-process timings (was it a --check-only run?)")
    render(data, args.out, args.clock)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
