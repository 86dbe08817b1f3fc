"""Flask-Limiter on quartlike: per-view, default, shared and blueprint limits; exemptions.

Flask-Limiter checks limits in a ``before_request`` hook and in the wrapper
of ``limiter.limit``, which calls the view through ``app.ensure_sync`` (so
it works on ``async def`` views), and adds the ``X-RateLimit-*`` headers in
an ``after_request`` hook. The storage is the in-memory one.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import httpx
import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from flask_limiter import Limiter
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address


def client_key() -> str:
    """Limits are counted per ``X-Client`` header (per address without one)."""
    return request.headers.get("X-Client") or get_remote_address()


@pytest.fixture
def app_and_limiter(make_app: cabc.Callable[..., Flask]) -> tuple[Flask, Limiter]:
    app = make_app(RATELIMIT_HEADERS_ENABLED=True)
    limiter = Limiter(
        client_key,
        app=app,
        default_limits=["3 per minute"],
        storage_uri="memory://",
    )

    @app.route("/limited/sync")
    @limiter.limit("2/minute")
    def limited_sync() -> str:
        return "sync"

    @app.route("/limited/async")
    @limiter.limit("2/minute")
    async def limited_async() -> str:
        return "async"

    @app.route("/default/sync")
    def default_sync() -> str:
        return "default sync"

    @app.route("/default/async")
    async def default_async() -> str:
        return "default async"

    @app.route("/exempt/sync")
    @limiter.exempt
    def exempt_sync() -> str:
        return "exempt sync"

    @app.route("/exempt/async")
    @limiter.exempt
    async def exempt_async() -> str:
        return "exempt async"

    shared = limiter.shared_limit("3/minute", scope="reports")

    @app.route("/reports/sync")
    @shared
    def report_sync() -> str:
        return "report sync"

    @app.route("/reports/async")
    @shared
    async def report_async() -> str:
        return "report async"

    return app, limiter


@pytest.mark.parametrize("face", ["sync", "async"])
def test_limit_decorator_answers_429_on_the_third_request(
    app_and_limiter: tuple[Flask, Limiter], face: str
) -> None:
    app, _ = app_and_limiter
    client = app.test_client()
    first, second, third = (client.get(f"/limited/{face}") for _ in range(3))
    assert (first.status_code, first.text) == (200, face)
    assert second.status_code == 200
    assert third.status_code == 429
    assert "2 per 1 minute" in third.text
    assert [r.headers["X-RateLimit-Remaining"] for r in (first, second, third)] == ["1", "0", "0"]
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert 0 < int(third.headers["Retry-After"]) <= 60
    # Another client has its own count.
    assert client.get(f"/limited/{face}", headers={"X-Client": "other"}).status_code == 200


@pytest.mark.parametrize("face", ["sync", "async"])
def test_default_limits_apply_to_undecorated_views(
    app_and_limiter: tuple[Flask, Limiter], face: str
) -> None:
    app, _ = app_and_limiter
    client = app.test_client()
    statuses = [client.get(f"/default/{face}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("face", ["sync", "async"])
def test_exempt_views_are_never_limited(app_and_limiter: tuple[Flask, Limiter], face: str) -> None:
    app, _ = app_and_limiter
    client = app.test_client()
    responses = [client.get(f"/exempt/{face}") for _ in range(6)]
    assert {r.status_code for r in responses} == {200}
    assert responses[-1].text == f"exempt {face}"
    assert "X-RateLimit-Limit" not in responses[-1].headers


def test_a_shared_limit_counts_sync_and_async_views_together(
    app_and_limiter: tuple[Flask, Limiter],
) -> None:
    app, _ = app_and_limiter
    client = app.test_client()
    paths = ["/reports/sync", "/reports/async", "/reports/sync", "/reports/async"]
    assert [client.get(p).status_code for p in paths] == [200, 200, 200, 429]


def test_limits_hold_under_concurrent_requests(
    app_and_limiter: tuple[Flask, Limiter], concurrently: cabc.Callable[..., list[t.Any]]
) -> None:
    app, _ = app_and_limiter
    client = app.test_client()
    responses = concurrently(*[lambda: client.get("/limited/async") for _ in range(6)])
    assert sorted(r.status_code for r in responses) == [200, 200, 429, 429, 429, 429]


def test_a_429_goes_to_the_apps_error_handler(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app()
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")

    @app.errorhandler(429)
    async def too_many(e: RateLimitExceeded) -> t.Any:
        return {"error": "slow down", "limit": str(e.limit.limit)}, 429

    @app.route("/once")
    @limiter.limit("1/minute")
    async def once() -> str:
        return "once"

    client = app.test_client()
    assert client.get("/once").status_code == 200
    response = client.get("/once")
    assert response.status_code == 429
    assert response.get_json() == {"error": "slow down", "limit": "1 per 1 minute"}


def test_deduct_when_and_blueprint_limits(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app()
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    api = Blueprint("api", __name__, url_prefix="/api")
    limiter.limit("2/minute")(api)

    @api.route("/sync")
    def api_sync() -> str:
        return "api sync"

    @api.route("/async")
    async def api_async() -> str:
        return "api async"

    @app.route("/login", methods=["POST"])
    @limiter.limit("2/minute", deduct_when=lambda response: response.status_code == 401)
    async def login() -> t.Any:
        if request.headers.get("X-Password") == "right":
            return "welcome"
        return "wrong password", 401

    app.register_blueprint(api)
    client = app.test_client()
    # The blueprint's limit applies to each of its views.
    assert [client.get("/api/sync").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/api/async").status_code for _ in range(3)] == [200, 200, 429]
    # Only failed logins count.
    for _ in range(3):
        assert client.post("/login", headers={"X-Password": "right"}).status_code == 200
    assert client.post("/login").status_code == 401
    assert client.post("/login").status_code == 401
    assert client.post("/login", headers={"X-Password": "right"}).status_code == 429


def test_over_real_http(
    app_and_limiter: tuple[Flask, Limiter], serve: cabc.Callable[[t.Any], str]
) -> None:
    app, _ = app_and_limiter
    url = serve(app)
    with httpx.Client(base_url=url, timeout=10) as http:
        statuses = [http.get("/limited/async").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert [http.get("/limited/sync").status_code for _ in range(3)] == [200, 200, 429]
