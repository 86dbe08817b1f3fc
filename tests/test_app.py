from __future__ import annotations

import collections.abc as cabc
import logging
import os
import subprocess
import sys
import typing as t
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.exceptions import Aborter
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound

from quartlike import Quart
from quartlike import abort
from quartlike import current_app
from quartlike import request
from quartlike.testing import QuartClient

# -- identity ------------------------------------------------------------------------------


def test_name_is_the_import_name() -> None:
    assert Quart("myproject.web").name == "myproject.web"
    assert repr(Quart("myproject.web")) == "<Quart 'myproject.web'>"


def test_name_of_main_is_the_script_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["__main__"], "__file__", "/srv/project/serve_it.py")
    assert Quart("__main__").name == "serve_it"


def test_name_of_main_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys.modules["__main__"], "__file__", raising=False)
    assert Quart("__main__").name == "__main__"


def test_name_of_main_in_a_real_script(tmp_path: Path) -> None:
    script = tmp_path / "my_script.py"
    script.write_text("from quartlike import Quart\nprint(Quart(__name__).name)\n")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "my_script"


def test_root_path(tmp_path: Path) -> None:
    assert Quart(__name__).root_path == os.path.dirname(os.path.abspath(__file__))
    assert Quart("anything", root_path=str(tmp_path)).root_path == str(tmp_path)


# -- debug and testing ---------------------------------------------------------------------


def test_debug_defaults_to_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUARTLIKE_DEBUG", raising=False)
    app = Quart(__name__)
    assert app.debug is False
    assert app.config["DEBUG"] is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("false", False), ("No", False)],
)
def test_debug_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("QUARTLIKE_DEBUG", value)
    assert Quart(__name__).debug is expected


def test_debug_property_is_the_config_key(app: Quart) -> None:
    app.debug = True
    assert app.config["DEBUG"] is True
    app.config["DEBUG"] = False
    assert app.debug is False


def test_testing_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Quart(__name__)
    assert app.testing is False
    app.testing = True
    assert app.config["TESTING"] is True
    app.config["TESTING"] = False
    assert app.testing is False


async def test_testing_decides_whether_errors_propagate() -> None:
    app = Quart(__name__)

    @app.route("/")
    async def index() -> str:
        raise ValueError("oops")

    app.logger.disabled = True
    try:
        assert (await app.test_client().get("/")).status_code == 500
        app.testing = True
        with pytest.raises(ValueError):
            await app.test_client().get("/")
    finally:
        app.logger.disabled = False


# -- configuration -------------------------------------------------------------------------


def test_config_defaults() -> None:
    config = Quart(__name__).config
    assert config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert config["MAX_FORM_MEMORY_SIZE"] == 500_000
    assert config["MAX_FORM_PARTS"] == 1_000
    assert config["BODY_TIMEOUT"] == 60
    assert config["RESPONSE_TIMEOUT"] == 60
    assert config["SYNC_WORKERS"] == 32
    assert config["TESTING"] is False
    assert config["PROPAGATE_EXCEPTIONS"] is None
    assert config["SECRET_KEY"] is None
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert config["APPLICATION_ROOT"] == "/"
    assert config["PREFERRED_URL_SCHEME"] == "http"
    assert config["SERVER_NAME"] is None
    assert config["TRAP_HTTP_EXCEPTIONS"] is False
    assert config["TRAP_BAD_REQUEST_ERRORS"] is None
    assert config["PROVIDE_AUTOMATIC_OPTIONS"] is True


def test_each_app_has_its_own_config() -> None:
    first = Quart("first")
    second = Quart("second")
    first.config["MAX_CONTENT_LENGTH"] = 1
    first.config["CUSTOM"] = "x"
    assert second.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert "CUSTOM" not in second.config
    assert Quart.default_config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    with pytest.raises(TypeError):
        Quart.default_config["MAX_CONTENT_LENGTH"] = 1


async def test_default_body_limit_is_enforced(app: Quart, client: QuartClient) -> None:
    @app.post("/upload")
    async def upload() -> str:
        return str(len(await request.get_data()))

    limit = app.config["MAX_CONTENT_LENGTH"]
    ok = await client.post("/upload", data=b"x" * limit)
    assert await ok.get_data() == str(limit).encode()
    too_big = await client.post("/upload", data=b"x" * (limit + 1))
    assert too_big.status_code == 413


def test_secret_key_attribute(app: Quart) -> None:
    assert app.secret_key is None
    app.secret_key = "s3cret"
    assert app.config["SECRET_KEY"] == "s3cret"
    app.config["SECRET_KEY"] = b"bytes"
    assert app.secret_key == b"bytes"


def test_permanent_session_lifetime(app: Quart) -> None:
    assert app.permanent_session_lifetime == timedelta(days=31)
    app.config["PERMANENT_SESSION_LIFETIME"] = 90
    assert app.permanent_session_lifetime == timedelta(seconds=90)
    app.permanent_session_lifetime = timedelta(hours=1)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)
    assert app.permanent_session_lifetime == timedelta(hours=1)


# -- instance path -------------------------------------------------------------------------


def test_default_instance_path_is_beside_the_top_level_package() -> None:
    # tests is a package in the repository: the folder goes next to it, not inside.
    app = Quart(__name__)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert app.instance_path == os.path.join(repo, "instance")


