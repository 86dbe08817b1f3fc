"""The table of all rules answers exactly as werkzeug's matcher would, or not at all.

Three kinds of checks:

* requests served twice, by an app on quartlike's map (where the route tables
  answer what they can) and by the same app on werkzeug's own ``Map``
  (everything through werkzeug): status, body and headers must agree;
* the table against werkzeug's ``MapAdapter.match`` on random rule sets and
  random paths near them (Hypothesis);
* that the table does answer the plain cases (else the above prove little),
  defers on the tricky ones, and follows rules added later.
"""

from __future__ import annotations

import typing as t
import uuid

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter
from werkzeug.routing import Map as WerkzeugMap
from werkzeug.routing import Rule

from quartlike import Quart
from quartlike import has_websocket_context
from quartlike import request
from quartlike import websocket
from quartlike.ctx import _UNBOUND
from quartlike.globals import _cv_request
from quartlike.routing import MAX_CANDIDATES
from quartlike.routing import NO_RULE
from quartlike.routing import DynamicRoutes
from quartlike.routing import Map
from quartlike.routing import StaticRoutes

from .route_strategies import fill
from .route_strategies import rule_options
from .route_strategies import rule_texts


class WerkzeugMatchedApp(Quart):
    url_map_class = WerkzeugMap


class Shout(BaseConverter):
    """An app's own converter: the table must leave its rules to werkzeug."""

    def to_python(self, value: str) -> str:
        return value.upper()


def typed(args: dict[str, t.Any] | None) -> str:
    return repr(sorted((name, type(value).__name__, value) for name, value in (args or {}).items()))


def describe() -> str:
    conn: t.Any = websocket if has_websocket_context() else request
    rule = conn.url_rule
    return f"{conn.endpoint} {rule.rule if rule else None} {typed(conn.view_args)} {conn.method}"


def build(cls: type[Quart]) -> Quart:
    app = cls(__name__)
    app.config["TESTING"] = True
    app.url_map.converters["shout"] = Shout

    async def view(**kwargs: t.Any) -> str:
        return describe()

    def add(rule: str, endpoint: str, **options: t.Any) -> None:
        app.add_url_rule(rule, endpoint, view, **options)

    add("/users/new", "users_new")
    add("/users/<int:id>", "user_by_id", methods=["GET"])
    add("/users/<name>", "user_by_name", methods=["POST"])
    add("/users/<name>/posts/<int(fixed_digits=3):n>", "user_post")
    add("/files/<path:p>", "files")
    add("/files/<path:p>/raw/", "files_raw")
    add("/a/<x>/", "strict_a")
    add("/loose/<x>/", "loose", strict_slashes=False)
    add("/<lang>/about", "about")
    add("/k/<any(x, 'y z', 'a-b'):k>", "any")
    add("/u/<uuid:u>", "uuid")
    add("/fl/<float:f>", "float")
    add("/sg/<int(signed=True):s>", "signed")
    add("/mn/<int(min=5, max=500):m>", "bounded")
    add("/sh/<shout:s>", "shout")
    add("/str/<string(length=2):code>", "code")
    add("/html/<a>-<b>.html", "dash")
    add("/page", "page", defaults={"n": 1})
    add("/page/<int:n>", "page")
    add("/go/<x>", "go", redirect_to="/a/<x>/")
    add("/both/<int:n>", "both_get", methods=["GET"])
    add("/both/<int:n>", "both_post", methods=["POST"])
    add("/é/<word>", "accent")

    @app.websocket("/ws/<int:n>")
    async def ws_n(n: int) -> None:
        await websocket.accept()
        await websocket.send("ws " + describe())

    @app.websocket("/ws/<path:rest>/end")
    async def ws_rest(rest: str) -> None:
        await websocket.accept()
        await websocket.send("ws " + describe())

    add("/ws/<int:n>", "ws_http")
    return app


