"""The ``quartlike`` command: app discovery, built-in commands, custom commands, env files.

App modules are written into ``tmp_path`` (the current directory during each
test, and on ``sys.path``); each test gets fresh module names and a fresh
command group, and the environment is restored afterwards.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import importlib
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import traceback
import uuid
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from quartlike import Quart
from quartlike import current_app
from quartlike import has_app_context
from quartlike.cli import AppGroup
from quartlike.cli import NoAppException
from quartlike.cli import QuartlikeGroup
from quartlike.cli import ScriptInfo
from quartlike.cli import find_best_app
from quartlike.cli import locate_app
from quartlike.cli import prepare_import
from quartlike.cli import with_appcontext
from quartlike.testing import QuartlikeCliRunner
from tests import servers
from tests.servers import free_port
from tests.servers import start_process
from tests.servers import stop_process
from tests.servers import wait_for
from tests.servers import write_source

MakeModule = cabc.Callable[..., str]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> cabc.Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for key in list(os.environ):
        if key.startswith("QUARTLIKE_"):
            monkeypatch.delenv(key)
    saved_env = dict(os.environ)
    before = set(sys.modules)
    yield
    os.environ.clear()
    os.environ.update(saved_env)
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if module_file.startswith(str(tmp_path)):
            del sys.modules[name]


@pytest.fixture
def make_module(tmp_path: Path) -> MakeModule:
    """Write a module into tmp_path and return its name (unique unless given)."""

    def make(source: str, name: str | None = None, folder: Path | None = None) -> str:
        name = name or f"qlapp_{uuid.uuid4().hex[:10]}"
        target = (folder or tmp_path) / f"{name}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        return name

    return make


@pytest.fixture
def group() -> QuartlikeGroup:
    return QuartlikeGroup(name="quartlike")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


APP_WITH_COMMANDS = """
    import asyncio
    import os

    import click
    from quartlike import Quart, current_app, g

    app = Quart(__name__)

    @app.route("/")
    async def index():
        return "index"

    @app.cli.command()
    def whoami():
        click.echo(f"app={current_app.name} debug={current_app.debug}")

    @app.cli.command()
    def env():
        for key in ("QLTEST_A", "QLTEST_B", "QLTEST_C"):
            click.echo(f"{key}={os.environ.get(key)}")
"""


# -- discovery -------------------------------------------------------------------------


def load(import_path: str | None = None) -> Quart:
    return ScriptInfo(app_import_path=import_path).load_app()


@pytest.mark.parametrize("attr", ["app", "application"])
def test_finds_conventional_names(make_module: MakeModule, attr: str) -> None:
    mod = make_module(
        f"""
        from quartlike import Quart
        other = Quart("other")
        {attr} = Quart("chosen")
        """
    )
    assert load(mod).import_name == "chosen"


def test_finds_the_only_app_under_any_name(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        web = Quart("web")
        same_object = web
        """
    )
    assert load(mod).import_name == "web"


def test_several_apps_are_ambiguous(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        one = Quart("one")
        two = Quart("two")
        """
    )
    with pytest.raises(NoAppException, match="multiple quartlike applications") as info:
        load(mod)
    assert f"{mod}:name" in info.value.format_message()
    assert load(f"{mod}:two").import_name == "two"


@pytest.mark.parametrize("factory", ["create_app", "make_app"])
def test_factory_functions(make_module: MakeModule, factory: str) -> None:
    mod = make_module(
        f"""
        from quartlike import Quart
        def {factory}():
            return Quart("made")
        """
    )
    assert load(mod).import_name == "made"


def test_factory_with_literal_arguments(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        def create_app(name, *, extra=None, flag=False):
            app = Quart(name)
            app.config["EXTRA"] = extra
            app.config["FLAG"] = flag
            return app
        """
    )
    app = load(f"{mod}:create_app('named: with colon', extra={{'a': [1, 2]}}, flag=True)")
    assert app.import_name == "named: with colon"
    assert app.config["EXTRA"] == {"a": [1, 2]}
    assert app.config["FLAG"] is True


def test_explicit_call_without_arguments(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        def build():
            return Quart("built")
        """
    )
    assert load(f"{mod}:build()").import_name == "built"
    assert load(f"{mod}:build").import_name == "built"


def test_async_factory(make_module: MakeModule) -> None:
    mod = make_module(
        """
        import asyncio
        from quartlike import Quart
        async def create_app():
            await asyncio.sleep(0)
            return Quart("async-made")
        """
    )
    assert load(mod).import_name == "async-made"


def test_factory_needing_arguments(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        def create_app(config_name):
            return Quart(config_name)
        """
    )
    with pytest.raises(NoAppException, match="could not call it without arguments") as info:
        load(mod)
    assert f"{mod}:create_app(args)" in info.value.format_message()
    with pytest.raises(NoAppException, match="cannot be called with the given arguments"):
        load(f"{mod}:create_app(1, 2)")