@pytest.mark.parametrize(
    "import_name",
    ["tests.test_app", "quartlike.app", "flask", "werkzeug.routing", "__main__", "no_such_module"],
)
def test_default_instance_path_matches_flask(import_name: str) -> None:
    # Flask's rule, including apps installed into the interpreter's prefix
    # (flask and werkzeug themselves, here): <prefix>/var/<name>-instance.
    import flask

    assert Quart(import_name).instance_path == flask.Flask(import_name).instance_path


def test_installed_app_gets_a_var_folder_under_the_prefix() -> None:
    app = Quart("werkzeug")
    assert app.instance_path == os.path.join(
        os.path.abspath(sys.prefix), "var", "werkzeug-instance"
    )


def test_absolute_instance_path(tmp_path: Path) -> None:
    assert Quart(__name__, instance_path=str(tmp_path)).instance_path == str(tmp_path)


def test_relative_instance_path_is_an_error() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        Quart(__name__, instance_path="instance")


def test_instance_relative_config(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text("FROM_INSTANCE = 'yes'\n")
    app = Quart(__name__, instance_path=str(tmp_path), instance_relative_config=True)
    assert app.config.root_path == str(tmp_path)
    app.config.from_pyfile("settings.py")
    assert app.config["FROM_INSTANCE"] == "yes"


# -- logger --------------------------------------------------------------------------------


@pytest.fixture
def logger_name() -> cabc.Iterator[str]:
    """A unique app name, so each test gets a fresh logger; it is dropped afterwards."""
    name = f"qlapp_{uuid.uuid4().hex}"
    yield name
    logger = logging.Logger.manager.loggerDict.pop(name, None)
    if isinstance(logger, logging.Logger):
        logger.handlers.clear()


def test_logger_is_named_after_the_app(logger_name: str) -> None:
    app = Quart(logger_name)
    assert app.logger is logging.getLogger(logger_name)
    assert app.logger is app.logger
    assert app.logger.level == logging.NOTSET


def test_logger_level_is_debug_in_debug_mode(logger_name: str) -> None:
    app = Quart(logger_name)
    app.debug = True
    assert app.logger.level == logging.DEBUG


def test_logger_keeps_an_explicit_level_in_debug_mode(logger_name: str) -> None:
    logging.getLogger(logger_name).setLevel(logging.WARNING)
    app = Quart(logger_name)
    app.debug = True
    assert app.logger.level == logging.WARNING


async def test_view_can_log_through_current_app(
    logger_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = Quart(logger_name)

    @app.route("/")
    async def index() -> str:
        current_app.logger.warning("hello from %s", "the view")
        return "ok"

    with caplog.at_level(logging.WARNING, logger=logger_name):
        await app.test_client().get("/")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        (logger_name, "hello from the view")
    ]


# -- extensions and the aborter ------------------------------------------------------------


def test_extensions_is_a_per_app_dict() -> None:
    first = Quart("first")
    second = Quart("second")
    assert first.extensions == {}
    first.extensions["db"] = object()
    assert second.extensions == {}


def test_aborter(app: Quart) -> None:
    assert isinstance(app.aborter, Aborter)
    with pytest.raises(NotFound):
        app.aborter(404)


class Gone499(HTTPException):
    code = 499
    description = "The client closed the request."


class ExtraAborter(Aborter):
    def __init__(self) -> None:
        super().__init__(extra={499: Gone499})


async def test_aborter_class_is_used_by_abort() -> None:
    class MyQuart(Quart):
        aborter_class = ExtraAborter

    app = MyQuart(__name__)
    assert isinstance(app.aborter, ExtraAborter)

    @app.route("/")
    async def index() -> str:
        abort(499)

    response = await app.test_client().get("/")
    assert response.status_code == 499
    assert "The client closed the request." in await response.get_data(as_text=True)


def test_abort_outside_an_app_uses_the_default_aborter() -> None:
    with pytest.raises(NotFound):
        abort(404)
    with pytest.raises(LookupError):
        abort(499)


# -- ASGI middleware -----------------------------------------------------------------------


class HeaderMiddleware:
    """A plain ASGI middleware that adds a header to every HTTP response."""

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.scopes: list[str] = []

    async def __call__(self, scope: t.Any, receive: t.Any, send: t.Any) -> None:
        self.scopes.append(scope["type"])

        async def send_wrapper(message: dict[str, t.Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-wrapped", b"1")]}
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def test_asgi_middleware_wraps_asgi_app(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "through the middleware"

    middleware = HeaderMiddleware(app.asgi_app)
    app.asgi_app = middleware  # type: ignore[method-assign]
    response = await client.get("/")
    assert await response.get_data() == b"through the middleware"
    assert response.headers["X-Wrapped"] == "1"
    assert middleware.scopes == ["http"]


async def test_asgi_middleware_can_rewrite_the_scope(app: Quart, client: QuartClient) -> None:
    @app.route("/new")
    async def new() -> str:
        return "new"

    inner = app.asgi_app

    async def rewrite(scope: t.Any, receive: t.Any, send: t.Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/old":
            scope = {**scope, "path": "/new", "raw_path": b"/new"}
        await inner(scope, receive, send)

    app.asgi_app = rewrite  # type: ignore[method-assign]
    assert await (await client.get("/old")).get_data() == b"new"
