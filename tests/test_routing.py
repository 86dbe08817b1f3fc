"""Routing: rules, methods, redirects, converters, hosts, subdomains and mounting."""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.routing import BaseConverter
from werkzeug.routing import Map
from werkzeug.routing import MapAdapter
from werkzeug.routing import ValidationError

from quartlike import Quart
from quartlike import request
from quartlike import url_for


def make_app(**kwargs: t.Any) -> Quart:
    app = Quart(__name__, **kwargs)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app() -> Quart:
    return make_app()


# -- methods -------------------------------------------------------------------------


async def test_route_defaults_to_get(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return request.method

    client = app.test_client()
    assert (await client.get("/")).data == b"GET"
    response = await client.post("/")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


async def test_route_with_several_methods(app: Quart) -> None:
    @app.route("/", methods=["get", "POST"])
    async def index() -> str:
        return request.method

    client = app.test_client()
    assert (await client.get("/")).data == b"GET"
    assert (await client.post("/")).data == b"POST"
    assert (await client.put("/")).status_code == 405


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
async def test_method_shortcuts(app: Quart, method: str) -> None:
    decorator: t.Callable[[str], t.Callable[[t.Any], t.Any]] = getattr(app, method)

    @decorator("/thing")
    async def thing() -> str:
        return request.method

    client = app.test_client()
    response = await client.open("/thing", method=method.upper())
    assert response.status_code == 200
    assert response.data == method.upper().encode()
    other = "PUT" if method != "put" else "POST"
    response = await client.open("/thing", method=other)
    assert response.status_code == 405
    assert method.upper() in response.headers["Allow"]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_method_shortcuts_reject_methods_option(app: Quart, method: str) -> None:
    with pytest.raises(TypeError, match="methods"):
        getattr(app, method)("/", methods=["GET"])


def test_methods_as_string_is_rejected(app: Quart) -> None:
    async def view() -> str:
        return ""

    with pytest.raises(TypeError, match="list of method names"):
        app.add_url_rule("/", view_func=view, methods="GET")


async def test_view_function_methods_attribute(app: Quart) -> None:
    async def view() -> str:
        return request.method

    view.methods = ["POST", "PUT"]  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)

    client = app.test_client()
    assert (await client.post("/")).data == b"POST"
    assert (await client.put("/")).data == b"PUT"
    assert (await client.get("/")).status_code == 405


async def test_405_lists_allowed_methods_across_rules(app: Quart) -> None:
    @app.get("/item")
    async def read() -> str:
        return "read"

    @app.delete("/item")
    async def remove() -> str:
        return "removed"

    client = app.test_client()
    assert (await client.get("/item")).data == b"read"
    assert (await client.delete("/item")).data == b"removed"
    response = await client.post("/item")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "DELETE", "OPTIONS"}


async def test_unknown_url_is_404(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return ""

    response = await app.test_client().get("/missing")
    assert response.status_code == 404
    assert b"Not Found" in response.data


# -- automatic HEAD and OPTIONS ---------------------------------------------------------


async def test_head_is_automatic_for_get(app: Quart) -> None:
    calls: list[str] = []

    @app.route("/")
    async def index() -> str:
        calls.append(request.method)
        return "hello"

    response = await app.test_client().head("/")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == "5"
    assert calls == ["HEAD"]


async def test_head_is_not_added_without_get(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        return "posted"

    assert (await app.test_client().head("/")).status_code == 405


async def test_automatic_options(app: Quart) -> None:
    called = False

    @app.route("/", methods=["GET", "POST"])
    async def index() -> str:
        nonlocal called
        called = True
        return "view"

    response = await app.test_client().options("/")
    assert response.status_code == 200
    assert response.data == b""
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert not called


async def test_automatic_options_lists_methods_of_every_rule_for_the_url(app: Quart) -> None:
    @app.get("/")
    async def read() -> str:
        return ""

    @app.put("/")
    async def write() -> str:
        return ""

    response = await app.test_client().options("/")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "PUT", "OPTIONS"}


async def test_explicit_options_method_calls_the_view(app: Quart) -> None:
    @app.route("/", methods=["GET", "OPTIONS"])
    async def index() -> str:
        return f"view {request.method}"

    assert (await app.test_client().options("/")).data == b"view OPTIONS"


async def test_provide_automatic_options_false(app: Quart) -> None:
    @app.route("/", provide_automatic_options=False)
    async def index() -> str:
        return ""

    response = await app.test_client().options("/")
    assert response.status_code == 405
    assert "OPTIONS" not in response.headers["Allow"]


async def test_provide_automatic_options_view_attribute(app: Quart) -> None:
    async def index() -> str:
        return ""

    index.provide_automatic_options = False  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=index)

    assert (await app.test_client().options("/")).status_code == 405