CASES = [
    ("GET", "/users/new"),
    ("POST", "/users/new"),
    ("GET", "/users/42"),
    ("HEAD", "/users/42"),
    ("OPTIONS", "/users/42"),
    ("POST", "/users/42"),
    ("PUT", "/users/42"),
    ("GET", "/users/bob"),
    ("POST", "/users/bob"),
    ("POST", "/users/bob/"),
    ("GET", "/users/42/"),
    ("GET", "/users/bob/posts/007"),
    ("GET", "/users/bob/posts/7"),
    ("GET", "/users/%C3%A9"),
    ("POST", "/users/%C3%A9"),
    ("GET", "/users/%D9%A3"),  # an Arabic-Indic digit: \d matches it, int() reads it
    ("GET", "/users/%2F"),
    ("GET", "/files/a"),
    ("GET", "/files/a/b/c"),
    ("GET", "/files/a/b/"),
    ("GET", "/files/"),
    ("GET", "/files"),
    ("GET", "/files/a//b"),
    ("GET", "/files/a/raw"),
    ("GET", "/files/a/raw/"),
    ("GET", "/a/1"),
    ("GET", "/a/1/"),
    ("GET", "/a/1?q=2"),
    ("GET", "/loose/1"),
    ("GET", "/loose/1/"),
    ("GET", "/en/about"),
    ("GET", "/en/about/"),
    ("GET", "/users/about"),
    ("GET", "/k/x"),
    ("GET", "/k/y%20z"),
    ("GET", "/k/a-b"),
    ("GET", "/k/z"),
    ("GET", "/u/12345678-1234-5678-1234-567812345678"),
    ("GET", "/u/12345678-1234-5678-1234-56781234567"),
    ("GET", "/fl/1.5"),
    ("GET", "/fl/1"),
    ("GET", "/sg/-3"),
    ("GET", "/sg/3"),
    ("GET", "/mn/3"),
    ("GET", "/mn/7"),
    ("GET", "/mn/501"),
    ("GET", "/sh/quiet"),
    ("GET", "/str/fr"),
    ("GET", "/str/fra"),
    ("GET", "/html/x-y-z.html"),
    ("GET", "/html/x.html"),
    ("GET", "/page"),
    ("GET", "/page/1"),
    ("GET", "/page/2"),
    ("GET", "/go/1"),
    ("GET", "/both/1"),
    ("POST", "/both/1"),
    ("DELETE", "/both/1"),
    ("GET", "/%C3%A9/mot"),
    ("GET", "/ws/1"),
    ("GET", "/ws/a/end"),
    ("GET", "//users/42"),
    ("GET", "/users//42"),
    ("GET", "/nowhere/at/all"),
]


