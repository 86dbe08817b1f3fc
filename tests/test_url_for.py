"""URL building: ``url_for`` inside and outside requests, its options and hooks."""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.routing import BuildError

from quartlike import Quart
from quartlike import g
from quartlike import request
from quartlike import url_for


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config["TESTING"] = True
    app.config.update(config)

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.route("/user/<name>")
    async def user(name: str) -> str:
        return name

    return app


@pytest.fixture
def app() -> Quart:
    return make_app()


# -- inside a request -----------------------------------------------------------


async def test_relative_by_default(app: Quart) -> None:
    async with app.test_request_context("/"):
        assert url_for("index") == "/"
        assert url_for("user", name="ann") == "/user/ann"
        assert url_for("user", name="a b ü") == "/user/a%20b%20%C3%BC"


async def test_leading_dot_without_blueprint_is_the_app_endpoint(app: Quart) -> None:
    async with app.test_request_context("/"):
        assert url_for(".user", name="x") == "/user/x"


async def test_external(app: Quart) -> None:
    async with app.test_request_context("/", base_url="https://example.com:8443"):
        assert url_for("index", _external=True) == "https://example.com:8443/"
        assert url_for("user", name="x", _external=False) == "/user/x"


async def test_extra_values_become_the_query_string(app: Quart) -> None:
    async with app.test_request_context("/"):
        assert url_for("index", q="x y", n=[1, 2], u="ü&") == "/?q=x+y&n=1&n=2&u=%C3%BC%26"
        # None values are left out.
        assert url_for("user", name="x", page=None) == "/user/x"


async def test_anchor_is_quoted(app: Quart) -> None:
    async with app.test_request_context("/"):
        assert url_for("index", _anchor="top") == "/#top"
        assert url_for("index", _anchor="a b") == "/#a%20b"
        # Characters allowed in a fragment are kept as they are.
        assert url_for("index", _anchor="c/d?e=f&g'%#h") == "/#c/d?e=f&g'%#h"
        assert url_for("index", _anchor="ü") == "/#%C3%BC"
        assert url_for("index", q=1, _anchor="x") == "/?q=1#x"


async def test_method_selects_the_rule() -> None:
    app = make_app()

    async def view() -> str:
        return ""

    app.add_url_rule("/read", "thing", view, methods=["GET"])
    app.add_url_rule("/write", "thing", view, methods=["POST"])

    async with app.test_request_context("/"):
        assert url_for("thing") == "/read"
        assert url_for("thing", _method="GET") == "/read"
        assert url_for("thing", _method="POST") == "/write"
        with pytest.raises(BuildError):
            url_for("thing", _method="DELETE")


async def test_scheme(app: Quart) -> None:
    async with app.test_request_context("/"):
        # A scheme implies an external URL.
        assert url_for("index", _scheme="https") == "https://localhost/"
        assert url_for("index", _scheme="https", _external=True) == "https://localhost/"
        with pytest.raises(ValueError, match="_external"):
            url_for("index", _scheme="https", _external=False)


async def test_url_for_in_a_view(app: Quart) -> None:
    @app.route("/links")
    async def links() -> dict[str, str]:
        return {"rel": url_for("user", name="z"), "abs": url_for("index", _external=True)}

    response = await app.test_client().get("/links", base_url="http://example.org")
    assert await response.get_json() == {"rel": "/user/z", "abs": "http://example.org/"}


async def test_request_host_wins_over_server_name_inside_a_request() -> None:
    app = make_app(SERVER_NAME="configured.example")
    async with app.test_request_context("/", base_url="http://configured.example"):
        assert url_for("index", _external=True) == "http://configured.example/"


async def test_application_root_does_not_apply_inside_a_request() -> None:
    app = make_app(APPLICATION_ROOT="/app")
    async with app.test_request_context("/", root_path=""):
        assert url_for("index") == "/"
    async with app.test_request_context("/", root_path="/mounted"):
        assert url_for("index") == "/mounted/"


# -- defaults and preprocessors ---------------------------------------------------


def make_lang_app() -> Quart:
    app = make_app()

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang" in values or not g.get("lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = g.lang

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        g.lang = values.pop("lang", None) if values is not None else None

    @app.route("/<lang>/about")
    async def about() -> dict[str, t.Any]:
        return {
            "lang": g.lang,
            "view_args": request.view_args,
            "self": url_for("about"),
            "other": url_for("about", lang="fr"),
            "index": url_for("index"),
        }

    return app


