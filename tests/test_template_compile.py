"""The fast render path: quartlike's rewrite of Jinja's async template code.

:class:`quartlike.templating.Environment` compiles every template with three
rewrites (skip ``auto_await`` for plain values, a plain ``for`` over plain
iterables, a buffered version of the render and block functions) and renders
through the buffered version with a cheaper context copy. Each test here renders
the same templates with a stock ``jinja2.Environment(enable_async=True)`` (no
rewrite) and with quartlike's environment, every way quartlike renders (the
buffered path, ``render_async`` and ``generate_async`` over the rewritten
generators), and requires identical output, with plain values and with
awaitables (coroutines that really suspend) in every place the async mode awaits.
"""

from __future__ import annotations

import ast
import asyncio
import collections.abc as cabc
import traceback
import typing as t
from pathlib import Path

import jinja2
import pytest
from jinja2.runtime import Context
from markupsafe import Markup

from quartlike import Blueprint
from quartlike import Quart
from quartlike import render_template
from quartlike import render_template_string
from quartlike.jinja_rewrite import _BUFFERED
from quartlike.jinja_rewrite import _MAX_LOOP_SPLIT_DEPTH
from quartlike.jinja_rewrite import _rewrite_module
from quartlike.signals import before_render_template
from quartlike.signals import template_rendered
from quartlike.templating import Environment
from quartlike.templating import _new_context
from quartlike.templating import _render_buffered

# -- values, plain and async ------------------------------------------------------------------


async def later(value: t.Any) -> t.Any:
    """``value``, after really suspending (a rewrite that skips an await breaks here)."""
    await asyncio.sleep(0)
    return value


class AIter:
    """An async iterable (only: no ``__iter__``) that can be iterated again."""

    def __init__(self, values: cabc.Iterable[t.Any]) -> None:
        self.values = list(values)

    async def _iterate(self) -> cabc.AsyncIterator[t.Any]:
        for value in self.values:
            await asyncio.sleep(0)
            yield value

    def __aiter__(self) -> cabc.AsyncIterator[t.Any]:
        return self._iterate()


class AsyncMapping(cabc.Mapping[str, t.Any]):
    """A mapping whose values are coroutines, made when a value is looked up."""

    def __init__(self, **values: t.Any) -> None:
        self._values = values

    def __getitem__(self, key: str) -> cabc.Awaitable[t.Any]:
        return later(self._values[key])

    def __iter__(self) -> cabc.Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class Item:
    def __init__(self, name: str, price: int, kids: list[Item] | None = None) -> None:
        self.name = name
        self.price = price
        self.kids = kids or []


class AsyncItem:
    """Like :class:`Item`, but every attribute is a coroutine to await."""

    def __init__(self, name: str, price: int, kids: list[AsyncItem] | None = None) -> None:
        self._name, self._price, self._kids = name, price, kids or []

    @property
    def name(self) -> cabc.Awaitable[str]:
        return later(self._name)

    @property
    def price(self) -> cabc.Awaitable[int]:
        return later(self._price)

    @property
    def kids(self) -> cabc.Awaitable[list[AsyncItem]]:
        return later(self._kids)


class Html:
    def __html__(self) -> str:
        return "<b>html</b>"


def plain_context() -> dict[str, t.Any]:
    return {
        "title": "Items <&>",
        "items": [Item(f"item{i}", i * 10) for i in range(4)],
        "dicts": [{"name": f"d{i}", "price": i} for i in range(3)],
        "empty": [],
        "mapping": {"a": 1, "b": 2},
        "tree": [Item("r", 0, [Item("c1", 1), Item("c2", 2, [Item("g", 3)])])],
        "pairs": [(1, "x"), (2, "y")],
        "nested": [[[[["deep"]]]]],
        "f": lambda n: n * 2,
        "markup": Markup("<i>safe</i>"),
        "html": Html(),
        "number": 1.5,
        "flag": True,
        "nothing": None,
        "layout": "base.html",
    }


