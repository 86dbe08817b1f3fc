from __future__ import annotations

import asyncio
import logging
import typing as t

import pytest
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import BadRequestKeyError
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import NotFound

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import request
from quartlike.testing import QuartClient


class AppError(Exception):
    pass


class SpecificError(AppError):
    pass


@pytest.fixture
def production(app: Quart) -> Quart:
    """An app that turns unhandled errors into 500 responses instead of raising them."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def app_log(caplog: pytest.LogCaptureFixture, app: Quart) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == app.logger.name]


# -- registration --------------------------------------------------------------------------


async def test_errorhandler_by_code(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(404)
    async def not_found(e: NotFound) -> tuple[str, int]:
        assert isinstance(e, NotFound)
        return f"no page at {request.path}", 404

    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert await response.get_data() == b"no page at /nowhere"


async def test_errorhandler_for_code_and_class_are_the_same_slot(app: Quart) -> None:
    @app.errorhandler(404)
    def by_code(e: Exception) -> str:
        return "code"

    @app.errorhandler(NotFound)
    def by_class(e: Exception) -> str:
        return "class"

    response = await app.test_client().get("/x")
    assert await response.get_data() == b"class"
    assert response.status_code == 200  # the handler's return value decides the status


async def test_handler_for_base_class_catches_subclass(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(AppError)
    async def handle(e: AppError) -> tuple[str, int]:
        return f"handled {type(e).__name__}: {e}", 409

    @app.route("/")
    async def index() -> str:
        raise SpecificError("details")

    response = await client.get("/")
    assert response.status_code == 409
    assert await response.get_data() == b"handled SpecificError: details"


async def test_most_specific_handler_wins(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(Exception)
    async def anything(e: Exception) -> str:
        return f"generic {type(e).__name__}"

    @app.errorhandler(SpecificError)
    async def specific(e: Exception) -> str:
        return "specific"

    @app.route("/<kind>")
    async def index(kind: str) -> str:
        raise {"specific": SpecificError, "base": AppError, "key": KeyError}[kind]()

    assert await (await client.get("/specific")).get_data() == b"specific"
    assert await (await client.get("/base")).get_data() == b"generic AppError"
    assert await (await client.get("/key")).get_data() == b"generic KeyError"


async def test_code_handler_beats_generic_http_handler(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(HTTPException)
    async def any_http(e: HTTPException) -> tuple[str, int]:
        return f"http {e.code}", t.cast(int, e.code)

    @app.errorhandler(404)
    async def not_found(e: HTTPException) -> tuple[str, int]:
        return "custom 404", 404

    @app.route("/only-get")
    async def only_get() -> str:
        return "ok"

    assert await (await client.get("/missing")).get_data() == b"custom 404"
    response = await client.post("/only-get")
    assert response.status_code == 405
    assert await response.get_data() == b"http 405"


async def test_exception_handler_also_catches_http_errors(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(Exception)
    async def anything(e: Exception) -> str:
        return f"caught {type(e).__name__}"

    assert await (await client.get("/missing")).get_data() == b"caught NotFound"


async def test_register_error_handler(app: Quart, client: QuartClient) -> None:
    def handle(e: Forbidden) -> tuple[str, int]:
        return "go away", 403

    app.register_error_handler(403, handle)

    @app.route("/")
    def index() -> str:
        abort(403)

    response = await client.get("/")
    assert response.status_code == 403
    assert await response.get_data() == b"go away"


def test_register_non_exception_class_is_value_error(app: Quart) -> None:
    with pytest.raises(ValueError, match="'int' is not a subclass of Exception"):
        app.register_error_handler(int, lambda e: "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a subclass of Exception"):
        app.errorhandler(BaseException)(lambda e: "x")


def test_register_exception_instance_is_type_error(app: Quart) -> None:
    with pytest.raises(TypeError, match="exception instance"):
        app.register_error_handler(ValueError("x"), lambda e: "x")  # type: ignore[arg-type]


def test_register_unknown_code_is_value_error(app: Quart) -> None:
    with pytest.raises(ValueError, match="'599' is not an HTTP error code"):
        app.errorhandler(599)(lambda e: "x")
    with pytest.raises(ValueError):
        app.register_error_handler(200, lambda e: "x")


# -- HTTP exceptions without a handler -----------------------------------------------------


async def test_http_exception_without_handler_is_the_response(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/")
    async def index() -> str:
        abort(409, description="already exists")

    response = await client.get("/")
    assert response.status_code == 409
    body = await response.get_data(as_text=True)
    assert "Conflict" in body
    assert "already exists" in body
    assert response.mimetype == "text/html"


async def test_abort_with_a_response(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        abort(Response("short and stout", status=418))

    response = await client.get("/")
    assert response.status_code == 418
    assert await response.get_data() == b"short and stout"


async def test_method_not_allowed_lists_methods(app: Quart, client: QuartClient) -> None:
    @app.route("/", methods=["GET", "PUT"])
    async def index() -> str:
        return "ok"

    response = await client.delete("/")
    assert response.status_code == 405
    assert set(response.allow) == {"GET", "HEAD", "OPTIONS", "PUT"}


# -- unhandled exceptions ------------------------------------------------------------------


async def test_unhandled_error_propagates_when_testing(
    app: Quart, client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    @app.route("/")
    async def index() -> str:
        raise AppError("propagated")

    with pytest.raises(AppError, match="propagated"):
        await client.get("/")
    assert app_log(caplog, app) == []


async def test_unhandled_error_propagates_in_debug(app: Quart) -> None:
    app.config["TESTING"] = False
    app.debug = True

    @app.route("/")
    def index() -> str:
        raise AppError("debug")

    with pytest.raises(AppError):
        await app.test_client().get("/")


async def test_unhandled_error_is_500_when_not_propagating(
    production: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    error = AppError("hidden")

    @production.route("/boom", methods=["POST"])
    async def boom() -> str:
        raise error

    with caplog.at_level(logging.ERROR, logger=production.logger.name):
        response = await production.test_client().post("/boom")
    assert response.status_code == 500
    body = await response.get_data(as_text=True)
    assert "Internal Server Error" in body
    assert "hidden" not in body
    [record] = app_log(caplog, production)
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "Exception on /boom [POST]"
    assert record.exc_info is not None and record.exc_info[1] is error


async def test_500_handler_receives_internal_server_error(production: Quart) -> None:
    error = AppError("original")
    received: list[InternalServerError] = []

    @production.errorhandler(500)
    async def server_error(e: InternalServerError) -> tuple[str, int]:
        received.append(e)
        return "sorry", 500

    @production.route("/")
    async def index() -> str:
        raise error

    response = await production.test_client().get("/")
    assert response.status_code == 500
    assert await response.get_data() == b"sorry"
    [e] = received
    assert isinstance(e, InternalServerError)
    assert e.original_exception is error


async def test_500_handler_by_class_and_for_explicit_abort(production: Quart) -> None:
    received: list[InternalServerError] = []

    @production.errorhandler(InternalServerError)
    def server_error(e: InternalServerError) -> tuple[str, int]:
        received.append(e)
        return "handled", 500

    @production.route("/abort")
    async def aborts() -> str:
        abort(500)

    response = await production.test_client().get("/abort")
    assert await response.get_data() == b"handled"
    assert received[0].original_exception is None


async def test_after_request_runs_on_the_500_response(production: Quart) -> None:
    @production.after_request
    async def tag(response: Response) -> Response:
        response.headers["X-After"] = "yes"
        return response

    @production.route("/")
    async def index() -> str:
        raise AppError()

    response = await production.test_client().get("/")
    assert response.status_code == 500
    assert response.headers["X-After"] == "yes"


async def test_error_in_before_request_goes_to_handlers(app: Quart, client: QuartClient) -> None:
    @app.before_request
    def fail() -> None:
        raise SpecificError("early")

    @app.errorhandler(SpecificError)
    async def handle(e: SpecificError) -> tuple[str, int]:
        return str(e), 400

    @app.route("/")
    async def index() -> str:
        return "not reached"

    response = await client.get("/")
    assert response.status_code == 400
    assert await response.get_data() == b"early"


async def test_sync_error_handler_runs(app: Quart, client: QuartClient) -> None:
    @app.errorhandler(KeyError)
    def handle(e: KeyError) -> dict[str, str]:
        return {"missing": str(e.args[0])}

    @app.route("/")
    def index() -> str:
        raise KeyError("thing")

    response = await client.get("/")
    assert await response.get_json() == {"missing": "thing"}


# -- trapping ------------------------------------------------------------------------------


async def test_trap_http_exceptions_raises_them(app: Quart, client: QuartClient) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    @app.route("/")
    async def index() -> str:
        abort(403)

    with pytest.raises(Forbidden):
        await client.get("/")
    with pytest.raises(NotFound):
        await client.get("/missing")


async def test_trapped_http_exception_still_reaches_its_handler(
    app: Quart, client: QuartClient
) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True

    @app.errorhandler(404)
    async def not_found(e: NotFound) -> tuple[str, int]:
        return "handled", 404

    response = await client.get("/missing")
    assert await response.get_data() == b"handled"


async def test_trapped_http_exception_is_500_when_not_propagating(production: Quart) -> None:
    production.config["TRAP_HTTP_EXCEPTIONS"] = True
    response = await production.test_client().get("/missing")
    assert response.status_code == 500


async def test_trap_bad_request_errors(app: Quart, client: QuartClient) -> None:
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True

    @app.route("/key")
    async def key() -> str:
        return request.args["missing"]

    @app.route("/bad")
    async def bad() -> str:
        raise BadRequest()

    with pytest.raises(BadRequestKeyError):
        await client.get("/key")
    with pytest.raises(BadRequest):
        await client.get("/bad")
    # Other HTTP errors are not trapped.
    assert (await client.get("/missing")).status_code == 404


async def test_bad_request_key_error_is_400_without_details(
    app: Quart, client: QuartClient
) -> None:
    @app.route("/")
    async def index() -> str:
        return request.args["secret_name"]

    response = await client.get("/")
    assert response.status_code == 400
    assert "secret_name" not in await response.get_data(as_text=True)


async def test_bad_request_key_error_is_trapped_in_debug(app: Quart) -> None:
    app.debug = True

    @app.route("/")
    async def index() -> str:
        return request.args["wanted"]

    with pytest.raises(BadRequestKeyError) as info:
        await app.test_client().get("/")
    assert "KeyError: 'wanted'" in str(info.value)


async def test_bad_request_key_error_shows_the_key_in_debug(app: Quart) -> None:
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False

    @app.route("/")
    async def index() -> str:
        return request.args["wanted"]

    response = await app.test_client().get("/")
    assert response.status_code == 400
    assert "KeyError: &#39;wanted&#39;" in await response.get_data(as_text=True)


async def test_bad_request_key_error_handler_sees_the_key_in_debug(app: Quart) -> None:
    app.debug = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False

    @app.errorhandler(400)
    async def bad(e: BadRequest) -> str:
        return e.description

    @app.route("/")
    async def index() -> str:
        return request.args["wanted"]

    response = await app.test_client().get("/")
    assert "KeyError: 'wanted'" in await response.get_data(as_text=True)


# -- failures while handling failures ------------------------------------------------------


async def test_error_handler_that_raises_propagates_when_testing(
    app: Quart, client: QuartClient
) -> None:
    @app.errorhandler(AppError)
    async def broken(e: AppError) -> str:
        raise LookupError("handler broke")

    @app.route("/")
    async def index() -> str:
        raise AppError()

    with pytest.raises(LookupError, match="handler broke"):
        await client.get("/")


async def test_error_handler_that_raises_is_500_when_not_propagating(
    production: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[InternalServerError] = []

    @production.errorhandler(AppError)
    async def broken(e: AppError) -> str:
        raise LookupError("handler broke")

    @production.errorhandler(500)
    async def server_error(e: InternalServerError) -> tuple[str, int]:
        received.append(e)
        return "500 page", 500

    @production.route("/")
    async def index() -> str:
        raise AppError()

    with caplog.at_level(logging.ERROR, logger=production.logger.name):
        response = await production.test_client().get("/")
    assert response.status_code == 500
    assert await response.get_data() == b"500 page"
    assert isinstance(received[0].original_exception, LookupError)
    [record] = app_log(caplog, production)
    assert record.exc_info is not None and isinstance(record.exc_info[1], LookupError)


async def test_after_request_failing_on_error_response_is_logged(
    production: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @production.after_request
    async def broken(response: Response) -> Response:
        raise ValueError("after_request broke")

    @production.route("/")
    async def index() -> str:
        return "fine"

    with caplog.at_level(logging.ERROR, logger=production.logger.name):
        response = await production.test_client().get("/")
    assert response.status_code == 500
    messages = [r.getMessage() for r in app_log(caplog, production)]
    assert messages == [
        "Exception on / [GET]",
        "Request finalizing failed with an error while handling an error",
    ]
    for record in app_log(caplog, production):
        assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


async def test_500_handler_response_survives_a_failing_after_request(
    production: Quart, caplog: pytest.LogCaptureFixture
) -> None:
    @production.after_request
    async def broken(response: Response) -> Response:
        if response.status_code == 500:
            raise ValueError("after_request broke")
        return response

    @production.errorhandler(500)
    async def server_error(e: InternalServerError) -> tuple[str, int]:
        return "custom 500", 500

    @production.route("/")
    async def index() -> str:
        raise AppError()

    with caplog.at_level(logging.ERROR, logger=production.logger.name):
        response = await production.test_client().get("/")
    assert response.status_code == 500
    assert await response.get_data() == b"custom 500"


# -- what handlers never see ---------------------------------------------------------------


async def test_routing_redirects_are_not_passed_to_handlers(
    app: Quart, client: QuartClient
) -> None:
    seen: list[Exception] = []

    @app.errorhandler(HTTPException)
    async def any_http(e: HTTPException) -> tuple[str, int]:
        seen.append(e)
        return "handled", 500

    @app.errorhandler(Exception)
    async def anything(e: Exception) -> tuple[str, int]:
        seen.append(e)
        return "handled", 500

    @app.route("/folder/")
    async def folder() -> str:
        return "folder"

    response = await client.get("/folder?x=1")
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/folder/?x=1"
    assert seen == []


async def test_cancelled_error_is_never_swallowed(app: Quart, client: QuartClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    torn_down: list[BaseException | None] = []

    @app.errorhandler(Exception)
    async def anything(e: Exception) -> str:
        raise AssertionError("handlers must not see cancellation")

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    @app.route("/")
    async def index() -> str:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        await client.get("/")
    assert len(torn_down) == 1
    assert isinstance(torn_down[0], asyncio.CancelledError)


async def test_cancelling_a_request_task_cancels_the_view(app: Quart, client: QuartClient) -> None:
    started = asyncio.Event()
    outcome: list[str] = []

    @app.errorhandler(Exception)
    async def anything(e: Exception) -> str:
        outcome.append("handler")
        return "handled"

    @app.route("/slow")
    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        return "done"

    task = asyncio.create_task(client.get("/slow"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled"]