async def serve(app: Quart, method: str, path: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    response = await app.test_client().open(path, method=method)
    return response.status_code, await response.get_data(), sorted(response.headers.items())


@pytest.mark.parametrize(("method", "path"), CASES)
async def test_same_answer_as_werkzeug(method: str, path: str) -> None:
    ours = build(Quart)
    theirs = build(WerkzeugMatchedApp)
    # Twice: the first request binds the map (its Host is new), the second
    # is the one the route tables answer.
    for _ in range(2):
        assert await serve(ours, method, path) == await serve(theirs, method, path)


@pytest.mark.parametrize("path", ["/ws/5", "/ws/a/b/end", "/ws/%D9%A3"])
async def test_websockets_match_the_same(path: str) -> None:
    sent = []
    for cls in (Quart, WerkzeugMatchedApp):
        app = build(cls)
        client = app.test_client()
        for _ in range(2):
            async with client.websocket(path) as ws:
                sent.append(await ws.receive())
    assert len(set(sent)) == 1, sent


def werkzeug_match(
    url_map: WerkzeugMap, path: str, method: str, websocket: bool
) -> tuple[Rule, dict[str, t.Any]] | str:
    adapter = url_map.bind("localhost", url_scheme="ws" if websocket else "http")
    try:
        rule, args = adapter.match(path, method, return_rule=True, websocket=websocket)
    except HTTPException as e:
        return type(e).__name__
    return rule, dict(args)


def werkzeug_error(
    url_map: WerkzeugMap, path: str, method: str, websocket: bool
) -> type[HTTPException] | None:
    """The class of the error werkzeug's ``MapAdapter.match`` raises, if any."""
    adapter = url_map.bind("localhost", url_scheme="ws" if websocket else "http")
    try:
        adapter.match(path, method, return_rule=True, websocket=websocket)
    except HTTPException as e:
        return type(e)
    return None


def check_against_werkzeug(url_map: Map, path: str, method: str, websocket: bool) -> bool:
    """Whether the tables answered; fails when an answer differs from werkzeug's
    (a 404 answered by the table must be werkzeug's ``NotFound``, exactly)."""
    table = StaticRoutes(url_map)
    static_rule = table.match(path, method, websocket)
    answer = table.dynamic.match(path, method, websocket)
    if static_rule is None and answer is None:
        return False
    if answer is NO_RULE:
        assert static_rule is None, (path, method, websocket, static_rule)
        error = werkzeug_error(url_map, path, method, websocket)
        assert error is NotFound, (path, method, websocket, error)
        return True
    expected = werkzeug_match(url_map, path, method, websocket)
    assert not isinstance(expected, str), (path, method, websocket, expected, answer)
    if static_rule is not None:
        assert (static_rule, {}) == expected
    if answer is not None:
        rule, args = answer
        assert rule is expected[0], (path, method, rule, expected)
        assert typed(args) == typed(expected[1])
        assert list(args) == list(expected[1])
    return True


def test_table_answers_plain_dynamic_rules() -> None:
    app = build(Quart)
    url_map = t.cast(Map, app.url_map)
    answered: dict[tuple[str, str], tuple[str, dict[str, t.Any]]] = {
        ("GET", "/users/42"): ("user_by_id", {"id": 42}),
        ("HEAD", "/users/42"): ("user_by_id", {"id": 42}),
        ("POST", "/users/42"): ("user_by_name", {"name": "42"}),
        ("POST", "/users/bob"): ("user_by_name", {"name": "bob"}),
        ("GET", "/users/bob/posts/007"): ("user_post", {"name": "bob", "n": 7}),
        ("GET", "/files/a/b/c"): ("files", {"p": "a/b/c"}),
        ("GET", "/files/a/b/"): ("files", {"p": "a/b/"}),
        ("GET", "/users/new"): ("users_new", {}),  # /users/<name> is for POST only
        ("POST", "/users/new"): ("user_by_name", {"name": "new"}),
        ("GET", "/a/1/"): ("strict_a", {"x": "1"}),
        ("GET", "/en/about"): ("about", {"lang": "en"}),
        ("GET", "/k/y z"): ("any", {"k": "y z"}),
        ("GET", "/u/12345678-1234-5678-1234-567812345678"): (
            "uuid",
            {"u": uuid.UUID("12345678-1234-5678-1234-567812345678")},
        ),
        ("GET", "/fl/1.5"): ("float", {"f": 1.5}),
        ("GET", "/sg/-3"): ("signed", {"s": -3}),
        ("GET", "/mn/7"): ("bounded", {"m": 7}),
        ("GET", "/str/fr"): ("code", {"code": "fr"}),
        ("GET", "/html/x-y-z.html"): ("dash", {"a": "x-y", "b": "z"}),
        ("GET", "/both/1"): ("both_get", {"n": 1}),
        ("POST", "/both/1"): ("both_post", {"n": 1}),
        ("GET", "/é/mot"): ("accent", {"word": "mot"}),
        ("GET", "/users/\u0663"): ("user_by_id", {"id": 3}),
        ("GET", "/users/about"): ("about", {"lang": "users"}),  # /users/<name>: POST
    }
    table = StaticRoutes(url_map).dynamic
    for (method, path), (endpoint, args) in answered.items():
        found = table.match(path, method, False)
        assert isinstance(found, tuple), (method, path)
        assert (found[0].endpoint, typed(found[1])) == (endpoint, typed(args)), (method, path)
        assert check_against_werkzeug(url_map, path, method, False)
    found = table.match("/ws/5", "GET", True)
    assert isinstance(found, tuple)
    assert (found[0].endpoint, found[1]) == ("ws_n", {"n": 5})


def test_table_defers_when_unsure() -> None:
    url_map = t.cast(Map, build(Quart).url_map)
    table = StaticRoutes(url_map).dynamic
    deferred = [
        ("GET", "/users/bob"),  # 405: only the POST rule matches
        ("PUT", "/users/42"),  # 405
        ("GET", "/files/a/raw/"),  # /files/<path:p> and /files/<path:p>/raw/ both match
        ("GET", "/users/42/"),  # /users/<int:id> without the slash: a 404
        ("GET", "/users/bob/posts/7"),  # fixed_digits refuses it
        ("GET", "/a/1"),  # the strict rule /a/<x>/ redirects
        ("GET", "/loose/1"),  # not strict: werkzeug's to say
        ("GET", "/files/a/raw"),  # /files/<path:p>, or a redirect to .../raw/?
        ("GET", "/files/a//b"),  # double slashes
        ("OPTIONS", "/users/about"),  # /users/<name> and /<lang>/about
        ("GET", "/mn/3"),  # below min
        ("GET", "/sh/quiet"),  # the app's converter
        ("GET", "/page/1"),  # redirects to /page (defaults)
        ("GET", "/page/2"),  # same endpoint as a rule with defaults
        ("GET", "/go/1"),  # redirect_to
        ("DELETE", "/both/1"),  # 405
        ("get", "/users/42"),  # not an upper-case method
        ("GET", "users/42"),  # not a path werkzeug would see as is
    ]
    for method, path in deferred:
        assert table.match(path, method, False) is None, (method, path)
        check_against_werkzeug(url_map, path, method, False)
    assert table.match("/ws/5", "GET", False) is not None
    assert table.match("/ws/x/end", "GET", False) is None  # a websocket rule's path: a 400
    assert table.match("/ws/x", "GET", True) is NO_RULE  # no rule near, of either kind
    assert check_against_werkzeug(url_map, "/ws/x", "GET", True)


def test_map_class_rule_class_and_many_candidates() -> None:
    url_map = Map(host_matching=True)
    url_map.add(Rule("/a/<int:x>", endpoint="a", host="example.test"))
    assert DynamicRoutes(url_map).match("/a/1", "GET", False) is None

    url_map = Map()
    for i in range(MAX_CANDIDATES + 1):
        url_map.add(Rule(f"/<int:x>/p{i}", endpoint=f"p{i}"))
    url_map.add(Rule("/only/<int:x>", endpoint="only"))
    table = DynamicRoutes(url_map)
    # Every path is near the rules starting with a converter: too many to
    # test one by one, so werkzeug decides.
    assert table.match("/1/p0", "GET", False) is None
    assert table.match("/only/1", "GET", False) is None

    url_map = Map()
    url_map.add(Rule("/s/<int:x>", endpoint="s", subdomain="api"))
    url_map.add(Rule("/s/<x>", endpoint="plain"))
    found = DynamicRoutes(url_map).match("/s/1", "GET", False)
    assert isinstance(found, tuple)
    assert found[0].endpoint == "plain"  # the api rule never matches the empty subdomain


def test_static_table_sees_merged_slashes_and_aliases() -> None:
    # Found by the property test below: werkzeug matches "/a//" (slashes merged)
    # for the path "/a/" too, and redirects a match of an alias rule.
    url_map = Map()
    url_map.add(Rule("/a//", endpoint="merged", redirect_to="/b"))
    url_map.add(Rule("/a/", endpoint="plain"))
    url_map.add(Rule("/c", endpoint="c", alias=True))
    url_map.add(Rule("/c/<int:n>", endpoint="cn", alias=True))
    table = StaticRoutes(url_map)
    for path in ("/a/", "/c"):
        assert table.match(path, "GET", False) is None, path
        assert table.dynamic.match(path, "GET", False) is None, path
        assert isinstance(werkzeug_match(url_map, path, "GET", False), str)
    assert table.dynamic.match("/c/1", "GET", False) is None


async def test_rules_added_later_are_seen() -> None:
    app = build(Quart)
    client = app.test_client()
    for _ in range(2):
        response = await client.get("/extra/1")
        assert response.status_code == 404

    async def extra(n: int) -> str:
        return f"extra {n!r}"

    app.url_map.add(Rule("/extra/<int:n>", endpoint="extra"))
    app.view_functions["extra"] = extra
    assert await (await client.get("/extra/1")).get_data() == b"extra 1"

    async def extra_path(rest: str) -> str:
        return f"path {rest}"

    app.url_map.add(Rule("/extra/<path:rest>", endpoint="extra_path"))
    app.view_functions["extra_path"] = extra_path
    assert await (await client.get("/extra/1/2")).get_data() == b"path 1/2"
    # Two rules match /extra/1 now: werkzeug prefers the int rule.
    assert await (await client.get("/extra/1")).get_data() == b"extra 1"


async def test_matched_requests_skip_binding() -> None:
    app = Quart(__name__)
    unbound: list[bool] = []

    @app.route("/users/<int:id>")
    async def user(id: int) -> str:
        unbound.append(_cv_request.get()._url_adapter is _UNBOUND)
        return str(id)

    client = app.test_client()
    for _ in range(2):
        assert await (await client.get("/users/5")).get_data() == b"5"
    # The first request's Host was new, so it bound the map; the second did not.
    assert unbound == [False, True]


# -- Random rule sets against werkzeug --------------------------------------------

STATIC_WORDS = ["a", "b", "users", "é", "x.y", "1"]
CONVERTERS = [
    "",
    "int:",
    "path:",
    "float:",
    "uuid:",
    "any(a, b, 'c d'):",
    "int(signed=True):",
    "string(length=2):",
    "int(min=3):",
    "shout:",
]
SAMPLES: dict[str, list[str]] = {
    "": ["a", "b", "ab", "é", "1", "x.y"],
    "int:": ["1", "42", "007", "\u0663"],
    "path:": ["a", "a/b", "b/", "1/2/3"],
    "float:": ["1.5", "0.0", "1"],
    "uuid:": ["12345678-1234-5678-1234-567812345678", "1234"],
    "any(a, b, 'c d'):": ["a", "b", "c d", "c"],
    "int(signed=True):": ["-1", "1", "--1"],
    "string(length=2):": ["ab", "a", "abc"],
    "int(min=3):": ["2", "3", "30"],
    "shout:": ["a", "B"],
}


def rule_specs() -> st.SearchStrategy[tuple[str, list[str]]]:
    """A rule string and, per converter, its kind (to build paths near it)."""
    return rule_texts(STATIC_WORDS, CONVERTERS)


@st.composite
def rule_sets(draw: st.DrawFn) -> tuple[Map, list[tuple[str, list[str]]]]:
    url_map = Map()
    url_map.converters["shout"] = Shout
    specs = draw(st.lists(rule_specs(), min_size=1, max_size=6))
    for index, (rule, _) in enumerate(specs):
        websocket = draw(st.booleans()) and draw(st.booleans())
        methods = draw(
            st.sampled_from([None, ["GET"], ["POST"], ["GET", "POST"]])
            if not websocket
            else st.sampled_from([None, ["GET"]])
        )
        extra = draw(rule_options())
        endpoint = f"e{index}"
        url_map.add(Rule(rule, endpoint=endpoint, methods=methods, websocket=websocket, **extra))
        if not extra and "<" in rule and draw(st.integers(0, 5)) == 0:
            # A rule with defaults for the same endpoint: werkzeug may redirect.
            names = [part.split(">")[0].split(":")[-1] for part in rule.split("<")[1:]]
            url_map.add(
                Rule("/d" + str(index), endpoint=endpoint, defaults=dict.fromkeys(names, "1"))
            )
    return url_map, specs


@st.composite
def paths_near(draw: st.DrawFn, specs: list[tuple[str, list[str]]]) -> str:
    rule, kinds = draw(st.sampled_from(specs))
    path = fill(rule, iter([draw(st.sampled_from(SAMPLES[kind])) for kind in kinds]))
    change = draw(st.integers(-3, 7))  # as built, or changed a little
    if change == 1:
        path = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
    elif change == 2:
        cut = draw(st.integers(0, len(path)))
        path = path[:cut] + "/" + path[cut:]
    elif change == 3:
        path = path.replace("a", "%61")
    elif change == 4:
        path = path.replace("a", "\u00e4")
    elif change == 5:
        path = path + draw(st.sampled_from(["x", "/x", "/", "//", "-1", ".html"]))
    elif change == 6:
        path = path.upper()
    elif change == 7:
        path = draw(st.text(alphabet="/ab1-.é", min_size=1, max_size=10))
    return path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_rules_match_as_werkzeug(data: st.DataObject) -> None:
    url_map, specs = data.draw(rule_sets())
    for _ in range(8):
        path = data.draw(paths_near(specs))
        method = data.draw(st.sampled_from(["GET", "POST", "HEAD", "PUT"]))
        websocket = data.draw(st.booleans())
        check_against_werkzeug(url_map, path, method, websocket)


def test_random_rules_are_answered_often() -> None:
    # The property above only checks answers the table gives: make sure it gives
    # many on a map of plain rules, so a table that never answers would fail here.
    url_map = Map()
    url_map.add(Rule("/users/<int:id>", endpoint="u"))
    url_map.add(Rule("/files/<path:p>/", endpoint="f"))
    url_map.add(Rule("/<a>-<b>.html", endpoint="h"))
    answered = [
        check_against_werkzeug(url_map, path, "GET", False)
        for path in ["/users/1", "/users/\u0663", "/files/a/b/", "/x-y.html", "/é-1.html"]
    ]
    assert all(answered)
