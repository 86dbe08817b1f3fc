"""A 404 from the route tables is exactly werkzeug's, or the tables leave it to werkzeug.

The table of all rules (:class:`quartlike.routing.DynamicRoutes`) answers
:data:`~quartlike.routing.NO_RULE` when no rule of the map, of any method and
kind (HTTP or websocket), can match a path, even with a slash added or
removed: the request then gets ``NotFound`` without binding the map or
running werkzeug's matcher. The checks:

* requests served by an app on quartlike's map and by the same app on
  werkzeug's own ``Map`` (everything through werkzeug) agree on status, body
  and headers, for many paths that miss, nearly miss, or match only rules
  werkzeug answers with something else than a 404 (a 400 for the other kind
  of connection, a 405, a redirect); and the table answered the ones it should;
* whenever the table answers ``NO_RULE``, werkzeug's ``MapAdapter.match``
  raises ``NotFound`` itself, not a subclass (Hypothesis, on random maps);
* a 404 from the table binds nothing, runs no matcher, and error handlers see
  the same ``NotFound`` as ``request.routing_exception``.
"""

from __future__ import annotations

import asyncio
import random
import typing as t

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import ImATeapot
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter
from werkzeug.routing import Map as WerkzeugMap
from werkzeug.routing import MapAdapter
from werkzeug.routing import Rule

import quartlike.app
from quartlike import Quart
from quartlike import has_websocket_context
from quartlike import request
from quartlike import url_for
from quartlike import websocket
from quartlike.ctx import _UNBOUND
from quartlike.globals import _cv_request
from quartlike.routing import MAX_CANDIDATES
from quartlike.routing import NO_RULE
from quartlike.routing import DynamicRoutes
from quartlike.routing import Map
from quartlike.routing import StaticRoutes
from quartlike.testing import WebsocketResponseError
from quartlike.wrappers import Response

from .route_strategies import fill
from .route_strategies import rule_options
from .route_strategies import rule_texts

TIMEOUT = 10


class WerkzeugMatchedApp(Quart):
    url_map_class = WerkzeugMap


class Optional(BaseConverter):
    """Matches across slashes, and may match nothing at all."""

    regex = "(?:|x/y)"


def build(cls: type[Quart], *, catch_all: bool = False, handlers: bool = False) -> Quart:
    app = cls(__name__)
    app.config["TESTING"] = True
    app.url_map.converters["opt"] = Optional

    async def view(**kwargs: t.Any) -> str:
        conn: t.Any = websocket if has_websocket_context() else request
        return f"{conn.endpoint} {sorted(kwargs.items())!r}"

    def add(rule: str, endpoint: str, **options: t.Any) -> None:
        app.add_url_rule(rule, endpoint, view, **options)

    add("/", "index")
    add("/login", "login")
    add("/users/<int:id>", "user")
    add("/a/<x>/", "strict_a")
    add("/loose/<x>/", "loose", strict_slashes=False)
    add("/files/<path:p>", "files")
    add("/docs/<path:p>/", "docs")
    add("/old", "old", redirect_to="/")
    add("/old/<int:n>", "old_n", redirect_to="/users/<n>")
    add("/alias", "index", alias=True)
    add("/page", "page", defaults={"n": 1})
    add("/page/<int:n>", "page")
    add("/built/<x>", "built", build_only=True)
    add("/merge//here", "merged")
    add("/keep//slashes", "kept", merge_slashes=False)
    add("/api/<x>", "api", subdomain="api")
    add("/v<int:n>/info", "version")
    add("/<lang>/about", "about")
    add("/put-only", "put_only", methods=["PUT"])
    add("/http-only/<int:n>", "http_only")
    add("/é/<word>", "accent")
    add("/opt/<opt:v>/", "optional")
    if catch_all:
        add("/<path:p>", "catch_all")

    @app.websocket("/ws/chat")
    async def chat() -> None:
        await websocket.accept()
        await websocket.send("chat")

    @app.websocket("/ws/room/<int:n>")
    async def room(n: int) -> None:
        await websocket.accept()
        await websocket.send(f"room {n}")

    if handlers:

        @app.errorhandler(404)
        async def not_found(e: HTTPException) -> tuple[str, int]:
            conn: t.Any = websocket if has_websocket_context() else request
            same = conn.routing_exception is e
            return f"404 handler: {type(e).__name__} {same} {conn.url_rule}", 404

        @app.errorhandler(HTTPException)
        async def other(e: HTTPException) -> t.Any:
            if e.code is None or e.code < 400:
                return e
            return f"{e.code} handler: {type(e).__name__}", e.code

    return app


