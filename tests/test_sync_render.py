"""Templates rendered from sync code, in the calling thread (``quartlike.templating_sync``).

A plain ``def`` view calling ``render_template`` renders in its own thread
when nothing in the render needs the event loop, and through the sync bridge
(on the loop) otherwise. The first part builds one app twice, on Flask and on
``quartlike.flask``, and compares what the two send back. The rest shows
which path a render took, with a template global that records the thread it
is called in and whether an event loop runs there.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import os
import threading
import traceback
import types
import typing as t
from pathlib import Path

import flask
import jinja2
import pytest

import quartlike
import quartlike.flask
from quartlike import Quart
from quartlike.flask import Flask
from quartlike.flask import render_template
from quartlike.flask import render_template_string
from quartlike.signals import before_render_template
from quartlike.signals import template_rendered
from quartlike.sync import on_event_loop
from quartlike.testing import QuartClient

# -- one app, two frameworks --------------------------------------------------------------

TEMPLATES = {
    "base.html": (
        "<title>{% block title %}Site{% endblock %} - {{ config.SITE }}</title>"
        "{% block body %}{% endblock %}"
    ),
    "_macros.html": (
        "{% macro field(name, value='') %}"
        '<input name="{{ name }}" value="{{ value }}">'
        "{% endmacro %}"
    ),
    "_row.html": "<li>{{ loop_index }}:{{ item.name|title }}={{ item.price }}</li>",
    "page.html": (
        '{% extends "base.html" %}{% import "_macros.html" as forms %}'
        "{% block title %}{{ heading|upper }}{% endblock %}"
        "{% block body %}"
        "<p>{{ note }}</p>"
        "<p>{{ request.args.get('q', 'none') }}|{{ request.path }}|{{ g.user }}"
        "|{{ session.get('name') }}|{{ app_value }}|{{ global_value() }}</p>"
        "<a href=\"{{ url_for('page', q='a b') }}\">again</a>"
        "<ul>{% for item in items %}{% set loop_index = loop.index %}"
        '{% include "_row.html" %}{% endfor %}</ul>'
        "{{ items|map(attribute='name')|join(', ') }} ({{ items|length }})"
        "{% for category, message in get_flashed_messages(with_categories=true) %}"
        "<p class={{ category }}>{{ message }}</p>{% endfor %}"
        "{{ forms.field('q', '<b>') }}{{ 'x'|shout }}{% if 7 is odd_number %} odd{% endif %}"
        "|{{ data.name }}|{{ data.missing }}|{{ data.get('name') }}|{{ data.values()|list|length }}"
        "|{{ data|attr('name') }}|{{ missing_name|default('dflt') }}"
        "{% endblock %}"
    ),
    "plain.txt": "{{ note }} stays <raw>",
}
BLUEPRINT_TEMPLATES = {
    "shop/index.html": (
        '{% extends "base.html" %}{% block body %}{{ shop_value }}|{{ app_value }}'
        "|{{ everywhere }}|{{ url_for('shop.index') }}{% endblock %}"
    ),
}


def write_templates(folder: Path, templates: dict[str, str]) -> None:
    for name, source in templates.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)


def build(mod: types.ModuleType, root: Path) -> t.Any:
    """The same app, written once against ``mod`` (``flask`` or ``quartlike.flask``)."""
    app = mod.Flask("difftest", root_path=str(root))
    app.config.update(TESTING=True, SECRET_KEY="k", SITE="Shop & Co")

    @app.context_processor
    def app_values() -> dict[str, t.Any]:
        return {"app_value": "from-app", "note": "processor note (the caller wins)"}

    @app.template_filter()
    def shout(value: str) -> t.Any:
        return value.upper() + "!"

    @app.template_test("odd_number")
    def odd_number(value: int) -> bool:
        return value % 2 == 1

    @app.template_global()
    def global_value() -> t.Any:
        return "from-global"

    @app.before_request
    def set_user() -> None:
        mod.g.user = "ann <admin>"

    @app.route("/login")
    def login() -> t.Any:
        mod.session["name"] = "Ann"
        mod.flash("Welcome <back>", "info")
        mod.flash("Plain")
        return "ok"

    @app.route("/page")
    def page() -> t.Any:
        items = [{"name": "apple pie", "price": 3}, {"name": "<script>x</script>", "price": 4}]
        return mod.render_template(
            "page.html",
            heading="Items",
            items=items,
            note="<script>alert(1)</script>",
            data={"name": "dict item", "values": "a key named like a dict method"},
        )

    @app.route("/list")
    def first_existing() -> t.Any:
        return mod.render_template(["missing.html", "plain.txt"], note="<b>")

    @app.route("/string")
    def string() -> t.Any:
        return mod.render_template_string(
            "{{ s }} {{ app_value }} {{ request.args.n|int + 1 }} {{ config.SITE }}",
            s="<i>",
        )

    shop = mod.Blueprint(
        "shop", "difftest", url_prefix="/shop", root_path=str(root), template_folder="bp_templates"
    )

    @shop.context_processor
    def shop_values() -> dict[str, t.Any]:
        return {"shop_value": "from-shop", "app_value": "overridden by the blueprint"}

    @shop.app_context_processor
    def everywhere() -> dict[str, t.Any]:
        return {"everywhere": "from-app-processor-of-shop"}

    @shop.route("/")
    def index() -> t.Any:
        return mod.render_template("shop/index.html")

    app.register_blueprint(shop)

    @app.route("/missing")
    def missing() -> t.Any:
        return mod.render_template("nope.html")

    @app.route("/missing-list")
    def missing_list() -> t.Any:
        return mod.render_template(["nope.html", "nope2.html"])

    @app.route("/broken")
    def broken() -> t.Any:
        return mod.render_template_string("line one\n{{ n // zero }}", n=1, zero=0)

    return app


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_templates(tmp_path / "templates", TEMPLATES)
    write_templates(tmp_path / "bp_templates", BLUEPRINT_TEMPLATES)
    return tmp_path


@pytest.fixture
def apps(root: Path) -> tuple[t.Any, Flask]:
    return build(flask, root), t.cast(Flask, build(quartlike.flask, root))


@pytest.mark.parametrize(
    ("path", "login"),
    [
        ("/page?q=%3Cscript%3E", True),
        ("/page", False),
        ("/list", False),
        ("/string?n=41", False),
        ("/shop/", False),
    ],
)
def test_sync_views_render_as_in_flask(apps: tuple[t.Any, Flask], path: str, login: bool) -> None:
    answers = []
    for app in apps:
        client = app.test_client()
        if login:
            assert client.get("/login").status_code == 200
        rv = client.get(path)
        answers.append((rv.status_code, rv.get_data(as_text=True)))
    assert answers[0] == answers[1]
    status, body = answers[1]
    assert status == 200
    if path.startswith("/page"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    if login:
        assert "<p class=info>Welcome &lt;back&gt;</p>" in body and "|Ann|" in body
    if path == "/page":
        # Attribute first, then item: ``data.values`` is the method, not the item.
        assert body.endswith("|dict item||dict item|2||dflt")


@pytest.mark.parametrize("path", ["/missing", "/missing-list", "/broken"])
def test_errors_are_the_ones_flask_raises(apps: tuple[t.Any, Flask], path: str) -> None:
    errors = []
    for app in apps:
        with pytest.raises(Exception) as info:
            app.test_client().get(path)
        errors.append(info.value)
    flask_error, our_error = errors
    assert type(our_error) is type(flask_error)
    assert str(our_error) == str(flask_error)
    if path == "/broken":
        # Jinja's traceback rewrite points at the template's line.
        frames = traceback.extract_tb(our_error.__traceback__)
        assert any(f.filename == "<template>" and f.lineno == 2 for f in frames)


# -- which path a render takes --------------------------------------------------------------


class Probe:
    """A template global that records where the template runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[threading.Thread, bool]] = []

    def __call__(self) -> str:
        self.calls.append((threading.current_thread(), on_event_loop()))
        return "probed"

    def last(self) -> tuple[threading.Thread, bool]:
        return self.calls[-1]


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    write_templates(tmp_path / "templates", {"page.html": "{{ probe() }}:{{ value }}"})
    app = Flask("sync_render", root_path=str(tmp_path))
    app.config.update(TESTING=True, SECRET_KEY="k")
    return app