def async_context() -> dict[str, t.Any]:
    """The names of :func:`plain_context`, made of awaitables and async iterables."""

    async def f(n: int) -> int:
        return t.cast(int, await later(n * 2))

    return {
        **plain_context(),
        "items": AIter(AsyncItem(f"item{i}", i * 10) for i in range(4)),
        "dicts": AIter(AsyncMapping(name=f"d{i}", price=i) for i in range(3)),
        "empty": AIter([]),
        "tree": AIter(
            [AsyncItem("r", 0, [AsyncItem("c1", 1), AsyncItem("c2", 2, [AsyncItem("g", 3)])])]
        ),
        "pairs": AIter([(1, "x"), (2, "y")]),
        "nested": AIter([AIter([AIter([AIter([AIter(["deep"])])])])]),
        "f": f,
    }


TEMPLATES = {
    "items.html": (
        "<!doctype html>\n<title>{{ title }}</title>\n<ul>\n"
        "{% for item in items %}  <li>{{ item.name }}: {{ item.price }}</li>\n{% endfor %}</ul>"
    ),
    "loop.html": (
        "{% for item in items %}{{ loop.index }}/{{ loop.length }}{{ loop.first }}"
        "{{ loop.last }}{{ loop.revindex }}{{ loop.cycle('a', 'b') }}{{ loop.changed(item.price) }}"
        "[{{ loop.previtem.name if loop.previtem }}|{{ loop.nextitem.name if loop.nextitem }}]"
        "{{ item.name }};{% else %}none{% endfor %}"
        "{% for x in empty %}{{ x }}{% else %}empty{% endfor %}"
        "{% for item in items if item.price > 10 %}{{ loop.index }}{{ item.name }}{% endfor %}"
        "{% for a, b in pairs %}{{ a }}={{ b }},{% endfor %}"
        "{% for k, v in mapping.items() %}{{ k }}{{ v }}{% endfor %}"
        "{% for c in 'abc' %}{{ c }}{% endfor %}{% for x in undefined_name %}x{% endfor %}"
        "{% for d in dicts %}{{ d.name }}{{ d['price'] }}{% endfor %}"
    ),
    "deep.html": (
        "{% for a in nested %}{% for b in a %}{% for c in b %}{% for d in c %}"
        "{% for e in d %}{{ e }}{{ loop.index }}{% endfor %}{% endfor %}{% endfor %}"
        "{% endfor %}{% endfor %}"
    ),
    "recursive.html": (
        "{% for node in tree recursive %}<{{ node.name }}{{ loop.depth }}"
        "{% if node.kids %}({{ loop(node.kids) }}){% endif %}>{% endfor %}"
    ),
    "control.html": (
        "{% for item in items %}{% if loop.index == 2 %}{% continue %}{% endif %}"
        "{{ item.name }}{% if loop.index == 3 %}{% break %}{% endif %}{% endfor %}|"
        "{% set ns = namespace(total=0) %}{% for item in items %}"
        "{% set ns.total = ns.total + item.price %}{% endfor %}{{ ns.total }}|"
        "{% set captured %}{% for item in items %}{{ item.name }}{% endfor %}{% endset %}"
        "{{ captured|upper }}|{% filter upper %}{% for i in items %}{{ i.name }}{% endfor %}"
        "{% endfilter %}|{% with n = f(21) %}{{ n }}{% endwith %}|{{ f(2) + f(3) }}|"
        "{% if f(1) == 2 %}yes{% endif %}|{{ 'a' if flag else 'b' }}|{{ nothing }}|"
        "{{ number }}|{{ markup }}|{{ html }}|{{ title|e }}|{{ title|safe }}|"
        "{{ pairs|map('last')|join(',') }}|{{ pairs|map('first')|sum }}|"
        "{{ items|list|length }}|{{ mapping['a'] }}{{ mapping.b }}|{{ missing_name }}"
    ),
    "macros.html": (
        "{% macro row(item, sep='-') %}<td>{{ item.name }}{{ sep }}{{ item.price }}"
        "{% if caller %}{{ caller(item) }}{% endif %}</td>{% endmacro %}"
        "{% macro total(items) %}{% for i in items %}{{ i.price }}{% endfor %}{% endmacro %}"
    ),
    "use_macros.html": (
        "{% import 'macros.html' as m %}{% from 'macros.html' import row %}"
        "{% for item in items %}{{ row(item) }}{% call(it) m.row(item, '+') %}[{{ it.name }}]"
        "{% endcall %}{% endfor %}{{ m.total(dicts) }}"
    ),
    "base.html": (
        "<head>{% block head %}<title>{% block title %}Base{% endblock %}</title>{% endblock %}"
        "</head><body>{% block body %}base body{% endblock %}"
        "{% for item in items %}{% block row scoped %}[{{ item.name }}]{% endblock %}{% endfor %}"
        "</body>{% block foot %}{% endblock %}"
    ),
    "middle.html": (
        "{% extends 'base.html' %}{% block title %}Middle - {{ super() }}{% endblock %}"
        "{% block body %}<main>{% block content %}{% endblock %}</main>{% endblock %}"
        "{% block row %}({{ super() }}{{ item.price }}){% endblock %}"
    ),
    "child.html": (
        "{% extends layout if flag else 'base.html' %}"
        "{% block title %}{{ title }} | {{ super() }}{% endblock %}"
        "{% block body %}{% for item in items %}{{ item.name }}{% endfor %}"
        "{{ self.title() }}{% endblock %}"
        "{% block foot %}{% include 'inc.html' %}{% include ['nope.html', 'inc.html'] %}"
        "{% include 'nope.html' ignore missing %}"
        "{% include 'inc.html' without context %}{% endblock %}"
    ),
    "grandchild.html": (
        "{% extends 'middle.html' %}{% block content %}{{ title }}:"
        "{% for d in dicts %}{{ d.name }}{% endfor %}{% endblock %}"
    ),
    "inc.html": "<inc {{ title }}{% for p in pairs %}{{ p[0] }}{% endfor %}>",
}
TEMPLATE_NAMES = sorted(name for name in TEMPLATES if name != "macros.html")


