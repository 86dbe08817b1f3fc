"""Flask-CORS on quartlike: CORS headers on responses, preflights and errors.

``CORS(app)`` adds an after-request hook, and (``intercept_exceptions``, on
by default) replaces ``app.handle_exception`` and ``app.handle_user_exception``
with *sync* wrappers that call ``app.make_response(handler(e))`` and add the
headers to the result. In quartlike those stages are coroutines, so the
pipeline has to notice that a stage became a plain function (it runs it in
the thread pool) and the sync face's stages have to return values there (they
go through the sync bridge). ``cross_origin`` calls the view synchronously
and passes what it returns to ``make_response``: for an ``async def`` view,
a coroutine, which ``make_response`` awaits.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import httpx
import pytest
from flask import Flask
from flask import abort
from flask import jsonify
from flask import make_response
from flask import request
from flask_cors import CORS
from flask_cors import cross_origin

ORIGIN = "https://app.example"
ADMIN = "https://admin.example"
OTHER = "https://evil.example"
ACAO = "Access-Control-Allow-Origin"


class Calls:
    """How many times each view ran (a preflight must not run the view)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1


def add_views(app: Flask, calls: Calls) -> None:
    @app.route("/api/sync", methods=["GET", "POST"])
    def sync_view() -> dict[str, t.Any]:
        calls.hit("sync")
        return {"face": "sync", "method": request.method}

    @app.route("/api/async", methods=["GET", "POST"])
    async def async_view() -> dict[str, t.Any]:
        calls.hit("async")
        return {"face": "async", "method": request.method}

    @app.route("/api/forbidden-sync")
    def forbidden_sync() -> str:
        abort(403)

    @app.route("/api/forbidden-async")
    async def forbidden_async() -> str:
        abort(403)

    @app.route("/api/boom-sync")
    def boom_sync() -> str:
        raise ValueError("sync view failed")

    @app.route("/api/boom-async")
    async def boom_async() -> str:
        raise ValueError("async view failed")

    @app.route("/api/teapot")
    def teapot() -> str:
        abort(418)

    @app.route("/private")
    def private() -> str:
        return "not shared"


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def app(make_app: cabc.Callable[..., Flask], calls: Calls) -> Flask:
    # Unhandled errors become 500 responses here, as in production.
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    add_views(app, calls)
    CORS(app, resources={r"/api/*": {"origins": [ORIGIN, ADMIN], "max_age": 600}})
    return app


@pytest.mark.parametrize(("path", "face"), [("/api/sync", "sync"), ("/api/async", "async")])
def test_responses_of_sync_and_async_views_get_cors_headers(
    app: Flask, path: str, face: str
) -> None:
    client = app.test_client()
    response = client.get(path, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.get_json() == {"face": face, "method": "GET"}
    assert response.headers[ACAO] == ORIGIN
    # The allowed origin varies with the request (two are allowed): caches must know.
    assert response.headers["Vary"] == "Origin"
    assert client.get(path, headers={"Origin": ADMIN}).headers[ACAO] == ADMIN

    response = client.post(path, headers={"Origin": ORIGIN})
    assert response.get_json() == {"face": face, "method": "POST"}
    assert response.headers[ACAO] == ORIGIN


def test_an_origin_not_allowed_and_a_path_not_covered_get_no_cors_headers(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/api/sync", headers={"Origin": OTHER})
    assert response.status_code == 200
    assert ACAO not in response.headers
    response = client.get("/private", headers={"Origin": ORIGIN})
    assert response.text == "not shared"
    assert ACAO not in response.headers


@pytest.mark.parametrize(("path", "name"), [("/api/sync", "sync"), ("/api/async", "async")])
def test_a_preflight_is_answered_without_running_the_view(
    app: Flask, calls: Calls, path: str, name: str
) -> None:
    response = app.test_client().options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Token, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers[ACAO] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"].lower() == "content-type, x-token"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert calls.counts.get(name, 0) == 0


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/missing", "GET", 404),
        ("/api/sync", "DELETE", 405),
        ("/api/forbidden-sync", "GET", 403),
        ("/api/forbidden-async", "GET", 403),
        ("/api/teapot", "GET", 418),
        ("/api/boom-sync", "GET", 500),
        ("/api/boom-async", "GET", 500),
    ],
)
def test_error_responses_get_cors_headers(
    app: Flask, path: str, method: str, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    response = app.test_client().open(path, method=method, headers={"Origin": ORIGIN})
    assert response.status_code == status
    assert response.headers[ACAO] == ORIGIN
    if status == 500:
        # Handled as Flask does: logged with the view's exception, then a 500.
        (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], ValueError)


