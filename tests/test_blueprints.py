from __future__ import annotations

import asyncio
import functools
import typing as t

import flask
import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.routing import BuildError

import quartlike
from quartlike import Blueprint
from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import g
from quartlike import request
from quartlike import url_for
from quartlike.blueprints import BlueprintSetupState
from quartlike.testing import QuartClient


@pytest.fixture
def calls() -> list[str]:
    return []


async def text(response: Response) -> str:
    return t.cast(str, await response.get_data(as_text=True))


# -- construction --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "a.b", ".a"])
def test_blueprint_name_must_be_non_empty_and_dotless(name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        Blueprint(name, __name__)


def test_blueprint_defaults() -> None:
    bp = Blueprint("bp", __name__)
    assert bp.name == "bp"
    assert bp.url_prefix is None
    assert bp.subdomain is None
    assert bp.url_values_defaults == {}
    assert bp.static_folder is None
    assert not bp.has_static_folder
    assert bp.jinja_loader is None
    assert repr(bp) == "<Blueprint 'bp'>"


def test_blueprint_is_exported() -> None:
    assert quartlike.Blueprint is Blueprint
    assert "Blueprint" in quartlike.__all__


def test_endpoint_with_a_dot_is_rejected() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="contains a dot"):
        bp.add_url_rule("/", endpoint="a.b", view_func=lambda: "x")
    with pytest.raises(ValueError, match="contains a dot"):

        @bp.route("/", endpoint="x.y")
        async def view() -> str:
            return "x"


def test_view_function_name_with_a_dot_is_rejected() -> None:
    bp = Blueprint("bp", __name__)

    async def view() -> str:
        return "x"

    view.__name__ = "dotted.name"
    with pytest.raises(ValueError, match="view function name"):
        bp.add_url_rule("/", view_func=view)
    with pytest.raises(ValueError, match="view function name"):
        bp.add_url_rule("/", endpoint="explicit", view_func=view)


# -- routes and prefixes -------------------------------------------------------------------------


