"""The debug page: with the middleware the development server installs, unhandled
errors in debug mode are answered with their escaped traceback.
"""

from __future__ import annotations

import collections.abc as cabc
import logging

import pytest

from quartlike import Quart
from quartlike.debug import install_debug_page
from quartlike.debug import render_debug_page


def make_app(*, debug: bool, testing: bool = False) -> Quart:
    app = Quart(__name__, static_folder=None)
    app.debug = debug
    app.testing = testing

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("<b>bad & wrong</b>")

    @app.route("/chained")
    def chained() -> str:
        lookup: dict[str, str] = {}
        try:
            lookup["missing"]
        except KeyError as e:
            raise RuntimeError("while looking up") from e
        return "unreachable"

    @app.route("/stream")
    async def stream() -> cabc.AsyncIterator[str]:
        async def chunks() -> cabc.AsyncIterator[str]:
            yield "first chunk"
            raise LookupError("after the response started")

        return chunks()

    @app.route("/fine")
    async def fine() -> str:
        return "fine"

    return app


async def test_debug_page_shows_the_escaped_traceback(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(debug=True)
    install_debug_page(app)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = await app.test_client().get("/boom?x=1")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_data(as_text=True)
    assert "<h1>ValueError</h1>" in body
    assert "&lt;b&gt;bad &amp; wrong&lt;/b&gt;" in body
    assert "<b>bad" not in body
    assert "GET /boom?x=1" in body
    assert f"File &quot;{__file__}&quot;" in body
    assert "in boom" in body
    assert "raise ValueError(&quot;&lt;b&gt;bad &amp; wrong&lt;/b&gt;&quot;)" in body
    # The operator sees the error in the log too.
    assert any(
        record.exc_info is not None and record.exc_info[0] is ValueError
        for record in caplog.records
    )


async def test_debug_page_includes_chained_exceptions() -> None:
    app = make_app(debug=True)
    install_debug_page(app)
    response = await app.test_client().get("/chained")
    body = await response.get_data(as_text=True)
    assert response.status_code == 500
    assert "<h1>RuntimeError</h1>" in body
    assert "KeyError: &#x27;missing&#x27;" in body
    assert "direct cause of the following exception" in body


async def test_other_requests_are_untouched() -> None:
    app = make_app(debug=True)
    install_debug_page(app)
    install_debug_page(app)  # installing twice wraps once
    response = await app.test_client().get("/fine")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "fine"
    response = await app.test_client().get("/missing")
    assert response.status_code == 404


async def test_error_after_the_response_started_is_reraised() -> None:
    app = make_app(debug=True)
    install_debug_page(app)
    with pytest.raises(LookupError, match="after the response started"):
        await app.test_client().get("/stream")


async def test_no_traceback_without_debug() -> None:
    app = make_app(debug=False)
    install_debug_page(app)
    response = await app.test_client().get("/boom")
    body = await response.get_data(as_text=True)
    assert response.status_code == 500
    assert "ValueError" not in body
    assert "Traceback" not in body


async def test_without_the_middleware_errors_propagate_in_debug() -> None:
    app = make_app(debug=True)
    with pytest.raises(ValueError, match="bad & wrong"):
        await app.test_client().get("/boom")


def test_render_without_a_request() -> None:
    try:
        raise LookupError("'quoted' & <tagged>")
    except LookupError as e:
        page = render_debug_page(e)
    assert "<title>LookupError: &#x27;quoted&#x27; &amp; &lt;tagged&gt; // quartlike" in page
    assert '<p class="where"></p>' in page
    assert "test_render_without_a_request" in page
