"""Keep the benchmark harness from rotting: run ``bench/inprocess.py --quick``.

Only the scenario checks are asserted (status and body of every scenario on quartlike
and on every peer framework that is installed); the timings are never looked at.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"

pytestmark = pytest.mark.slow

#: Each peer and what its benchmark app imports (as bench/apps/__init__.py says).
_PEERS = {
    "quart": ("quart",),
    "starlette": ("starlette", "python_multipart"),
    "fastapi": ("fastapi", "python_multipart"),
    "flask": ("flask",),
}


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, t.Any]:
    out = tmp_path_factory.mktemp("bench") / "inprocess.json"
    done = _run(BENCH / "inprocess.py", "--quick", "--json", out)
    assert done.returncode == 0, f"inprocess.py --quick failed:\n{done.stdout}\n{done.stderr}"
    results: dict[str, t.Any] = json.loads(out.read_text())
    return results


def test_every_scenario_check_passes(quick_results: dict[str, t.Any]) -> None:
    frameworks = quick_results["frameworks"]
    assert "quartlike" in frameworks
    assert "flaskface" in frameworks  # the Flask app on quartlike.flask: needs quartlike only
    for peer, needs in _PEERS.items():
        if all(importlib.util.find_spec(package) is not None for package in needs):
            assert peer in frameworks, f"{peer} is installed but was not benchmarked"
    checks = quick_results["checks"]
    scenario_names = [s["name"] for s in quick_results["scenarios"]]
    # Every scenario ran on quartlike.
    assert set(scenario_names) <= set(checks)
    for name in scenario_names:
        assert checks[name].get("quartlike") == "ok", (name, checks[name])
    failures = {
        (scenario, framework): verdict
        for scenario, by_framework in checks.items()
        for framework, verdict in by_framework.items()
        if verdict != "ok"
    }
    assert not failures


def test_quick_run_times_every_cell(quick_results: dict[str, t.Any]) -> None:
    results = quick_results["results"]
    for scenario, by_framework in quick_results["checks"].items():
        assert set(results[scenario]) == set(by_framework)


def test_chart_renders(quick_results: dict[str, t.Any], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    source = tmp_path / "inprocess.json"
    source.write_text(json.dumps(quick_results))
    png = tmp_path / "performance.png"
    done = _run(BENCH / "chart.py", source, "--out", png)
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_instruction_counts_render_as_ratios() -> None:
    # bench/instructions.py needs valgrind and minutes per run: its table is
    # checked here on the saved results, and its command line on --help.
    sys.path.insert(0, str(BENCH))
    try:
        import instructions
    finally:
        sys.path.remove(str(BENCH))
    saved = json.loads((BENCH / "results" / "instructions.json").read_text())
    table = instructions.render(saved["results"], saved["frameworks"])
    results = saved["results"]["hypercorn"]["/"]
    expected = f"{results['raw'] / results['quartlike']:.3f}"
    assert expected in table.splitlines()[-4]
    assert "quartlike/starlette" in table
    done = _run(BENCH / "instructions.py", "--help")
    assert done.returncode == 0 and "callgrind" in done.stdout