@pytest.fixture
def probe(app: Flask) -> Probe:
    probe = Probe()
    app.jinja_env.globals["probe"] = probe
    return probe


async def fetch(key: str) -> str:
    await asyncio.sleep(0)
    return f"fetched {key}"


def view_recording_its_thread(
    app: Flask, render: cabc.Callable[[], str], seen: list[threading.Thread]
) -> None:
    @app.route("/")
    def view() -> str:
        seen.append(threading.current_thread())
        return render()


def test_a_sync_view_renders_in_its_own_thread(app: Flask, probe: Probe) -> None:
    seen: list[threading.Thread] = []
    view_recording_its_thread(app, lambda: render_template("page.html", value="v"), seen)
    assert app.test_client().get("/").text == "probed:v"
    assert probe.last() == (seen[-1], False)


async def test_in_the_thread_pool_too(app: Flask, probe: Probe) -> None:
    # Through the async client, as under a server: the view runs in a pool thread.
    seen: list[threading.Thread] = []
    view_recording_its_thread(app, lambda: render_template("page.html", value="v"), seen)
    rv = await QuartClient(app).get("/")
    assert await rv.get_data(as_text=True) == "probed:v"
    assert seen[-1] is not threading.current_thread()
    assert probe.last() == (seen[-1], False)


