"""Import boundaries, checked in fresh interpreters.

``import quartlike`` must stay light: no server, no ASGI adapter, no test
client and no Flask compatibility layer. The sans-IO modules must not load
asyncio at all. Importing a submodule runs ``quartlike/__init__.py`` first, so
everything the package imports has to import asyncio lazily (inside the
functions that need a loop).
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t

import pytest

import quartlike


def modules_after_import(module: str) -> list[str]:
    """The names in ``sys.modules`` after importing ``module`` in a new interpreter."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return t.cast(list[str], json.loads(result.stdout))


def offenders(modules: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f"{f}.") for f in forbidden)]


def test_import_quartlike_stays_light() -> None:
    modules = modules_after_import("quartlike")
    assert "quartlike" in modules
    forbidden = (
        "hypercorn",
        "uvicorn",
        "quartlike.asgi",
        "quartlike.serving",
        "quartlike.testing",
        "quartlike.flask",
        "quartlike.compat",
    )
    assert offenders(modules, forbidden) == []


@pytest.mark.parametrize(
    "module",
    [
        "quartlike.wrappers.response",
        "quartlike.config",
        "quartlike.json",
        "quartlike.scaffold",
        "quartlike.typing",
    ],
)
def test_sans_io_modules_do_not_import_asyncio(module: str) -> None:
    modules = modules_after_import(module)
    assert module in modules
    assert offenders(modules, ("asyncio", "hypercorn", "uvicorn", "quartlike.asgi")) == []


def test_the_check_sees_imports() -> None:
    # Guards the helpers above: a module that does load asyncio is reported.
    assert "asyncio" in offenders(modules_after_import("quartlike.asgi"), ("asyncio",))
    assert offenders(["asyncio.events", "asynciox", "quartlike.asgi"], ("asyncio",)) == [
        "asyncio.events"
    ]


def test_all_is_sorted_and_complete() -> None:
    names = quartlike.__all__
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    missing = [name for name in names if not hasattr(quartlike, name)]
    assert missing == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from quartlike import *", namespace)
    exported = {name for name in namespace if name != "__builtins__"}
    assert exported == set(quartlike.__all__)