def configure(env: jinja2.Environment) -> jinja2.Environment:
    async def shout(value: t.Any) -> str:
        return str(await later(value)).upper()

    async def is_even(value: int) -> bool:
        return t.cast(bool, await later(value % 2 == 0))

    env.filters["shout"] = shout
    env.tests["even"] = is_even
    env.globals["fetch"] = later
    return env


def reference_env() -> jinja2.Environment:
    """Jinja's own async environment: the expected output."""
    return configure(
        jinja2.Environment(
            enable_async=True,
            autoescape=True,
            loader=jinja2.DictLoader(TEMPLATES),
            extensions=["jinja2.ext.loopcontrols"],
        )
    )


def quartlike_env(app: Quart, templates: dict[str, str] = TEMPLATES) -> jinja2.Environment:
    return configure(
        Environment(
            app,
            autoescape=True,
            loader=jinja2.DictLoader(templates),
            extensions=["jinja2.ext.loopcontrols"],
        )
    )


async def renders(template: jinja2.Template, context: dict[str, t.Any], way: int) -> str:
    """The template rendered one of the ways quartlike renders it."""
    assert getattr(template.root_render_func, _BUFFERED, None) is not None
    if way == 0:
        return await _render_buffered(template, dict(context))
    if way == 1:
        return await template.render_async(dict(context))
    return "".join([chunk async for chunk in template.generate_async(dict(context))])


async def every_way(template: jinja2.Template, context: dict[str, t.Any]) -> list[str]:
    return [await renders(template, context, way) for way in range(3)]


async def assert_same_output(
    app: Quart, name: str, make_context: cabc.Callable[[], dict[str, t.Any]]
) -> str:
    expected = await reference_env().get_template(name).render_async(make_context())
    template = quartlike_env(app).get_template(name)
    got = [await renders(template, make_context(), way) for way in range(3)]
    assert got == [expected] * 3
    return expected


# -- the same output as Jinja's own async mode ------------------------------------------------


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_plain_values_render_like_jinja(app: Quart, name: str) -> None:
    await assert_same_output(app, name, plain_context)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_awaitables_and_async_iterables_render_like_jinja(app: Quart, name: str) -> None:
    await assert_same_output(app, name, async_context)


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
async def test_plain_and_async_values_give_the_same_page(app: Quart, name: str) -> None:
    # The async values stand for the plain ones, so the pages are equal too: proof
    # that the awaitables were awaited, not printed.
    plain = await assert_same_output(app, name, plain_context)
    assert plain == await assert_same_output(app, name, async_context)
    assert "coroutine" not in plain


