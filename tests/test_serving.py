"""``app.run()`` (``quartlike.serving.run_app``): serving in this process, or with the
reloader through the ``quartlike run --reload`` path (Hypercorn's runner).

The fast tests replace ``hypercorn.asyncio.serve`` and ``quartlike.cli._serve_with_workers``
to see how the app would be served; the slow ones start real processes on
free loopback ports and stop them by PID.
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
import threading
import types
import typing as t
import uuid
from pathlib import Path

import hypercorn.asyncio
import pytest

import quartlike.cli
from quartlike import Quart
from tests.servers import child_env
from tests.servers import free_port
from tests.servers import start_process
from tests.servers import stop_process
from tests.servers import wait_for
from tests.servers import write_source

Calls = list[dict[str, t.Any]]


@pytest.fixture(autouse=True)
def _no_quartlike_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("QUARTLIKE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Record how ``app.run()`` would serve instead of serving."""
    calls: Calls = []

    async def fake_serve(app: object, config: t.Any, **kwargs: object) -> None:
        calls.append({"mode": "in-process", "bind": list(config.bind), "config": config})

    def fake_workers(app: Quart, import_path: str, **kwargs: t.Any) -> int:
        os.environ["QUARTLIKE_APP"] = import_path  # as the real one does
        env = {key: os.environ.get(key) for key in ("QUARTLIKE_APP", "QUARTLIKE_DEBUG")}
        calls.append({"mode": "reloader", "import_path": import_path, "env": env, **kwargs})
        return 0

    monkeypatch.setattr(hypercorn.asyncio, "serve", fake_serve)
    monkeypatch.setattr(quartlike.cli, "_serve_with_workers", fake_workers)
    return calls


@pytest.fixture
def module_app(monkeypatch: pytest.MonkeyPatch) -> Quart:
    """An app that is the global ``app`` of a loaded module."""
    name = f"qltest_served_{uuid.uuid4().hex[:8]}"
    app = Quart(name)
    module = types.ModuleType(name)
    module.app = app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, module)
    return app


def fake_main(
    monkeypatch: pytest.MonkeyPatch, *, file: str | None = None, spec_name: str | None = None
) -> Quart:
    """Make ``__main__`` a module holding an app as ``application``."""
    main = types.ModuleType("__main__")
    if file is not None:
        main.__file__ = file
    main.__spec__ = (
        importlib.machinery.ModuleSpec(spec_name, None) if spec_name is not None else None
    )
    app = Quart("__main__")
    main.application = app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", main)
    return app


def test_run_serves_in_process_without_the_reloader(
    app: Quart, served: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    app.run(port=8123, keep_alive_timeout=7)
    assert [call["mode"] for call in served] == ["in-process"]
    assert served[0]["bind"] == ["127.0.0.1:8123"]
    assert served[0]["config"].keep_alive_timeout == 7
    assert "Running on http://127.0.0.1:8123" in capsys.readouterr().out


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_run_brackets_ipv6_hosts(app: Quart, module_app: Quart, served: Calls, host: str) -> None:
    app.run(host=host, port=8123)
    assert served[-1]["bind"] == ["[::1]:8123"]
    module_app.run(host=host, port=8123, use_reloader=True)
    assert served[-1]["mode"] == "reloader"
    assert served[-1]["host"] == "[::1]"


def test_use_reloader_serves_through_the_cli_worker_path(module_app: Quart, served: Calls) -> None:
    module_app.run(port=8124, use_reloader=True, keep_alive_timeout=7)
    call = served[-1]
    assert call["mode"] == "reloader"
    assert call["import_path"] == f"{module_app.import_name}:app"
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 8124
    assert call["reload"] is True
    assert call["workers"] == 1
    assert call["debugger"] is False
    assert call["config_options"] == {"keep_alive_timeout": 7}
    # The workers get the app's debug mode; the environment is restored afterwards.
    assert call["env"] == {"QUARTLIKE_APP": call["import_path"], "QUARTLIKE_DEBUG": "0"}
    assert "QUARTLIKE_APP" not in os.environ
    assert "QUARTLIKE_DEBUG" not in os.environ


def test_debug_turns_the_reloader_on(module_app: Quart, served: Calls) -> None:
    module_app.run(debug=True)
    assert served[-1]["mode"] == "reloader"
    assert served[-1]["env"]["QUARTLIKE_DEBUG"] == "1"
    module_app.run(debug=True, use_reloader=False)
    assert served[-1]["mode"] == "in-process"
    module_app.run(debug=False)
    assert served[-1]["mode"] == "in-process"


def test_a_script_is_imported_again_from_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, served: Calls
) -> None:
    script = str(tmp_path / "serve_me.py")
    fake_main(monkeypatch, file=script).run(use_reloader=True)
    assert served[-1]["import_path"] == f"{script}:application"