def spy(app: Quart) -> list[t.Any]:
    """Record what the route tables answer for each request of ``app``."""
    answers: list[t.Any] = []
    match_route = app._match_route

    def recorded(path: str, method: str, websocket: bool) -> t.Any:
        answer = match_route(path, method, websocket)
        answers.append(answer)
        return answer

    app._match_route = recorded  # type: ignore[method-assign]
    return answers


async def serve(app: Quart, method: str, path: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    response = await app.test_client().open(path, method=method)
    return response.status_code, await response.get_data(), sorted(response.headers.items())


#: Paths no rule of :func:`build`'s app is near (without the catch-all):
#: the table answers 404.
TABLE_404 = [
    "/wp-login.php",
    "/.env",
    "/no/such/page",
    "/logins",
    "/users",
    "/users/",
    "/users/abc",
    "/users/1/x",
    "/users/-1",
    "/a",
    "/a/1/x",
    "/files",
    "/files/",
    "/docs",
    "/old/x",
    "/alias/x",
    "/built/x",  # a build_only rule: werkzeug's matcher never sees it
    "/api/x",  # a rule for the api subdomain
    "/keep/slashes",  # the rule keeps its "//"
    "/vx/info",
    "/v1/info/x",
    "/en/about/x",
    "/put-only/x",
    "/ws",
    "/ws/room",
    "/ws/room/x",
    "/http-only/x",
    "/opt",
    "/%C3%A9",
    "/%C3%A9/a/b",
    "/caf%C3%A9",
    "/%E2%82%AC/%F0%9F%98%80",
    "/a%2Fb%2Fc/d",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/nothing//here",
    "/no/such//page/",
    "/x?q=1",
]

#: Paths near some rule: werkzeug decides (a match, a redirect, a 405, a 400
#: for the other kind of connection, or a 404 after all).
DEFERRED = [
    "/",
    "/login",
    "/login/",  # a strict rule without the slash: werkzeug's 404
    "/users/1",
    "/users/1/",
    "/users//1",  # merged: /users/1
    "/a/1",  # redirect to /a/1/
    "/a//1",
    "/loose/1",
    "/files/a/b",
    "/docs/a",  # redirect to /docs/a/
    "/old",
    "/old/",
    "/old/1",
    "/alias",
    "/page",
    "/page/1",
    "/merge/here",
    "/merge//here",
    "/keep//slashes",
    "/v1/info",
    "/en/about",
    "/en/about/",
    "/put-only",  # 405
    "/ws/chat",  # a websocket rule: werkzeug's 400 for HTTP
    "/ws/chat/",
    "/ws/room/1",
    "/http-only/1",
    "/opt/",  # /opt/<opt:v>/ with v empty: a redirect to /opt//
    "/opt//",
    "/opt/x/y",
    "/%C3%A9/mot",
]


@pytest.mark.parametrize("handlers", [False, True], ids=["pages", "handlers"])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "POST", "PROPFIND"])
async def test_misses_answer_as_werkzeug(method: str, handlers: bool) -> None:
    ours = build(Quart, handlers=handlers)
    theirs = build(WerkzeugMatchedApp, handlers=handlers)
    answers = spy(ours)
    for path in TABLE_404 + DEFERRED:
        # Twice: the first request binds the map (its Host is new); the route
        # tables answer from the second on.
        for _ in range(2):
            assert await serve(ours, method, path) == await serve(theirs, method, path), path
        answer = answers[-1]
        if path in TABLE_404:
            assert answer is NO_RULE, (method, path, answer)
        else:
            assert answer is not NO_RULE, (method, path)


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "DELETE"])
async def test_catch_all_leaves_nothing_to_the_table(method: str) -> None:
    ours = build(Quart, catch_all=True)
    theirs = build(WerkzeugMatchedApp, catch_all=True)
    answers = spy(ours)
    for path in TABLE_404 + DEFERRED + ["/x/", "/x//", "/put-only/"]:
        for _ in range(2):
            assert await serve(ours, method, path) == await serve(theirs, method, path), path
    # "/" is the one path /<path:p> cannot match, and it has a rule of its own.
    assert NO_RULE not in answers


async def websocket_answer(app: Quart, path: str) -> tuple[int, bytes] | str:
    try:
        async with asyncio.timeout(TIMEOUT), app.test_client().websocket(path) as ws:
            return t.cast(str, await ws.receive())
    except WebsocketResponseError as e:
        return e.response.status_code, await e.response.get_data()