async def test_expected_pages(app: Quart) -> None:
    # A few outputs spelled out, so that Jinja itself changing is noticed too.
    items = await assert_same_output(app, "items.html", async_context)
    assert "<title>Items &lt;&amp;&gt;</title>" in items
    assert "<li>item3: 30</li>" in items
    loop = await assert_same_output(app, "loop.html", async_context)
    assert loop.startswith("1/4TrueFalse4aTrue[|item1]item0;2/4FalseFalse3bTrue[item0|item2]")
    assert "emptyempty" not in loop and "empty" in loop
    assert await assert_same_output(app, "deep.html", async_context) == "deep1"
    assert await assert_same_output(app, "recursive.html", async_context) == (
        "<r1(<c12><c22(<g3>)>)>"
    )
    control = await assert_same_output(app, "control.html", async_context)
    assert control.startswith(
        "item0item2|60|ITEM0ITEM1ITEM2ITEM3|ITEM0ITEM1ITEM2ITEM3|42|10|yes|a|"
    )
    grandchild = await assert_same_output(app, "grandchild.html", plain_context)
    assert grandchild == (
        "<head><title>Middle - Base</title></head><body><main>Items &lt;&amp;&gt;:d0d1d2</main>"
        "([item0]0)([item1]10)([item2]20)([item3]30)</body>"
    )
    child = await assert_same_output(app, "child.html", async_context)
    assert child.startswith("<head><title>Items &lt;&amp;&gt; | Base</title></head><body>")
    assert "<inc Items &lt;&amp;&gt;12><inc Items &lt;&amp;&gt;12><inc >" in child


async def test_async_filters_tests_and_globals(app: Quart) -> None:
    source = (
        "{{ title|shout }}{% for i in [1, 2, 3] %}{% if i is even %}{{ i }}{% endif %}"
        "{{ fetch(i) }}{% endfor %}{{ fetch(fetch) is defined }}"
        "{% for x in fetch([1, 2]) %}{{ x }}{% endfor %}"
    )
    ref = reference_env().from_string(source)
    expected = await ref.render_async(title="<hi>")
    assert expected == "&lt;HI&gt;1223True12"
    ours = quartlike_env(app).from_string(source)
    assert await every_way(ours, {"title": "<hi>"}) == [expected] * 3


async def test_a_sync_function_returning_an_awaitable_is_awaited(app: Quart) -> None:
    source = "{{ f(1) }}{{ obj.attr }}{{ d['k'] }}{% for x in f([1]) %}{{ x }}{% endfor %}"

    class Obj:
        attr = property(lambda self: later("attr"))

    def make() -> dict[str, t.Any]:
        return {"f": later, "obj": Obj(), "d": {"k": later("k")}}

    expected = await reference_env().from_string(source).render_async(make())
    assert expected == "1attrk1"
    ours = quartlike_env(app).from_string(source)
    assert [
        await _render_buffered(ours, make()),
        await ours.render_async(make()),
    ] == [expected] * 2


async def test_a_generator_is_closed_when_its_loop_breaks(app: Quart) -> None:
    # The rewritten code must not keep the values it handles alive longer than
    # Jinja's: a generator made by the template and left by a ``break`` is
    # closed at once (its cleanup runs before the rest of the template).
    log: list[str] = []

    def numbers() -> cabc.Iterator[int]:
        try:
            yield from range(10)
        finally:
            log.append("closed")

    sources = [
        "{% for n in make() %}{{ n }}{% if n == 1 %}{% break %}{% endif %}{% endfor %}{{ log }}",
        "{% for n in make() %}{{ loop.index }}{% break %}{% endfor %}{{ log }}",
        # A filtered loop goes through an async generator (Jinja's code, left as
        # is), which is not finalized at once.
        "{% for n in make() if n > 0 %}{{ n }}{% break %}{% endfor %}{{ log }}",
    ]
    expected = ["01[&#39;closed&#39;]", "1[&#39;closed&#39;]", "1[]"]
    for source, page in zip(sources, expected, strict=True):
        log.clear()
        assert await reference_env().from_string(source).render_async(make=numbers, log=log) == page
        template = quartlike_env(app).from_string(source)
        for way in range(3):
            log.clear()
            rendered = await renders(template, {"make": numbers, "log": log}, way)
            assert rendered == page, (source, way)
        log.clear()


