"""Flask-Caching on quartlike: ``cache.cached`` and ``cache.memoize`` with a SimpleCache.

Both decorators wrap the view in a plain function that calls it through
``app.ensure_sync``, so on an ``async def`` view the wrapper runs in the
thread pool and the view runs on the loop through the sync bridge. Each view
counts its calls: a response served from the cache leaves the count alone.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

import pytest
from flask import Flask
from flask import jsonify
from flask import request
from flask_caching import Cache

from quartlike import run_sync
from quartlike.sync import on_event_loop


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def hit(self, name: str) -> int:
        self.counts[name] = self.counts.get(name, 0) + 1
        return self.counts[name]


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def app_and_cache(make_app: cabc.Callable[..., Flask], counter: Counter) -> tuple[Flask, Cache]:
    app = make_app(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
    cache = Cache(app)

    @app.route("/cached/sync")
    @cache.cached()
    def cached_sync() -> str:
        return f"sync call {counter.hit('cached-sync')}"

    @app.route("/cached/async")
    @cache.cached()
    async def cached_async() -> str:
        return f"async call {counter.hit('cached-async')}"

    @app.route("/cached/async-json")
    @cache.cached(query_string=True)
    async def cached_async_json() -> t.Any:
        n = counter.hit("cached-async-json")
        return jsonify(call=n, q=request.args.get("q"))

    @app.route("/memo/sync/<int:n>")
    @cache.memoize()
    def memo_sync(n: int) -> str:
        return f"{n}^2={n * n} (call {counter.hit(f'memo-sync-{n}')})"

    @app.route("/memo/async/<int:n>")
    @cache.memoize()
    async def memo_async(n: int) -> str:
        return f"{n}^3={n**3} (call {counter.hit(f'memo-async-{n}')})"

    @cache.memoize()
    def slow_square(n: int) -> int:
        counter.hit(f"square-{n}")
        return n * n

    @cache.memoize()
    async def slow_cube(n: int) -> int:
        counter.hit(f"cube-{n}")
        return n**3

    @app.route("/helpers/sync/<int:n>")
    def helpers_sync(n: int) -> dict[str, int]:
        # A memoized async function, called from sync code: through the bridge.
        return {"square": slow_square(n), "cube": slow_cube(n)}

    @app.route("/helpers/async/<int:n>")
    async def helpers_async(n: int) -> dict[str, t.Any]:
        # From async code the memoized functions (sync wrappers, whatever they
        # wrap) are called in the pool, so the loop never waits on them.
        return {
            "square": await run_sync(slow_square)(n),
            "cube": await run_sync(slow_cube)(n),
            "on_loop": on_event_loop(),
        }

    @app.route("/clear", methods=["POST"])
    async def clear() -> str:
        cache.clear()
        return "cleared"

    @app.route("/forget/<int:n>", methods=["POST"])
    def forget(n: int) -> str:
        cache.delete_memoized(memo_async, n)
        return "forgotten"

    return app, cache


@pytest.mark.parametrize(
    ("path", "name", "body"),
    [
        ("/cached/sync", "cached-sync", "sync call 1"),
        ("/cached/async", "cached-async", "async call 1"),
    ],
)
def test_cached_views_run_once(
    app_and_cache: tuple[Flask, Cache], counter: Counter, path: str, name: str, body: str
) -> None:
    app, cache = app_and_cache
    client = app.test_client()
    for _ in range(3):
        response = client.get(path)
        assert (response.status_code, response.text) == (200, body)
    assert counter.counts == {name: 1}
    # The cache holds the view's result under the request path.
    with app.test_request_context(path):
        assert cache.get(f"view/{path}") == body


def test_a_cached_async_view_returning_a_response_and_query_strings(
    app_and_cache: tuple[Flask, Cache], counter: Counter
) -> None:
    app, _ = app_and_cache
    client = app.test_client()
    assert client.get("/cached/async-json?q=a").get_json() == {"call": 1, "q": "a"}
    assert client.get("/cached/async-json?q=a").get_json() == {"call": 1, "q": "a"}
    assert client.get("/cached/async-json?q=b").get_json() == {"call": 2, "q": "b"}
    response = client.get("/cached/async-json?q=a")
    assert response.get_json() == {"call": 1, "q": "a"}
    assert response.headers["Content-Type"] == "application/json"
    assert counter.counts == {"cached-async-json": 2}


def test_clearing_the_cache_runs_the_view_again(
    app_and_cache: tuple[Flask, Cache], counter: Counter
) -> None:
    app, _ = app_and_cache
    client = app.test_client()
    assert client.get("/cached/async").text == "async call 1"
    assert client.get("/cached/async").text == "async call 1"
    assert client.post("/clear").text == "cleared"
    assert client.get("/cached/async").text == "async call 2"
    assert client.get("/cached/async").text == "async call 2"


@pytest.mark.parametrize(("face", "power"), [("sync", 2), ("async", 3)])
def test_memoized_views_run_once_per_argument(
    app_and_cache: tuple[Flask, Cache], counter: Counter, face: str, power: int
) -> None:
    app, _ = app_and_cache
    client = app.test_client()
    for _ in range(2):
        assert client.get(f"/memo/{face}/3").text == f"3^{power}={3**power} (call 1)"
        assert client.get(f"/memo/{face}/4").text == f"4^{power}={4**power} (call 1)"
    assert counter.counts == {f"memo-{face}-3": 1, f"memo-{face}-4": 1}


def test_delete_memoized_forgets_one_argument(
    app_and_cache: tuple[Flask, Cache], counter: Counter
) -> None:
    app, _ = app_and_cache
    client = app.test_client()
    client.get("/memo/async/2")
    client.get("/memo/async/5")
    assert client.post("/forget/2").text == "forgotten"
    assert client.get("/memo/async/2").text == "2^3=8 (call 2)"
    assert client.get("/memo/async/5").text == "5^3=125 (call 1)"


@pytest.mark.parametrize("face", ["sync", "async"])
def test_memoized_helpers_called_from_sync_and_async_views(
    app_and_cache: tuple[Flask, Cache], counter: Counter, face: str
) -> None:
    app, _ = app_and_cache
    client = app.test_client()
    for _ in range(3):
        data = client.get(f"/helpers/{face}/6").get_json()
        assert (data["square"], data["cube"]) == (36, 216)
    if face == "async":
        assert data["on_loop"] is True
    assert client.get(f"/helpers/{face}/7").get_json()["cube"] == 343
    assert counter.counts == {"square-6": 1, "cube-6": 1, "square-7": 1, "cube-7": 1}


def test_response_hit_indication_adds_no_header(
    make_app: cabc.Callable[..., Flask], counter: Counter
) -> None:
    # A known limit: with response_hit_indication=True, Flask-Caching appends
    # an after-request hook to app.after_request_funcs from inside the view.
    # quartlike flattens the hooks of a request once it has started serving,
    # so that hook never runs and the "hit_cache" header is not added (caching
    # itself is unaffected).
    app = make_app(CACHE_TYPE="SimpleCache")
    cache = Cache(app)

    @app.route("/indicated")
    @cache.cached(response_hit_indication=True)
    async def indicated() -> str:
        return f"call {counter.hit('indicated')}"

    client = app.test_client()
    responses = [client.get("/indicated") for _ in range(3)]
    assert [r.text for r in responses] == ["call 1"] * 3
    assert counter.counts == {"indicated": 1}
    assert [f.__name__ for f in app.after_request_funcs[None]] == ["apply_caching"]
    assert [r.headers.get("hit_cache") for r in responses] == [None, None, None]
