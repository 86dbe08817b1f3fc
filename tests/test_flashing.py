"""Flashed messages: stored in the session by ``flash``, taken out by ``get_flashed_messages``.

The last section runs the same request sequences against a Flask app and
compares every response, and passes session cookies between the two.
"""

from __future__ import annotations

import threading
import typing as t

import flask
import pytest
from markupsafe import Markup

from quartlike import Quart
from quartlike import flash
from quartlike import get_flashed_messages
from quartlike import redirect
from quartlike import render_template_string
from quartlike import request
from quartlike import session
from quartlike.sessions import SessionInterface
from quartlike.sessions import SessionMixin
from quartlike.signals import message_flashed

if t.TYPE_CHECKING:
    from quartlike.testing import QuartClient


@pytest.fixture
def app() -> Quart:
    app = Quart(__name__)
    app.config.update(TESTING=True, SECRET_KEY="flash key")

    @app.route("/flash")
    async def add() -> str:
        args = request.args
        for message in args.getlist("m"):
            await flash(message, args.get("c", "message"))
        return "flashed"

    @app.route("/show")
    async def show() -> t.Any:
        return {
            "messages": get_flashed_messages(),
            "pairs": [list(p) for p in get_flashed_messages(with_categories=True)],
            "errors": get_flashed_messages(category_filter=["error"]),
        }

    return app


async def show(client: QuartClient) -> dict[str, t.Any]:
    response = await client.get("/show")
    return t.cast(dict[str, t.Any], await response.get_json())


async def test_messages_and_categories_reach_the_next_request(client: QuartClient) -> None:
    await client.get("/flash", query_string={"m": ["one", "two"]})
    await client.get("/flash", query_string={"m": "bad", "c": "error"})
    assert await show(client) == {
        "messages": ["one", "two", "bad"],
        "pairs": [["message", "one"], ["message", "two"], ["error", "bad"]],
        "errors": ["bad"],
    }


async def test_messages_are_consumed_once(client: QuartClient) -> None:
    await client.get("/flash", query_string={"m": "once"})
    assert (await show(client))["messages"] == ["once"]
    assert await show(client) == {"messages": [], "pairs": [], "errors": []}


async def test_the_session_is_marked_modified_and_the_cookie_set(
    app: Quart, client: QuartClient
) -> None:
    response = await client.get("/flash", query_string={"m": "x"})
    assert "session=" in response.headers["Set-Cookie"]
    # Reading the messages empties the session, which deletes the cookie.
    response = await client.get("/show")
    assert "session=;" in response.headers["Set-Cookie"]
    assert client.get_cookie("session") is None


class StoreSession(dict[str, t.Any], SessionMixin):
    """A server-side session that does not track writes itself."""

    modified = False
    accessed = False


class StoreSessionInterface(SessionInterface):
    """Keeps one session in memory and saves it only when marked modified."""

    def __init__(self) -> None:
        self.stored: dict[str, t.Any] = {}

    async def open_session(self, app: Quart, request: t.Any) -> StoreSession:
        return StoreSession(self.stored)

    async def save_session(self, app: Quart, session: t.Any, response: t.Any) -> None:
        if session.modified:
            self.stored = dict(session)


async def test_flash_marks_the_session_modified(app: Quart, client: QuartClient) -> None:
    interface = StoreSessionInterface()
    app.session_interface = interface
    await client.get("/flash", query_string={"m": "kept"})
    assert interface.stored == {"_flashes": [("message", "kept")]}
    assert (await show(client))["messages"] == ["kept"]
    assert interface.stored == {}
    assert (await show(client))["messages"] == []


async def test_flash_across_a_redirect(app: Quart, client: QuartClient) -> None:
    @app.route("/save")
    async def save() -> t.Any:
        await flash("Saved.", "success")
        return redirect("/page")

    @app.route("/page")
    async def page() -> str:
        return await render_template_string(
            "{% for c, m in get_flashed_messages(with_categories=true) %}"
            "<p class={{ c }}>{{ m }}</p>{% endfor %}"
        )

    response = await client.get("/save", follow_redirects=True)
    assert await response.get_data(as_text=True) == "<p class=success>Saved.</p>"
    assert [r.status_code for r in response.history] == [302]  # type: ignore[attr-defined]
    response = await client.get("/page")
    assert await response.get_data(as_text=True) == ""


