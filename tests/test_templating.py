"""Templates: loading, autoescaping, context, registries, reloading, streaming, signals.

Every app here renders from a ``templates/`` folder created in ``tmp_path``.
The last section renders the same templates with Flask and compares.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import logging
import os
import threading
import typing as t
from datetime import date
from pathlib import Path

import flask
import jinja2
import pytest
from markupsafe import Markup

import quartlike
from quartlike import Quart
from quartlike import g
from quartlike import get_template_attribute
from quartlike import render_template
from quartlike import render_template_string
from quartlike import request
from quartlike import session
from quartlike import stream_template
from quartlike import stream_template_string
from quartlike.signals import before_render_template
from quartlike.signals import template_rendered
from quartlike.templating import DispatchingJinjaLoader
from quartlike.templating import Environment

if t.TYPE_CHECKING:
    from quartlike.typing import HTTPScope
    from quartlike.typing import Message


def write(folder: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")


def make_app(tmp_path: Path, templates: dict[str, str] | None = None, **config: t.Any) -> Quart:
    write(tmp_path / "templates", templates or {})
    app = Quart("tpl_app", root_path=str(tmp_path))
    app.config.update({"TESTING": True, "SECRET_KEY": "test key", **config})
    return app


async def get_text(app: Quart, path: str = "/", **kwargs: t.Any) -> tuple[int, str]:
    response = await app.test_client().get(path, **kwargs)
    return response.status_code, await response.get_data(as_text=True)


# -- loading and rendering ------------------------------------------------------------------


async def test_render_template_from_the_app_folder(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"hello.html": "Hello {{ name }}!"})

    @app.route("/")
    async def index() -> str:
        return await render_template("hello.html", name="World")

    assert await get_text(app) == (200, "Hello World!")


async def test_templates_in_subfolders_and_inheritance(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "base.html": "<title>{% block title %}{% endblock %}</title>",
            "pages/child.html": (
                '{% extends "base.html" %}{% block title %}{% include "pages/part.txt" %}'
                "{% endblock %}"
            ),
            "pages/part.txt": "included {{ n }}",
        },
    )
    async with app.app_context():
        assert await render_template("pages/child.html", n=3) == "<title>included 3</title>"


async def test_a_list_renders_the_first_template_that_exists(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"second.html": "second", "third.html": "third"})
    async with app.app_context():
        rv = await render_template(["missing.html", "second.html", "third.html"])
        template = app.jinja_env.get_template("third.html")
        by_object = await render_template(template)
    assert (rv, by_object) == ("second", "third")


async def test_render_template_string(app: Quart) -> None:
    async with app.app_context():
        assert await render_template_string("{{ a + b }}", a=1, b=2) == "3"


async def test_rendering_needs_an_app_context(tmp_path: Path) -> None:
    make_app(tmp_path, {"x.html": "x"})
    with pytest.raises(RuntimeError, match="outside of application context"):
        await render_template("x.html")
    with pytest.raises(RuntimeError, match="outside of application context"):
        await render_template_string("x")


async def test_missing_template_propagates_when_testing(tmp_path: Path) -> None:
    app = make_app(tmp_path)

    @app.route("/")
    async def index() -> str:
        return await render_template("nope.html")

    with pytest.raises(jinja2.TemplateNotFound, match="nope.html"):
        await app.test_client().get("/")


async def test_missing_template_is_a_500_when_not_propagating(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, TESTING=False)

    @app.route("/")
    async def index() -> str:
        return await render_template("nope.html")

    with caplog.at_level(logging.ERROR):
        status, _ = await get_text(app)
    assert status == 500
    assert "TemplateNotFound" in caplog.text


async def test_template_syntax_error_propagates(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"bad.html": "{% if %}"})
    async with app.app_context():
        with pytest.raises(jinja2.TemplateSyntaxError):
            await render_template("bad.html")


async def test_no_template_folder_means_no_app_templates(tmp_path: Path) -> None:
    write(tmp_path / "templates", {"x.html": "x"})
    app = Quart("tpl_app", root_path=str(tmp_path), template_folder=None)
    assert app.jinja_loader is None
    async with app.app_context():
        with pytest.raises(jinja2.TemplateNotFound):
            await render_template("x.html")


async def test_custom_template_folder(tmp_path: Path) -> None:
    write(tmp_path / "views", {"x.html": "from views"})
    app = Quart("tpl_app", root_path=str(tmp_path), template_folder="views")
    async with app.app_context():
        assert await render_template("x.html") == "from views"


def test_the_loader_lists_templates_of_app_and_blueprints(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"a.html": "", "sub/b.html": ""})
    write(tmp_path / "bp_templates", {"a.html": "", "c.html": ""})
    bp = quartlike.Blueprint(
        "bp", __name__, root_path=str(tmp_path), template_folder="bp_templates"
    )
    app.register_blueprint(bp)
    assert isinstance(app.jinja_env.loader, DispatchingJinjaLoader)
    assert app.jinja_env.list_templates() == ["a.html", "c.html", "sub/b.html"]


# -- autoescaping -----------------------------------------------------------------------------

ESCAPABLE = ["page.html", "page.htm", "page.xml", "page.xhtml", "page.svg"]
NOT_ESCAPED = ["page.txt", "page.js", "page.jinja", "page.html.j2"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [(n, "&lt;b&gt;&amp;") for n in ESCAPABLE] + [(n, "<b>&") for n in NOT_ESCAPED],
)
async def test_autoescape_follows_the_file_extension(
    tmp_path: Path, name: str, expected: str
) -> None:
    app = make_app(tmp_path, {name: "{{ value }}"})
    async with app.app_context():
        assert await render_template(name, value="<b>&") == expected


async def test_strings_are_autoescaped_and_markup_is_not_escaped_twice(app: Quart) -> None:
    async with app.app_context():
        rv = await render_template_string(
            "{{ raw }} {{ safe }} {{ raw|safe }}", raw="<i>", safe=Markup("<u>")
        )
    assert rv == "&lt;i&gt; <u> <i>"


async def test_autoescape_can_be_turned_off_in_the_template(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"x.html": "{% autoescape false %}{{ v }}{% endautoescape %}"})
    async with app.app_context():
        assert await render_template("x.html", v="<b>") == "<b>"


async def test_select_jinja_autoescape_can_be_overridden(tmp_path: Path) -> None:
    class TxtEscapes(Quart):
        def select_jinja_autoescape(self, filename: str | None) -> bool:
            return filename is None or filename.endswith(".txt")

    write(tmp_path / "templates", {"a.txt": "{{ v }}", "a.html": "{{ v }}"})
    app = TxtEscapes("tpl_app", root_path=str(tmp_path))
    async with app.app_context():
        assert await render_template("a.txt", v="<") == "&lt;"
        assert await render_template("a.html", v="<") == "<"


def test_select_jinja_autoescape_rules(app: Quart) -> None:
    assert app.select_jinja_autoescape(None) is True
    assert all(app.select_jinja_autoescape(n) for n in ESCAPABLE)
    assert not any(app.select_jinja_autoescape(n) for n in NOT_ESCAPED)


# -- the environment ------------------------------------------------------------------------


def test_jinja_env_is_created_once_as_an_async_environment(app: Quart) -> None:
    env = app.jinja_env
    assert env is app.jinja_env
    assert isinstance(env, Environment)
    assert env.app is app
    assert env.is_async


def test_jinja_options_are_used_but_async_mode_is_forced(tmp_path: Path) -> None:
    class Custom(Quart):
        jinja_options = {"trim_blocks": True, "enable_async": False, "autoescape": False}

    app = Custom("tpl_app", root_path=str(tmp_path))
    env = app.jinja_env
    assert env.trim_blocks is True
    assert env.is_async
    assert env.autoescape is False


def test_jinja_environment_class_can_be_replaced(app: Quart) -> None:
    class MyEnvironment(Environment):
        pass

    app.jinja_environment = MyEnvironment
    assert type(app.jinja_env) is MyEnvironment


def test_a_loader_in_the_options_replaces_the_dispatching_loader(tmp_path: Path) -> None:
    loader = jinja2.DictLoader({"x.html": "dict"})

    class Custom(Quart):
        jinja_options = {"loader": loader}

    assert Custom("tpl_app", root_path=str(tmp_path)).jinja_env.loader is loader


async def test_tojson_uses_the_apps_json_provider(app: Quart) -> None:
    # The standard json module cannot encode a date; the app's provider can.
    data = {"b": date(2024, 1, 2), "a": "</script>"}
    async with app.app_context():
        rv = await render_template_string("{{ data|tojson }}", data=data)
    assert rv == '{"a": "\\u003c/script\\u003e", "b": "Tue, 02 Jan 2024 00:00:00 GMT"}'


# -- the default context -----------------------------------------------------------------------


async def test_default_context_in_a_request(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "ctx.html": (
                "{{ config.NAME }}|{{ request.path }}|{{ request.args.q }}|{{ session.user }}"
                "|{{ g.value }}|{{ url_for('other', x=1) }}|{{ get_flashed_messages() }}"
            )
        },
        NAME="cfg",
    )

    @app.route("/page")
    async def page() -> str:
        session["user"] = "ann"
        g.value = "gv"
        return await render_template("ctx.html")

    @app.route("/other")
    async def other() -> str:
        return ""

    assert await get_text(app, "/page", query_string={"q": "s"}) == (
        200,
        "cfg|/page|s|ann|gv|/other?x=1|[]",
    )


async def test_request_and_g_in_the_context_are_the_real_objects(app: Quart) -> None:
    seen: dict[str, t.Any] = {}

    @app.context_processor
    def nothing() -> dict[str, t.Any]:
        return {}

    def record(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        seen.update(context)

    async with app.test_request_context("/"):
        with template_rendered.connected_to(record, app):
            await render_template_string("")
        assert seen["request"] is request._get_current_object()  # type: ignore[attr-defined]
        assert seen["g"] is g._get_current_object()


async def test_outside_a_request_config_g_and_url_for_work(app: Quart) -> None:
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/x")
    async def x() -> str:
        return ""

    async with app.app_context():
        g.n = 5
        rv = await render_template_string("{{ g.n }} {{ url_for('x') }} {{ config.SERVER_NAME }}")
    assert rv == "5 http://example.test/x example.test"


async def test_macros_in_imported_templates_see_the_request(tmp_path: Path) -> None:
    # Imports get no context by default: request reaches them through the globals.
    app = make_app(
        tmp_path,
        {
            "macros.html": "{% macro here() %}{{ request.path }}{% endmacro %}",
            "page.html": '{% import "macros.html" as m %}{{ m.here() }}',
        },
    )

    @app.route("/path")
    async def page() -> str:
        return await render_template("page.html")

    assert await get_text(app, "/path") == (200, "/path")


async def test_the_callers_context_wins_over_defaults_and_processors(app: Quart) -> None:
    @app.context_processor
    def proc() -> dict[str, t.Any]:
        return {"name": "processor", "other": "processor"}

    async with app.test_request_context("/"):
        rv = await render_template_string(
            "{{ name }} {{ other }} {{ request }} {{ g }}", name="caller", request="R", g="G"
        )
    assert rv == "caller processor R G"


# -- context processors -------------------------------------------------------------------------


async def test_sync_and_async_context_processors(app: Quart) -> None:
    threads: list[str] = []

    @app.context_processor
    def sync_proc() -> dict[str, t.Any]:
        threads.append(threading.current_thread().name)
        return {"a": "sync", "path": request.path}

    @app.context_processor
    async def async_proc() -> dict[str, t.Any]:
        return {"b": "async", "a": "async wins later"}

    @app.route("/p")
    async def view() -> str:
        return await render_template_string("{{ a }} {{ b }} {{ path }}")

    assert await get_text(app, "/p") == (200, "async wins later async /p")
    # The sync processor ran in the pool, with the request context copied in.
    assert threads and threads[0] != threading.main_thread().name


async def test_context_processors_run_for_every_render(app: Quart) -> None:
    calls: list[int] = []

    @app.context_processor
    async def counter() -> dict[str, t.Any]:
        calls.append(1)
        return {"n": len(calls)}

    async with app.app_context():
        assert await render_template_string("{{ n }}") == "1"
        assert await render_template_string("{{ n }}") == "2"


async def test_blueprint_templates_and_app_override(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"shared.html": "app version"})
    write(
        tmp_path / "bp1", {"shared.html": "bp1 version", "only_bp.html": "bp1 only", "x.html": "1"}
    )
    write(tmp_path / "bp2", {"x.html": "2", "bp2.html": "bp2 {{ request.blueprint }}"})
    bp1 = quartlike.Blueprint("bp1", __name__, root_path=str(tmp_path), template_folder="bp1")
    bp2 = quartlike.Blueprint("bp2", __name__, root_path=str(tmp_path), template_folder="bp2")

    @bp2.route("/")
    async def bp2_view() -> str:
        return await render_template("bp2.html")

    app.register_blueprint(bp1, url_prefix="/1")
    app.register_blueprint(bp2, url_prefix="/2")
    async with app.app_context():
        assert await render_template("shared.html") == "app version"
        assert await render_template("only_bp.html") == "bp1 only"
        # Blueprints are searched in registration order.
        assert await render_template("x.html") == "1"
    assert await get_text(app, "/2/") == (200, "bp2 bp2")


async def test_blueprint_context_processors_apply_to_its_requests(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    parent = quartlike.Blueprint("parent", __name__)
    child = quartlike.Blueprint("child", __name__)

    @app.context_processor
    def app_proc() -> dict[str, t.Any]:
        return {"who": "app", "app_only": "A"}

    @parent.context_processor
    async def parent_proc() -> dict[str, t.Any]:
        return {"who": "parent", "parent_only": "P"}

    @child.context_processor
    def child_proc() -> dict[str, t.Any]:
        return {"who": "child"}

    @parent.app_context_processor
    async def everywhere() -> dict[str, t.Any]:
        return {"everywhere": "E"}

    source = "{{ who }} {{ app_only }} {{ parent_only }} {{ everywhere }}"

    @app.route("/")
    async def root() -> str:
        return await render_template_string(source)

    @parent.route("/")
    async def parent_view() -> str:
        return await render_template_string(source)

    @child.route("/")
    async def child_view() -> str:
        return await render_template_string(source)

    parent.register_blueprint(child, url_prefix="/child")
    app.register_blueprint(parent, url_prefix="/parent")
    assert await get_text(app, "/") == (200, "app A  E")
    assert await get_text(app, "/parent/") == (200, "parent A P E")
    # The innermost blueprint's processor runs last, so it wins.
    assert await get_text(app, "/parent/child/") == (200, "child A P E")


def test_context_processor_is_a_setup_method(app: Quart) -> None:
    app._got_first_request = True
    with pytest.raises(AssertionError, match="context_processor"):
        app.context_processor(dict)


# -- filters, tests and globals ------------------------------------------------------------------


async def test_template_filter_forms(app: Quart) -> None:
    @app.template_filter()
    def rev(s: str) -> str:
        return s[::-1]

    @app.template_filter("shout")
    def make_loud(s: str) -> str:
        return s.upper()

    @app.template_filter
    def bare(s: str) -> str:
        return f"[{s}]"

    def twice(s: str) -> str:
        return s * 2

    app.add_template_filter(twice)
    app.add_template_filter(twice, "dup")
    assert rev("ab") == "ba"  # the decorators return the function
    assert bare("x") == "[x]"
    async with app.app_context():
        rv = await render_template_string(
            "{{ 'ab'|rev }} {{ 'ab'|shout }} {{ 'ab'|bare }} {{ 'ab'|twice }} {{ 'c'|dup }}"
        )
    assert rv == "ba AB [ab] abab cc"
    assert "make_loud" not in app.jinja_env.filters


async def test_template_test_forms(app: Quart) -> None:
    # (Jinja has built-in tests such as "odd" and "even"; these names are not taken.)
    @app.template_test()
    def triple(n: int) -> bool:
        return n % 3 == 0

    @app.template_test("big")
    def is_big(n: int) -> bool:
        return n > 100

    @app.template_test
    def quintuple(n: int) -> bool:
        return n % 5 == 0

    app.add_template_test(lambda n: n == 0, "zero")
    assert "is_big" not in app.jinja_env.tests
    async with app.app_context():
        rv = await render_template_string(
            "{{ 3 is triple }} {{ 200 is big }} {{ 10 is quintuple }} {{ 0 is zero }}"
            " {{ 1 is zero }} {{ 4 is triple }}"
        )
    assert rv == "True True True True False False"


async def test_template_global_forms_including_async_functions(app: Quart) -> None:
    @app.template_global()
    def one() -> int:
        return 1

    @app.template_global("two")
    def make_two() -> int:
        return 2

    @app.template_global
    async def fetch(key: str) -> str:
        await asyncio.sleep(0)
        return f"fetched {key}"

    app.add_template_global(lambda: 3, "three")
    async with app.app_context():
        rv = await render_template_string("{{ one() }} {{ two() }} {{ fetch('k') }} {{ three() }}")
    assert rv == "1 2 fetched k 3"


async def test_async_functions_passed_in_the_context_are_awaited(app: Quart) -> None:
    async def load(n: int) -> list[int]:
        await asyncio.sleep(0)
        return list(range(n))

    async with app.app_context():
        rv = await render_template_string(
            "{% for i in load(3) %}{{ i }}{% endfor %}|{{ load(2)|length }}", load=load
        )
    assert rv == "012|2"


async def test_async_filter_is_awaited(app: Quart) -> None:
    @app.template_filter()
    async def slow_upper(s: str) -> str:
        await asyncio.sleep(0)
        return s.upper()

    async with app.app_context():
        assert await render_template_string("{{ 'x'|slow_upper }}") == "X"


def test_template_registries_are_setup_methods(app: Quart) -> None:
    app._got_first_request = True
    for register in (app.template_filter, app.template_test, app.template_global):
        with pytest.raises(AssertionError):
            register("name")


async def test_blueprint_app_template_helpers(app: Quart) -> None:
    bp = quartlike.Blueprint("bp", __name__)

    @bp.app_template_filter()
    def f(s: str) -> str:
        return s + "!"

    @bp.app_template_test("yes")
    def t_(v: t.Any) -> bool:
        return True

    @bp.app_template_global
    def glob() -> str:
        return "G"

    app.register_blueprint(bp)
    async with app.app_context():
        assert await render_template_string("{{ 'a'|f }} {{ 1 is yes }} {{ glob() }}") == (
            "a! True G"
        )


# -- auto-reload ---------------------------------------------------------------------------------


def rewrite(path: Path, source: str) -> None:
    # Move the mtime well away, so the change is seen whatever the file system's clock granularity.
    stat = path.stat()
    path.write_text(source, encoding="utf-8")
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))


@pytest.mark.parametrize(
    ("setting", "debug", "reloads"),
    [(True, False, True), (False, True, False), (None, True, True), (None, False, False)],
)
async def test_templates_auto_reload(
    tmp_path: Path, setting: bool | None, debug: bool, reloads: bool
) -> None:
    app = make_app(tmp_path, {"t.html": "old"}, TEMPLATES_AUTO_RELOAD=setting, DEBUG=debug)
    assert app.templates_auto_reload is reloads
    async with app.app_context():
        assert await render_template("t.html") == "old"
        rewrite(tmp_path / "templates" / "t.html", "new")
        assert await render_template("t.html") == ("new" if reloads else "old")


async def test_changing_debug_or_the_property_updates_an_existing_environment(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, {"t.html": "v1"})
    assert app.jinja_env.auto_reload is False
    app.debug = True
    assert app.jinja_env.auto_reload is True
    app.templates_auto_reload = False
    assert app.config["TEMPLATES_AUTO_RELOAD"] is False
    assert app.jinja_env.auto_reload is False
    app.debug = False
    app.templates_auto_reload = True
    assert app.jinja_env.auto_reload is True
    async with app.app_context():
        assert await render_template("t.html") == "v1"
        rewrite(tmp_path / "templates" / "t.html", "v2")
        assert await render_template("t.html") == "v2"


# -- get_template_attribute -----------------------------------------------------------------------


async def test_get_template_attribute_macro_and_variable(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        {
            "_macros.html": (
                "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}"
                "{% macro user() %}{{ config.USER }}{% endmacro %}"
                "{% set answer = 42 %}"
            )
        },
        USER="ann",
    )
    async with app.app_context():
        hello = await get_template_attribute("_macros.html", "hello")
        assert await hello("<World>") == "Hello &lt;World&gt;!"
        user = await get_template_attribute("_macros.html", "user")
        assert await user() == "ann"
        assert await get_template_attribute("_macros.html", "answer") == 42
        with pytest.raises(AttributeError):
            await get_template_attribute("_macros.html", "missing")


# -- signals --------------------------------------------------------------------------------------


async def test_render_signals_in_order_with_template_and_context(tmp_path: Path) -> None:
    app = make_app(tmp_path, {"s.html": "{{ x }}{{ added }}"})
    events: list[tuple[str, t.Any, str | None, dict[str, t.Any]]] = []

    def before(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        # Receivers may still change the context.
        context["added"] = "+"
        events.append(("before", sender, template.name, dict(context)))

    async def after(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        events.append(("after", sender, template.name, dict(context)))

    @app.route("/")
    async def index() -> str:
        return await render_template("s.html", x=1)

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
    ):
        assert await get_text(app) == (200, "1+")
    assert [(e[0], e[1], e[2]) for e in events] == [
        ("before", app, "s.html"),
        ("after", app, "s.html"),
    ]
    assert events[0][3]["x"] == 1 and "request" in events[0][3]
    assert events[1][3]["added"] == "+"


async def test_render_template_string_sends_signals_too(app: Quart) -> None:
    names: list[str | None] = []

    async def record(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        names.append(template.name)

    with template_rendered.connected_to(record, app):
        async with app.app_context():
            await render_template_string("x")
    assert names == [None]


# -- streaming ----------------------------------------------------------------------------------


def http_scope(path: str) -> HTTPScope:
    """The scope an ASGI server would send for ``GET path`` to testserver."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