def test_the_exception_wrappers_are_installed_and_are_sync_functions(app: Flask) -> None:
    # What makes this the hard case: Flask-CORS replaced the app's coroutine
    # stages with plain functions, on the instance.
    for name in ("handle_exception", "handle_user_exception"):
        wrapper = app.__dict__[name]
        assert wrapper.__name__ == "wrapped_function"
        assert not hasattr(wrapper, "__self__")


def test_a_500_gets_cors_headers_even_when_the_after_request_hooks_fail(
    make_app: cabc.Callable[..., Flask], calls: Calls, caplog: pytest.LogCaptureFixture
) -> None:
    # Only the handle_exception wrapper can add the headers here: the failing
    # hook runs before Flask-CORS's own after-request hook (hooks run in
    # reverse order of registration), on the view's response and again on the
    # 500, so that hook never runs.
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    add_views(app, calls)
    CORS(app, origins=[ORIGIN])

    @app.after_request
    def broken(response: t.Any) -> t.Any:
        raise RuntimeError("after_request hook failed")

    response = app.test_client().get("/api/sync", headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert response.headers[ACAO] == ORIGIN
    assert calls.counts == {"sync": 1}
    messages = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("Exception on /api/sync" in m for m in messages)


def test_error_handlers_responses_get_cors_headers(
    make_app: cabc.Callable[..., Flask], calls: Calls
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    add_views(app, calls)
    CORS(app, origins=[ORIGIN])

    @app.errorhandler(403)
    def forbidden(e: Exception) -> t.Any:
        return jsonify(error="forbidden", sync=True), 403

    @app.errorhandler(ValueError)
    async def value_error(e: ValueError) -> t.Any:
        return {"error": str(e)}, 422

    @app.errorhandler(500)
    def server_error(e: Exception) -> t.Any:
        return {"error": "server"}, 500

    @app.route("/api/key-error")
    def key_error() -> str:
        raise KeyError("nothing handles this one")

    client = app.test_client()
    response = client.get("/api/forbidden-async", headers={"Origin": ORIGIN})
    assert (response.status_code, response.get_json()) == (
        403,
        {"error": "forbidden", "sync": True},
    )
    assert response.headers[ACAO] == ORIGIN

    response = client.get("/api/boom-sync", headers={"Origin": ORIGIN})
    assert (response.status_code, response.get_json()) == (422, {"error": "sync view failed"})
    assert response.headers[ACAO] == ORIGIN

    response = client.get("/api/key-error", headers={"Origin": ORIGIN})
    assert (response.status_code, response.get_json()) == (500, {"error": "server"})
    assert response.headers[ACAO] == ORIGIN


@pytest.mark.parametrize("path", ["/api/boom-sync", "/api/boom-async"])
def test_an_unhandled_error_still_propagates_through_the_wrappers_in_testing_mode(
    make_app: cabc.Callable[..., Flask], calls: Calls, path: str
) -> None:
    app = make_app()  # TESTING: errors propagate to the test, as in Flask
    add_views(app, calls)
    CORS(app)
    with pytest.raises(ValueError, match="view failed"):
        app.test_client().get(path, headers={"Origin": ORIGIN})


def test_intercept_exceptions_off_leaves_the_stages_alone(
    make_app: cabc.Callable[..., Flask], calls: Calls
) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    add_views(app, calls)
    CORS(app, origins=[ORIGIN], intercept_exceptions=False)
    assert "handle_exception" not in app.__dict__
    # The after-request hook alone still covers handled errors.
    response = app.test_client().get("/api/forbidden-sync", headers={"Origin": ORIGIN})
    assert response.status_code == 403
    assert response.headers[ACAO] == ORIGIN


def test_cross_origin_on_sync_and_async_views(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    ran: list[str] = []

    @app.route("/sync", methods=["GET", "PUT"])
    @cross_origin(origins=[ORIGIN], methods=["GET", "PUT"], expose_headers=["X-Total"])
    def sync_view() -> t.Any:
        ran.append("sync")
        return "sync body", 201, {"X-Total": "3"}

    @app.route("/async", methods=["GET", "PUT"])
    @cross_origin(origins=[ORIGIN], methods=["GET", "PUT"], expose_headers=["X-Total"])
    async def async_view() -> t.Any:
        ran.append("async")
        return "async body", 201, {"X-Total": "4"}

    @app.route("/async-response")
    @cross_origin(origins=[ORIGIN])
    async def async_response() -> t.Any:
        response = await make_response({"made": "in the view"})
        response.headers["X-Made"] = "yes"
        return response

    @app.route("/plain")
    async def plain() -> str:
        return "no decorator"

    client = app.test_client()
    for path, body, total in [("/sync", "sync body", "3"), ("/async", "async body", "4")]:
        response = client.put(path, headers={"Origin": ORIGIN})
        assert (response.status_code, response.text) == (201, body)
        assert response.headers[ACAO] == ORIGIN
        assert response.headers["X-Total"] == total
        assert response.headers["Access-Control-Expose-Headers"] == "X-Total"

        preflight = client.options(
            path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
        )
        assert preflight.status_code == 200
        assert preflight.headers[ACAO] == ORIGIN
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET, PUT"

        refused = client.get(path, headers={"Origin": OTHER})
        assert refused.status_code == 201
        assert ACAO not in refused.headers
    assert ran == ["sync", "sync", "async", "async"]  # never for a preflight

    response = client.get("/async-response", headers={"Origin": ORIGIN})
    assert response.get_json() == {"made": "in the view"}
    assert (response.headers["X-Made"], response.headers[ACAO]) == ("yes", ORIGIN)
    assert ACAO not in client.get("/plain", headers={"Origin": ORIGIN}).headers


def test_a_sync_wrapper_of_the_error_stages_works_without_flask_cors(
    make_app: cabc.Callable[..., Flask],
) -> None:
    # The same pattern, written by hand: nothing in quartlike knows Flask-CORS.
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    seen: list[tuple[str, int]] = []

    def stamp(name: str, stage: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        def wrapper(e: Exception) -> t.Any:
            response = app.make_response(stage(e))
            seen.append((name, response.status_code))
            response.headers["X-Stage"] = name
            return response

        return wrapper

    app.handle_user_exception = stamp("user", app.handle_user_exception)  # type: ignore[method-assign]
    app.handle_exception = stamp("unhandled", app.handle_exception)  # type: ignore[method-assign]

    @app.route("/gone")
    async def gone() -> str:
        abort(410)

    @app.route("/boom")
    def boom() -> str:
        raise LookupError("boom")

    client = app.test_client()
    response = client.get("/gone")
    assert (response.status_code, response.headers["X-Stage"]) == (410, "user")
    response = client.get("/boom")
    assert (response.status_code, response.headers["X-Stage"]) == (500, "unhandled")
    # handle_user_exception re-raised the LookupError (no handler) through its wrapper.
    assert seen == [("user", 410), ("unhandled", 500)]


async def test_over_real_http(app: Flask, serve: cabc.Callable[[t.Any], str]) -> None:
    url = serve(app)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        preflight = await http.options(
            "/api/async",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers[ACAO] == ORIGIN
        response = await http.post("/api/async", headers={"Origin": ORIGIN})
        assert response.json() == {"face": "async", "method": "POST"}
        assert response.headers[ACAO] == ORIGIN
        for path, status in [
            ("/api/missing", 404),
            ("/api/forbidden-sync", 403),
            ("/api/boom-async", 500),
        ]:
            response = await http.get(path, headers={"Origin": ORIGIN})
            assert response.status_code == status
            assert response.headers[ACAO] == ORIGIN