def test_a_module_run_with_dash_m_is_imported_again_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, served: Calls
) -> None:
    fake_main(monkeypatch, file=str(tmp_path / "mod.py"), spec_name="pkg.mod").run(
        use_reloader=True
    )
    assert served[-1]["import_path"] == "pkg.mod:application"


def test_the_reloader_needs_an_app_it_can_import_again(
    monkeypatch: pytest.MonkeyPatch,
    module_app: Quart,
    served: Calls,
    capsys: pytest.CaptureFixture[str],
) -> None:
    not_loaded = Quart("qltest_not_a_loaded_module")
    not_global = Quart(module_app.import_name)
    interactive = fake_main(monkeypatch)
    cases = [
        (not_loaded, "no module named 'qltest_not_a_loaded_module' is loaded"),
        (not_global, "the app is not a global variable of its module"),
        (interactive, "its module '__main__' has no file"),
    ]
    for app, reason in cases:
        with pytest.raises(RuntimeError) as info:
            app.run(use_reloader=True)
        assert reason in str(info.value)
        assert "'quartlike --app module:name run --reload'" in str(info.value)
    assert served == []
    # In debug mode, without use_reloader, the app is served without the reloader.
    for app, reason in cases:
        app.run(debug=True)
        assert served[-1]["mode"] == "in-process"
        out = capsys.readouterr().out
        assert " * Reloader: off." in out
        assert reason in out


def test_the_reloader_runs_in_the_main_thread_only(module_app: Quart, served: Calls) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            module_app.run(use_reloader=True)
        except RuntimeError as e:
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert len(errors) == 1
    assert "the reloader only runs in the main thread" in str(errors[0])
    assert served == []


def test_app_run_while_the_reloader_imports_the_module_again(
    module_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    def importing_calls_run(app: Quart, import_path: str, **kwargs: object) -> int:
        module_app.run(use_reloader=True)  # what a module without the __main__ guard does
        return 0

    monkeypatch.setattr(quartlike.cli, "_serve_with_workers", importing_calls_run)
    with pytest.raises(RuntimeError, match='if __name__ == "__main__":'):
        module_app.run(use_reloader=True)
    assert "QUARTLIKE_APP" not in os.environ
    calls: list[str] = []

    def record(app: Quart, import_path: str, **kwargs: object) -> int:
        calls.append(import_path)
        return 0

    monkeypatch.setattr(quartlike.cli, "_serve_with_workers", record)
    module_app.run(use_reloader=True)  # the flag was reset
    assert calls == [f"{module_app.import_name}:app"]


def test_a_failed_reloader_run_exits_with_its_code(
    module_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quartlike.cli, "_serve_with_workers", lambda *args, **kwargs: 3)
    with pytest.raises(SystemExit) as info:
        module_app.run(use_reloader=True)
    assert info.value.code == 3


# -- real processes --------------------------------------------------------------------------


def start(argv: list[str], cwd: Path) -> subprocess.Popen[str]:
    return start_process(argv, cwd, child_env(drop_prefix="QUARTLIKE_"))


@pytest.mark.slow
def test_app_run_reloads_changed_code(tmp_path: Path) -> None:
    port = free_port()
    source = """
        from quartlike import Quart

        app = Quart(__name__)

        @app.route("/")
        async def index():
            return "{}"

        if __name__ == "__main__":
            app.run(port={}, use_reloader=True)
    """
    script = tmp_path / "serve_me.py"
    write_source(script, source.format("before the edit", port))
    proc = start([sys.executable, str(script)], tmp_path)
    out = ""
    try:
        wait_for(f"http://127.0.0.1:{port}/", "before the edit")
        write_source(script, source.format("after the edit", port))
        wait_for(f"http://127.0.0.1:{port}/", "after the edit", timeout=20)
    finally:
        out = stop_process(proc)
    assert proc.returncode == 0, out
    assert "Reloader: on" in out


@pytest.mark.slow
def test_app_run_debug_serves_with_the_reloader(tmp_path: Path) -> None:
    port = free_port()
    module = f"qlserve_{uuid.uuid4().hex[:8]}"
    write_source(
        tmp_path / f"{module}.py",
        """
        from quartlike import Quart, current_app

        app = Quart(__name__)

        @app.route("/")
        async def index():
            return f"debug={current_app.debug}"
        """,
    )
    code = f"from {module} import app\napp.run(port={port}, debug=True)\n"
    proc = start([sys.executable, "-c", code], tmp_path)
    out = ""
    try:
        wait_for(f"http://127.0.0.1:{port}/", "debug=True")  # served by a worker in debug mode
    finally:
        out = stop_process(proc)
    assert proc.returncode == 0, out
    assert "Reloader: on" in out