@pytest.mark.parametrize("handlers", [False, True], ids=["pages", "handlers"])
async def test_websocket_misses_answer_as_werkzeug(handlers: bool) -> None:
    ours = build(Quart, handlers=handlers)
    theirs = build(WerkzeugMatchedApp, handlers=handlers)
    answers = spy(ours)
    table_404 = ["/ws/nothing", "/nothing", "/ws/room/x", "/users/x"]
    # An HTTP rule's path (werkzeug's 400), a websocket rule, near misses.
    deferred = ["/http-only/1", "/login", "/ws/chat", "/ws/chat/", "/ws/room/2", "/users/1/"]
    for path in table_404 + deferred:
        for _ in range(2):
            assert await websocket_answer(ours, path) == await websocket_answer(theirs, path)
        assert (answers[-1] is NO_RULE) == (path in table_404), path
    mismatch = await websocket_answer(ours, "/http-only/1")
    missing = await websocket_answer(ours, "/ws/nothing")
    assert isinstance(mismatch, tuple) and isinstance(missing, tuple)
    assert (mismatch[0], missing[0]) == (400, 404)
    if handlers:
        assert mismatch[1] == b"400 handler: WebsocketMismatch"
        assert missing[1] == b"404 handler: NotFound True None"


async def test_table_404_binds_nothing_and_handlers_see_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = Quart(__name__)
    binds: list[str] = []
    matches: list[str] = []

    class CountingAdapter(MapAdapter):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            binds.append(args[5])  # the path
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(quartlike.app, "MapAdapter", CountingAdapter)

    @app.route("/")
    async def index() -> str:
        return "home"

    @app.route("/users/<int:id>")
    async def user(id: int) -> str:
        return str(id)

    seen: list[tuple[bool, bool, bool]] = []

    @app.errorhandler(404)
    async def not_found(e: HTTPException) -> tuple[str, int]:
        ctx = _cv_request.get()
        seen.append(
            (type(e) is NotFound, request.routing_exception is e, ctx._url_adapter is _UNBOUND)
        )
        return f"missing, try {url_for('index')}", 404

    matcher = app.url_map._matcher
    real_match = matcher.match

    def counted(domain: str, path: str, method: str, websocket: bool) -> t.Any:
        matches.append(path)
        return real_match(domain, path, method, websocket)

    matcher.match = counted  # type: ignore[method-assign]
    client = app.test_client()
    for _ in range(3):
        response = await client.get("/wp-login.php")
        assert response.status_code == 404
        assert await response.get_data() == b"missing, try /"
    # The first request's Host was new: it bound the map and werkzeug matched.
    # The others were answered by the table; url_for in the handler bound the
    # map (for building only: werkzeug's matcher did not run again).
    assert matches == ["/wp-login.php"]
    assert binds == ["/wp-login.php"] * 3
    assert seen == [(True, True, False), (True, True, True), (True, True, True)]