async def test_deep_loop_nests_are_split_only_to_a_limit(app: Quart) -> None:
    depth = _MAX_LOOP_SPLIT_DEPTH + 2
    source = "{% for x in v %}" * depth + "{{ x }}" + "{% endfor %}" * depth
    env = quartlike_env(app)
    code = env.compile(source, raw=True)
    tree = ast.parse(code)
    _rewrite_module(tree)
    plain_loops = [n for n in ast.walk(tree) if isinstance(n, ast.For)]
    # Each split level doubles what is inside it: 1 + 2 + 4 (per render function).
    per_function = sum(2**i for i in range(_MAX_LOOP_SPLIT_DEPTH))
    assert len(plain_loops) == 2 * per_function  # the generator and the buffered version
    value: t.Any = ["x"]
    for _ in range(depth - 1):
        value = [value]
    template = env.from_string(source.replace("{{ x }}", "{{ x }}{{ loop.depth }}"))
    ref = reference_env().from_string(source.replace("{{ x }}", "{{ x }}{{ loop.depth }}"))
    assert await every_way(template, {"v": value}) == [await ref.render_async(v=value)] * 3


# -- what the rewrite produces ----------------------------------------------------------------


def rewritten(app: Quart, source: str) -> str:
    tree = ast.parse(quartlike_env(app).compile(source, raw=True))
    _rewrite_module(tree)
    return ast.unparse(tree)


def test_the_rewrite_keeps_the_async_fallbacks(app: Quart) -> None:
    code = rewritten(app, "{% for i in items %}{{ i.name }}{% endfor %}")
    assert "if type((_ql_t := environment.getattr(l_1_i, 'name'))) in _ql_plain" in code
    assert "else await auto_await(_ql_t)" in code
    assert "if hasattr(_ql_it[0], '__aiter__'):" in code
    assert "async for l_1_i in auto_aiter(_ql_it.pop()):" in code
    assert "for l_1_i in _ql_it.pop():" in code
    assert "_ql_w(escape(" in code
    assert "root._quartlike_buffered = _ql_buffered_root" in code


def test_comprehensions_are_left_alone(app: Quart) -> None:
    # Jinja writes async list comprehensions for some constructs; an assignment
    # expression is not allowed in every part of one, so they keep auto_await.
    tree = ast.parse("async def f(xs):\n    return [await auto_await(x) async for x in xs]\n")
    before = ast.dump(tree)
    _rewrite_module(tree)
    func = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    assert ast.dump(func) in before


def test_every_template_gets_a_buffered_render_and_block_functions(app: Quart) -> None:
    env = quartlike_env(app)
    for name in TEMPLATES:
        template = env.get_template(name)
        assert getattr(template.root_render_func, _BUFFERED, None) is not None, name
        for block_name, block in template.blocks.items():
            assert getattr(block, _BUFFERED, None) is not None, (name, block_name)


