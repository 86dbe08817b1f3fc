"""The static-route table answers exactly as werkzeug's matcher would, or not at all.

Each case is run twice: against an app on quartlike's map (where requests to
static rules skip werkzeug's matcher and the adapter is bound lazily) and
against the same app on werkzeug's own ``Map`` (everything through werkzeug).
Status, body and headers must agree.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.routing import Map as WerkzeugMap
from werkzeug.routing import Rule

from quartlike import Blueprint
from quartlike import Quart
from quartlike import has_websocket_context
from quartlike import request
from quartlike import url_for
from quartlike import websocket
from quartlike.routing import Map
from quartlike.routing import StaticRoutes
from quartlike.testing import WebsocketResponseError


class WerkzeugMatchedApp(Quart):
    url_map_class = WerkzeugMap


def build(cls: type[Quart]) -> Quart:
    app = cls(__name__)
    app.config["TESTING"] = True

    def describe() -> str:
        conn: t.Any = websocket if has_websocket_context() else request
        rule = conn.url_rule
        return f"{conn.endpoint} {rule.rule if rule else None} {conn.view_args} {conn.method}"

    @app.route("/")
    async def index() -> str:
        return describe()

    @app.route("/about")
    async def about() -> str:
        return describe() + " " + url_for("about", _external=True)

    @app.route("/slash/")
    async def slash() -> str:
        return describe()

    @app.route("/same", methods=["GET"])
    async def same_get() -> str:
        return describe()

    @app.route("/same", methods=["POST"])
    async def same_post() -> str:
        return describe()

    @app.route("/post-only", methods=["POST"])
    async def post_only() -> str:
        return describe()

    @app.route("/page", defaults={"n": 1})
    @app.route("/page/<int:n>")
    async def page(n: int) -> str:
        return describe()

    @app.route("/<name>")
    async def catch(name: str) -> str:
        return describe()

    @app.route("/files/<path:rest>")
    async def files(rest: str) -> str:
        return describe()

    @app.route("/files/fixed")
    async def files_fixed() -> str:
        return describe()

    app.add_url_rule("/old", "old", redirect_to="/about")

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send(describe())

    @app.route("/both")
    async def both_http() -> str:
        return describe()

    @app.websocket("/both")
    async def both_ws() -> None:
        await websocket.accept()
        await websocket.send("ws " + describe())

    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.route("/")
    async def bp_index() -> str:
        return describe() + " " + url_for(".bp_index")

    @bp.route("/strict", strict_slashes=False)
    async def bp_loose() -> str:
        return describe()

    app.register_blueprint(bp)
    return app


CASES = [
    ("GET", "/"),
    ("HEAD", "/"),
    ("OPTIONS", "/"),
    ("POST", "/"),
    ("GET", "/about"),
    ("GET", "/about/"),
    ("GET", "/slash"),
    ("GET", "/slash/"),
    ("GET", "/same"),
    ("POST", "/same"),
    ("PUT", "/same"),
    ("GET", "/post-only"),
    ("POST", "/post-only"),
    ("GET", "/page"),
    ("GET", "/page/1"),
    ("GET", "/page/2"),
    ("GET", "/anything"),
    ("GET", "/files/fixed"),
    ("GET", "/files/a/b"),
    ("GET", "/old"),
    ("GET", "/ws"),
    ("GET", "/both"),
    ("GET", "/bp/"),
    ("GET", "/bp"),
    ("GET", "/bp/strict"),
    ("GET", "/bp/strict/"),
    ("GET", "//about"),
    ("GET", "/About"),
    ("DELETE", "/nowhere/at/all"),
]


@pytest.mark.parametrize(("method", "path"), CASES)
async def test_same_answer_as_werkzeug(method: str, path: str) -> None:
    answers = []
    for cls in (Quart, WerkzeugMatchedApp):
        app = build(cls)
        response = await app.test_client().open(path, method=method)
        answers.append(
            (
                response.status_code,
                await response.get_data(),
                sorted(response.headers.items()),
            )
        )
    assert answers[0] == answers[1]


async def test_websockets_match_the_same() -> None:
    for path in ("/ws", "/both"):
        sent = []
        for cls in (Quart, WerkzeugMatchedApp):
            app = build(cls)
            async with app.test_client().websocket(path) as ws:
                sent.append(await ws.receive())
        assert sent[0] == sent[1]


async def test_rules_added_later_are_seen() -> None:
    app = build(Quart)
    client = app.test_client()
    assert (await (await client.get("/later")).get_data(as_text=True)).startswith("catch")

    async def later() -> str:
        return "later"

    app.url_map.add(Rule("/later", endpoint="later"))
    app.view_functions["later"] = later
    assert await (await client.get("/later")).get_data() == b"later"


def test_table_leaves_ambiguous_and_special_rules_to_werkzeug() -> None:
    url_map = Map()
    url_map.add(Rule("/plain", endpoint="plain", methods=["GET"]))
    url_map.add(Rule("/twice", endpoint="a", methods=["GET"]))
    url_map.add(Rule("/twice", endpoint="b", methods=["POST"]))
    url_map.add(Rule("/defaults", endpoint="d", defaults={"x": 1}))
    url_map.add(Rule("/redirect", endpoint="r", redirect_to="/plain"))
    url_map.add(Rule("/sub", endpoint="s", subdomain="api"))
    url_map.add(Rule("/dyn/<int:x>", endpoint="dyn"))
    table = StaticRoutes(url_map)
    assert t.cast(Rule, table.match("/plain", "GET", False)).endpoint == "plain"
    assert table.match("/plain", "POST", False) is None
    assert table.match("/plain", "GET", True) is None
    for path in ("/twice", "/defaults", "/redirect", "/sub", "/dyn/1", "/dyn/<int:x>"):
        assert table.match(path, "GET", False) is None, path


async def test_subdomain_and_host_matching_apps_still_route() -> None:
    app = Quart(__name__, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/", subdomain="api")
    async def api() -> str:
        return "api"

    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    assert await (await client.get("/", headers={"Host": "api.example.test"})).get_data() == b"api"
    assert await (await client.get("/", headers={"Host": "example.test"})).get_data() == b"index"


@pytest.mark.parametrize("cls", [Quart, WerkzeugMatchedApp])
async def test_unencodable_host_is_a_400_on_static_rules_too(cls: type[Quart]) -> None:
    # As in Flask: binding the URL map to a Host whose name cannot be
    # IDNA-encoded fails with 400, whether or not the rule needs the adapter.
    app = build(cls)
    client = app.test_client()
    good = await client.get("/", headers={"Host": "example.test"})
    assert good.status_code == 200
    for _ in range(2):  # the second time, the host is not new to the app
        bad = await client.get("/", headers={"Host": "h" * 300})
        assert bad.status_code == 400
    assert (await client.get("/", headers={"Host": "example.test"})).status_code == 200


@pytest.mark.parametrize("cls", [Quart, WerkzeugMatchedApp])
async def test_unencodable_host_is_a_400_for_websockets_too(cls: type[Quart]) -> None:
    app = build(cls)
    client = app.test_client()
    async with client.websocket("/ws", headers={"Host": "example.test"}) as ws:
        assert (await ws.receive()).startswith("ws")
    for _ in range(2):
        with pytest.raises(WebsocketResponseError) as info:
            async with client.websocket("/ws", headers={"Host": "h" * 300}) as ws:
                await ws.receive()
        assert info.value.response.status_code == 400
