"""The pipeline's stages can be replaced, and a replaced stage is always called.

While no stage is replaced, a request runs them inline (without a coroutine per
stage); these tests check that replacing any of them, on a subclass or on the
app at any time, puts it back in the path, and that the inline path and the
stage-by-stage path give the same responses.
"""

from __future__ import annotations

import typing as t

import pytest

from quartlike import Quart
from quartlike import after_this_request
from quartlike import g
from quartlike import request
from quartlike import session
from quartlike.dispatch import _STAGES
from quartlike.wrappers import Response

REQUESTS = [("GET", "/"), ("GET", "/missing"), ("OPTIONS", "/"), ("POST", "/session")]


def routes(app: Quart) -> None:
    app.secret_key = "stages"

    @app.route("/")
    async def index() -> str:
        return "index"

    @app.post("/session")
    async def write_session() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])


def recording_subclass(stage: str, calls: list[str]) -> type[Quart]:
    base = getattr(Quart, stage)

    async def replacement(self: Quart, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(stage)
        return await base(self, *args, **kwargs)

    def sync_replacement(self: Quart, *args: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(stage)
        return base(self, *args, **kwargs)

    import inspect

    method = replacement if inspect.iscoroutinefunction(base) else sync_replacement
    return type("Recording", (Quart,), {stage: method})


async def answers(app: Quart) -> list[tuple[int, bytes, list[tuple[str, str]]]]:
    client = app.test_client()
    rv = []
    for _ in range(2):  # the second round runs with the app's caches warm
        for method, path in REQUESTS:
            response = await client.open(path, method=method)
            headers = sorted((k, v) for k, v in response.headers.items() if k != "Set-Cookie")
            rv.append((response.status_code, await response.get_data(), headers))
    return rv


@pytest.mark.parametrize("stage", sorted(_STAGES))
async def test_a_stage_replaced_on_a_subclass_is_called(stage: str) -> None:
    calls: list[str] = []
    app = recording_subclass(stage, calls)(__name__)
    routes(app)
    plain = Quart(__name__)
    routes(plain)
    assert await answers(app) == await answers(plain)
    assert stage in calls


@pytest.mark.parametrize("stage", sorted(_STAGES))
async def test_a_stage_replaced_on_the_app_after_serving_is_called(stage: str) -> None:
    app = Quart(__name__)
    routes(app)
    await answers(app)  # served: the app runs its stages inline now
    calls: list[str] = []
    original = getattr(app, stage)

    if stage in {"make_default_options_response", "raise_routing_exception"}:

        def sync_replacement(*args: t.Any) -> t.Any:
            calls.append(stage)
            return original(*args)

        setattr(app, stage, sync_replacement)
    else:

        async def replacement(*args: t.Any) -> t.Any:
            calls.append(stage)
            return await original(*args)

        setattr(app, stage, replacement)
    await answers(app)
    assert stage in calls
    calls.clear()
    delattr(app, stage)  # back to the class's stage: inline again
    await answers(app)
    assert calls == []


async def test_hooks_teardowns_and_after_this_request_run_inline() -> None:
    app = Quart(__name__)
    events: list[str] = []

    @app.before_request
    async def before() -> None:
        g.seen = "before"
        events.append("before")

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-After"] = g.seen
        events.append("after")
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {exc!r}")

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        events.append("teardown app")

    @app.route("/")
    async def index() -> str:
        @after_this_request
        def once(response: Response) -> Response:
            response.headers["X-Once"] = request.path
            return response

        return "ok"

    client = app.test_client()
    for _ in range(2):
        events.clear()
        response = await client.get("/")
        assert response.headers["X-After"] == "before"
        assert response.headers["X-Once"] == "/"
        assert events == ["before", "after", "teardown None", "teardown app"]