async def test_provide_automatic_options_config_off(app: Quart) -> None:
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.route("/")
    async def index() -> str:
        return ""

    # As in Flask, asking for automatic OPTIONS does not add the method itself.
    @app.route("/opt", methods=["GET", "OPTIONS"], provide_automatic_options=True)
    async def opt() -> str:
        return "view"

    client = app.test_client()
    assert (await client.options("/")).status_code == 405
    response = await client.options("/opt")
    assert response.status_code == 200
    assert response.data == b""
    assert "OPTIONS" in response.headers["Allow"]


# -- defaults, slashes and redirects --------------------------------------------------


async def test_defaults(app: Quart) -> None:
    @app.route("/page/", defaults={"number": 1})
    @app.route("/page/<int:number>")
    async def page(number: int) -> str:
        return f"page {number}"

    client = app.test_client()
    assert (await client.get("/page/")).data == b"page 1"
    assert (await client.get("/page/7")).data == b"page 7"
    # The URL that spells out the default redirects to the canonical one.
    response = await client.get("/page/1")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/page/"


async def test_strict_slashes_redirects_with_308(app: Quart) -> None:
    @app.route("/folder/", methods=["GET", "POST"])
    async def folder() -> str:
        return f"folder {request.method}"

    client = app.test_client()
    response = await client.get("/folder?x=1")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/folder/?x=1"
    assert (await client.get("/folder", follow_redirects=True)).data == b"folder GET"
    # 308 keeps the method, so a POST is redirected to a POST.
    assert (await client.post("/folder", follow_redirects=True)).data == b"folder POST"


async def test_no_slash_rule_does_not_match_with_slash(app: Quart) -> None:
    @app.route("/file")
    async def file() -> str:
        return "file"

    assert (await app.test_client().get("/file/")).status_code == 404


async def test_strict_slashes_false_matches_both(app: Quart) -> None:
    @app.route("/folder/", strict_slashes=False)
    async def folder() -> str:
        return "folder"

    client = app.test_client()
    assert (await client.get("/folder/")).data == b"folder"
    response = await client.get("/folder")
    assert response.status_code == 200
    assert response.data == b"folder"


async def test_redirect_to_string(app: Quart) -> None:
    @app.route("/new/<int:id>")
    async def new(id: int) -> str:
        return f"new {id}"

    app.add_url_rule("/old/<int:id>", "old", redirect_to="/new/<id>")

    client = app.test_client()
    response = await client.get("/old/3")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/new/3"
    assert (await client.get("/old/3", follow_redirects=True)).data == b"new 3"


async def test_redirect_to_callable(app: Quart) -> None:
    seen: list[tuple[MapAdapter, dict[str, t.Any]]] = []

    def target(adapter: MapAdapter, **values: t.Any) -> str:
        seen.append((adapter, values))
        return f"/search?q={values['term']}"

    @app.route("/search")
    async def search() -> str:
        return request.args["q"]

    app.add_url_rule("/find/<term>", "find", redirect_to=target)

    client = app.test_client()
    response = await client.get("/find/cats")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/search?q=cats"
    assert seen[0][1] == {"term": "cats"}
    assert isinstance(seen[0][0], MapAdapter)


# -- endpoints ------------------------------------------------------------------------


async def test_explicit_endpoint(app: Quart) -> None:
    @app.route("/", endpoint="home")
    async def index() -> str:
        return str(request.endpoint)

    assert "home" in app.view_functions
    assert "index" not in app.view_functions
    assert (await app.test_client().get("/")).data == b"home"


def test_duplicate_endpoint_with_another_function_is_an_error(app: Quart) -> None:
    @app.route("/a")
    async def view() -> str:
        return "a"

    async def other() -> str:
        return "b"

    with pytest.raises(AssertionError, match="'view'"):
        app.add_url_rule("/b", "view", other)


async def test_same_function_under_several_rules(app: Quart) -> None:
    @app.route("/a")
    @app.route("/b")
    async def view() -> str:
        return request.path

    client = app.test_client()
    assert (await client.get("/a")).data == b"/a"
    assert (await client.get("/b")).data == b"/b"