async def test_url_defaults_and_value_preprocessor() -> None:
    app = make_lang_app()
    response = await app.test_client().get("/de/about")
    assert await response.get_json() == {
        "lang": "de",
        "view_args": {},
        "self": "/de/about",
        "other": "/fr/about",
        "index": "/",
    }


async def test_url_defaults_run_outside_requests_too() -> None:
    app = make_app(SERVER_NAME="example.com")
    app.add_url_rule("/p/<int:page>", "page")

    @app.url_defaults
    def default_page(endpoint: str, values: dict[str, t.Any]) -> None:
        if endpoint == "page":
            values.setdefault("page", 1)

    async with app.app_context():
        assert url_for("page") == "http://example.com/p/1"
        assert url_for("page", page=3) == "http://example.com/p/3"


# -- build errors -------------------------------------------------------------------


async def test_build_error_for_unknown_endpoint(app: Quart) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(BuildError, match="missing"):
            url_for("missing")


async def test_build_error_for_missing_value(app: Quart) -> None:
    async with app.test_request_context("/"):
        with pytest.raises(BuildError, match="name"):
            url_for("user")


async def test_url_build_error_handler_supplies_the_url(app: Quart) -> None:
    calls: list[tuple[str, dict[str, t.Any]]] = []

    def handler(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str | None:
        calls.append((endpoint, dict(values)))
        if endpoint == "elsewhere":
            return f"https://elsewhere.example/{values.get('x', '')}"
        return None

    app.url_build_error_handlers.append(handler)
    async with app.test_request_context("/"):
        assert url_for("elsewhere", x="1") == "https://elsewhere.example/1"
        with pytest.raises(BuildError):
            url_for("unknown")
    assert calls[0][0] == "elsewhere"
    assert calls[0][1]["x"] == "1"
    assert "_anchor" in calls[0][1]
    assert [endpoint for endpoint, _ in calls] == ["elsewhere", "unknown"]


async def test_url_build_error_handler_raising_another_build_error(app: Quart) -> None:
    replacement = BuildError("replacement", {}, None)

    def handler(error: Exception, endpoint: str, values: dict[str, t.Any]) -> str:
        raise replacement

    app.url_build_error_handlers.append(handler)
    async with app.test_request_context("/"):
        with pytest.raises(BuildError) as info:
            url_for("unknown")
    assert info.value is replacement


async def test_build_error_in_a_view_is_a_500_when_not_propagating() -> None:
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.route("/broken")
    async def broken() -> str:
        return url_for("nope")

    response = await app.test_client().get("/broken")
    assert response.status_code == 500


# -- outside a request ----------------------------------------------------------------


async def test_outside_request_without_server_name(app: Quart) -> None:
    async with app.app_context():
        with pytest.raises(RuntimeError, match="SERVER_NAME"):
            url_for("index")
    with pytest.raises(RuntimeError, match="SERVER_NAME"):
        app.url_for("index")


def test_url_for_without_any_context_needs_an_app_context() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        url_for("index")


async def test_outside_request_with_server_name() -> None:
    app = make_app(SERVER_NAME="example.com")
    async with app.app_context():
        # Outside a request URLs are external by default.
        assert url_for("index") == "http://example.com/"
        assert url_for("user", name="x", _external=False) == "/user/x"
        assert url_for("index", _scheme="https") == "https://example.com/"
        assert url_for("index", _anchor="a b") == "http://example.com/#a%20b"
    # Without any context the app object itself can build.
    assert app.url_for("user", name="y") == "http://example.com/user/y"


async def test_application_root_and_preferred_scheme() -> None:
    app = make_app(
        SERVER_NAME="example.com:8080",
        APPLICATION_ROOT="/app",
        PREFERRED_URL_SCHEME="https",
    )
    async with app.app_context():
        assert url_for("index") == "https://example.com:8080/app/"
        assert url_for("user", name="x", _external=False) == "/app/user/x"


async def test_preferred_scheme_is_used_by_the_test_client() -> None:
    app = make_app(PREFERRED_URL_SCHEME="https")

    @app.route("/scheme")
    async def scheme() -> str:
        return f"{request.scheme} {url_for('index', _external=True)}"

    assert (await app.test_client().get("/scheme")).data == b"https https://localhost/"
