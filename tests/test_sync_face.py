"""The sync face, ``quartlike.flask``: Flask's sync API over the same app, contexts and request.

Most tests here are plain ``def`` tests written the way a Flask test suite
is: ``app``/``client``/``runner`` fixtures, ``client.get(...)`` without
``await``, ``with app.app_context():``. Some use the async client instead,
so that the app's sync code runs in the thread pool as it does under a server.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import io
import json
import sqlite3
import threading
import typing as t
from pathlib import Path

import click
import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

import quartlike
import quartlike.flask as flask
from quartlike import Quart
from quartlike import websocket
from quartlike.flask import Blueprint
from quartlike.flask import Flask
from quartlike.flask import abort
from quartlike.flask import after_this_request
from quartlike.flask import current_app
from quartlike.flask import flash
from quartlike.flask import g
from quartlike.flask import get_flashed_messages
from quartlike.flask import get_template_attribute
from quartlike.flask import jsonify
from quartlike.flask import make_response
from quartlike.flask import redirect
from quartlike.flask import render_template
from quartlike.flask import render_template_string
from quartlike.flask import request
from quartlike.flask import send_file
from quartlike.flask import send_from_directory
from quartlike.flask import session
from quartlike.flask import stream_template_string
from quartlike.flask import url_for
from quartlike.flask.testing import FlaskClient
from quartlike.flask.testing import TestResponse
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request
from quartlike.sync import await_sync
from quartlike.testing import QuartClient
from quartlike.testing import QuartlikeCliRunner

#: A body larger than FORM_SPOOL_THRESHOLD (set below), so the upload goes to disk.
BIG_UPLOAD = b"0123456789abcdef" * 4096


# -- fixtures, written the Flask way ------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> cabc.Iterator[Flask]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text(
        "<h1>{{ title }}</h1>{{ site }}|{{ request.path }}|"
        "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}"
    )
    (templates / "macros.html").write_text(
        "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}{% set answer = 42 %}"
    )
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "notes.txt").write_text("some notes\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (x INTEGER);")
    app = Flask("sync_face_app", root_path=str(tmp_path), instance_path=str(tmp_path / "inst"))
    app.config.update(TESTING=True, SECRET_KEY="test key", FORM_SPOOL_THRESHOLD=1024)

    @app.context_processor
    def site() -> dict[str, str]:  # sync: runs while the caller waits for the render
        return {"site": "quartlike"}

    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> QuartlikeCliRunner:
    return app.test_cli_runner()


def test_fixtures_are_the_sync_face(
    app: Flask, client: FlaskClient, runner: QuartlikeCliRunner
) -> None:
    assert isinstance(app, Quart)
    assert isinstance(client, FlaskClient)
    assert app.testing
    assert runner.app is app
    assert flask.Flask is Flask and flask.request is request


# -- the request body in sync views -------------------------------------------------------


def body_views(app: Flask) -> dict[str, t.Any]:
    seen: dict[str, t.Any] = {}

    @app.post("/form")
    def form() -> dict[str, t.Any]:
        seen["thread"] = threading.current_thread().name
        assert isinstance(request.form, MultiDict)
        return {
            "form": request.form.to_dict(flat=False),
            "values": request.values.to_dict(flat=False),
        }

    @app.post("/files")
    def files() -> dict[str, t.Any]:
        upload = request.files["doc"]
        assert isinstance(upload, FileStorage)
        data = upload.read()
        seen["spooled_to_disk"] = not isinstance(upload.stream, io.BytesIO)
        return {"name": upload.filename, "size": len(data), "ok": data == BIG_UPLOAD}

    @app.post("/json")
    def json_view() -> dict[str, t.Any]:
        return {"json": request.json, "get_json": request.get_json()}

    @app.post("/silent")
    def silent() -> dict[str, t.Any]:
        return {"silent": request.get_json(silent=True), "forced": request.get_json(force=True)}

    @app.post("/raw")
    def raw() -> dict[str, t.Any]:
        return {
            "data": request.data.decode(),
            "text": request.get_data(as_text=True),
            "cached": request.get_data() == request.data,
        }

    return seen


def test_body_accessors_in_sync_views(app: Flask, client: FlaskClient) -> None:
    body_views(app)
    rv = client.post("/form?a=1", data={"name": "ada", "tag": ["x", "y"]})
    assert rv.json == {
        "form": {"name": ["ada"], "tag": ["x", "y"]},
        "values": {"a": ["1"], "name": ["ada"], "tag": ["x", "y"]},
    }
    rv = client.post("/json", json={"n": [1, 2]})
    assert rv.get_json() == {"json": {"n": [1, 2]}, "get_json": {"n": [1, 2]}}
    rv = client.post("/silent", data='{"ok": true}', content_type="text/plain")
    assert rv.json == {"silent": None, "forced": {"ok": True}}
    rv = client.post("/raw", data="héllo")
    assert rv.json == {"data": "héllo", "text": "héllo", "cached": True}


def test_invalid_json_is_a_400_and_silent_gives_none(app: Flask, client: FlaskClient) -> None:
    body_views(app)
    rv = client.post("/silent", data="{nope", content_type="application/json")
    assert rv.status_code == 400  # get_json(force=True) is not silent
    rv = client.post("/json", data="{}", content_type="text/plain")
    assert rv.status_code == 415


def test_spooled_upload_in_a_sync_view(app: Flask, client: FlaskClient) -> None:
    seen = body_views(app)
    rv = client.post("/files", data={"doc": (io.BytesIO(BIG_UPLOAD), "big.bin")})
    assert rv.json == {"name": "big.bin", "size": len(BIG_UPLOAD), "ok": True}
    assert seen["spooled_to_disk"] is True


async def test_body_accessors_in_the_thread_pool(app: Flask) -> None:
    # The async client sends the request as a server would: sync views run
    # in the app's pool, and the accessors wait for the loop through the bridge.
    seen = body_views(app)
    client = QuartClient(app)
    rv = await client.post("/form?a=1", form={"name": "ada"})
    assert await rv.get_json() == {
        "form": {"name": ["ada"]},
        "values": {"a": ["1"], "name": ["ada"]},
    }
    assert seen["thread"].startswith(f"quartlike-{app.name}")
    rv = await client.post("/files", files={"doc": (io.BytesIO(BIG_UPLOAD), "big.bin")})
    assert await rv.get_json() == {"name": "big.bin", "size": len(BIG_UPLOAD), "ok": True}
    assert seen["spooled_to_disk"] is True
    rv = await client.post("/silent", data='{"ok": 1}', headers={"Content-Type": "text/plain"})
    assert await rv.get_json() == {"silent": None, "forced": {"ok": 1}}
    rv = await client.post("/raw", data=b"bytes")
    assert await rv.get_json() == {"data": "bytes", "text": "bytes", "cached": True}
    rv = await client.post("/json", json=[1])
    assert await rv.get_json() == {"json": [1], "get_json": [1]}


# -- the sync bridge on the event loop's thread ---------------------------------------------


async def test_sync_call_on_the_loop_thread_says_to_await(app: Flask) -> None:
    # An async view uses the async face (quartlike.request): the same object.
    @app.post("/wrong")
    async def wrong() -> str:
        return str(await_sync(quartlike.request.get_data()))

    @app.post("/right")
    async def right() -> str:
        return str((await quartlike.request.get_data()).decode())

    client = QuartClient(app)
    with pytest.raises(RuntimeError, match="await it instead"):
        await client.post("/wrong", data=b"x")
    rv = await client.post("/right", data=b"awaited")
    assert await rv.get_data() == b"awaited"


async def test_plain_with_on_the_loop_thread_says_async_with(app: Flask) -> None:
    with pytest.raises(RuntimeError, match=r"async with app\.app_context\(\)"), app.app_context():
        pass
    with (
        pytest.raises(RuntimeError, match=r"async with app\.test_request_context"),
        app.test_request_context("/"),
    ):
        pass
    async with app.app_context():  # the async form is the one to use here
        assert current_app.name == app.name


async def test_sync_client_on_the_loop_thread_points_to_the_async_client(
    client: FlaskClient,
) -> None:
    with pytest.raises(RuntimeError, match="QuartClient"):
        client.get("/")


# -- rendering, flashing, responses and files from sync views ------------------------------


def test_render_template_and_flash_from_sync_views(app: Flask, client: FlaskClient) -> None:
    @app.route("/add", methods=["POST"])
    def add() -> t.Any:
        flash(f"added {request.form['item']}")
        return redirect(url_for("page"))

    @app.route("/page")
    def page() -> str:
        html = render_template("page.html", title="Items")
        assert isinstance(html, str)
        return html

    rv = client.post("/add", data={"item": "tea"}, follow_redirects=True)
    assert rv.status_code == 200
    assert rv.text == "<h1>Items</h1>quartlike|/page|<p>added tea</p>"
    assert [r.status_code for r in rv.history] == [302]
    # Shown once: the next page has no flashes left.
    assert client.get("/page").text == "<h1>Items</h1>quartlike|/page|"


def test_render_template_string_escapes_and_get_flashed_messages(
    app: Flask, client: FlaskClient
) -> None:
    @app.route("/")
    def index() -> str:
        flash("careful", "warning")
        flash("fine")
        return render_template_string(
            "{{ v }}|{{ get_flashed_messages(category_filter=['warning']) }}", v="<b>"
        )

    assert client.get("/").text == "&lt;b&gt;|[&#39;careful&#39;]"


def test_make_response_and_after_this_request(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> flask.Response:
        @after_this_request
        def stamp(response: flask.Response) -> flask.Response:
            response.headers["X-Body-Length"] = str(len(response.get_data()))
            return response

        response = make_response(render_template_string("{{ 6 * 7 }}"), 201)
        assert isinstance(response, flask.Response)
        response.set_cookie("seen", "yes")
        return response

    rv = client.get("/")
    assert (rv.status_code, rv.data, rv.headers["X-Body-Length"]) == (201, b"42", "2")
    cookie = client.get_cookie("seen")
    assert cookie is not None and cookie.value == "yes"
    assert make_response is flask.helpers.make_response


def test_send_file_and_send_from_directory(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    @app.route("/path")
    def by_path() -> flask.Response:
        return send_file("files/notes.txt", as_attachment=True)

    @app.route("/memory")
    def from_memory() -> flask.Response:
        return send_file(io.BytesIO(b"in memory"), mimetype="text/plain")

    @app.route("/dir/<path:name>")
    def from_dir(name: str) -> flask.Response:
        return send_from_directory(tmp_path / "files", name)

    rv = client.get("/path")
    assert rv.data == b"some notes\n"
    assert "attachment" in rv.headers["Content-Disposition"]
    assert client.get("/memory").text == "in memory"
    assert client.get("/dir/notes.txt").data == b"some notes\n"
    assert client.get("/dir/../schema.sql").status_code == 404


def test_get_template_attribute_and_stream_template(app: Flask, client: FlaskClient) -> None:
    @app.route("/macro")
    def macro() -> str:
        hello = get_template_attribute("macros.html", "hello")
        return f"{hello('World')}|{get_template_attribute('macros.html', 'answer')}"

    @app.route("/stream")
    def stream() -> t.Any:
        return stream_template_string("{% for i in range(3) %}{{ i }}-{% endfor %}{{ site }}")

    @app.route("/joined")
    def joined() -> str:
        return "".join(stream_template_string("{{ a }}{{ b }}", a="x", b="y"))

    assert client.get("/macro").text == "Hello World!|42"
    assert client.get("/stream").text == "0-1-2-quartlike"
    assert client.get("/joined").text == "xy"


def test_static_files_and_resources(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("body {}")
    (tmp_path / "inst").mkdir()

    @app.route("/home")
    def home() -> flask.Response:
        return app.send_static_file("app.css")

    assert client.get("/static/app.css").text == "body {}"
    assert client.get("/home").text == "body {}"
    with app.open_resource("schema.sql") as f:
        assert f.read() == b"CREATE TABLE t (x INTEGER);"
    with app.open_resource("schema.sql", "r") as f:
        assert f.read().startswith("CREATE")
    with pytest.raises(ValueError, match="only be opened for reading"):
        app.open_resource("schema.sql", "w")
    with app.open_instance_resource("state.txt", "w") as f:
        f.write("saved")
    with app.open_instance_resource("state.txt") as f:
        assert f.read() == b"saved"


# -- the sync test client -----------------------------------------------------------------


def test_redirects(app: Flask, client: FlaskClient) -> None:
    @app.route("/start", methods=["GET", "POST"])
    def start() -> t.Any:
        return redirect("/middle", 307 if request.args.get("keep") else 302)

    @app.route("/middle", methods=["GET", "POST"])
    def middle() -> t.Any:
        return redirect(url_for("end", q="1"))

    @app.route("/end", methods=["GET", "POST"])
    def end() -> str:
        return f"{request.method} {request.args['q']} {request.get_data(as_text=True)}"

    rv = client.get("/start")
    assert (rv.status_code, rv.headers["Location"]) == (302, "/middle")
    rv = client.post("/start", data="body", follow_redirects=True)
    assert rv.text == "GET 1 "
    assert [r.request.path for r in (*rv.history, rv) if r.request] == ["/start", "/middle", "/end"]
    assert rv.request is not None and rv.request.args["q"] == "1"
    assert rv.history[0].history == ()  # each hop is a test response too
    rv = client.post("/start?keep=1", data="body", follow_redirects=True)
    assert rv.text == "GET 1 "  # 307 keeps POST to /middle, whose 302 turns it into GET
    assert [r.status_code for r in rv.history] == [307, 302]


def test_sessions_and_session_transaction(app: Flask, client: FlaskClient) -> None:
    @app.route("/login", methods=["POST"])
    def login() -> str:
        session["user"] = request.form["user"]
        return "ok"

    @app.route("/whoami")
    def whoami() -> str:
        return str(session.get("user"))

    assert client.get("/whoami").text == "None"
    client.post("/login", data={"user": "ada"})
    assert client.get("/whoami").text == "ada"
    with client.session_transaction() as sess:
        assert sess["user"] == "ada"
        sess["user"] = "grace"
    assert client.get("/whoami").text == "grace"
    client.delete_cookie("session")
    assert client.get("/whoami").text == "None"


def test_session_transaction_needs_cookies(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"), client.session_transaction():
        pass


def test_with_client_keeps_the_last_request_context(app: Flask, client: FlaskClient) -> None:
    torn_down: list[str] = []

    @app.before_request
    def load_user() -> None:
        g.user = request.args.get("user", "anonymous")

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    @app.route("/<name>")
    def view(name: str) -> str:
        session["visited"] = name
        return name

    with client:
        client.get("/first?user=ada")
        assert request.path == "/first"
        assert g.user == "ada"
        assert session["visited"] == "first"
        client.get("/second")
        assert (request.path, g.user, session["visited"]) == ("/second", "anonymous", "second")
        assert flask.has_request_context()
    assert not flask.has_request_context() and not flask.has_app_context()
    assert torn_down == ["/first", "/second"]  # once per request, not again when leaving
    client.get("/third")
    assert not flask.has_request_context()
    with pytest.raises(RuntimeError, match="nest"), client, client:
        pass


def test_uploads_of_several_files(app: Flask, client: FlaskClient) -> None:
    @app.post("/up")
    def up() -> dict[str, t.Any]:
        return {
            key: [
                (f.filename, f.content_type, f.read().decode()) for f in request.files.getlist(key)
            ]
            for key in request.files
        }

    rv = client.post(
        "/up",
        data={
            "one": (io.BytesIO(b"1"), "one.txt"),
            "many": [(io.BytesIO(b"a"), "a.csv", "text/csv"), (b"b", "b.bin")],
        },
    )
    assert rv.json == {
        "one": [["one.txt", "text/plain", "1"]],
        "many": [["a.csv", "text/csv", "a"], ["b.bin", "application/octet-stream", "b"]],
    }


def test_streamed_responses_are_read_fully(app: Flask, client: FlaskClient) -> None:
    @app.route("/sync-stream")
    def sync_stream() -> t.Any:
        def generate() -> cabc.Iterator[str]:
            for i in range(3):
                yield f"{i}:{request.args['tag']};"

        return flask.stream_with_context(generate())

    @app.route("/async-stream")
    async def async_stream() -> t.Any:
        async def generate() -> cabc.AsyncIterator[bytes]:
            for i in range(3):
                await asyncio.sleep(0)
                yield f"<{i}>".encode()

        return generate()

    assert client.get("/sync-stream?tag=t").text == "0:t;1:t;2:t;"
    rv = client.get("/async-stream")
    assert rv.data == b"<0><1><2>"
    assert rv.get_data(as_text=True) == "<0><1><2>"


def test_cookies(app: Flask, client: FlaskClient) -> None:
    @app.route("/set")
    def set_view() -> flask.Response:
        response = make_response("set")
        response.set_cookie("flavour", "oat", path="/")
        response.set_cookie("scoped", "1", path="/only")
        return response

    @app.route("/read")
    def read() -> dict[str, t.Any]:
        return dict(request.cookies)

    client.get("/set")
    flavour = client.get_cookie("flavour")
    assert flavour is not None and (flavour.key, flavour.value) == ("flavour", "oat")
    assert client.get_cookie("scoped") is None
    assert client.get_cookie("scoped", path="/only") is not None
    client.set_cookie("extra", "x")
    assert client.get("/read").json == {"flavour": "oat", "extra": "x"}
    client.delete_cookie("flavour")
    assert client.get("/read").json == {"extra": "x"}
    no_cookies = app.test_client(use_cookies=False)
    no_cookies.get("/set")
    assert no_cookies.get("/read").json == {}


def test_json_headers_and_environ(app: Flask, client: FlaskClient) -> None:
    @app.route("/echo", methods=["GET", "PUT"])
    def echo() -> t.Any:
        return jsonify(
            method=request.method,
            body=request.get_json(silent=True),
            agent=request.headers.get("User-Agent", ""),
            custom=request.headers.get("X-Custom"),
            remote=request.remote_addr,
            scheme=request.scheme,
        )

    rv = client.put("/echo", json={"a": 1}, headers={"X-Custom": "yes"})
    assert isinstance(rv, TestResponse)
    assert rv.is_json and rv.status == "200 OK"
    assert rv.json["method"] == "PUT" and rv.json["body"] == {"a": 1}
    assert rv.json["agent"].startswith("Werkzeug/") and rv.json["custom"] == "yes"
    assert rv.json["remote"] == "127.0.0.1"
    rv = client.get(
        "/echo",
        environ_base={"REMOTE_ADDR": "10.0.0.9", "HTTP_X_CUSTOM": "base"},
        url_scheme="https",
    )
    assert (rv.json["remote"], rv.json["custom"], rv.json["scheme"]) == (
        "10.0.0.9",
        "base",
        "https",
    )
    client.environ_base["HTTP_USER_AGENT"] = "tests/1.0"
    assert client.open("/echo", method="GET").json["agent"] == "tests/1.0"
    with client.get("/echo") as rv:
        assert json.loads(rv.data)["method"] == "GET"


def test_app_exceptions_propagate_when_testing(app: Flask, client: FlaskClient) -> None:
    @app.route("/boom")
    def boom() -> str:
        raise LookupError("boom")

    @app.route("/missing")
    def missing() -> str:
        abort(404)

    with pytest.raises(LookupError, match="boom"):
        client.get("/boom")
    assert client.get("/missing").status_code == 404


# -- one app with both faces --------------------------------------------------------------


def test_sync_and_async_views_share_hooks_session_and_g(app: Flask, client: FlaskClient) -> None:
    order: list[str] = []

    @app.before_request
    def sync_hook() -> None:
        g.seen = ["sync hook"]
        order.append("sync before")

    @app.before_request
    async def async_hook() -> None:
        g.seen.append("async hook")

    @app.after_request
    def after(response: flask.Response) -> flask.Response:
        response.headers["X-Seen"] = ",".join(g.seen)
        return response

    @app.route("/sync", methods=["POST"])
    def sync_view() -> str:
        session["from_sync"] = request.form["v"]
        return f"sync {session.get('from_async')}"

    @app.route("/async", methods=["POST"])
    async def async_view() -> str:  # the async face: the same request and session
        form = await quartlike.request.form
        session["from_async"] = form["v"]
        html = await quartlike.render_template_string("{{ x }}", x=session.get("from_sync"))
        return f"async {html}"

    rv = client.post("/sync", data={"v": "1"})
    assert (rv.text, rv.headers["X-Seen"]) == ("sync None", "sync hook,async hook")
    rv = client.post("/async", data={"v": "2"})
    assert (rv.text, rv.headers["X-Seen"]) == ("async 1", "sync hook,async hook")
    assert client.post("/sync", data={"v": "3"}).text == "sync 2"
    assert order == ["sync before"] * 3


def test_core_responses_from_views_of_a_flask_app(app: Flask, client: FlaskClient) -> None:
    # The app's response_class is the sync face's; the async face's Response
    # (what an async view of the same app may build) is accepted as it is.
    @app.route("/sync")
    def sync_view() -> quartlike.Response:
        return quartlike.Response("core", status=201, headers={"X-Core": "1"})

    @app.route("/async")
    async def async_view() -> quartlike.Response:
        async def chunks() -> cabc.AsyncIterator[bytes]:
            yield b"streamed "
            yield b"core"

        return quartlike.Response(chunks(), mimetype="text/plain")

    rv = client.get("/sync")
    assert (rv.status_code, rv.data, rv.headers["X-Core"]) == (201, b"core", "1")
    assert isinstance(rv, flask.Response)
    rv = client.get("/async")
    assert (rv.text, rv.mimetype) == ("streamed core", "text/plain")


def test_blueprint_of_the_sync_face(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp", root_path=str(tmp_path))

    @bp.route("/")
    def index() -> str:
        with bp.open_resource("schema.sql", "r") as f:
            return f"{url_for('.index')} {f.read()[:6]}"

    app.register_blueprint(bp)
    assert client.get("/bp/").text == "/bp/ CREATE"


# -- contexts in sync tests ---------------------------------------------------------------


def test_app_context_runs_sync_and_async_teardown(app: Flask) -> None:
    calls: list[tuple[str, object, bool]] = []
    here = threading.get_ident()

    @app.teardown_appcontext
    def sync_teardown(exc: BaseException | None) -> None:
        calls.append(("sync", exc, threading.get_ident() == here))

    @app.teardown_appcontext
    async def async_teardown(exc: BaseException | None) -> None:
        await asyncio.sleep(0)
        calls.append(("async", exc, g.get("value") == 1))

    with app.app_context():
        g.value = 1
        assert current_app.name == app.name
    # Last registered first; the sync one ran in this very thread.
    assert calls == [("async", None, True), ("sync", None, True)]
    assert not flask.has_app_context()

    calls.clear()
    with pytest.raises(KeyError), app.app_context():
        raise KeyError("inside")
    assert [(name, type(exc)) for name, exc, _ in calls] == [
        ("async", KeyError),
        ("sync", KeyError),
    ]


def test_test_request_context_in_sync_tests(app: Flask) -> None:
    torn_down: list[str] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    with app.test_request_context("/path?q=1", method="POST", data={"f": "v"}):
        assert request.path == "/path" and request.args["q"] == "1"
        assert request.form["f"] == "v"  # the body, read through the bridge
        session["key"] = "value"
        flash("flashed")
        assert get_flashed_messages() == ["flashed"]
        assert render_template_string("{{ request.path }}") == "/path"
    assert torn_down == ["/path"]
    assert _cv_request.get(None) is None and _cv_app.get(None) is None


def test_push_and_pop_like_flask(app: Flask) -> None:
    torn_down: list[BaseException | None] = []

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    ctx = app.test_request_context("/x")
    ctx.push()
    try:
        assert request.path == "/x"
    finally:
        ctx.pop()
    assert torn_down == [None]
    app_ctx = app.app_context()
    app_ctx.push()
    app_ctx.pop()
    assert torn_down == [None, None]
    assert not flask.has_app_context()


def test_thread_bound_resources_live_through_a_request(app: Flask, client: FlaskClient) -> None:
    # sqlite3 connections refuse use from another thread: opened in a hook,
    # used in the view, closed in a teardown callback, all in one thread.
    @app.before_request
    def connect() -> None:
        g.db = sqlite3.connect(":memory:")

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.route("/")
    def index() -> str:
        return str(g.db.execute("SELECT 40 + 2").fetchone()[0])

    assert client.get("/").text == "42"


async def test_thread_affinity_under_concurrent_requests_in_the_pool(app: Flask) -> None:
    app.config["SYNC_WORKERS"] = 2  # fewer threads than requests: they queue, never deadlock

    @app.before_request
    def connect() -> None:
        g.db = sqlite3.connect(":memory:")
        g.thread = threading.get_ident()

    @app.teardown_request
    def close(exc: BaseException | None) -> None:
        assert g.thread == threading.get_ident()
        g.db.close()

    @app.context_processor
    def thread() -> dict[str, int]:
        return {"thread": threading.get_ident()}

    @app.post("/")
    def index() -> str:
        value = g.db.execute("SELECT ?", (request.form["n"],)).fetchone()[0]
        rendered = render_template_string("{{ thread }}")
        return f"{value} {rendered == str(g.thread)}"

    client = QuartClient(app)
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.post("/", form={"n": str(n)}) for n in range(24))), 30
    )
    assert [await r.get_data(as_text=True) for r in responses] == [f"{n} True" for n in range(24)]


async def test_the_core_helpers_are_dual_in_a_plain_quart_app() -> None:
    # Not only quartlike.flask: the core's functions return values in sync
    # views too, and one worker is enough: the render runs in the view's
    # thread, and so does its sync context processor.
    app = Quart(__name__)
    app.config.update(TESTING=True, SECRET_KEY="k", SYNC_WORKERS=1)

    @app.context_processor
    def processor() -> dict[str, str]:
        return {"where": threading.current_thread().name}

    @app.route("/")
    def view() -> t.Any:
        quartlike.flash("saved")
        html = quartlike.render_template_string("{{ where }}|{{ get_flashed_messages() }}")
        response = quartlike.make_response(f"{html}|{threading.current_thread().name}")
        response.headers["X-Length"] = str(len(response.get_data()))
        return response

    client = QuartClient(app)
    rv = await asyncio.wait_for(client.get("/"), 10)
    where, flashes, view_thread = (await rv.get_data(as_text=True)).split("|")
    assert where == view_thread and view_thread.startswith(f"quartlike-{app.name}")
    assert flashes == "[&#39;saved&#39;]"
    assert rv.headers["X-Length"] == str(len(await rv.get_data()))


# -- lifespan, background tasks, websockets ----------------------------------------------------


def test_test_app_background_tasks_and_websockets(app: Flask) -> None:
    events: list[str] = []
    finished = threading.Event()

    @app.before_serving
    def startup() -> None:
        events.append("startup")

    @app.after_serving
    async def shutdown() -> None:
        events.append("shutdown")

    def in_background() -> None:
        events.append("background")
        finished.set()

    @app.route("/work")
    def work() -> str:
        current_app.add_background_task(in_background)
        return "queued"

    @app.websocket("/ws")
    async def ws() -> None:
        while (message := await websocket.receive()) != "bye":
            await websocket.send(f"echo {message!s}")

    with app.test_app() as test_app:
        client = test_app.test_client()
        assert client.get("/work").text == "queued"
        assert finished.wait(5)
        with client.websocket("/ws") as connection:
            connection.send("hi")
            assert connection.receive() == "echo hi"
            connection.send("bye")
    assert events == ["startup", "background", "shutdown"]


# -- the command line ---------------------------------------------------------------------


def test_cli_runner_and_commands_in_an_app_context(
    app: Flask, runner: QuartlikeCliRunner, tmp_path: Path
) -> None:
    here = threading.get_ident()

    def get_db() -> sqlite3.Connection:
        if "db" not in g:
            g.db = sqlite3.connect(tmp_path / "cli.db")
        return t.cast(sqlite3.Connection, g.db)

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()  # in the thread that opened it, or sqlite3 refuses
            click.echo(f"closed in the command's thread: {threading.get_ident() == here}")

    @app.cli.command("init-db")
    def init_db() -> None:
        with current_app.open_resource("schema.sql") as f:
            get_db().executescript(f.read().decode())
        click.echo("initialised")

    @click.command("count")
    def count() -> None:  # a plain click command: it gets an app context too
        click.echo(str(get_db().execute("SELECT COUNT(*) FROM t").fetchone()[0]))

    app.cli.add_command(count)
    result = runner.invoke(args=["init-db"])
    assert result.output == "initialised\nclosed in the command's thread: True\n", result.output
    result = runner.invoke(args=["count"])
    assert result.output == "0\nclosed in the command's thread: True\n", result.output


def test_ensure_sync_runs_coroutine_functions(app: Flask) -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    def plain(x: int) -> int:
        return x + 1

    assert app.ensure_sync(plain) is plain
    with app.app_context():
        assert app.ensure_sync(double)(21) == 42