async def test_table_404_reaches_a_handler_by_class(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Quart(__name__)
    binds: list[str] = []

    class CountingAdapter(MapAdapter):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            binds.append(args[5])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(quartlike.app, "MapAdapter", CountingAdapter)

    @app.route("/users/<int:id>")
    async def user(id: int) -> str:
        return str(id)

    seen: list[tuple[bool, bool]] = []

    @app.errorhandler(NotFound)
    async def by_class(e: NotFound) -> tuple[str, int]:
        seen.append((type(e) is NotFound, request.routing_exception is e))
        return "by class", 404

    client = app.test_client()
    for path in ("/users/x", "/users/x", "/nothing", "/users/1/x"):
        response = await client.get(path)
        assert (response.status_code, await response.get_data()) == (404, b"by class")
    assert seen == [(True, True)] * 4
    assert binds == ["/users/x"]  # the new Host's request only


async def test_default_404_page_is_werkzeug_s() -> None:
    app = Quart(__name__)

    @app.route("/")
    async def index() -> str:
        return "home"

    client = app.test_client()
    for _ in range(2):
        response = await client.get("/missing")
        assert response.status_code == 404
        assert await response.get_data() == NotFound().get_body().encode()
        assert response.content_type == "text/html; charset=utf-8"


# -- The table against werkzeug's matcher -------------------------------------------


def werkzeug_error(
    url_map: WerkzeugMap, path: str, method: str, websocket: bool
) -> type[HTTPException] | None:
    adapter = url_map.bind("localhost", url_scheme="ws" if websocket else "http")
    try:
        adapter.match(path, method, return_rule=True, websocket=websocket)
    except HTTPException as e:
        return type(e)
    return None


def table_says_404(url_map: Map, path: str, method: str, websocket: bool) -> bool:
    """Whether the tables answer 404; fails unless werkzeug raises ``NotFound``
    (exactly) for it."""
    table = StaticRoutes(url_map)
    if table.match(path, method, websocket) is not None:
        return False
    if table.dynamic.match(path, method, websocket) is not NO_RULE:
        return False
    error = werkzeug_error(url_map, path, method, websocket)
    assert error is NotFound, (path, method, websocket, error)
    return True


def test_regressions() -> None:
    # A converter that may match nothing, across slashes, before a trailing
    # slash: werkzeug redirects /f/ to /f//, so the rule is near /f/.
    url_map = Map()
    url_map.converters["opt"] = Optional
    url_map.add(Rule("/f/<opt:v>/", endpoint="f"))
    assert DynamicRoutes(url_map).match("/f/", "GET", False) is None
    assert table_says_404(url_map, "/f", "GET", False)

    # A rule for the other kind of connection is near: werkzeug's 400.
    url_map = Map()
    url_map.add(Rule("/ws", endpoint="ws", websocket=True))
    url_map.add(Rule("/http/<int:n>", endpoint="http"))
    table = DynamicRoutes(url_map)
    for path, ws in [("/ws", False), ("/http/1", True)]:
        assert table.match(path, "GET", ws) is None, (path, ws)
        assert werkzeug_error(url_map, path, "GET", ws) is not NotFound
    # Within a slash of a strict rule: werkzeug's 404 in the end, but the
    # table does not know strictness, so it leaves the path to werkzeug.
    assert table.match("/ws/", "GET", False) is None
    assert table_says_404(url_map, "/http/x", "GET", True)

    # A rule for other methods only: werkzeug's 405.
    url_map = Map()
    url_map.add(Rule("/p/<int:n>", endpoint="p", methods=["POST"]))
    assert DynamicRoutes(url_map).match("/p/1", "GET", False) is None
    assert table_says_404(url_map, "/p/x", "GET", False)

    # Too many rules that could match: werkzeug decides, even a plain 404.
    url_map = Map()
    for i in range(MAX_CANDIDATES + 1):
        url_map.add(Rule(f"/<int:x>/p{i}", endpoint=f"p{i}"))
    assert DynamicRoutes(url_map).match("/nothing", "GET", False) is None

    # Host matching: the table never answers.
    url_map = Map(host_matching=True)
    url_map.add(Rule("/a", endpoint="a", host="example.test"))
    assert DynamicRoutes(url_map).match("/nothing", "GET", False) is None

    # A rule the table cannot read (an unknown regex) is near every path under
    # its prefix, and a rule starting with it under every path.
    class Odd(BaseConverter):
        regex = r"\w{2}(?=x)x"

    url_map = Map()
    url_map.converters["odd"] = Odd
    url_map.add(Rule("/o/<odd:v>", endpoint="o"))
    table = DynamicRoutes(url_map)
    assert table.match("/o/zz", "GET", False) is None
    assert table_says_404(url_map, "/elsewhere", "GET", False)
    url_map.add(Rule("/<odd:v>/end", endpoint="oe"))
    assert DynamicRoutes(url_map).match("/elsewhere", "GET", False) is None

    # A "//" path: werkzeug tries it merged, and a rule may match that.
    url_map = Map()
    url_map.add(Rule("/a/b", endpoint="ab"))
    url_map.add(Rule("/k//k", endpoint="kk", merge_slashes=False))
    table = DynamicRoutes(url_map)
    for path in ("/a//b", "//a/b", "/k//k"):
        assert table.match(path, "GET", False) is None, path
        assert werkzeug_error(url_map, path, "GET", False) is not NotFound
    assert table.match("/a/b//", "GET", False) is None  # merged, within a slash of /a/b
    for path in ("/a//c", "//x", "/k///k/x", "/k//", "/k/k"):
        assert table_says_404(url_map, path, "GET", False), path


STATIC_WORDS = ["a", "b", "users", "é", "x.y", "1", ""]
CONVERTERS = [
    "",
    "int:",
    "path:",
    "float:",
    "uuid:",
    "any(a, b, 'c d'):",
    "any(a, 'b/c', ''):",
    "string(minlength=0):",
    "int(min=3):",
    "opt:",
]
SAMPLES = ["a", "b", "ab", "1", "42", "007", "1.5", "a/b", "b/", "c d", "x/y", "é", "", "-1"]


def rule_strings() -> st.SearchStrategy[str]:
    return rule_texts(STATIC_WORDS, CONVERTERS).map(lambda spec: spec[0])


@st.composite
def maps(draw: st.DrawFn) -> tuple[Map, list[str]]:
    url_map = Map(merge_slashes=draw(st.sampled_from([True, True, False])))
    url_map.converters["opt"] = Optional
    rules = draw(st.lists(rule_strings(), min_size=1, max_size=6))
    for index, rule in enumerate(rules):
        websocket = draw(st.booleans())
        methods = draw(
            st.sampled_from([None, ["GET"], ["OPTIONS"]])
            if websocket
            else st.sampled_from([None, ["GET"], ["POST"], ["PUT", "DELETE"]])
        )
        extra = draw(rule_options())
        if not extra and "<" not in rule and draw(st.integers(0, 5)) == 0:
            extra["defaults"] = {"d": 1}
        url_map.add(Rule(rule, endpoint=f"e{index}", methods=methods, websocket=websocket, **extra))
    return url_map, rules


@st.composite
def paths(draw: st.DrawFn, rules: list[str]) -> str:
    """A path built from a rule (converters replaced by samples) and perhaps
    changed, or made of random segments."""
    if draw(st.integers(0, 3)) == 0:
        segments = draw(st.lists(st.sampled_from([*STATIC_WORDS, *SAMPLES, "%", "é/"]), max_size=4))
        return "/" + "/".join(segments)
    rule = draw(st.sampled_from(rules))
    values = [draw(st.sampled_from(SAMPLES)) for _ in range(rule.count("<"))]
    path = fill(rule, iter(values))
    change = draw(st.integers(0, 6))
    if change == 1:
        path = path[:-1] if path.endswith("/") and len(path) > 1 else path + "/"
    elif change == 2:
        cut = draw(st.integers(0, len(path)))
        path = path[:cut] + draw(st.sampled_from(["/", "//", "x", ""])) + path[cut:]
    elif change == 3:
        path = path[: draw(st.integers(1, len(path)))]
    elif change == 4:
        path += draw(st.sampled_from(["x", "/x", "/", "//", "/a/b", ".html"]))
    elif change == 5:
        path = path.replace("a", "\u00e4").replace("1", "\u0663")
    return path if path.startswith("/") else "/" + path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_table_404_is_werkzeug_s_not_found(data: st.DataObject) -> None:
    url_map, rules = data.draw(maps())
    for _ in range(10):
        path = data.draw(paths(rules))
        method = data.draw(st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT"]))
        websocket = data.draw(st.booleans())
        table_says_404(url_map, path, method, websocket)


def test_table_answers_404_often() -> None:
    # The property above checks only the 404s the table gives: make sure it
    # gives many on random maps (and that each is right).
    rng = random.Random(404)
    said = tried = 0
    for _ in range(300):
        url_map = Map()
        url_map.converters["opt"] = Optional
        rules = []
        for index in range(rng.randint(1, 6)):
            pieces = [
                rng.choice(["a", "b", "<int:n{}>", "<x{}>", "p<int:n{}>", "<path:p{}>"])
                for _ in range(rng.randint(1, 3))
            ]
            rule = "/" + "/".join(piece.format(i) for i, piece in enumerate(pieces))
            rules.append(rule)
            url_map.add(Rule(rule, endpoint=f"e{index}", websocket=rng.random() < 0.2))
        for _ in range(10):
            path = "/" + "/".join(
                rng.choice(["a", "b", "c", "1", "x", "p1", ""]) for _ in range(rng.randint(1, 4))
            )
            tried += 1
            said += table_says_404(url_map, path, rng.choice(["GET", "POST"]), False)
    assert said > tried // 5, (said, tried)


# -- The 404 response ----------------------------------------------------------------


class PlainResponse(Response):
    default_mimetype = "text/plain"


class NoLengthResponse(Response):
    automatically_set_content_length = False


class MarkedResponse(Response):
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["X-Made-With"] = repr(sorted(kwargs))


@pytest.mark.parametrize(
    "response_class", [Response, PlainResponse, NoLengthResponse, MarkedResponse]
)
@pytest.mark.parametrize("error", [NotFound, Forbidden, InternalServerError, ImATeapot])
async def test_stock_error_response_is_built_as_before(
    response_class: type[Response], error: type[HTTPException]
) -> None:
    # The cached page is turned into a response like a view's string when that
    # gives the same headers; otherwise (another default type, a class that
    # builds its own way) with the page's status and headers, as always.
    app = Quart(__name__)
    app.response_class = response_class
    for _ in range(2):
        built = app._make_response(error())
        expected = response_class(
            error().get_body().encode(), status=error.code, headers=error().get_headers()
        )
        assert type(built) is response_class
        assert built.status == expected.status
        assert list(built.headers.items()) == list(expected.headers.items())
        assert await built.get_data() == await expected.get_data()