def test_type_error_inside_factory_is_not_hidden(make_module: MakeModule) -> None:
    mod = make_module(
        """
        def create_app():
            return len(42)
        """
    )
    with pytest.raises(TypeError, match="has no len"):
        load(mod)


@pytest.mark.parametrize(
    ("app_name", "message"),
    [
        ("create_app(foo)", "only literal values"),
        ("create_app(**{'a': 1})", "only literal values"),
        ("create_app(1", "Failed to parse"),
        ("app.attr", "Failed to parse"),
        ("obj.create_app()", "must be a simple name"),
        ("missing", "Failed to find attribute 'missing'"),
        ("not_an_app", "A valid quartlike application was not obtained"),
        ("returns_none", "A valid quartlike application was not obtained"),
        ("not_an_app(1)", "is not a function"),
    ],
)
def test_bad_app_names(make_module: MakeModule, app_name: str, message: str) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        not_an_app = 42
        def create_app(x=None):
            return Quart("x")
        def returns_none():
            return None
        """
    )
    with pytest.raises(NoAppException, match=message):
        load(f"{mod}:{app_name}")


def test_module_without_app(make_module: MakeModule) -> None:
    mod = make_module("x = 1\n")
    with pytest.raises(NoAppException, match="Failed to find a quartlike application"):
        load(mod)


def test_factory_returning_something_else(make_module: MakeModule) -> None:
    mod = make_module("def create_app():\n    return 'nope'\n")
    with pytest.raises(NoAppException, match="not a quartlike application"):
        load(mod)


def test_package_and_submodule(tmp_path: Path, make_module: MakeModule) -> None:
    pkg = f"qlpkg_{uuid.uuid4().hex[:8]}"
    make_module(
        "from quartlike import Quart\napp = Quart('pkg-app')\n",
        name="__init__",
        folder=tmp_path / pkg,
    )
    make_module(
        "from quartlike import Quart\napp = Quart('sub-app')\n",
        name="sub",
        folder=tmp_path / pkg,
    )
    assert load(pkg).import_name == "pkg-app"
    assert load(f"{pkg}.sub").import_name == "sub-app"
    assert load(f"{pkg}/__init__.py").import_name == "pkg-app"
    assert load(f"{pkg}/sub.py:app").import_name == "sub-app"


def test_file_path_outside_sys_path(tmp_path: Path, make_module: MakeModule) -> None:
    folder = tmp_path / "deep" / "er"
    name = make_module(
        "from quartlike import Quart\nhere = Quart('from-file')\n",
        folder=folder,
    )
    start = list(sys.path)
    assert load(f"deep/er/{name}.py").import_name == "from-file"
    assert load(f"{folder / name}.py:here").import_name == "from-file"
    assert sys.path[0] == str(folder)
    assert str(folder) not in start


def test_prepare_import_names_nested_packages(tmp_path: Path) -> None:
    inner = tmp_path / "src" / "outer" / "inner"
    inner.mkdir(parents=True)
    (tmp_path / "src" / "outer" / "__init__.py").write_text("")
    (inner / "__init__.py").write_text("")
    (inner / "web.py").write_text("")
    assert prepare_import("src/outer/inner/web.py") == "outer.inner.web"
    assert sys.path[0] == str(tmp_path / "src")
    assert prepare_import("src/outer/inner/__init__.py") == "outer.inner"


@pytest.mark.parametrize("filename", ["asgi.py", "wsgi.py", "app.py"])
def test_default_files(tmp_path: Path, filename: str) -> None:
    (tmp_path / filename).write_text(f"from quartlike import Quart\napp = Quart({filename!r})\n")
    importlib.invalidate_caches()
    info = ScriptInfo()
    assert info.load_app().import_name == filename
    assert info.loaded_import_path == filename


def test_asgi_py_comes_before_app_py(tmp_path: Path) -> None:
    for name in ("app.py", "asgi.py"):
        (tmp_path / name).write_text(f"from quartlike import Quart\napp = Quart({name!r})\n")
    importlib.invalidate_caches()
    assert load().import_name == "asgi.py"


def test_no_app_anywhere(group: QuartlikeGroup, runner: CliRunner) -> None:
    result = runner.invoke(group, ["routes"])
    assert result.exit_code == 2
    assert "Could not locate a quartlike application" in result.output
    assert "--app" in result.output
    assert "QUARTLIKE_APP" in result.output


def test_module_not_found(group: QuartlikeGroup, runner: CliRunner) -> None:
    result = runner.invoke(group, ["--app", "qltest_no_such_module", "routes"])
    assert result.exit_code == 2
    assert "Could not import 'qltest_no_such_module'" in result.output


def test_import_error_inside_module_shows_traceback(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule, tmp_path: Path
) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        import qltest_missing_dependency_zz
        app = Quart(__name__)
        """
    )
    result = runner.invoke(group, ["--app", mod, "routes"])
    assert result.exit_code == 2
    assert f"While importing '{mod}', an ImportError was raised" in result.output
    assert f'File "{tmp_path / mod}.py", line 3' in result.output
    assert "import qltest_missing_dependency_zz" in result.output
    assert "No module named 'qltest_missing_dependency_zz'" in result.output
    assert "Could not import" not in result.output