@pytest.mark.parametrize(
    ("with_categories", "category_filter", "expected"),
    [
        (False, (), ["a", "b", "c", "d"]),
        (True, (), [("message", "a"), ("error", "b"), ("info", "c"), ("warning", "d")]),
        (False, ["error", "info"], ["b", "c"]),
        (True, {"warning"}, [("warning", "d")]),
        (False, ("nothing",), []),
        # A string filter is a sequence of characters: "in" matches substrings, as in Flask.
        (False, "errorwarning", ["b", "d"]),
    ],
)
async def test_categories_and_filters(
    app: Quart,
    with_categories: bool,
    category_filter: t.Iterable[str],
    expected: list[t.Any],
) -> None:
    async with app.test_request_context("/"):
        await flash("a")
        await flash("b", "error")
        await flash("c", category="info")
        await flash("d", "warning")
        assert get_flashed_messages(with_categories, category_filter) == expected


async def test_every_call_in_a_request_returns_the_same_messages(app: Quart) -> None:
    async with app.test_request_context("/"):
        await flash("first")
        assert get_flashed_messages() == ["first"]
        assert "_flashes" not in session
        # Flashed after the read: kept in the session for the next request.
        await flash("later")
        assert get_flashed_messages() == ["first"]
        assert session["_flashes"] == [("message", "later")]


async def test_messages_can_be_markup(app: Quart, client: QuartClient) -> None:
    @app.route("/markup")
    async def markup() -> str:
        await flash(Markup("<b>bold</b>"))
        await flash("<i>plain</i>")
        return ""

    @app.route("/render")
    async def render() -> str:
        return await render_template_string(
            "{% for m in get_flashed_messages() %}{{ m }}{% endfor %}"
        )

    await client.get("/markup")
    response = await client.get("/render")
    assert await response.get_data(as_text=True) == "<b>bold</b>&lt;i&gt;plain&lt;/i&gt;"


async def test_message_flashed_signal(app: Quart) -> None:
    received: list[tuple[t.Any, str, str, str]] = []

    async def async_receiver(sender: Quart, message: str, category: str) -> None:
        received.append((sender, message, category, "async"))

    def sync_receiver(sender: Quart, message: str, category: str) -> None:
        received.append((sender, message, category, threading.current_thread().name))

    with (
        message_flashed.connected_to(async_receiver, app),
        message_flashed.connected_to(sync_receiver, app),
    ):
        async with app.test_request_context("/"):
            await flash("hello", "info")
    assert [r[:3] for r in received] == [(app, "hello", "info")] * 2
    assert {r[3] for r in received} - {"async"} != {threading.main_thread().name}


async def test_flash_needs_a_secret_key(app: Quart) -> None:
    app.secret_key = None
    async with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="secret key"):
            await flash("x")
        # Reading works: there is simply nothing to read.
        assert get_flashed_messages() == []


async def test_flash_outside_a_request_is_a_clear_error(app: Quart) -> None:
    with pytest.raises(RuntimeError, match="'flash' needs an active request"):
        await flash("x")
    async with app.app_context():
        with pytest.raises(RuntimeError, match="'get_flashed_messages' needs an active request"):
            get_flashed_messages()


async def test_a_context_pushed_without_its_session_is_a_clear_error(app: Quart) -> None:
    ctx = app.test_request_context("/")
    ctx.push()
    try:
        with pytest.raises(RuntimeError, match="has not loaded"):
            await flash("x")
        with pytest.raises(RuntimeError, match="has not loaded"):
            get_flashed_messages()
    finally:
        await ctx.pop()


# -- differential: the same request sequences against Flask --------------------------------------

SHOW_TEMPLATE = (
    "{% for c, m in get_flashed_messages(with_categories=true, category_filter=filter) %}"
    "[{{ c }}:{{ m }}]{% endfor %}|{{ get_flashed_messages()|join(',') }}"
)


