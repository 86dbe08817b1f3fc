"""Stock error pages (an unrouted URL, a wrong method, ``abort(403)``) are rendered once
per exception class and reused: every response must still be exactly werkzeug's
rendering of the exception at hand, and a fresh response object each time."""

from __future__ import annotations

import flask
import pytest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound

from quartlike import Quart
from quartlike import abort


class Teapot(HTTPException):
    code = 418
    description = "Short and stout."


class FancyNotFound(NotFound):
    def get_body(self, environ: object = None, scope: object = None) -> str:
        return "<p>fancy</p>"


def _apps() -> tuple[Quart, flask.Flask]:
    apps: list[Quart | flask.Flask] = []
    for cls in (Quart, flask.Flask):
        app = cls(__name__)

        @app.route("/only-get")
        def only_get() -> str:
            return "ok"

        @app.route("/abort/<int:code>")
        def abort_with(code: int) -> str:
            abort(code)

        @app.route("/described")
        def described() -> str:
            abort(404, "Nothing at this address.")

        @app.route("/teapot")
        def teapot() -> str:
            raise Teapot()

        @app.route("/fancy")
        def fancy() -> str:
            raise FancyNotFound()

        apps.append(app)
    return apps[0], apps[1]  # type: ignore[return-value]


CASES = [
    ("GET", "/nowhere"),
    ("POST", "/only-get"),  # 405 with Allow: the page's headers are per exception
    ("GET", "/abort/403"),
    ("GET", "/abort/400"),
    ("GET", "/abort/500"),
    ("GET", "/described"),  # the instance's description, not the class's
    ("GET", "/teapot"),
    ("GET", "/fancy"),  # a subclass rendering its own body
]


async def test_error_pages_are_those_of_flask_on_every_request() -> None:
    ours, theirs = _apps()
    client = ours.test_client()
    flask_client = theirs.test_client()
    for _round in range(3):  # the first builds the pages, the others reuse them
        for method, path in CASES:
            got = await client.open(path, method=method)
            want = flask_client.open(path, method=method)
            assert got.status_code == want.status_code, path
            assert await got.get_data() == want.get_data(), path
            assert got.headers.get("Content-Type") == want.headers.get("Content-Type")
            assert got.headers.get("Allow") == want.headers.get("Allow"), path


async def test_a_changed_class_description_shows_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = _apps()
    client = app.test_client()
    before = await (await client.get("/nowhere")).get_data()
    monkeypatch.setattr(NotFound, "description", "Gone fishing.")
    after = await (await client.get("/nowhere")).get_data()
    assert b"Gone fishing." not in before
    assert b"Gone fishing." in after


async def test_each_error_response_is_a_new_object() -> None:
    app, _ = _apps()

    @app.after_request
    async def mark(response):  # type: ignore[no-untyped-def]
        response.headers["X-Count"] = str(int(response.headers.get("X-Count", "0")) + 1)
        response.set_data(await response.get_data() + b"!")
        return response

    client = app.test_client()
    for _ in range(3):
        response = await client.get("/abort/403")
        assert response.headers["X-Count"] == "1"
        assert (await response.get_data()).endswith(b"</p>\n!")
    assert Forbidden().get_body().encode() + b"!" == await response.get_data()