async def test_routes_get_prefixed_endpoints(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("shop", __name__)

    @bp.route("/items/<int:item_id>")
    async def item(item_id: int) -> str:
        return f"{request.endpoint} {request.blueprint} {request.blueprints} {item_id}"

    @bp.get("/sync")
    def sync_view() -> str:
        return f"sync {request.endpoint}"

    app.register_blueprint(bp)
    assert await text(await client.get("/items/3")) == "shop.item shop ['shop'] 3"
    assert await text(await client.get("/sync")) == "sync shop.sync_view"
    assert "shop.item" in app.view_functions


async def test_app_routes_have_no_blueprint(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        return f"{request.blueprint!r} {request.blueprints!r}"

    assert await text(await client.get("/")) == "None []"


@pytest.mark.parametrize(
    ("bp_prefix", "option", "rule", "path"),
    [
        ("/a", None, "/x", "/a/x"),
        ("/a/", None, "/x", "/a/x"),
        ("/a", None, "x", "/a/x"),
        ("/a", None, "/", "/a/"),
        ("/a", None, "", "/a"),
        ("/a", "/b", "/x", "/b/x"),
        (None, "/b", "/x", "/b/x"),
        (None, None, "/x", "/x"),
    ],
)
async def test_url_prefix(
    app: Quart,
    client: QuartClient,
    bp_prefix: str | None,
    option: str | None,
    rule: str,
    path: str,
) -> None:
    bp = Blueprint("bp", __name__, url_prefix=bp_prefix)
    bp.add_url_rule(rule, "view", lambda: "hit")
    options = {} if option is None else {"url_prefix": option}
    app.register_blueprint(bp, **options)
    assert [r.rule for r in app.url_map.iter_rules() if r.endpoint == "bp.view"] == [path]
    response = await client.get(path)
    assert response.status_code == 200
    assert await text(response) == "hit"


async def test_automatic_options_and_head_on_blueprint_routes(
    app: Quart, client: QuartClient
) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.route("/", methods=["GET", "POST"])
    async def index() -> str:
        return "body"

    app.register_blueprint(bp)
    response = await client.options("/bp/")
    assert response.status_code == 200
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}
    response = await client.head("/bp/")
    assert response.status_code == 200
    assert await response.get_data() == b""
    assert (await client.put("/bp/")).status_code == 405


async def test_subdomains(client: QuartClient) -> None:
    app = Quart(__name__, subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")
    api = Blueprint("api", __name__, subdomain="api")
    v1 = Blueprint("v1", __name__, subdomain="v1", url_prefix="/v1")
    admin = Blueprint("admin", __name__)

    @api.route("/")
    async def api_index() -> str:
        return f"api {url_for('api.v1.v1_index', _external=True)}"

    @v1.route("/")
    async def v1_index() -> str:
        return "v1"

    @admin.route("/")
    async def admin_index() -> str:
        return "admin"

    api.register_blueprint(v1)
    app.register_blueprint(api)
    app.register_blueprint(admin, subdomain="admin", name="admin")
    client = app.test_client()
    response = await client.get("/", subdomain="api")
    assert await text(response) == "api http://v1.api.example.test/v1/"
    assert await text(await client.get("/v1/", subdomain="v1.api")) == "v1"
    assert (await client.get("/v1/", subdomain="api")).status_code == 404
    assert await text(await client.get("/", subdomain="admin")) == "admin"
    assert (await client.get("/")).status_code == 404


async def test_url_defaults_of_blueprint_and_registration(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("bp", __name__, url_defaults={"kind": "bp", "page": 1})

    @bp.route("/list", defaults={"page": 5})
    async def listing(kind: str, page: int) -> str:
        return f"{kind} {page}"

    @bp.route("/other")
    async def other(kind: str, page: int) -> str:
        return f"{kind} {page} {url_for('.listing')}"

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="reg", url_prefix="/reg", url_defaults={"kind": "reg"})
    assert await text(await client.get("/list")) == "bp 5"  # the rule's defaults win
    assert await text(await client.get("/other")) == "bp 1 /list"
    assert await text(await client.get("/reg/other")) == "reg 1 /reg/list"
    assert bp.url_values_defaults == {"kind": "bp", "page": 1}  # not modified


async def test_endpoint_decorator_names_an_app_endpoint(app: Quart, client: QuartClient) -> None:
    # As in Flask, ``@bp.endpoint`` registers the bare endpoint name on the app.
    from werkzeug.routing import Rule

    app.url_map.add(Rule("/foo", endpoint="bar"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("bar")
    async def foobar() -> str:
        return f"{request.endpoint}"

    app.register_blueprint(bp, url_prefix="/prefix")
    assert await text(await client.get("/foo")) == "bar"
    assert (await client.get("/prefix/bar")).status_code == 404


# -- registering ---------------------------------------------------------------------------------


async def test_register_same_blueprint_under_two_names(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    bp = Blueprint("bp", __name__)

    @bp.before_request
    async def before() -> None:
        calls.append(f"before {request.blueprint}")

    @bp.errorhandler(ValueError)
    async def on_value_error(e: ValueError) -> tuple[str, int]:
        return f"handled in {request.blueprint}", 400

    @bp.route("/")
    async def index() -> str:
        return url_for(".index")

    @bp.route("/fail")
    async def fail() -> str:
        raise ValueError

    app.register_blueprint(bp, url_prefix="/one")
    app.register_blueprint(bp, url_prefix="/two", name="two")
    assert list(app.blueprints) == ["bp", "two"]
    assert list(app.iter_blueprints()) == [bp, bp]
    assert await text(await client.get("/one/")) == "/one/"
    assert await text(await client.get("/two/")) == "/two/"
    assert calls == ["before bp", "before two"]
    response = await client.get("/two/fail")
    assert (response.status_code, await text(response)) == (400, "handled in two")
    app.config["SERVER_NAME"] = "localhost"
    async with app.app_context():
        assert url_for("two.index") == "http://localhost/two/"
        assert url_for("bp.index") == "http://localhost/one/"


def test_register_same_name_twice_is_an_error(app: Quart) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(ValueError, match="'bp' is already registered for this blueprint"):
        app.register_blueprint(bp)
    other = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="for a different blueprint.*unique 'name="):
        app.register_blueprint(other)
    app.register_blueprint(other, name="bp2")
    assert app.blueprints == {"bp": bp, "bp2": other}


def test_nested_name_clash_names_the_full_name(app: Quart) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__)
    parent.register_blueprint(child)
    parent.register_blueprint(child)
    with pytest.raises(ValueError, match=r"'child'.*this blueprint \(as 'parent.child'\)"):
        app.register_blueprint(parent)


@pytest.mark.parametrize("name", ["", "a.b"])
def test_registration_name_must_be_dotless(app: Quart, name: str) -> None:
    with pytest.raises(ValueError, match="name"):
        app.register_blueprint(Blueprint("bp", __name__), name=name)


def test_blueprint_cannot_be_nested_in_itself() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="on itself"):
        bp.register_blueprint(bp)


def test_iter_blueprints_includes_nested_in_order(app: Quart) -> None:
    a, b, c = Blueprint("a", __name__), Blueprint("b", __name__), Blueprint("c", __name__)
    a.register_blueprint(b)
    app.register_blueprint(a)
    app.register_blueprint(c)
    assert list(app.iter_blueprints()) == [a, b, c]
    assert list(app.blueprints) == ["a", "a.b", "c"]


def test_record_and_record_once(app: Quart) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    seen: list[tuple[str, str | None, bool, t.Any]] = []
    once: list[str] = []

    @bp.record
    def every(state: BlueprintSetupState) -> None:
        assert state.blueprint is bp
        seen.append((state.name, state.url_prefix, state.first_registration, state.app))

    bp.record_once(lambda state: once.append(state.name))
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again", url_prefix="/x", custom=1)
    other_app = Quart(__name__)
    other_app.register_blueprint(bp)
    assert seen == [
        ("bp", "/bp", True, app),
        ("again", "/x", False, app),
        ("bp", "/bp", True, other_app),
    ]
    assert once == ["bp", "bp"]


def test_setup_state_sees_registration_options(app: Quart) -> None:
    bp = Blueprint("bp", __name__, subdomain="sub", url_defaults={"a": 1})
    states: list[BlueprintSetupState] = []
    bp.record(states.append)
    app.register_blueprint(bp, url_defaults={"b": 2}, custom="yes")
    (state,) = states
    assert state.options == {"url_defaults": {"b": 2}, "custom": "yes"}
    assert state.subdomain == "sub"
    assert state.url_defaults == {"a": 1, "b": 2}
    assert state.name_prefix == ""


async def test_make_setup_state_can_be_overridden(app: Quart, client: QuartClient) -> None:
    class UpperState(BlueprintSetupState):
        def add_url_rule(self, rule: str, *args: t.Any, **kwargs: t.Any) -> None:
            super().add_url_rule(rule.upper(), *args, **kwargs)

    class UpperBlueprint(Blueprint):
        def make_setup_state(
            self, app: Quart, options: dict[str, t.Any], first_registration: bool = False
        ) -> BlueprintSetupState:
            return UpperState(self, app, options, first_registration)

    bp = UpperBlueprint("bp", __name__)
    bp.add_url_rule("/shout", "shout", lambda: "ok")
    app.register_blueprint(bp)
    assert (await client.get("/SHOUT")).status_code == 200
    assert (await client.get("/shout")).status_code == 404


@pytest.mark.parametrize(
    "setup",
    [
        lambda bp: bp.route("/late")(lambda: "x"),
        lambda bp: bp.before_request(lambda: None),
        lambda bp: bp.errorhandler(404)(lambda e: "x"),
        lambda bp: bp.before_app_request(lambda: None),
        lambda bp: bp.record(lambda state: None),
        lambda bp: bp.register_blueprint(Blueprint("late", __name__)),
    ],
)
def test_setup_after_registration_is_an_error(
    app: Quart, setup: t.Callable[[Blueprint], t.Any]
) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="blueprint 'bp': it has already been registered"):
        setup(bp)


async def test_register_blueprint_after_first_request_is_an_error(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/")
    async def index() -> str:
        return "x"

    await client.get("/")
    with pytest.raises(AssertionError, match="register_blueprint"):
        app.register_blueprint(Blueprint("bp", __name__))


# -- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent_prefix", "child_prefix", "child_option", "path"),
    [
        ("/p", "/c", None, "/p/c/x"),
        ("/p/", "/c/", None, "/p/c/x"),
        ("/p", None, None, "/p/x"),
        (None, "/c", None, "/c/x"),
        ("/p", "/c", "/o", "/p/o/x"),
        (None, None, None, "/x"),
    ],
)
async def test_nested_prefixes_combine(
    app: Quart,
    client: QuartClient,
    parent_prefix: str | None,
    child_prefix: str | None,
    child_option: str | None,
    path: str,
) -> None:
    parent = Blueprint("parent", __name__, url_prefix=parent_prefix)
    child = Blueprint("child", __name__, url_prefix=child_prefix)

    @child.route("/x")
    async def x() -> str:
        return f"{request.endpoint} {request.blueprints}"

    options = {} if child_option is None else {"url_prefix": child_option}
    parent.register_blueprint(child, **options)
    app.register_blueprint(parent)
    response = await client.get(path)
    assert await text(response) == "parent.child.x ['parent.child', 'parent']"


async def test_nested_blueprint_under_a_registration_prefix(
    app: Quart, client: QuartClient
) -> None:
    parent = Blueprint("parent", __name__)
    child = Blueprint("child", __name__, url_prefix="/c")
    child.add_url_rule("/", "index", lambda: "child")
    parent.register_blueprint(child)
    app.register_blueprint(parent, url_prefix="/one")
    app.register_blueprint(parent, url_prefix="/two", name="two")
    assert await text(await client.get("/one/c/")) == "child"
    assert await text(await client.get("/two/c/")) == "child"
    assert {"parent.child.index", "two.child.index"} <= set(app.view_functions)


async def test_same_name_nested_at_different_places(app: Quart, client: QuartClient) -> None:
    a, b = Blueprint("a", __name__, url_prefix="/a"), Blueprint("b", __name__, url_prefix="/b")
    for parent in (a, b):
        child = Blueprint("api", __name__, url_prefix="/api")
        child.add_url_rule("/", "index", lambda: request.blueprint or "")
        parent.register_blueprint(child)
        app.register_blueprint(parent)
    assert await text(await client.get("/a/api/")) == "a.api"
    assert await text(await client.get("/b/api/")) == "b.api"


async def test_hook_order_app_parent_child(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    sibling = Blueprint("sibling", __name__)

    def register(owner: t.Any, label: str) -> None:
        @owner.url_value_preprocessor
        def pre(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
            calls.append(f"{label} preprocess")

        @owner.before_request
        async def before1() -> None:
            calls.append(f"{label} before 1")

        @owner.before_request
        def before2() -> None:
            calls.append(f"{label} before 2")

        @owner.after_request
        async def after1(response: Response) -> Response:
            calls.append(f"{label} after 1")
            return response

        @owner.after_request
        def after2(response: Response) -> Response:
            calls.append(f"{label} after 2")
            return response

        @owner.teardown_request
        async def teardown(exc: BaseException | None) -> None:
            calls.append(f"{label} teardown")

    for owner, label in ((app, "app"), (parent, "parent"), (child, "child"), (sibling, "sib")):
        register(owner, label)

    @child.route("/")
    async def index() -> str:
        calls.append("view")
        return "ok"

    @app.route("/plain")
    async def plain() -> str:
        calls.append("view")
        return "ok"

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(sibling)
    assert await text(await client.get("/p/c/")) == "ok"
    assert calls == [
        "app preprocess",
        "parent preprocess",
        "child preprocess",
        "app before 1",
        "app before 2",
        "parent before 1",
        "parent before 2",
        "child before 1",
        "child before 2",
        "view",
        "child after 2",
        "child after 1",
        "parent after 2",
        "parent after 1",
        "app after 2",
        "app after 1",
        "child teardown",
        "parent teardown",
        "app teardown",
    ]
    calls.clear()
    await client.get("/plain")
    assert calls == [
        "app preprocess",
        "app before 1",
        "app before 2",
        "view",
        "app after 2",
        "app after 1",
        "app teardown",
    ]


async def test_blueprint_before_request_short_circuits_only_its_requests(
    app: Quart, client: QuartClient
) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.before_request
    async def gate() -> tuple[str, int]:
        return "stopped", 403

    @bp.route("/")
    async def inside() -> str:
        return "inside"

    @app.route("/")
    async def outside() -> str:
        return "outside"

    app.register_blueprint(bp)
    response = await client.get("/bp/")
    assert (response.status_code, await text(response)) == (403, "stopped")
    assert await text(await client.get("/")) == "outside"


async def test_websocket_routes_and_hooks_in_nested_blueprints(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    def register(owner: t.Any, label: str) -> None:
        @owner.before_websocket
        async def before() -> None:
            calls.append(f"{label} before")

        @owner.teardown_websocket
        def teardown(exc: BaseException | None) -> None:
            calls.append(f"{label} teardown")

    for owner, label in ((app, "app"), (parent, "parent"), (child, "child")):
        register(owner, label)

    @child.websocket("/ws")
    async def echo() -> None:
        await quartlike.websocket.send(f"{quartlike.websocket.blueprints}")

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    async with asyncio.timeout(5), client.websocket("/p/c/ws") as ws:
        assert await ws.receive() == "['parent.child', 'parent']"
    for _ in range(100):  # teardown runs after the handler returns
        if len(calls) == 6:
            break
        await asyncio.sleep(0.01)
    assert calls == [
        "app before",
        "parent before",
        "child before",
        "child teardown",
        "parent teardown",
        "app teardown",
    ]


# -- app-wide hooks from a blueprint -------------------------------------------------------------


async def test_app_hooks_from_blueprint_apply_everywhere_once(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    bp = Blueprint("bp", __name__)

    @bp.before_app_request
    async def before() -> None:
        calls.append("before")

    @bp.after_app_request
    def after(response: Response) -> Response:
        calls.append("after")
        response.headers["X-After"] = "yes"
        return response

    @bp.teardown_app_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown")

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "app view"

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="second")  # the app-wide hooks are not added twice
    response = await client.get("/")
    assert response.headers["X-After"] == "yes"
    assert calls == ["before", "view", "after", "teardown"]
    assert app.before_request_funcs[None] == [before]


async def test_app_errorhandler_from_blueprint(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_errorhandler(404)
    async def not_found(e: NotFound) -> tuple[str, int]:
        return "app-wide 404", 404

    @bp.app_errorhandler(KeyError)
    def key_error(e: KeyError) -> tuple[str, int]:
        return "app-wide KeyError", 409

    @app.route("/key")
    async def key() -> str:
        raise KeyError("x")

    app.register_blueprint(bp)
    assert await text(await client.get("/nowhere")) == "app-wide 404"
    response = await client.get("/key")
    assert (response.status_code, await text(response)) == (409, "app-wide KeyError")


def test_app_errorhandler_rejects_bad_keys_at_once() -> None:
    bp = Blueprint("bp", __name__)
    with pytest.raises(ValueError, match="not an HTTP error code"):
        bp.app_errorhandler(999)


async def test_app_url_value_preprocessor_and_defaults(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("bp", __name__)

    @bp.app_url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        g.lang = (values or {}).pop("lang", None)

    @bp.app_url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang" in app.url_map._rules_by_endpoint[endpoint][0].arguments:
            values.setdefault("lang", g.lang)

    @app.route("/<lang>/page")
    async def page() -> str:
        return f"{g.lang} {url_for('page')}"

    app.register_blueprint(bp)
    assert await text(await client.get("/fr/page")) == "fr /fr/page"


def test_app_url_hooks_must_be_sync() -> None:
    bp = Blueprint("bp", __name__)

    async def coroutine(endpoint: t.Any, values: t.Any) -> None:
        pass

    with pytest.raises(TypeError, match="plain functions"):
        bp.app_url_value_preprocessor(coroutine)
    with pytest.raises(TypeError, match="plain functions"):
        bp.app_url_defaults(coroutine)


# -- URL building and URL values -----------------------------------------------------------------


async def test_relative_url_for_in_nested_blueprints(app: Quart, client: QuartClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    @child.route("/")
    async def index() -> str:
        return " ".join([url_for(".index"), url_for(".other", n=2), url_for("parent.index")])

    @child.route("/other/<int:n>")
    async def other(n: int) -> str:
        return "other"

    @parent.route("/")
    async def index_parent() -> str:
        return url_for(".index")

    parent.add_url_rule("/home", "index", lambda: "parent home")

    @app.route("/")
    async def app_index() -> str:
        return url_for(".about")

    app.add_url_rule("/about", "about", lambda: "about")
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert await text(await client.get("/")) == "/about"
    assert await text(await client.get("/p/")) == "/p/home"
    assert await text(await client.get("/p/c/")) == "/p/c/ /p/c/other/2 /p/home"
    # A relative endpoint stays inside the current blueprint: no fallback to the app's.
    async with app.test_request_context("/p/c/"):
        with pytest.raises(BuildError, match="parent.child.about"):
            url_for(".about")


async def test_blueprint_url_value_preprocessor_and_defaults(
    app: Quart, client: QuartClient
) -> None:
    bp = Blueprint("lang", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint: str, values: dict[str, t.Any]) -> None:
        values.setdefault("lang_code", g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        assert values is not None
        g.lang_code = values.pop("lang_code")

    @bp.route("/")
    async def index() -> str:
        return f"{g.lang_code} {url_for('.about')}"

    @bp.route("/about")
    async def about() -> str:
        return "about"

    @app.route("/outside")
    async def outside() -> str:
        g.lang_code = "xx"
        return url_for("lang.about")

    app.register_blueprint(bp)
    assert await text(await client.get("/de/")) == "de /de/about"
    # The blueprint's url_defaults apply to its endpoints from anywhere.
    assert await text(await client.get("/outside")) == "/xx/about"


async def test_nested_url_defaults_run_outermost_first(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/<a>")
    child = Blueprint("child", __name__, url_prefix="/<b>")

    @parent.url_defaults
    def parent_defaults(endpoint: str, values: dict[str, t.Any]) -> None:
        calls.append(f"parent {endpoint}")
        values.setdefault("a", "A")

    @child.url_defaults
    def child_defaults(endpoint: str, values: dict[str, t.Any]) -> None:
        calls.append(f"child {endpoint}")
        values.setdefault("b", values["a"].lower())

    @child.route("/")
    async def index(a: str, b: str) -> str:
        return f"{a}/{b}"

    @parent.route("/")
    async def parent_index(a: str) -> str:
        return a

    @app.route("/build")
    async def build() -> str:
        return " ".join([url_for("parent.child.index"), url_for("parent.parent_index")])

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert await text(await client.get("/build")) == "/A/a/ /A/"
    assert calls == [
        "parent parent.child.index",
        "child parent.child.index",
        "parent parent.parent_index",
    ]
    assert await text(await client.get("/x/y/")) == "x/y"


# -- error handlers ------------------------------------------------------------------------------


class AppError(Exception):
    pass


async def test_blueprint_error_handler_takes_precedence(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @app.errorhandler(AppError)
    async def app_handler(e: AppError) -> tuple[str, int]:
        return f"app {request.blueprint}", 500

    @bp.errorhandler(AppError)
    async def bp_handler(e: AppError) -> tuple[str, int]:
        return f"bp {request.blueprint}", 500

    @bp.route("/")
    async def inside() -> str:
        raise AppError

    @app.route("/")
    async def outside() -> str:
        raise AppError

    app.register_blueprint(bp)
    assert await text(await client.get("/bp/")) == "bp bp"
    assert await text(await client.get("/")) == "app None"


async def test_blueprint_handler_for_a_base_class_beats_app_handler_for_exact_class(
    app: Quart, client: QuartClient
) -> None:
    # Blueprints are searched first, each along the whole MRO.
    bp = Blueprint("bp", __name__)

    @app.errorhandler(KeyError)
    async def app_key(e: KeyError) -> str:
        return "app KeyError"

    @bp.errorhandler(LookupError)
    async def bp_lookup(e: LookupError) -> str:
        return "bp LookupError"

    @bp.route("/")
    async def index() -> str:
        raise KeyError("k")

    app.register_blueprint(bp)
    assert await text(await client.get("/")) == "bp LookupError"


async def test_code_handlers_are_found_before_class_handlers(
    app: Quart, client: QuartClient
) -> None:
    bp = Blueprint("bp", __name__)

    @app.errorhandler(403)
    async def app_403(e: HTTPException) -> tuple[str, int]:
        return "app 403", 403

    @bp.errorhandler(HTTPException)
    async def bp_any(e: HTTPException) -> tuple[str, int]:
        return f"bp {e.code}", e.code or 500

    @bp.route("/<int:code>")
    async def fail(code: int) -> str:
        abort(code)

    app.register_blueprint(bp)
    assert await text(await client.get("/403")) == "app 403"
    assert await text(await client.get("/410")) == "bp 410"


async def test_nested_error_handlers(app: Quart, client: QuartClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    sibling = Blueprint("sibling", __name__, url_prefix="/s")

    @app.errorhandler(AppError)
    async def app_handler(e: AppError) -> str:
        return "app"

    @parent.errorhandler(AppError)
    async def parent_handler(e: AppError) -> str:
        return "parent"

    @parent.errorhandler(ValueError)
    async def parent_value(e: ValueError) -> str:
        return "parent ValueError"

    @child.errorhandler(AppError)
    async def child_handler(e: AppError) -> str:
        return "child"

    @sibling.errorhandler(ValueError)
    async def sibling_value(e: ValueError) -> str:
        return "sibling ValueError"

    @child.route("/app-error")
    async def child_app_error() -> str:
        raise AppError

    @child.route("/value-error")
    async def child_value_error() -> str:
        raise ValueError

    @parent.route("/app-error")
    async def parent_app_error() -> str:
        raise AppError

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(sibling)
    assert await text(await client.get("/p/c/app-error")) == "child"
    assert await text(await client.get("/p/c/value-error")) == "parent ValueError"
    assert await text(await client.get("/p/app-error")) == "parent"


async def test_errors_in_blueprint_hooks_use_blueprint_handlers(
    app: Quart, client: QuartClient
) -> None:
    bp = Blueprint("bp", __name__)

    @bp.before_request
    def fail() -> None:
        raise AppError

    @bp.errorhandler(AppError)
    async def handler(e: AppError) -> tuple[str, int]:
        return "from the hook", 418

    @bp.route("/")
    async def index() -> str:
        return "unreachable"

    app.register_blueprint(bp)
    response = await client.get("/")
    assert (response.status_code, await text(response)) == (418, "from the hook")


async def test_routing_404_and_405_use_app_handlers_not_blueprint_ones(
    app: Quart, client: QuartClient
) -> None:
    # A request that matched no rule has no blueprint, even under a blueprint's prefix.
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(404)
    async def bp_404(e: NotFound) -> tuple[str, int]:
        return "bp 404", 404

    @bp.errorhandler(405)
    async def bp_405(e: HTTPException) -> tuple[str, int]:
        return "bp 405", 405

    @app.errorhandler(404)
    async def app_404(e: NotFound) -> tuple[str, int]:
        return "app 404", 404

    @bp.route("/")
    async def index() -> str:
        return "index"

    @bp.route("/missing")
    async def missing() -> str:
        abort(404)

    app.register_blueprint(bp)
    assert await text(await client.get("/bp/nope")) == "app 404"
    assert await text(await client.get("/bp/missing")) == "bp 404"
    response = await client.post("/bp/")
    assert response.status_code == 405
    assert "bp 405" not in await text(response)


async def test_500_handler_of_blueprint(app: Quart, client: QuartClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    bp = Blueprint("bp", __name__)

    @bp.errorhandler(500)
    async def server_error(e: HTTPException) -> tuple[str, int]:
        original = getattr(e, "original_exception", None)
        return f"bp 500 {type(original).__name__}", 500

    @bp.route("/")
    async def index() -> str:
        raise RuntimeError("boom")

    @app.route("/app")
    async def app_view() -> str:
        raise RuntimeError("boom")

    app.register_blueprint(bp)
    assert await text(await client.get("/")) == "bp 500 RuntimeError"
    response = await client.get("/app")
    assert response.status_code == 500
    assert "bp 500" not in await text(response)


# -- folders and the CLI -------------------------------------------------------------------------


def test_jinja_loader_for_template_folder(tmp_path: t.Any) -> None:
    from jinja2 import FileSystemLoader

    bp = Blueprint("bp", __name__, template_folder="templates", root_path=str(tmp_path))
    loader = bp.jinja_loader
    assert isinstance(loader, FileSystemLoader)
    assert loader.searchpath == [str(tmp_path / "templates")]
    assert bp.jinja_loader is loader  # created once
    app = Quart(__name__, root_path=str(tmp_path))
    assert isinstance(app.jinja_loader, FileSystemLoader)
    assert app.jinja_loader.searchpath == [str(tmp_path / "templates")]
    assert Quart(__name__, template_folder=None).jinja_loader is None


def test_static_folder_settings(tmp_path: t.Any) -> None:
    bp = Blueprint("bp", __name__, static_folder="assets", root_path=str(tmp_path))
    assert bp.has_static_folder
    assert bp.static_folder == str(tmp_path / "assets")
    assert bp.static_url_path == "/assets"
    bp = Blueprint("bp", __name__, static_folder="assets/", static_url_path="/s/")
    assert bp.static_url_path == "/s"


async def test_blueprint_static_folder_route(tmp_path: t.Any) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.css").write_text("body {}")
    app = Quart(__name__, static_folder=None)
    app.config["TESTING"] = True
    parent = Blueprint("parent", __name__, url_prefix="/p")
    bp = Blueprint(
        "bp", __name__, static_folder="assets", url_prefix="/bp", root_path=str(tmp_path)
    )

    @bp.route("/")
    async def index() -> str:
        return url_for(".static", filename="site.css")

    parent.register_blueprint(bp)
    app.register_blueprint(parent)
    app.register_blueprint(bp, name="top", url_prefix="/top")
    client = app.test_client()
    assert await text(await client.get("/p/bp/")) == "/p/bp/assets/site.css"
    response = await client.get("/p/bp/assets/site.css")
    assert response.status_code == 200
    assert await response.get_data() == b"body {}"
    assert response.mimetype == "text/css"
    assert await text(await client.get("/top/assets/site.css")) == "body {}"
    assert (await client.get("/p/bp/assets/missing.css")).status_code == 404
    assert (await client.get("/p/bp/assets/../secret")).status_code == 404
    endpoints = {r.endpoint: r.rule for r in app.url_map.iter_rules()}
    assert endpoints["parent.bp.static"] == "/p/bp/assets/<path:filename>"
    assert endpoints["top.static"] == "/top/assets/<path:filename>"


def test_blueprint_without_static_folder_has_no_static_route(app: Quart) -> None:
    app.register_blueprint(Blueprint("bp", __name__, url_prefix="/bp"))
    assert "bp.static" not in {r.endpoint for r in app.url_map.iter_rules()}


async def test_templates_from_blueprint_folder(tmp_path: t.Any) -> None:
    (tmp_path / "app_templates").mkdir()
    (tmp_path / "app_templates" / "shared.html").write_text("app's shared")
    (tmp_path / "bp_templates" / "bp").mkdir(parents=True)
    (tmp_path / "bp_templates" / "shared.html").write_text("bp's shared")
    (tmp_path / "bp_templates" / "bp" / "page.html").write_text("page {{ request.blueprint }}")
    app = Quart(__name__, template_folder="app_templates", root_path=str(tmp_path))
    app.config["TESTING"] = True
    bp = Blueprint("bp", __name__, template_folder="bp_templates", root_path=str(tmp_path))

    @bp.route("/page")
    async def page() -> str:
        return await quartlike.render_template("bp/page.html")

    @bp.route("/shared")
    async def shared() -> str:
        return await quartlike.render_template("shared.html")

    app.register_blueprint(bp)
    client = app.test_client()
    assert await text(await client.get("/page")) == "page bp"
    # The app's folder is searched before any blueprint's.
    assert await text(await client.get("/shared")) == "app's shared"


async def test_app_template_helpers_from_blueprint(app: Quart, client: QuartClient) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.app_template_filter()
    def shout(value: str) -> str:
        return value.upper()

    @bp.app_template_filter("rev")
    def reverse(value: str) -> str:
        return value[::-1]

    @bp.app_template_filter
    def bare(value: str) -> str:
        return f"[{value}]"

    bp.add_app_template_filter(lambda value: value * 2, "twice")

    @bp.app_template_test()
    def short(value: str) -> bool:
        return len(value) < 4

    @bp.app_template_test("long")
    def is_long(value: str) -> bool:
        return len(value) > 10

    bp.add_app_template_test(lambda value: value == "", "empty")

    @bp.app_template_global()
    def answer() -> int:
        return 42

    @bp.app_template_global
    def greeting() -> str:
        return "hi"

    bp.add_app_template_global(lambda: "added", "added")

    @bp.app_context_processor
    async def app_wide() -> dict[str, str]:
        return {"who": "everyone"}

    source = (
        "{{ 'abc'|shout }} {{ 'abc'|rev }} {{ 'x'|bare }} {{ 'ab'|twice }}"
        " {{ 'ab' is short }} {{ 'ab' is long }} {{ '' is empty }}"
        " {{ answer() }} {{ greeting() }} {{ added() }} {{ who }}"
    )

    @app.route("/")
    async def index() -> str:
        return await quartlike.render_template_string(source)

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="again")  # registered on the app once
    assert (
        await text(await client.get("/")) == "ABC cba [x] abab True False True 42 hi added everyone"
    )
    assert app.template_context_processors[None] == [app_wide]
    assert (shout, reverse) == (app.jinja_env.filters["shout"], app.jinja_env.filters["rev"])


async def test_blueprint_context_processors_are_scoped(app: Quart, client: QuartClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    @app.context_processor
    def app_names() -> dict[str, str]:
        return {"a": "app", "b": "app", "c": "app"}

    @parent.context_processor
    async def parent_names() -> dict[str, str]:
        return {"b": "parent", "c": "parent"}

    @child.context_processor
    def child_names() -> dict[str, str]:
        return {"c": "child"}

    async def render() -> str:
        return await quartlike.render_template_string("{{ a }} {{ b }} {{ c }}")

    app.add_url_rule("/", "index", render)
    parent.add_url_rule("/", "index", render)
    child.add_url_rule("/", "index", render)
    parent.register_blueprint(child)
    app.register_blueprint(parent)
    assert await text(await client.get("/")) == "app app app"
    assert await text(await client.get("/p/")) == "app parent parent"
    assert await text(await client.get("/p/c/")) == "app parent child"


def _command_names(app: Quart) -> set[str]:
    return set(app.cli.commands)


@pytest.mark.parametrize(
    ("cli_group", "option", "expect_group"),
    [
        (quartlike.blueprints._sentinel, quartlike.blueprints._sentinel, "bp"),
        ("tools", quartlike.blueprints._sentinel, "tools"),
        (quartlike.blueprints._sentinel, "other", "other"),
        (None, quartlike.blueprints._sentinel, None),
        ("tools", None, None),
    ],
)
def test_cli_group(app: Quart, cli_group: t.Any, option: t.Any, expect_group: str | None) -> None:
    kwargs = {} if cli_group is quartlike.blueprints._sentinel else {"cli_group": cli_group}
    bp = Blueprint("bp", __name__, **kwargs)

    @bp.cli.command("hello")
    def hello() -> None:
        print("hello from bp")

    options = {} if option is quartlike.blueprints._sentinel else {"cli_group": option}
    app.register_blueprint(bp, **options)
    runner = app.test_cli_runner()
    args = ["hello"] if expect_group is None else [expect_group, "hello"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "hello from bp" in result.output
    if expect_group is None:
        assert "hello" in _command_names(app)
    else:
        assert "hello" not in _command_names(app)


def test_blueprint_without_commands_adds_no_group(app: Quart) -> None:
    app.register_blueprint(Blueprint("quiet", __name__))
    assert "quiet" not in _command_names(app)


# -- differential: the same blueprint structure on Flask and quartlike ---------------------------


class _Api(t.NamedTuple):
    """The names a builder needs, from flask or from quartlike."""

    app_class: t.Any
    blueprint_class: t.Any
    request: t.Any
    g: t.Any
    url_for: t.Any
    abort: t.Any
    view: t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]


def _sync(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    return f


def _make_async(f: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    @functools.wraps(f)
    async def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return f(*args, **kwargs)

    return wrapper


FLASK_API = _Api(
    flask.Flask, flask.Blueprint, flask.request, flask.g, flask.url_for, flask.abort, _sync
)
QUARTLIKE_API = _Api(Quart, Blueprint, request, g, url_for, abort, _make_async)


def build_structure(api: _Api) -> t.Any:
    """An app with nested, prefixed, twice-registered blueprints whose hooks leave a trail.

    Before-request hooks append to ``g.trail`` (views return it), after-request
    hooks append to the ``X-Trail`` header; every second function is async on
    quartlike, so both kinds are exercised.
    """
    app = api.app_class("diff_app")
    app.config["TESTING"] = True
    parent = api.blueprint_class("parent", __name__, url_prefix="/p")
    child = api.blueprint_class("child", __name__, url_prefix="/c", url_defaults={"flag": "d"})
    other = api.blueprint_class("other", __name__)

    def trail_hooks(owner: t.Any, label: str) -> None:
        @owner.before_request
        @api.view
        def before() -> t.Any:
            api.g.trail = [*api.g.get("trail", []), label]
            if api.request.args.get("block") == label:
                return f"blocked by {label}", 403
            return None

        @owner.after_request
        def after(response: t.Any) -> t.Any:
            response.headers["X-Trail"] = response.headers.get("X-Trail", "") + f"{label};"
            return response

    for owner, label in ((app, "app"), (parent, "parent"), (child, "child"), (other, "other")):
        trail_hooks(owner, label)

    def trail() -> str:
        return ",".join(api.g.get("trail", []))

    @app.route("/")
    @api.view
    def index() -> str:
        return f"app index [{trail()}] {api.url_for('.index')}"

    @app.route("/app-error")
    @api.view
    def app_error() -> str:
        raise KeyError("app")

    @parent.route("/")
    @api.view
    def parent_index(flag: str = "-") -> str:
        return f"parent {flag} [{trail()}] {api.request.blueprints} {api.url_for('.parent_index')}"

    @parent.route("/value-error")
    @api.view
    def parent_value_error(flag: str = "-") -> str:
        raise ValueError

    @child.route("/", methods=["GET", "POST"])
    @api.view
    def child_index(flag: str) -> str:
        return (
            f"child {flag} [{trail()}] {api.request.blueprint} {api.url_for('.item', n=1)}"
            f" {api.url_for('parent.parent_index')} {api.url_for('index')}"
        )

    @child.route("/item/<int:n>")
    @api.view
    def item(n: int, flag: str) -> str:
        return f"item {n} {flag}"

    @child.route("/value-error")
    @api.view
    def child_value_error(flag: str) -> str:
        raise ValueError

    @child.route("/key-error")
    @api.view
    def child_key_error(flag: str) -> str:
        raise KeyError("child")

    @child.route("/abort/<int:code>")
    @api.view
    def child_abort(code: int, flag: str) -> str:
        api.abort(code)

    @other.route("/o")
    @api.view
    def other_index() -> str:
        return f"other [{trail()}] {api.url_for('.other_index')}"

    @parent.errorhandler(ValueError)
    @api.view
    def parent_value(e: ValueError) -> tuple[str, int]:
        return f"parent ValueError in {api.request.blueprint}", 400

    @child.errorhandler(LookupError)
    def child_lookup(e: LookupError) -> tuple[str, int]:
        return f"child LookupError {e!r}", 409

    @app.errorhandler(KeyError)
    @api.view
    def app_key(e: KeyError) -> tuple[str, int]:
        return f"app KeyError {e!r}", 410

    @parent.errorhandler(404)
    def parent_404(e: t.Any) -> tuple[str, int]:
        return "parent 404", 404

    @app.errorhandler(404)
    def app_404(e: t.Any) -> tuple[str, int]:
        return "app 404", 404

    @other.app_errorhandler(418)
    @api.view
    def teapot(e: t.Any) -> tuple[str, int]:
        return f"app-wide 418 from {api.request.blueprint}", 418

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    app.register_blueprint(parent, name="p2", url_prefix="/q", url_defaults={"flag": "r"})
    app.register_blueprint(other)
    return app


DIFF_REQUESTS: list[tuple[str, str]] = [
    ("GET", "/"),
    ("GET", "/?block=app"),
    ("GET", "/p/"),
    ("GET", "/p/?block=parent"),
    ("GET", "/p/c/"),
    ("POST", "/p/c/"),
    ("GET", "/p/c/?block=child"),
    ("GET", "/p/c/?block=parent"),
    ("GET", "/p/c/item/7"),
    ("GET", "/p/c/value-error"),
    ("GET", "/p/value-error"),
    ("GET", "/p/c/key-error"),
    ("GET", "/app-error"),
    ("GET", "/p/c/abort/404"),
    ("GET", "/p/c/abort/418"),
    ("GET", "/p/nope"),
    ("GET", "/nope"),
    ("PUT", "/p/c/"),
    ("OPTIONS", "/p/c/"),
    ("HEAD", "/p/c/item/3"),
    ("GET", "/q/"),
    ("GET", "/q/c/"),
    ("GET", "/q/c/value-error"),
    ("GET", "/o"),
    ("GET", "/p/c"),
]


@pytest.fixture(scope="module")
def flask_results() -> dict[tuple[str, str], tuple[int, bytes, dict[str, str]]]:
    app = build_structure(FLASK_API)
    client = app.test_client()
    results = {}
    for method, path in DIFF_REQUESTS:
        response = client.open(path, method=method)
        results[(method, path)] = (response.status_code, response.data, _headers(response))
    return results


def _headers(response: t.Any) -> dict[str, str]:
    wanted = ("X-Trail", "Allow", "Content-Type", "Location")
    return {name: response.headers[name] for name in wanted if name in response.headers}


async def test_blueprint_structure_matches_flask(
    flask_results: dict[tuple[str, str], tuple[int, bytes, dict[str, str]]],
) -> None:
    app = build_structure(QUARTLIKE_API)
    client = app.test_client()
    mismatches = []
    for method, path in DIFF_REQUESTS:
        response = await client.open(path, method=method)
        ours = (response.status_code, await response.get_data(), _headers(response))
        theirs = flask_results[(method, path)]
        if ours[0] == 405 == theirs[0]:
            # The error page body is werkzeug's on both sides; the Allow set is what matters.
            ours = (ours[0], b"", {**ours[2], "Allow": _sorted(ours[2].get("Allow"))})
            theirs = (theirs[0], b"", {**theirs[2], "Allow": _sorted(theirs[2].get("Allow"))})
        if method == "OPTIONS":
            ours = (ours[0], ours[1], {**ours[2], "Allow": _sorted(ours[2].get("Allow"))})
            theirs = (theirs[0], theirs[1], {**theirs[2], "Allow": _sorted(theirs[2].get("Allow"))})
        if ours != theirs:
            mismatches.append((method, path, theirs, ours))
    assert mismatches == []
    # The table exercised what it claims to.
    assert flask_results[("GET", "/p/c/")][2]["X-Trail"] == "child;parent;app;"
    assert flask_results[("GET", "/p/c/value-error")][0] == 400
    assert flask_results[("GET", "/p/nope")][1] == b"app 404"


def _sorted(allow: str | None) -> str | None:
    if allow is None:
        return None
    return ", ".join(sorted(part.strip() for part in allow.split(",")))