async def call_asgi(app: Quart, path: str) -> list[Message]:
    """Call the app as a server would and return every message it sent."""
    sent: list[Message] = []
    done = asyncio.Event()

    async def receive() -> Message:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await asyncio.wait_for(app(http_scope(path), receive, send), timeout=5)
    finally:
        done.set()
    return sent


async def test_stream_template_sends_several_chunks_in_the_request_context(
    tmp_path: Path,
) -> None:
    app = make_app(
        tmp_path,
        {"rows.html": "<ul>{% for r in rows %}<li>{{ r }} {{ where() }}</li>{% endfor %}</ul>"},
    )
    rendered: list[str | None] = []

    @app.template_global()
    async def where() -> str:
        await asyncio.sleep(0)
        return request.path

    @app.route("/rows")
    async def rows() -> t.Any:
        return await stream_template("rows.html", rows=["<a>", "b"])

    async def on_rendered(sender: Quart, template: jinja2.Template, **kwargs: t.Any) -> None:
        rendered.append(template.name)

    with template_rendered.connected_to(on_rendered, app):
        sent = await call_asgi(app, "/rows")
    start, *bodies = sent
    assert start["status"] == 200
    assert (b"content-type", b"text/html; charset=utf-8") in start["headers"]
    assert len([m for m in bodies if m["body"]]) > 2
    assert b"".join(m["body"] for m in bodies).decode() == (
        "<ul><li>&lt;a&gt; /rows</li><li>b /rows</li></ul>"
    )
    assert bodies[-1].get("more_body", False) is False
    assert rendered == ["rows.html"]