async def test_endpoint_decorator(app: Quart) -> None:
    app.add_url_rule("/", "home")

    @app.endpoint("home")
    async def home() -> str:
        return "home"

    assert app.view_functions["home"] is home
    assert (await app.test_client().get("/")).data == b"home"


def test_add_url_rule_without_view_or_endpoint(app: Quart) -> None:
    with pytest.raises(TypeError, match="endpoint"):
        app.add_url_rule("/")


# -- converters ---------------------------------------------------------------------------


class ListConverter(BaseConverter):
    """``a,b,c`` in the URL, ``["a", "b", "c"]`` in the view."""

    def to_python(self, value: str) -> list[str]:
        return value.split(",")

    def to_url(self, value: list[str]) -> str:
        return ",".join(super(ListConverter, self).to_url(item) for item in value)


class EvenConverter(BaseConverter):
    regex = r"\d+"

    def __init__(self, map: Map, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValidationError()
        return number


async def test_custom_converter(app: Quart) -> None:
    app.url_map.converters["list"] = ListConverter

    @app.route("/tags/<list:tags>")
    async def tags(tags: list[str]) -> dict[str, t.Any]:
        return {"tags": tags, "url": url_for("tags", tags=["x y", "z"])}

    response = await app.test_client().get("/tags/a,b,c")
    assert await response.get_json() == {"tags": ["a", "b", "c"], "url": "/tags/x%20y,z"}


async def test_converter_validation_error_is_404(app: Quart) -> None:
    app.url_map.converters["even"] = EvenConverter

    @app.route("/n/<even:n>")
    async def even(n: int) -> str:
        return f"{n * 10}"

    client = app.test_client()
    assert (await client.get("/n/4")).data == b"40"
    assert (await client.get("/n/3")).status_code == 404


async def test_builtin_converters(app: Quart) -> None:
    @app.route("/int/<int:v>")
    async def as_int(v: int) -> str:
        return type(v).__name__

    @app.route("/float/<float:v>")
    async def as_float(v: float) -> str:
        return type(v).__name__

    @app.route("/path/<path:v>")
    async def as_path(v: str) -> str:
        return v

    @app.route("/uuid/<uuid:v>")
    async def as_uuid(v: t.Any) -> str:
        return type(v).__name__

    client = app.test_client()
    assert (await client.get("/int/3")).data == b"int"
    assert (await client.get("/int/x")).status_code == 404
    assert (await client.get("/float/1.5")).data == b"float"
    assert (await client.get("/path/a/b/c")).data == b"a/b/c"
    response = await client.get("/uuid/12345678-1234-5678-1234-567812345678")
    assert response.data == b"UUID"


# -- hosts and subdomains -------------------------------------------------------------------


async def test_host_matching() -> None:
    app = make_app(host_matching=True, static_folder=None)

    @app.route("/", host="api.example.com")
    async def api() -> str:
        return f"api {url_for('www')}"

    @app.route("/", host="www.example.com")
    async def www() -> str:
        return f"www {url_for('www')}"

    @app.route("/", host="<user>.users.example.com")
    async def user(user: str) -> str:
        return f"user {user}"

    client = app.test_client()
    response = await client.get("/", base_url="http://api.example.com")
    assert response.data == b"api http://www.example.com/"
    assert (await client.get("/", base_url="http://www.example.com")).data == b"www /"
    assert (await client.get("/", base_url="http://bob.users.example.com")).data == b"user bob"
    assert (await client.get("/", base_url="http://other.example.com")).status_code == 404


async def test_host_matching_ignores_server_name() -> None:
    app = make_app(host_matching=True, static_folder=None)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/", host="api.example.org")
    async def api() -> str:
        return "api"

    response = await app.test_client().get("/", base_url="http://api.example.org")
    assert response.data == b"api"


def test_static_host_is_stored() -> None:
    app = make_app(host_matching=True, static_host="static.example.com")
    assert app.static_host == "static.example.com"
    assert app.url_map.host_matching


async def test_static_route_uses_static_host() -> None:
    app = make_app(host_matching=True, static_host="static.example.com")
    async with app.test_request_context("/", base_url="http://www.example.com"):
        assert url_for("static", filename="a.css") == "http://static.example.com/static/a.css"
    (rule,) = [rule for rule in app.url_map.iter_rules() if rule.endpoint == "static"]
    assert rule.host == "static.example.com"


@pytest.fixture
def subdomain_app() -> Quart:
    app = make_app(subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/", subdomain="api")
    async def api() -> str:
        return f"api {url_for('index')} {url_for('api')}"

    @app.route("/who", subdomain="<name>")
    async def who(name: str) -> str:
        return f"who {name}"

    return app


async def test_subdomain_matching(subdomain_app: Quart) -> None:
    client = subdomain_app.test_client()
    assert (await client.get("/")).data == b"index"
    assert (await client.get("/", subdomain="api")).data == b"api http://example.com/ /"
    assert (await client.get("/who", subdomain="ann")).data == b"who ann"
    assert (await client.get("/who")).status_code == 404
    assert (await client.get("/", subdomain="nope")).status_code == 404
    # A host outside SERVER_NAME matches no rule.
    assert (await client.get("/", base_url="http://example.org")).status_code == 404


async def test_subdomain_matching_port_in_server_name_is_dropped_for_default_port() -> None:
    app = make_app(subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.com:80"

    @app.route("/", subdomain="api")
    async def api() -> str:
        return url_for("api", _external=True)

    response = await app.test_client().get("/", base_url="http://api.example.com")
    assert response.data == b"http://api.example.com/"


async def test_subdomain_url_for_outside_request(subdomain_app: Quart) -> None:
    async with subdomain_app.app_context():
        assert url_for("api") == "http://api.example.com/"
        assert url_for("who", name="bo") == "http://bo.example.com/who"


async def test_without_subdomain_matching_server_name_does_not_restrict_host() -> None:
    # As in Flask 3.1: without subdomain_matching, SERVER_NAME only feeds URL
    # building; requests for any host are routed.
    app = make_app()
    app.config["SERVER_NAME"] = "example.com"

    @app.route("/")
    async def index() -> str:
        return request.host

    @app.route("/", subdomain="api", endpoint="api")
    async def api() -> str:
        return "api"

    client = app.test_client()
    assert (await client.get("/", base_url="http://other.org")).data == b"other.org"
    assert (await client.get("/", base_url="http://api.example.com")).data == b"api.example.com"


# -- mounting under a root path --------------------------------------------------------


async def test_root_path_is_ignored_by_routing_and_used_by_url_for(app: Quart) -> None:
    @app.route("/page/<int:n>")
    async def page(n: int) -> dict[str, t.Any]:
        return {
            "n": n,
            "path": request.path,
            "root_path": request.root_path,
            "url": request.url,
            "built": url_for("page", n=n + 1),
            "external": url_for("page", n=n, _external=True),
        }

    response = await app.test_client().get("/page/1", root_path="/mount")
    assert await response.get_json() == {
        "n": 1,
        "path": "/page/1",
        "root_path": "/mount",
        "url": "http://localhost/mount/page/1",
        "built": "/mount/page/2",
        "external": "http://localhost/mount/page/1",
    }


async def test_root_path_redirects_keep_the_prefix(app: Quart) -> None:
    @app.route("/folder/")
    async def folder() -> str:
        return ""

    response = await app.test_client().get("/folder", root_path="/mount")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/mount/folder/"


async def test_request_routing_results(app: Quart) -> None:
    @app.route("/user/<int:id>", endpoint="user")
    async def user_view(id: int) -> dict[str, t.Any]:
        assert request.url_rule is not None
        return {
            "endpoint": request.endpoint,
            "rule": request.url_rule.rule,
            "view_args": request.view_args,
            "blueprint": request.blueprint,
        }

    response = await app.test_client().get("/user/5")
    assert await response.get_json() == {
        "endpoint": "user",
        "rule": "/user/<int:id>",
        "view_args": {"id": 5},
        "blueprint": None,
    }


async def test_routing_results_on_404(app: Quart) -> None:
    seen: dict[str, t.Any] = {}

    @app.errorhandler(404)
    async def not_found(e: Exception) -> tuple[str, int]:
        seen.update(rule=request.url_rule, endpoint=request.endpoint, args=request.view_args)
        return "custom", 404

    response = await app.test_client().get("/nothing")
    assert response.data == b"custom"
    assert seen == {"rule": None, "endpoint": None, "args": None}


async def test_adding_a_route_after_the_first_request_is_an_error(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return ""

    await app.test_client().get("/")
    with pytest.raises(AssertionError, match="first request"):

        @app.route("/late")
        async def late() -> str:
            return ""