def test_the_core_render_template_of_a_plain_quart_app(tmp_path: Path) -> None:
    app = Quart("core_app", root_path=str(tmp_path))
    probe = Probe()
    app.jinja_env.globals["probe"] = probe
    seen: list[threading.Thread] = []

    @app.route("/")
    def view() -> str:
        seen.append(threading.current_thread())
        return t.cast(str, quartlike.render_template_string("{{ probe() }}"))

    async def main() -> str:
        rv = await QuartClient(app).get("/")
        return t.cast(str, await rv.get_data(as_text=True))

    assert asyncio.run(main()) == "probed"
    assert probe.last() == (seen[-1], False)


async def test_async_views_still_render_on_the_loop(app: Flask, probe: Probe) -> None:
    @app.route("/")
    async def view() -> str:
        return t.cast(str, await quartlike.render_template("page.html", value="a"))

    rv = await QuartClient(app).get("/")
    assert await rv.get_data(as_text=True) == "probed:a"
    assert probe.last() == (threading.current_thread(), True)


def test_an_async_function_in_the_context_renders_on_the_loop(app: Flask, probe: Probe) -> None:
    seen: list[threading.Thread] = []
    view_recording_its_thread(
        app, lambda: render_template_string("{{ probe() }}:{{ fetch('a') }}", fetch=fetch), seen
    )
    assert app.test_client().get("/").text == "probed:fetched a"
    thread, on_loop = probe.last()
    assert on_loop and thread is not seen[-1]


def test_an_async_context_processor_renders_on_the_loop(app: Flask, probe: Probe) -> None:
    @app.context_processor
    async def value() -> dict[str, str]:
        return {"value": await fetch("p")}

    with app.test_request_context("/"):
        assert render_template("page.html") == "probed:fetched p"
    assert probe.last()[1] is True


def test_a_sync_processor_returning_an_async_value_runs_once(app: Flask, probe: Probe) -> None:
    runs: list[threading.Thread] = []

    @app.context_processor
    def loader() -> dict[str, t.Any]:
        runs.append(threading.current_thread())
        return {"load": fetch}

    with app.test_request_context("/"):
        assert render_template_string("{{ probe() }}|{{ load('x') }}") == "probed|fetched x"
    # The processor ran once, here; the template then ran on the loop.
    assert runs == [threading.current_thread()]
    assert probe.last()[1] is True


def test_an_async_filter_added_after_a_first_render(app: Flask, probe: Probe) -> None:
    with app.test_request_context("/"):
        assert render_template_string("{{ probe() }}") == "probed"
        assert probe.last() == (threading.current_thread(), False)

        async def shout(value: str) -> str:
            return value.upper()

        app.jinja_env.filters["shout"] = shout
        assert render_template_string("{{ probe() }} {{ 'a'|shout }}") == "probed A"
        assert probe.last()[1] is True

        # Without it, renders come back to the thread.
        del app.jinja_env.filters["shout"]
        assert render_template_string("{{ probe() }}") == "probed"
        assert probe.last()[1] is False


def test_replacing_a_filter_by_name_with_add_template_filter(app: Flask, probe: Probe) -> None:
    def shout(value: str) -> str:
        return value + "!"

    app.add_template_filter(shout)
    with app.test_request_context("/"):
        assert render_template_string("{{ probe() }} {{ 'a'|shout }}") == "probed a!"
        assert probe.last()[1] is False

        async def shout_async(value: str) -> str:
            return value + "?"

        app.add_template_filter(shout_async, "shout")  # same name, same number of filters
        assert render_template_string("{{ probe() }} {{ 'a'|shout }}") == "probed a?"
        assert probe.last()[1] is True