async def test_stream_template_string_through_the_test_client(app: Quart) -> None:
    @app.route("/s")
    async def s() -> t.Any:
        session["k"] = "v"
        return await stream_template_string(
            "{% for i in range(3) %}{{ i }}{% endfor %} {{ request.path }} {{ session.k }}"
        )

    app.secret_key = "k"
    response = await app.test_client().get("/s")
    assert await response.get_data(as_text=True) == "012 /s v"


async def test_stream_prepares_context_and_signals_before_the_first_chunk(app: Quart) -> None:
    events: list[str] = []

    @app.context_processor
    async def proc() -> dict[str, t.Any]:
        events.append("processor")
        return {"p": "P"}

    async def before(sender: Quart, **kwargs: t.Any) -> None:
        events.append("before")

    async def after(sender: Quart, **kwargs: t.Any) -> None:
        events.append("rendered")

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(after, app),
    ):
        async with app.app_context():
            stream = await stream_template_string("{{ p }}{{ mark() }}", mark=lambda: "m")
            assert events == ["processor", "before"]
            chunks = [chunk async for chunk in stream]
    assert "".join(chunks) == "Pm"
    assert events == ["processor", "before", "rendered"]


async def test_a_stream_closed_early_does_not_send_template_rendered(app: Quart) -> None:
    rendered: list[str] = []

    async def after(sender: Quart, **kwargs: t.Any) -> None:
        rendered.append("rendered")

    with template_rendered.connected_to(after, app):
        async with app.app_context():
            stream = await stream_template_string("a{{ x }}b{{ x }}c", x=1)
            assert isinstance(stream, cabc.AsyncGenerator)
            assert await anext(stream) == "a"
            await stream.aclose()
    assert rendered == []


