from __future__ import annotations

import logging
import typing as t

import pytest

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import g
from quartlike import request
from quartlike.testing import QuartClient


@pytest.fixture
def calls() -> list[str]:
    return []


# -- before_request ------------------------------------------------------------------------


async def test_before_request_runs_in_registration_order(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.before_request
    async def first() -> None:
        calls.append("first")

    @app.before_request
    def second() -> None:
        calls.append("second")

    @app.before_request
    async def third() -> None:
        calls.append("third")

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "ok"

    await client.get("/")
    assert calls == ["first", "second", "third", "view"]


async def test_before_request_return_value_short_circuits(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.before_request
    async def gate() -> tuple[str, int] | None:
        if request.args.get("block"):
            return "blocked", 403
        return None

    @app.before_request
    async def later() -> None:
        calls.append("later")

    @app.after_request
    async def after(response: Response) -> Response:
        calls.append("after")
        return response

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "ok"

    response = await client.get("/?block=1")
    assert response.status_code == 403
    assert await response.get_data() == b"blocked"
    assert calls == ["after"]  # later hooks and the view are skipped; after_request still runs
    calls.clear()
    response = await client.get("/")
    assert await response.get_data() == b"ok"
    assert calls == ["later", "view", "after"]


async def test_before_request_falsy_non_none_value_is_a_response(
    app: Quart, client: QuartClient
) -> None:
    @app.before_request
    async def empty() -> str:
        return ""

    @app.route("/")
    async def index() -> str:
        raise AssertionError("not reached")

    response = await client.get("/")
    assert response.status_code == 200
    assert await response.get_data() == b""


async def test_sync_before_request_can_short_circuit(app: Quart, client: QuartClient) -> None:
    @app.before_request
    def gate() -> str:
        return "from sync hook"

    @app.route("/")
    async def index() -> str:
        raise AssertionError("not reached")

    response = await client.get("/")
    assert await response.get_data() == b"from sync hook"


async def test_before_request_can_abort(app: Quart, client: QuartClient, calls: list[str]) -> None:
    @app.before_request
    async def guard() -> None:
        abort(401)

    @app.errorhandler(401)
    async def unauthorized(e: Exception) -> tuple[str, int]:
        calls.append("handler")
        return "login first", 401

    @app.route("/")
    async def index() -> str:
        calls.append("view")
        return "ok"

    response = await client.get("/")
    assert response.status_code == 401
    assert await response.get_data() == b"login first"
    assert calls == ["handler"]


async def test_before_request_abort_without_handler(app: Quart, client: QuartClient) -> None:
    @app.before_request
    def guard() -> None:
        abort(418)

    @app.route("/")
    async def index() -> str:
        return "ok"

    response = await client.get("/")
    assert response.status_code == 418


# -- after_request -------------------------------------------------------------------------


async def test_after_request_runs_in_reverse_order_and_can_modify(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.after_request
    async def first(response: Response) -> Response:
        calls.append("first")
        response.headers["X-Order"] = response.headers.get("X-Order", "") + "1"
        return response

    @app.after_request
    def second(response: Response) -> Response:
        calls.append("second")
        response.headers["X-Order"] = response.headers.get("X-Order", "") + "2"
        return response

    @app.route("/")
    async def index() -> str:
        return "ok"

    response = await client.get("/")
    assert calls == ["second", "first"]
    assert response.headers["X-Order"] == "21"


async def test_after_request_can_replace_the_response(app: Quart, client: QuartClient) -> None:
    @app.after_request
    async def replace(response: Response) -> Response:
        return Response("replaced", status=202)

    @app.route("/")
    async def index() -> str:
        return "original"

    response = await client.get("/")
    assert response.status_code == 202
    assert await response.get_data() == b"replaced"


async def test_after_request_must_return_a_response(app: Quart, client: QuartClient) -> None:
    @app.after_request
    async def forgetful(response: Response) -> None:
        response.headers["X-Lost"] = "1"

    @app.route("/")
    async def index() -> str:
        return "ok"

    # A hook returning None hands None to the next stage, which cannot send it.
    with pytest.raises((AttributeError, TypeError)):
        await client.get("/")


async def test_after_request_runs_on_error_responses(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.after_request
    async def after(response: Response) -> Response:
        calls.append(str(response.status_code))
        return response

    response = await client.get("/missing")
    assert response.status_code == 404
    assert calls == ["404"]


# -- teardown_request ----------------------------------------------------------------------


async def test_teardown_request_receives_none_on_success(app: Quart, client: QuartClient) -> None:
    seen: list[BaseException | None] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        return "ok"

    await client.get("/")
    assert seen == [None]


async def test_teardown_request_receives_the_unhandled_error(
    app: Quart, client: QuartClient
) -> None:
    seen: list[BaseException | None] = []
    error = RuntimeError("view failed")

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        raise error

    with pytest.raises(RuntimeError, match="view failed"):
        await client.get("/")
    assert seen == [error]


async def test_teardown_request_runs_after_errors_when_not_propagating(
    app: Quart, client: QuartClient
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    seen: list[BaseException | None] = []
    error = ValueError("bad")

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        raise error

    response = await client.get("/")
    assert response.status_code == 500
    assert seen == [error]


async def test_teardown_request_gets_none_for_handled_errors(
    app: Quart, client: QuartClient
) -> None:
    seen: list[BaseException | None] = []

    @app.errorhandler(ValueError)
    async def handle(e: ValueError) -> tuple[str, int]:
        return "handled", 400

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        raise ValueError("bad")

    response = await client.get("/")
    assert response.status_code == 400
    assert seen == [None]


async def test_teardown_request_runs_in_reverse_order_with_request(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.teardown_request
    async def first(exc: BaseException | None) -> None:
        calls.append(f"first {request.path}")

    @app.teardown_request
    def second(exc: BaseException | None) -> None:
        calls.append(f"second {request.path}")

    @app.route("/here")
    async def here() -> str:
        return "ok"

    await client.get("/here")
    assert calls == ["second /here", "first /here"]


async def test_every_teardown_runs_even_if_one_raises(
    app: Quart, client: QuartClient, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    @app.teardown_request
    async def last(exc: BaseException | None) -> None:
        calls.append("last")

    @app.teardown_request
    def second_error(exc: BaseException | None) -> None:
        calls.append("second_error")
        raise KeyError("second")

    @app.teardown_request
    async def first_error(exc: BaseException | None) -> None:
        calls.append("first_error")
        raise ValueError("first")

    @app.teardown_appcontext
    async def app_teardown(exc: BaseException | None) -> None:
        calls.append("appcontext")

    @app.route("/")
    async def index() -> str:
        return "ok"

    # Testing propagates exceptions: the first teardown error is re-raised.
    with (
        caplog.at_level(logging.ERROR, logger=app.logger.name),
        pytest.raises(ValueError, match="first"),
    ):
        await client.get("/")
    assert calls == ["first_error", "second_error", "last", "appcontext"]
    errors = [r for r in caplog.records if r.name == app.logger.name]
    assert [type(r.exc_info[1]) for r in errors if r.exc_info] == [ValueError, KeyError]


async def test_teardown_errors_are_only_logged_when_not_propagating(
    app: Quart, client: QuartClient, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.teardown_request
    async def later(exc: BaseException | None) -> None:
        calls.append("later")

    @app.teardown_request
    async def broken(exc: BaseException | None) -> None:
        raise ValueError("teardown broke")

    @app.route("/")
    async def index() -> str:
        return "ok"

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = await client.get("/")
    assert await response.get_data() == b"ok"
    assert calls == ["later"]
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], ValueError)]
    assert len(logged) == 1
    assert "teardown" in logged[0].getMessage()


async def test_teardown_appcontext_runs_after_teardown_request(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.teardown_appcontext
    def app_first(exc: BaseException | None) -> None:
        calls.append("app_first")

    @app.teardown_appcontext
    async def app_second(exc: BaseException | None) -> None:
        calls.append(f"app_second {g.get('marker')}")

    @app.teardown_request
    async def request_teardown(exc: BaseException | None) -> None:
        calls.append("request")

    @app.route("/")
    async def index() -> str:
        g.marker = "g-still-there"
        return "ok"

    await client.get("/")
    assert calls == ["request", "app_second g-still-there", "app_first"]


async def test_teardown_appcontext_receives_the_error(app: Quart, client: QuartClient) -> None:
    seen: list[BaseException | None] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.route("/")
    async def index() -> str:
        raise LookupError("x")

    with pytest.raises(LookupError):
        await client.get("/")
    assert len(seen) == 1
    assert isinstance(seen[0], LookupError)


async def test_teardown_runs_after_the_response_body_was_produced(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown")

    @app.route("/stream")
    async def stream() -> t.Any:
        async def gen() -> t.AsyncIterator[str]:
            calls.append("chunk")
            yield "a"
            calls.append("chunk")
            yield "b"

        return gen()

    response = await client.get("/stream")
    assert await response.get_data() == b"ab"
    assert calls == ["chunk", "chunk", "teardown"]


# -- url_value_preprocessor ----------------------------------------------------------------


async def test_url_value_preprocessors_run_in_order_before_before_request(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        assert values is not None
        calls.append(f"pre1 {endpoint} {dict(values)}")
        g.lang = values.pop("lang")

    @app.url_value_preprocessor
    def second(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        calls.append(f"pre2 {values}")

    @app.before_request
    async def before() -> None:
        calls.append(f"before {g.lang}")

    @app.route("/<lang>/page")
    async def page() -> str:
        return f"page in {g.lang}"

    response = await client.get("/fr/page")
    assert await response.get_data() == b"page in fr"
    assert calls == ["pre1 page {'lang': 'fr'}", "pre2 {}", "before fr"]


# -- setup closes after the first request --------------------------------------------------


@pytest.mark.parametrize(
    "register",
    [
        lambda app: app.before_request(lambda: None),
        lambda app: app.after_request(lambda r: r),
        lambda app: app.teardown_request(lambda e: None),
        lambda app: app.teardown_appcontext(lambda e: None),
        lambda app: app.url_value_preprocessor(lambda e, v: None),
        lambda app: app.errorhandler(404)(lambda e: "x"),
        lambda app: app.add_url_rule("/late", "late", lambda: "x"),
        lambda app: app.route("/late2")(lambda: "x"),
    ],
)
async def test_registering_after_the_first_request_fails(
    app: Quart, client: QuartClient, register: t.Callable[[Quart], object]
) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    await client.get("/")
    assert app.got_first_request
    with pytest.raises(AssertionError, match="already handled its first request") as info:
        register(app)
    assert "Register everything before the app serves" in str(info.value)


async def test_hooks_registered_after_a_test_request_context_still_run(
    app: Quart, client: QuartClient, calls: list[str]
) -> None:
    @app.route("/")
    async def index() -> str:
        return "ok"

    async with app.test_request_context("/"):
        pass
    # A test request context is not a request: setup stays open, and what is
    # registered now applies to the requests that follow.
    assert not app.got_first_request

    @app.before_request
    def before() -> None:
        calls.append("before")

    @app.after_request
    async def after(response: Response) -> Response:
        calls.append("after")
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown")

    await client.get("/")
    assert calls == ["before", "after", "teardown"]