def _filter(args: t.Any) -> t.Any:
    if "sfilter" in args:
        return args["sfilter"]  # a string, on purpose
    return [c for c in args.get("filter", "").split(",") if c]


def make_flask_app() -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="shared flash key")

    @app.route("/flash")
    def add() -> t.Any:
        for message in flask.request.args.getlist("m"):
            flask.flash(message, flask.request.args.get("c", "message"))
        if "next" in flask.request.args:
            return flask.redirect("/show")
        return "flashed"

    @app.route("/markup")
    def markup() -> str:
        flask.flash(Markup("<b>x</b>"), "html")
        return "ok"

    @app.route("/both")
    def both() -> str:
        flask.flash("now")
        return flask.render_template_string(SHOW_TEMPLATE, filter=())

    @app.route("/show")
    def show() -> str:
        return flask.render_template_string(SHOW_TEMPLATE, filter=_filter(flask.request.args))

    return app


def make_quartlike_app() -> Quart:
    app = Quart(__name__)
    app.config.update(SECRET_KEY="shared flash key")

    @app.route("/flash")
    async def add() -> t.Any:
        for message in request.args.getlist("m"):
            await flash(message, request.args.get("c", "message"))
        if "next" in request.args:
            return redirect("/show")
        return "flashed"

    @app.route("/markup")
    async def markup() -> str:
        await flash(Markup("<b>x</b>"), "html")
        return "ok"

    @app.route("/both")
    async def both() -> str:
        await flash("now")
        return await render_template_string(SHOW_TEMPLATE, filter=())

    @app.route("/show")
    async def show() -> str:
        return await render_template_string(SHOW_TEMPLATE, filter=_filter(request.args))

    return app


SEQUENCES: dict[str, list[tuple[str, bool]]] = {
    "categories": [("/flash?m=a&m=<b>", False), ("/flash?m=c&c=error", False), ("/show", False)],
    "consumed once": [("/flash?m=a", False), ("/show", False), ("/show", False)],
    "redirect": [("/flash?m=moved&c=info&next=1", True), ("/show", False)],
    "list filter": [
        ("/flash?m=1&c=error", False),
        ("/flash?m=2&c=info", False),
        ("/flash?m=3&c=err", False),
        ("/show?filter=error,info", False),
    ],
    "string filter": [
        ("/flash?m=1&c=error", False),
        ("/flash?m=2&c=err", False),
        ("/flash?m=3&c=info", False),
        ("/show?sfilter=error", False),
    ],
    "same request": [("/both", False), ("/show", False)],
    "markup": [("/markup", False), ("/show", False)],
    "nothing": [("/show", False)],
}


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_flashing_behaves_like_flask(name: str) -> None:
    flask_client = make_flask_app().test_client()
    quart_client = make_quartlike_app().test_client()
    for path, follow in SEQUENCES[name]:
        expected = flask_client.get(path, follow_redirects=follow)
        got = await quart_client.get(path, follow_redirects=follow)
        assert expected.status_code == 200
        assert got.status_code == expected.status_code, path
        assert await got.get_data(as_text=True) == expected.get_data(as_text=True), path
        assert ("Set-Cookie" in got.headers) == ("Set-Cookie" in expected.headers), path


async def test_flashes_cross_between_flask_and_quartlike_cookies() -> None:
    flask_client = make_flask_app().test_client()
    quart_client = make_quartlike_app().test_client()

    flask_client.get("/flash?m=from+flask&c=info")
    flask_cookie = flask_client.get_cookie("session")
    assert flask_cookie is not None
    quart_client.set_cookie("session", flask_cookie.value)
    response = await quart_client.get("/show")
    assert await response.get_data(as_text=True) == "[info:from flask]|from flask"

    await quart_client.get("/markup")
    quart_cookie = quart_client.get_cookie("session")
    assert quart_cookie is not None
    flask_client.set_cookie("session", quart_cookie)
    assert flask_client.get("/show").get_data(as_text=True) == "[html:<b>x</b>]|<b>x</b>"