async def test_stream_template_missing_template_fails_when_awaited(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.app_context():
        with pytest.raises(jinja2.TemplateNotFound):
            await stream_template("nope.html")


# -- explaining template loading ------------------------------------------------------------------


async def test_explain_template_loading_logs_the_search(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, {"both.html": "app"}, EXPLAIN_TEMPLATE_LOADING=True)
    write(tmp_path / "bpt", {"both.html": "bp"})
    bp = quartlike.Blueprint("bp", __name__, root_path=str(tmp_path), template_folder="bpt")
    app.register_blueprint(bp)
    with caplog.at_level(logging.INFO, logger=app.logger.name):
        async with app.app_context():
            assert await render_template("both.html") == "app"
            with pytest.raises(jinja2.TemplateNotFound):
                await render_template("none.html")
    text = caplog.text
    assert "Locating template 'both.html'" in text
    assert f"found: {tmp_path / 'templates' / 'both.html'}" in text
    assert f"found: {tmp_path / 'bpt' / 'both.html'}" in text
    assert "first match is used" in text
    assert "Locating template 'none.html'" in text and "Not found" in text


# -- differential: the same templates rendered by Flask ------------------------------------------

DIFF_TEMPLATES = {
    "base.html": "<h1>{% block title %}{% endblock %}</h1>{% block body %}{% endblock %}",
    "page.html": (
        '{% extends "base.html" %}{% block title %}{{ title }}{% endblock %}'
        "{% block body %}{% for item in items %}<li>{{ item|shout }}</li>{% endfor %}"
        "{{ greeting }} {{ request.path }} {{ request.args.get('q', '-') }}"
        " {{ config.SITE }} {{ url_for('page', q='x y') }} {{ g.who }}"
        " {{ 3 is lucky }} {{ twice(4) }} {{ data|tojson }}{% endblock %}"
    ),
    "plain.txt": "{{ value }} {{ session.get('n', 0) }}",
    "macros.html": '{% macro box(v) %}<div class="{{ v }}">{{ caller() }}</div>{% endmacro %}',
    "uses_macro.svg": '{% import "macros.html" as m %}{% call m.box("<x>") %}{{ v }}{% endcall %}',
}

DIFF_STRING = "{{ value }}{% if value is lucky %}!{% endif %}{{ greeting }}"


def configure_for_diff(app: flask.Flask | Quart) -> None:
    app.config.update(SECRET_KEY="shared key", SITE="<site>")

    @app.template_filter("shout")
    def shout(s: str) -> str:
        return s.upper()

    @app.template_test("lucky")
    def lucky(n: int) -> bool:
        return n == 3

    @app.template_global("twice")
    def twice(n: int) -> int:
        return n * 2

    @app.context_processor
    def greeting() -> dict[str, t.Any]:
        return {"greeting": "<hi>", "title": "processor title"}

    @app.before_request
    def who() -> None:
        (flask.g if isinstance(app, flask.Flask) else g).who = "<who>"


PAGE_CONTEXT: dict[str, t.Any] = {
    "title": "A & B",
    "items": ["a", "<b>"],
    "data": {"k": ["</script>", 1], "a": None},
}


def make_flask_app(root: Path) -> flask.Flask:
    app = flask.Flask("diff_flask", root_path=str(root))
    configure_for_diff(app)

    @app.route("/page")
    def page() -> str:
        return flask.render_template("page.html", **PAGE_CONTEXT)

    @app.route("/plain")
    def plain() -> str:
        flask.session["n"] = 7
        return flask.render_template("plain.txt", value="<raw>")

    @app.route("/svg")
    def svg() -> str:
        return flask.render_template("uses_macro.svg", v="&")

    @app.route("/string")
    def string() -> str:
        return flask.render_template_string(DIFF_STRING, value=3)

    @app.route("/stream")
    def stream() -> t.Any:
        return flask.stream_template("page.html", **PAGE_CONTEXT)

    @app.route("/missing")
    def missing() -> str:
        return flask.render_template("missing.html")

    return app


def make_quartlike_app(root: Path) -> Quart:
    app = Quart("diff_quartlike", root_path=str(root))
    configure_for_diff(app)

    @app.route("/page")
    async def page() -> str:
        return await render_template("page.html", **PAGE_CONTEXT)

    @app.route("/plain")
    async def plain() -> str:
        session["n"] = 7
        return await render_template("plain.txt", value="<raw>")

    @app.route("/svg")
    async def svg() -> str:
        return await render_template("uses_macro.svg", v="&")

    @app.route("/string")
    async def string() -> str:
        return await render_template_string(DIFF_STRING, value=3)

    @app.route("/stream")
    async def stream() -> t.Any:
        return await stream_template("page.html", **PAGE_CONTEXT)

    @app.route("/missing")
    async def missing() -> str:
        return await render_template("missing.html")

    return app


@pytest.mark.parametrize("path", ["/page?q=1", "/plain", "/svg", "/string", "/stream", "/missing"])
async def test_same_templates_render_like_flask(
    tmp_path: Path, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "templates", DIFF_TEMPLATES)
    flask_app = make_flask_app(tmp_path)
    quart_app = make_quartlike_app(tmp_path)
    with caplog.at_level(logging.CRITICAL):  # /missing logs its 500 in both
        expected = flask_app.test_client().get(path)
        got = await quart_app.test_client().get(path)
    assert got.status_code == expected.status_code
    assert await got.get_data(as_text=True) == expected.get_data(as_text=True)
    if path != "/missing":
        assert expected.status_code == 200
        assert got.mimetype == expected.mimetype