def test_an_unknown_yield_keeps_the_code_as_generated(
    app: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    # Jinja only writes ``yield`` statements; with any other yield the buffered
    # version would still be a generator, so the module is compiled unchanged.
    source = "async def root(context, missing=None, environment=None):\n    x = yield 'a'\n"
    namespace: dict[str, t.Any] = {}
    exec(quartlike_env(app)._compile(source, "<t>"), namespace)
    assert not hasattr(namespace["root"], _BUFFERED)
    assert "Could not optimize the compiled template '<t>'" in caplog.text


async def test_string_templates_are_compiled_as_generated(app: Quart) -> None:
    # render_template_string compiles for a single render: not worth rewriting.
    seen: list[jinja2.Template] = []

    def record(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        seen.append(template)

    with template_rendered.connected_to(record, app):
        async with app.app_context():
            assert await render_template_string("{{ x }}", x="<1>") == "&lt;1&gt;"
    assert not hasattr(seen[0].root_render_func, _BUFFERED)
    # Templates made with jinja_env.from_string, which may be kept and reused, are rewritten.
    assert hasattr(app.jinja_env.from_string("{{ x }}").root_render_func, _BUFFERED)


async def test_a_template_without_a_buffered_function_renders_through_render_async(
    app: Quart,
) -> None:
    template = quartlike_env(app).from_string("{{ x }}")
    del template.root_render_func._quartlike_buffered  # type: ignore[attr-defined]
    assert await _render_buffered(template, {"x": "<y>"}) == "&lt;y&gt;"
    # A stock environment's template too (render_template accepts Template objects).
    stock = reference_env().from_string("{{ x }}")
    assert await _render_buffered(stock, {"x": 1}) == "1"


def test_deferred_init_modules_compile(app: Quart) -> None:
    env = quartlike_env(app)
    code = env.compile("{% for i in items %}{{ i }}{% endfor %}", defer_init=True)
    assert code is not None


async def test_tracebacks_point_at_the_same_template_lines(tmp_path: Path, app: Quart) -> None:
    files = {
        "tb_base.html": "a\n{% block body %}\n{% endblock %}\nz",
        "tb_child.html": (
            "{% extends 'tb_base.html' %}\n{% block body %}\nfine\n"
            "{% for i in items %}\n{{ 1 // i }}\n{% endfor %}\n{% endblock %}"
        ),
    }
    for name, source in files.items():
        (tmp_path / name).write_text(source)

    def template_frames(exc: BaseException) -> list[tuple[str, int | None, str]]:
        return [
            (Path(frame.filename).name, frame.lineno, frame.name)
            for frame in traceback.extract_tb(exc.__traceback__)
            if frame.filename.endswith(".html")
        ]

    loader = jinja2.FileSystemLoader(str(tmp_path))
    ref = jinja2.Environment(enable_async=True, loader=loader)
    with pytest.raises(ZeroDivisionError) as expected:
        await ref.get_template("tb_child.html").render_async(items=[1, 0])
    ours = Environment(app, loader=loader)
    template = ours.get_template("tb_child.html")
    with pytest.raises(ZeroDivisionError) as got:
        await _render_buffered(template, {"items": [1, 0]})
    assert template_frames(got.value) == template_frames(expected.value)
    assert ("tb_child.html", 5, "block 'body'") in template_frames(got.value)


# -- the context copy ---------------------------------------------------------------------------


def test_new_context_builds_what_jinja_builds(app: Quart) -> None:
    env = quartlike_env(app)
    env.globals["shared"] = "env"
    template = env.from_string("{{ x }}", globals={"shared": "template", "own": 1})
    context = {"x": 1, "shared": "caller"}
    ours, jinjas = _new_context(template, context), template.new_context(dict(context))
    assert type(ours) is Context
    assert list(ours.parent.items()) == list(jinjas.parent.items())
    assert ours.parent["shared"] == "caller"
    assert ours.globals_keys == jinjas.globals_keys
    assert (ours.name, ours.blocks, ours.vars) == (jinjas.name, jinjas.blocks, jinjas.vars)
    assert ours.eval_ctx.autoescape == jinjas.eval_ctx.autoescape
    # The template's globals win over the environment's.
    assert _new_context(template, {}).parent["shared"] == "template"
    assert context == {"x": 1, "shared": "caller"}  # the caller's dict is not changed


def test_new_context_leaves_unusual_setups_to_jinja(app: Quart) -> None:
    class MyContext(Context):
        pass

    env = quartlike_env(app)
    env.context_class = MyContext
    assert type(_new_context(env.from_string("x"), {})) is MyContext

    class Globals(dict[str, t.Any]):
        def __getitem__(self, key: str) -> t.Any:
            return "from getitem"

    env = quartlike_env(app)
    template = env.from_string("{{ g1 }}", globals=Globals(g1="stored"))
    assert _new_context(template, {}).parent["g1"] == "from getitem"


# -- through the public API -----------------------------------------------------------------


async def test_render_template_with_processors_globals_and_signals(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "{{ who }}|{{ sync_name }}|{{ async_name }}|{{ bp_name }}|{{ await_me() }}|"
        "{{ request.path }}|{{ g.value }}|{% for i in items %}{{ i.name }}{% endfor %}"
    )
    app = Quart("compile_app", root_path=str(tmp_path))
    bp = Blueprint("bp", __name__)
    calls: list[str] = []

    @app.context_processor
    def sync_processor() -> dict[str, t.Any]:
        return {"sync_name": "sync", "who": "processor"}

    @app.context_processor
    async def async_processor() -> dict[str, t.Any]:
        return {"async_name": await later("async")}

    @bp.context_processor
    async def bp_processor() -> dict[str, t.Any]:
        return {"bp_name": "bp"}

    @app.template_global()
    async def await_me() -> str:
        return t.cast(str, await later("awaited"))

    @bp.route("/page")
    async def page() -> str:
        from quartlike import g

        g.value = "gee"
        return t.cast(
            str,
            await render_template("page.html", who="caller", items=AIter([Item("a", 1)])),
        )

    app.register_blueprint(bp)

    def before(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        calls.append(f"before {template.name} {context['bp_name']}")

    def after(sender: Quart, template: jinja2.Template, context: dict[str, t.Any]) -> None:
        calls.append(f"rendered {template.name} {context['who']}")

    with before_render_template.connected_to(before), template_rendered.connected_to(after):
        response = await app.test_client().get("/page")
    assert await response.get_data(as_text=True) == ("caller|sync|async|bp|awaited|/page|gee|a")
    assert calls == ["before page.html bp", "rendered page.html caller"]


async def test_render_template_string_outside_a_request(app: Quart) -> None:
    async with app.app_context():
        source = "{{ x }}|{{ g.__class__.__name__ }}|{{ request is defined }}"
        assert await render_template_string(source, x="<1>") == "&lt;1&gt;|_AppCtxGlobals|True"
        assert await render_template_string("{{ g }}{{ request }}", g="a", request="b") == "ab"


async def test_render_template_renders_through_the_buffered_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.html").write_text("<{% block b %}{% endblock %}>")
    (tmp_path / "templates" / "page.html").write_text(
        "{% extends 'base.html' %}{% block b %}{% for i in items %}{{ i }}{% endfor %}"
        "{% include 'part.html' %}{% endblock %}"
    )
    (tmp_path / "templates" / "part.html").write_text("[{{ items|length }}]")
    app = Quart("compile_app", root_path=str(tmp_path))

    def no_generators(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise AssertionError("rendered through the generators")

    monkeypatch.setattr(jinja2.Template, "render_async", no_generators)
    monkeypatch.setattr(jinja2.Template, "generate_async", no_generators)
    async with app.app_context():
        assert await render_template("page.html", items=[1, 2]) == "<12[2]>"
        # The generator functions themselves are not used either: blocks, the
        # parent and the included template all render through their buffered versions.
        env = app.jinja_env
        for name in ("base.html", "page.html", "part.html"):
            template = env.get_template(name)
            monkeypatch.setattr(
                template, "root_render_func", _only_buffered(template.root_render_func)
            )
            for block, func in list(template.blocks.items()):
                monkeypatch.setitem(template.blocks, block, _only_buffered(func))
        assert await render_template("page.html", items=[3]) == "<3[1]>"


def _only_buffered(func: t.Any) -> t.Any:
    """A render or block function that fails if called, with ``func``'s buffered version."""

    def generator(context: Context) -> t.NoReturn:
        raise AssertionError(f"the generator {func.__name__} ran")

    setattr(generator, _BUFFERED, getattr(func, _BUFFERED))
    return generator


async def test_templates_from_a_bytecode_cache_keep_the_fast_path(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("{% for i in items %}{{ i.n }}{% endfor %}")
    (tmp_path / "cache").mkdir()
    for _ in range(2):  # the second app loads the compiled code from the cache
        app = Quart("compile_app", root_path=str(tmp_path))
        app.jinja_options = {
            "bytecode_cache": jinja2.FileSystemBytecodeCache(str(tmp_path / "cache"))
        }
        template = app.jinja_env.get_template("page.html")
        assert getattr(template.root_render_func, _BUFFERED, None) is not None
        async with app.app_context():
            items = AIter([{"n": later(1)}, {"n": 2}])
            assert await render_template("page.html", items=items) == "12"
    assert list((tmp_path / "cache").iterdir())