def test_a_template_of_the_apps_environment_renders_on_the_loop(app: Flask, probe: Probe) -> None:
    with app.test_request_context("/"):
        template = app.jinja_env.get_template("page.html")
        assert render_template(template, value="t") == "probed:t"
        assert probe.last()[1] is True


def test_an_async_method_called_by_the_template_is_awaited(app: Flask, probe: Probe) -> None:
    class User:
        async def greeting(self) -> str:
            return await fetch("greeting")

    with app.test_request_context("/"):
        rendered = render_template_string("{{ probe() }} {{ user.greeting() }}", user=User())
    assert rendered == "probed fetched greeting"
    assert probe.last() == (threading.current_thread(), False)


# -- signals ------------------------------------------------------------------------------


def test_render_signals_get_the_template_and_context(app: Flask, probe: Probe) -> None:
    events: list[tuple[str, str | None, dict[str, t.Any], threading.Thread]] = []

    def before(sender: Flask, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        events.append(("before", template.name, dict(context), threading.current_thread()))
        context["value"] = "changed by a receiver"

    async def after(sender: Flask, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        await asyncio.sleep(0)
        events.append(("after", template.name, dict(context), threading.current_thread()))

    @app.context_processor
    def extra() -> dict[str, str]:
        return {"extra": "from a processor"}

    before_render_template.connect(before, app)
    template_rendered.connect(after, app)
    try:
        with app.test_request_context("/"):
            assert render_template("page.html", value="v") == "probed:changed by a receiver"
    finally:
        before_render_template.disconnect(before, app)
        template_rendered.disconnect(after, app)
    assert probe.last() == (threading.current_thread(), False)
    (kind1, name1, ctx1, thread1), (kind2, name2, ctx2, _) = events
    assert (kind1, name1, kind2, name2) == ("before", "page.html", "after", "page.html")
    assert ctx1["value"] == "v" and ctx1["extra"] == "from a processor" and "request" in ctx1
    assert ctx2["value"] == "changed by a receiver"
    assert thread1 is threading.current_thread()  # a sync receiver runs in the caller's thread


def test_a_receiver_adding_an_async_value_sends_each_signal_once(app: Flask, probe: Probe) -> None:
    sent: list[str] = []

    def before(sender: Flask, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        sent.append("before")
        context["fetch"] = fetch

    def after(sender: Flask, **kwargs: t.Any) -> None:
        sent.append("after")

    before_render_template.connect(before, app)
    template_rendered.connect(after, app)
    try:
        with app.test_request_context("/"):
            assert render_template_string("{{ probe() }} {{ fetch('r') }}") == "probed fetched r"
    finally:
        before_render_template.disconnect(before, app)
        template_rendered.disconnect(after, app)
    assert sent == ["before", "after"]
    assert probe.last()[1] is True


# -- following the environment ------------------------------------------------------------


def test_changes_to_the_environment_after_a_first_render(app: Flask, tmp_path: Path) -> None:
    page = tmp_path / "templates" / "reload.html"
    page.write_text("one")
    with app.test_request_context("/"):
        assert render_template("reload.html") == "one"
        page.write_text("two")
        stat = page.stat()
        os.utime(page, (stat.st_atime, stat.st_mtime + 10))
        assert render_template("reload.html") == "one"  # cached, auto-reload off
        app.templates_auto_reload = True
        assert render_template("reload.html") == "two"

        app.jinja_env.trim_blocks = True
        assert render_template_string("{% if true %}\nx{% endif %}") == "x"
        app.jinja_env.add_extension("jinja2.ext.do")
        assert render_template_string("{% set l = [] %}{% do l.append(1) %}{{ l }}") == "[1]"
        app.jinja_env.globals["site"] = "first"
        assert render_template_string("{{ site }}") == "first"

        app.jinja_env = app.create_jinja_environment()
        app.jinja_env.globals["site"] = "second"
        assert render_template_string("{{ site }}") == "second"


def test_autoescaping_follows_the_file_name(app: Flask, tmp_path: Path) -> None:
    write_templates(tmp_path / "templates", {"a.html": "{{ v }}", "a.txt": "{{ v }}"})
    with app.test_request_context("/"):
        assert render_template("a.html", v="<b>") == "&lt;b&gt;"
        assert render_template("a.txt", v="<b>") == "<b>"
        assert render_template_string("{{ v }}", v="<b>") == "&lt;b&gt;"