def test_other_error_inside_module_propagates(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule, tmp_path: Path
) -> None:
    mod = make_module("from quartlike import Quart\nraise RuntimeError('boom at import')\n")
    result = runner.invoke(group, ["--app", mod, "routes"])
    assert isinstance(result.exception, RuntimeError)
    assert result.exc_info is not None
    text = "".join(traceback.format_exception(*result.exc_info))
    assert f'File "{tmp_path / mod}.py", line 2' in text
    assert "boom at import" in text


def test_help_shows_import_failure_and_builtins(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module("raise RuntimeError('broken module')\n")
    result = runner.invoke(group, ["--app", mod, "--help"])
    assert result.exit_code == 0
    assert "RuntimeError: broken module" in result.stderr
    for name in ("routes", "run", "shell"):
        assert name in result.stdout


def test_app_is_loaded_once(make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        calls = []
        def create_app():
            calls.append(1)
            return Quart("once")
        """
    )
    info = ScriptInfo(app_import_path=mod)
    assert info.load_app() is info.load_app()
    assert sys.modules[mod].calls == [1]


def test_locate_app_missing_module_can_return_none() -> None:
    assert locate_app("qltest_absent_module", None, raise_if_not_found=False) is None
    with pytest.raises(NoAppException, match="Could not import"):
        locate_app("qltest_absent_module", None)


def test_find_best_app_accepts_module_objects(make_module: MakeModule) -> None:
    mod = make_module("from quartlike import Quart\napplication = Quart('m')\n")
    module = importlib.import_module(mod)
    assert find_best_app(module) is module.application


def test_app_from_environment(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["whoami"], env={"QUARTLIKE_APP": mod})
    assert result.exit_code == 0, result.output
    assert result.output == f"app={mod} debug=False\n"
    # The app's commands are listed in the help, also when it is shown for no arguments.
    for args in (["--help"], []):
        result = runner.invoke(group, args, env={"QUARTLIKE_APP": mod})
        assert "whoami" in result.output


def test_create_app_of_a_custom_group(runner: CliRunner) -> None:
    def create_app() -> Quart:
        app = Quart("custom")

        @app.cli.command()
        def hello() -> None:
            click.echo(f"hello from {current_app.name}")

        return app

    group = QuartlikeGroup(name="manage", create_app=create_app)

    @group.command()
    async def own() -> None:
        await asyncio.sleep(0)
        click.echo(f"own command in {current_app.name}")

    assert runner.invoke(group, ["hello"]).output == "hello from custom\n"
    assert runner.invoke(group, ["own"]).output == "own command in custom\n"


# -- debug flag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--debug"], {}, "True"),
        (["--no-debug"], {"QUARTLIKE_DEBUG": "1"}, "False"),
        ([], {"QUARTLIKE_DEBUG": "1"}, "True"),
        ([], {}, "False"),
    ],
)
def test_debug_flag(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    args: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["--app", mod, *args, "whoami"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == f"app={mod} debug={expected}\n"


def test_debug_sets_the_environment_and_the_logger(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(
        """
        import logging, os
        import click
        from quartlike import Quart, current_app
        app = Quart(__name__)
        @app.cli.command()
        def show():
            level = logging.getLevelName(current_app.logger.level)
            click.echo(f"{os.environ['QUARTLIKE_DEBUG']} {level}")
        """
    )
    result = runner.invoke(group, ["--debug", "--app", mod, "show"])
    assert result.output == "1 DEBUG\n"


def test_version(group: QuartlikeGroup, runner: CliRunner) -> None:
    result = runner.invoke(group, ["--version"])
    assert result.exit_code == 0
    assert f"quartlike {importlib.metadata.version('quartlike')}" in result.output
    assert "Python " in result.output


# -- routes ----------------------------------------------------------------------------


ROUTES_APP = """
    from quartlike import Quart

    app = Quart(__name__, static_folder=None)

    async def view(**kwargs):
        return ""

    app.add_url_rule("/zeta", "alpha", view, methods=["POST", "PUT"])
    app.add_url_rule("/beta/<int:x>", "gamma", view)
    app.add_url_rule("/alpha", "beta", view, methods=["DELETE"])
"""


def table(output: str) -> list[list[str]]:
    lines = output.splitlines()
    assert set(lines[1]) <= {"-", " "}
    return [re.split(r"\s{2,}", line.strip()) for line in [lines[0], *lines[2:]]]


@pytest.mark.parametrize(
    ("sort", "endpoints"),
    [
        ("endpoint", ["alpha", "beta", "gamma"]),
        ("rule", ["beta", "gamma", "alpha"]),
        ("methods", ["beta", "gamma", "alpha"]),
        ("match", ["alpha", "gamma", "beta"]),
    ],
)
def test_routes_sorted(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    sort: str,
    endpoints: list[str],
) -> None:
    mod = make_module(ROUTES_APP)
    result = runner.invoke(group, ["--app", mod, "routes", "--sort", sort])
    assert result.exit_code == 0, result.output
    rows = table(result.output)
    assert rows[0] == ["Endpoint", "Methods", "Rule"]
    assert [row[0] for row in rows[1:]] == endpoints


def test_routes_table(group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule) -> None:
    mod = make_module(ROUTES_APP)
    result = runner.invoke(group, ["--app", mod, "routes"])
    assert result.output.splitlines() == [
        "Endpoint  Methods    Rule",
        "--------  ---------  -------------",
        "alpha     POST, PUT  /zeta",
        "beta      DELETE     /alpha",
        "gamma     GET        /beta/<int:x>",
    ]
    result = runner.invoke(group, ["--app", mod, "routes", "--all-methods"])
    rows = table(result.output)
    assert rows[1] == ["alpha", "OPTIONS, POST, PUT", "/zeta"]
    assert rows[3] == ["gamma", "GET, HEAD, OPTIONS", "/beta/<int:x>"]


def test_routes_subdomain_column(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        app = Quart(__name__, subdomain_matching=True, static_folder=None)
        app.config["SERVER_NAME"] = "example.test"
        async def view():
            return ""
        app.add_url_rule("/", "main", view)
        app.add_url_rule("/v1", "api", view, subdomain="api")
        app.add_url_rule("/docs", "docs", view, subdomain="docs")
        """
    )
    result = runner.invoke(group, ["--app", mod, "routes", "--sort", "domain"])
    rows = table(result.output)
    assert rows[0] == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert rows[1] == ["main", "GET", "/"]
    assert rows[2:] == [["api", "GET", "api", "/v1"], ["docs", "GET", "docs", "/docs"]]


def test_routes_host_column(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        app = Quart(__name__, host_matching=True, static_folder=None)
        async def view():
            return ""
        app.add_url_rule("/", "b", view, host="b.example")
        app.add_url_rule("/", "a", view, host="c.example")
        """
    )
    result = runner.invoke(group, ["--app", mod, "routes", "-s", "domain"])
    rows = table(result.output)
    assert rows == [
        ["Endpoint", "Methods", "Host", "Rule"],
        ["b", "GET", "b.example", "/"],
        ["a", "GET", "c.example", "/"],
    ]


def test_routes_marks_websockets(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        app = Quart(__name__, static_folder=None)
        async def view():
            return ""
        app.add_url_rule("/ws", "socket", view, websocket=True)
        app.add_url_rule("/", "page", view)
        """
    )
    result = runner.invoke(group, ["--app", mod, "routes", "--all-methods"])
    assert table(result.output)[1:] == [
        ["page", "GET, HEAD, OPTIONS", "/"],
        ["socket", "WEBSOCKET", "/ws"],
    ]


def test_routes_none(group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule) -> None:
    mod = make_module("from quartlike import Quart\napp = Quart(__name__, static_folder=None)\n")
    result = runner.invoke(group, ["--app", mod, "routes"])
    assert result.exit_code == 0
    assert result.output == "No routes were registered.\n"


# -- shell -----------------------------------------------------------------------------


SHELL_APP = """
    import asyncio
    from quartlike import Quart

    app = Quart(__name__)
    torn_down = []

    @app.route("/")
    async def index():
        return "index page"

    @app.shell_context_processor
    def names():
        return {"answer": 42}

    @app.teardown_appcontext
    async def teardown(exc):
        torn_down.append(exc)
"""


def run_shell(group: QuartlikeGroup, runner: CliRunner, mod: str, source: str) -> str:
    result = runner.invoke(group, ["--app", mod, "shell"], input=textwrap.dedent(source))
    assert result.exit_code == 0, result.output
    return result.output


def test_shell_namespace_and_banner(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(SHELL_APP)
    output = run_shell(
        group,
        runner,
        mod,
        """\
        print("name:", app.name)
        print("answer:", answer)
        g.value = "in g"
        print(g.value)
        """,
    )
    assert f"App: {mod}" in output
    assert f"name: {mod}" in output
    assert "answer: 42" in output
    assert "in g" in output
    assert sys.modules[mod].torn_down == [None]


def test_shell_top_level_await(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(SHELL_APP)
    output = run_shell(
        group,
        runner,
        mod,
        """\
        value = await asyncio.sleep(0, result="awaited value")
        print(value)
        async def app_name():
            from quartlike import current_app
            return current_app.name

        print("coroutine sees", await app_name())
        response = await app.test_client().get("/")
        print(response.status_code, await response.get_data(as_text=True))
        1 + 1
        """,
    )
    assert "awaited value" in output
    assert f"coroutine sees {mod}" in output
    assert "200 index page" in output
    assert "\n2\n" in output or ">>> 2\n" in output


def test_shell_tasks_keep_running_between_statements(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(SHELL_APP)
    output = run_shell(
        group,
        runner,
        mod,
        """\
        started = asyncio.Event()
        async def worker():
            started.set()
            await asyncio.sleep(3600)

        task = asyncio.create_task(worker())
        await asyncio.wait_for(started.wait(), 10)
        print("task alive:", not task.done())
        """,
    )
    # A plain statement could start the task: the code runs on the shell's loop,
    # which lives across statements (the task is cancelled when the shell ends).
    assert "task alive: True" in output
    assert "Error" not in output


def test_shell_errors_show_tracebacks_and_continue(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(SHELL_APP)
    output = run_shell(
        group,
        runner,
        mod,
        """\
        1 / 0
        async def fail():
            raise ValueError("async failure")

        await fail()
        print("still here")
        """,
    )
    assert "ZeroDivisionError: division by zero" in output
    assert "ValueError: async failure" in output
    assert 'File "<console>"' in output
    assert "quartlike/cli.py" not in output
    assert "still here" in output


def test_shell_exit(group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule) -> None:
    mod = make_module(SHELL_APP)
    result = runner.invoke(
        group, ["--app", mod, "shell"], input="raise SystemExit(3)\nprint('unreached')\n"
    )
    assert result.exit_code == 3
    assert "unreached" not in result.output
    assert sys.modules[mod].torn_down == [None]


# -- custom commands ---------------------------------------------------------------------


def test_sync_and_async_commands_run_in_app_context(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule
) -> None:
    mod = make_module(
        """
        import asyncio
        import click
        from quartlike import Quart, current_app, g

        app = Quart(__name__)

        @app.teardown_appcontext
        async def teardown(exc):
            loop = asyncio.get_running_loop()
            same = g.get("loop") is loop
            click.echo(f"teardown exc={exc!r} same_loop={same}")

        @app.cli.command()
        @click.argument("name")
        def hello(name):
            click.echo(f"sync {name} in {current_app.name}")

        @app.cli.command()
        @click.option("--times", type=int, default=1)
        async def ahello(times):
            g.loop = asyncio.get_running_loop()
            for _ in range(times):
                await asyncio.sleep(0)
                click.echo(f"async in {current_app.name}")

        @app.cli.command()
        async def broken():
            raise LookupError("command failed")
        """
    )
    result = runner.invoke(group, ["--app", mod, "hello", "bob"])
    assert result.output == f"sync bob in {mod}\nteardown exc=None same_loop=False\n"
    result = runner.invoke(group, ["--app", mod, "ahello", "--times", "2"])
    assert result.output == f"async in {mod}\nasync in {mod}\nteardown exc=None same_loop=True\n"
    result = runner.invoke(group, ["--app", mod, "broken"])
    assert isinstance(result.exception, LookupError)
    assert "teardown exc=LookupError('command failed') same_loop=False" in result.output


def test_commands_without_app_context(runner: CliRunner) -> None:
    app = Quart("noctx")

    @app.cli.command(with_appcontext=False)
    def plain() -> None:
        click.echo(f"plain has context: {has_app_context()}")

    @app.cli.command("async-plain", with_appcontext=False)
    async def async_plain() -> None:
        await asyncio.sleep(0)
        click.echo(f"async has context: {has_app_context()}")

    cli_runner = app.test_cli_runner()
    assert cli_runner.invoke(args=["plain"]).output == "plain has context: False\n"
    assert cli_runner.invoke(args=["async-plain"]).output == "async has context: False\n"


def test_sub_groups_are_app_groups(runner: CliRunner) -> None:
    app = Quart("grouped")

    @app.cli.group()
    def db() -> None:
        """Database commands."""

    assert isinstance(db, AppGroup)

    @db.command()
    async def init() -> None:
        click.echo(f"init db of {current_app.name}")

    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.output == "init db of grouped\n"


def test_with_appcontext_on_plain_click_commands(runner: CliRunner) -> None:
    app = Quart("plain-click")

    @click.command()
    @with_appcontext
    async def status() -> None:
        click.echo(f"{current_app.name} ok")

    result = runner.invoke(status, obj=ScriptInfo(create_app=lambda: app))
    assert result.output == "plain-click ok\n"


def test_with_appcontext_reuses_an_active_context(runner: CliRunner) -> None:
    app = Quart("outer")
    seen = []

    @click.command()
    @with_appcontext
    def inner() -> None:
        seen.append(current_app._get_current_object())  # type: ignore[attr-defined]

    def explode() -> Quart:
        raise AssertionError("the app must not be loaded again")

    async def main() -> None:
        async with app.app_context():
            runner.invoke(inner, obj=ScriptInfo(create_app=explode), catch_exceptions=False)

    asyncio.run(main())
    assert seen == [app]


def test_entry_point_commands(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ext = make_module(
        """
        import click
        from quartlike.cli import with_appcontext
        from quartlike import current_app

        @click.command()
        @with_appcontext
        def cmd():
            click.echo(f"extension command for {current_app.name}")
        """
    )
    real_entry_points = importlib.metadata.entry_points
    requested = []

    def fake_entry_points(**kwargs: str) -> object:
        requested.append(kwargs)
        if kwargs.get("group") == "quartlike.commands":
            return [
                importlib.metadata.EntryPoint(
                    name="ext-cmd", value=f"{ext}:cmd", group="quartlike.commands"
                )
            ]
        return real_entry_points(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["--app", mod, "ext-cmd"])
    assert result.exit_code == 0, result.output
    assert result.output == f"extension command for {mod}\n"
    assert {"group": "quartlike.commands"} in requested
    assert "ext-cmd" in runner.invoke(group, ["--app", mod, "--help"]).output


def test_unknown_command(group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["--app", mod, "nope"])
    assert result.exit_code == 2
    assert "No such command 'nope'" in result.output


# -- the app's CLI runner -------------------------------------------------------------------


def test_test_cli_runner() -> None:
    app = Quart("runner-app")
    app.debug = True

    @app.cli.command()
    @click.argument("who")
    async def hello(who: str) -> None:
        click.echo(f"hello {who} from {current_app.name}")

    @click.command()
    def outside() -> None:
        click.echo(f"outside with {click.get_current_context().obj.load_app().name}")

    cli_runner = app.test_cli_runner()
    assert isinstance(cli_runner, QuartlikeCliRunner)
    assert cli_runner.invoke(args=["hello", "you"]).output == "hello you from runner-app\n"
    assert cli_runner.invoke(outside).output == "outside with runner-app\n"
    assert app.debug is True  # left alone, whatever QUARTLIKE_DEBUG says


def test_test_cli_runner_class_is_configurable() -> None:
    class MyRunner(QuartlikeCliRunner):
        pass

    app = Quart("custom-runner")
    app.test_cli_runner_class = MyRunner
    assert isinstance(app.test_cli_runner(), MyRunner)


async def test_test_cli_runner_inside_a_running_loop() -> None:
    app = Quart("loop-app")

    @app.cli.command()
    async def check() -> None:
        await asyncio.sleep(0)
        click.echo(f"{current_app.name} ran; context={click.get_current_context().info_name}")

    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert result.output == "loop-app ran; context=check\n"


def test_shell_context_processor_is_a_setup_method() -> None:
    app = Quart("shell-ctx")

    @app.shell_context_processor
    def one() -> dict[str, object]:
        return {"one": 1, "app": "overridden"}

    context = app.make_shell_context()
    assert context["one"] == 1
    assert context["app"] == "overridden"
    assert "g" in context


# -- env files -------------------------------------------------------------------------


def test_dotenv_files(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("dotenv")
    mod = make_module(APP_WITH_COMMANDS)
    (tmp_path / ".quartlikeenv").write_text(
        f"QUARTLIKE_APP={mod}\nQLTEST_A=quartlikeenv\nQLTEST_B=quartlikeenv\n"
    )
    (tmp_path / ".env").write_text("QLTEST_A=dotenv\nQLTEST_C=dotenv\n")
    monkeypatch.setenv("QLTEST_C", "environ")
    result = runner.invoke(group, ["env"])
    assert result.exit_code == 0, result.output
    assert result.output == "QLTEST_A=dotenv\nQLTEST_B=quartlikeenv\nQLTEST_C=environ\n"


def test_env_file_option(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("dotenv")
    mod = make_module(APP_WITH_COMMANDS)
    (tmp_path / ".env").write_text("QLTEST_A=dotenv\nQLTEST_B=dotenv\n")
    (tmp_path / "custom.env").write_text(f"QUARTLIKE_APP={mod}\nQLTEST_A=custom\nQLTEST_C=custom\n")
    monkeypatch.setenv("QLTEST_C", "environ")
    result = runner.invoke(group, ["--env-file", "custom.env", "env"])
    assert result.exit_code == 0, result.output
    assert result.output == "QLTEST_A=custom\nQLTEST_B=dotenv\nQLTEST_C=environ\n"


def test_skip_dotenv(
    group: QuartlikeGroup, runner: CliRunner, make_module: MakeModule, tmp_path: Path
) -> None:
    pytest.importorskip("dotenv")
    mod = make_module(APP_WITH_COMMANDS)
    (tmp_path / ".env").write_text("QLTEST_A=dotenv\n")
    result = runner.invoke(group, ["--app", mod, "env"], env={"QUARTLIKE_SKIP_DOTENV": "1"})
    assert result.output.splitlines()[0] == "QLTEST_A=None"
    group_without = QuartlikeGroup(name="q", load_dotenv=False)
    result = runner.invoke(group_without, ["--app", mod, "env"])
    assert result.output.splitlines()[0] == "QLTEST_A=None"
    result = runner.invoke(group, ["--app", mod, "env"])
    assert result.output.splitlines()[0] == "QLTEST_A=dotenv"


def test_without_python_dotenv(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "dotenv", None)  # makes "import dotenv" fail
    mod = make_module(APP_WITH_COMMANDS)
    (tmp_path / ".env").write_text("QLTEST_A=dotenv\n")
    (tmp_path / "custom.env").write_text("QLTEST_A=custom\n")
    result = runner.invoke(group, ["--app", mod, "env"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "QLTEST_A=None"
    assert "Install python-dotenv" in result.stderr
    result = runner.invoke(group, ["--app", mod, "--env-file", "custom.env", "env"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed" in result.output


# -- run (options; serving itself is tested with real processes below) ---------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Record how ``run`` would serve instead of serving."""
    calls: list[dict[str, object]] = []

    def fake_run_app(app: Quart, **kwargs: object) -> None:
        calls.append({"mode": "in-process", "debug": app.debug, **kwargs})

    def fake_workers(app: Quart, import_path: str, **kwargs: object) -> int:
        calls.append({"mode": "workers", "import_path": import_path, **kwargs})
        return 0

    import quartlike.cli
    import quartlike.serving

    monkeypatch.setattr(quartlike.serving, "run_app", fake_run_app)
    monkeypatch.setattr(quartlike.cli, "_serve_with_workers", fake_workers)
    return calls


def test_run_options(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    served: list[dict[str, object]],
) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["--app", mod, "run"])
    assert result.exit_code == 0, result.output
    assert served[-1] == {
        "mode": "in-process",
        "debug": False,
        "host": "127.0.0.1",
        "port": 5000,
        "certfile": None,
        "keyfile": None,
    }
    result = runner.invoke(
        group, ["--app", mod, "run", "-h", "::1", "-p", "8001", "--debug", "--no-reload"]
    )
    assert result.exit_code == 0, result.output
    assert served[-1]["host"] == "[::1]"
    assert served[-1]["port"] == 8001
    assert served[-1]["debug"] is True
    result = runner.invoke(group, ["--app", mod, "run"], env={"QUARTLIKE_RUN_PORT": "8002"})
    assert [call["port"] for call in served] == [5000, 8001, 8002]


def test_run_reload_and_workers(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    served: list[dict[str, object]],
) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    result = runner.invoke(group, ["--app", mod, "--debug", "run"])
    assert result.exit_code == 0, result.output
    assert served[-1]["mode"] == "workers"
    assert served[-1]["reload"] is True
    assert served[-1]["debugger"] is True
    assert served[-1]["import_path"] == mod
    runner.invoke(group, ["--app", mod, "run", "--workers", "3"], env={"QUARTLIKE_DEBUG": None})
    assert served[-1]["mode"] == "workers"
    assert served[-1]["reload"] is False
    assert served[-1]["debugger"] is False
    assert served[-1]["workers"] == 3
    result = runner.invoke(group, ["--app", mod, "run", "--workers", "0"])
    assert result.exit_code == 2


BOOM_APP = """
    from quartlike import Quart
    app = Quart(__name__)

    @app.route("/boom")
    async def boom():
        raise ValueError("<boom>")
"""


@pytest.mark.parametrize(
    ("args", "shows_page"),
    [
        (["--debug", "--no-reload"], True),
        (["--debug", "--no-reload", "--no-debugger"], False),
        (["--debugger"], False),  # the page needs debug mode: errors do not escape without it
    ],
)
def test_run_debug_page(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    shows_page: bool,
) -> None:
    mod = make_module(BOOM_APP)
    pages: list[tuple[int, str]] = []

    def fake_run_app(app: Quart, **kwargs: object) -> None:
        async def fetch() -> tuple[int, str]:
            try:
                response = await app.test_client().get("/boom")
            except ValueError:
                return -1, "propagated"
            return response.status_code, await response.get_data(as_text=True)

        pages.append(asyncio.run(fetch()))

    import quartlike.serving

    monkeypatch.setattr(quartlike.serving, "run_app", fake_run_app)
    result = runner.invoke(group, ["--app", mod, "run", *args], env={"QUARTLIKE_DEBUG": None})
    assert result.exit_code == 0, result.output
    status, body = pages[0]
    if shows_page:
        assert status == 500
        assert "<h1>ValueError</h1>" in body
        assert "&lt;boom&gt;" in body
    else:
        assert "<h1>ValueError</h1>" not in body


def test_run_reload_needs_an_import_path(
    runner: CliRunner, served: list[dict[str, object]]
) -> None:
    group = QuartlikeGroup(name="manage", create_app=lambda: Quart("made"))
    result = runner.invoke(group, ["run", "--reload"])
    assert result.exit_code == 2
    assert "must be given by import path" in result.output
    assert served == []


def test_run_certificates(
    group: QuartlikeGroup,
    runner: CliRunner,
    make_module: MakeModule,
    tmp_path: Path,
    served: list[dict[str, object]],
) -> None:
    mod = make_module(APP_WITH_COMMANDS)
    (tmp_path / "cert.pem").write_text("")
    (tmp_path / "key.pem").write_text("")
    result = runner.invoke(group, ["--app", mod, "run", "--keyfile", "key.pem"])
    assert result.exit_code == 2
    assert "--keyfile needs --certfile" in result.output
    result = runner.invoke(group, ["--app", mod, "run", "--cert", "cert.pem", "--key", "key.pem"])
    assert result.exit_code == 0, result.output
    assert served[-1]["certfile"] == "cert.pem"
    assert served[-1]["keyfile"] == "key.pem"
    result = runner.invoke(group, ["--app", mod, "run", "--certfile", "missing.pem"])
    assert result.exit_code == 2


# -- real processes --------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    return servers.child_env(drop_prefix="QUARTLIKE_")


@pytest.mark.slow
def test_run_serves_and_stops_on_sigterm(tmp_path: Path, make_module: MakeModule) -> None:
    marker = tmp_path / "after_serving.txt"
    mod = make_module(
        f"""
        from quartlike import Quart
        app = Quart(__name__)

        @app.route("/")
        async def index():
            return "served by the quartlike command"

        @app.after_serving
        async def done():
            with open({str(marker)!r}, "w") as f:
                f.write("after_serving ran")
        """
    )
    port = free_port()
    proc = start_process(
        [sys.executable, "-m", "quartlike", "--app", mod, "run", "--port", str(port)],
        tmp_path,
        child_env(),
        stderr=subprocess.PIPE,
    )
    try:
        response = wait_for(f"http://127.0.0.1:{port}/")
        assert response.status_code == 200
        assert response.text == "served by the quartlike command"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        stop_process(proc)
    assert proc.returncode == 0, err
    assert f"Running on http://127.0.0.1:{port}" in out
    assert marker.read_text() == "after_serving ran"


@pytest.mark.slow
def test_run_reloads_changed_code(tmp_path: Path, make_module: MakeModule) -> None:
    source = """
        from quartlike import Quart
        app = Quart(__name__)

        @app.route("/")
        async def index():
            return "{}"
    """
    mod = make_module(source.format("before the edit"))
    path = tmp_path / f"{mod}.py"
    port = free_port()
    argv = [sys.executable, "-m", "quartlike", "--app", f"{mod}.py", "run", "--port", str(port)]
    proc = start_process([*argv, "--reload"], tmp_path, child_env())
    try:
        wait_for(f"http://127.0.0.1:{port}/", "before the edit")
        write_source(path, source.format("after the edit"))
        wait_for(f"http://127.0.0.1:{port}/", "after the edit", timeout=20)
    finally:
        stop_process(proc, group=True)


@pytest.mark.slow
def test_run_debug_in_worker_processes(tmp_path: Path, make_module: MakeModule) -> None:
    mod = make_module(BOOM_APP)
    port = free_port()
    proc = start_process(
        [sys.executable, "-m", "quartlike", "--app", mod, "run", "--port", str(port), "--debug"],
        tmp_path,
        child_env(),
    )
    try:
        response = wait_for(f"http://127.0.0.1:{port}/boom")
        assert response.status_code == 500
        assert "<h1>ValueError</h1>" in response.text
        assert "&lt;boom&gt;" in response.text
        proc.send_signal(signal.SIGTERM)  # the main process: workers stop gracefully
        proc.wait(timeout=15)
    finally:
        out = stop_process(proc)
    assert proc.returncode == 0, out
    assert "Reloader: on" in out


@pytest.mark.slow
def test_console_script_and_module_entry(tmp_path: Path, make_module: MakeModule) -> None:
    script = shutil.which("quartlike", path=os.path.dirname(sys.executable))
    assert script is not None, "the quartlike console script is not installed"
    for command in ([script], [sys.executable, "-m", "quartlike"]):
        result = subprocess.run(
            [*command, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=child_env(),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        assert "quartlike " in result.stdout


@pytest.mark.slow
def test_import_error_traceback_in_a_real_process(tmp_path: Path, make_module: MakeModule) -> None:
    mod = make_module(
        """
        from quartlike import Quart
        app = Quart(__name__)
        raise RuntimeError("the user's own error")
        """
    )
    result = subprocess.run(
        [sys.executable, "-m", "quartlike", "--app", mod, "routes"],
        capture_output=True,
        text=True,
        timeout=30,
        env=child_env(),
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert f'File "{tmp_path / mod}.py", line 4, in <module>' in result.stderr
    assert "RuntimeError: the user's own error" in result.stderr
