"""Flask-Login on quartlike: logging in and out, ``login_required`` on sync and async views.

The app keeps its users in a dict; the user loader records the thread it ran
in, so the tests can check where Flask-Login's callbacks run (a worker
thread, not the event loop).
"""

from __future__ import annotations

import collections.abc as cabc
import threading
import typing as t

import flask_login
import pytest
from flask import Flask
from flask import flash
from flask import get_flashed_messages
from flask import redirect
from flask import render_template_string
from flask import request
from flask import url_for
from flask_login import FlaskLoginClient
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import fresh_login_required
from flask_login import login_fresh
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_login import user_logged_in
from flask_login import user_logged_out

from quartlike.sync import on_event_loop

PASSWORDS = {"ada": "lovelace", "alan": "turing"}
API_KEYS = {"key-of-alan": "alan"}


class User(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name
        self.name = name


class Recorder:
    """What the callbacks saw: the users loaded, and whether that was on the loop."""

    def __init__(self) -> None:
        self.loaded: list[tuple[str, bool]] = []
        self.views_on_loop: list[bool] = []
        self.lock = threading.Lock()

    def load(self, user_id: str) -> None:
        with self.lock:
            self.loaded.append((user_id, on_event_loop()))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def app(make_app: cabc.Callable[..., Flask], recorder: Recorder) -> Flask:
    app = make_app()
    manager = LoginManager(app)
    manager.login_view = "login"
    manager.login_message = "Please log in."
    manager.refresh_view = "login"
    manager.needs_refresh_message = "Please log in again."

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        recorder.load(user_id)
        return User(user_id) if user_id in PASSWORDS else None

    @manager.request_loader
    def load_user_from_request(req: t.Any) -> User | None:
        name = API_KEYS.get(req.headers.get("X-Api-Key", ""))
        return User(name) if name else None

    @app.route("/login", methods=["GET", "POST"])
    def login() -> t.Any:
        if request.method == "POST":
            name = request.form["name"]
            if PASSWORDS.get(name) != request.form["password"]:
                return "bad credentials", 403
            login_user(User(name), remember=request.form.get("remember") == "1")
            return redirect(request.args.get("next") or url_for("sync_home"))
        return render_template_string(
            "login page{% for m in get_flashed_messages() %}|{{ m }}{% endfor %}"
        )

    @app.post("/async-login")
    async def async_login() -> t.Any:
        form = await request.form
        if PASSWORDS.get(form["name"]) != form["password"]:
            return "bad credentials", 403
        login_user(User(form["name"]))
        return {"logged_in": current_user.name}

    @app.post("/logout")
    def logout() -> t.Any:
        logout_user()
        return "bye"

    @app.post("/async-logout")
    async def async_logout() -> t.Any:
        logout_user()
        return "bye"

    @app.get("/sync")
    @login_required
    def sync_home() -> str:
        recorder.views_on_loop.append(on_event_loop())
        return f"sync:{current_user.name}"

    @app.get("/async")
    @login_required
    async def async_home() -> str:
        recorder.views_on_loop.append(on_event_loop())
        return f"async:{current_user.name}"

    @app.post("/async-echo")
    @login_required
    async def async_echo() -> dict[str, t.Any]:
        data = await request.get_json()
        return {"user": current_user.name, "echo": data}

    @app.get("/fresh")
    @fresh_login_required
    async def fresh() -> str:
        return f"fresh:{current_user.name}"

    @app.get("/whoami")
    async def whoami() -> str:
        if current_user.is_authenticated:
            return f"user:{current_user.name}"
        return "anonymous"

    @app.get("/template")
    def template() -> str:
        return render_template_string(
            "{% if current_user.is_authenticated %}hi {{ current_user.name }}"
            "{% else %}hello stranger{% endif %}"
        )

    return app


def log_in(client: t.Any, name: str = "ada", remember: bool = False) -> t.Any:
    data = {"name": name, "password": PASSWORDS[name], "remember": "1" if remember else "0"}
    return client.post("/login", data=data)


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_anonymous_is_redirected_to_the_login_view_with_next(app: Flask, path: str) -> None:
    client = app.test_client()
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/login?next=%2F{path[1:]}"
    # The login message was flashed, and the login page shows it.
    assert client.get("/login").text == "login page|Please log in."


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_login_then_next_leads_back(app: Flask, path: str) -> None:
    client = app.test_client()
    response = client.post(f"/login?next={path}", data={"name": "ada", "password": "lovelace"})
    assert response.status_code == 302
    assert response.headers["Location"] == path
    assert client.get(path).text == f"{path[1:]}:ada"


def test_protected_views_see_the_user_and_async_views_run_on_the_loop(
    app: Flask, recorder: Recorder
) -> None:
    client = app.test_client()
    assert log_in(client).status_code == 302
    assert client.get("/sync").text == "sync:ada"
    assert client.get("/async").text == "async:ada"
    # login_required is a sync wrapper: it runs in a worker thread, where it
    # loads the user, then runs the async view on the loop (current_app.ensure_sync).
    assert recorder.views_on_loop == [False, True]
    assert recorder.loaded == [("ada", False), ("ada", False)]


def test_async_protected_view_reads_the_body(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    response = client.post("/async-echo", json={"n": 1})
    assert response.json == {"user": "ada", "echo": {"n": 1}}


def test_wrong_password_is_refused(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/login", data={"name": "ada", "password": "nope"})
    assert response.status_code == 403
    assert client.get("/sync").status_code == 302


def test_login_and_logout_in_async_views(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/async-login", data={"name": "alan", "password": "turing"})
    assert response.json == {"logged_in": "alan"}
    assert client.get("/sync").text == "sync:alan"
    assert client.post("/async-logout").text == "bye"
    assert client.get("/sync").status_code == 302


def test_logout_ends_the_login(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    assert client.get("/async").status_code == 200
    assert client.post("/logout").text == "bye"
    assert client.get("/async").status_code == 302
    assert client.get("/whoami").text == "anonymous"


def test_signals_are_sent(app: Flask) -> None:
    seen: list[tuple[str, str]] = []

    def logged_in(sender: t.Any, user: User) -> None:
        seen.append(("in", user.name))

    def logged_out(sender: t.Any, user: User) -> None:
        seen.append(("out", user.name))

    with user_logged_in.connected_to(logged_in, app), user_logged_out.connected_to(logged_out, app):
        client = app.test_client()
        log_in(client, "alan")
        client.post("/async-logout")
    assert seen == [("in", "alan"), ("out", "alan")]


def test_user_loader_returning_none_means_anonymous(app: Flask) -> None:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "nobody"
        sess["_fresh"] = True
    assert client.get("/whoami").text == "anonymous"
    assert client.get("/async").status_code == 302


def test_remember_cookie_restores_the_login_without_the_session(app: Flask) -> None:
    client = app.test_client()
    response = log_in(client, remember=True)
    assert client.get_cookie("remember_token") is not None
    assert any(c.startswith("remember_token=ada|") for c in response.headers.getlist("Set-Cookie"))
    client.delete_cookie("session")
    # A new session: the user comes back from the remember cookie, not fresh.
    assert client.get("/async").text == "async:ada"
    fresh = client.get("/fresh")
    assert fresh.status_code == 302
    assert fresh.headers["Location"] == "/login?next=%2Ffresh"
    assert client.get("/login").text == "login page|Please log in again."


def test_without_remember_losing_the_session_logs_out(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    assert client.get_cookie("remember_token") is None
    client.delete_cookie("session")
    assert client.get("/async").status_code == 302


def test_fresh_login_passes_fresh_login_required(app: Flask) -> None:
    client = app.test_client()
    log_in(client)
    assert client.get("/fresh").text == "fresh:ada"


def test_request_loader_on_an_async_view(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/async", headers={"X-Api-Key": "key-of-alan"}).text == "async:alan"
    assert client.get("/async", headers={"X-Api-Key": "wrong"}).status_code == 302


def test_current_user_in_templates(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/template").text == "hello stranger"
    log_in(client)
    assert client.get("/template").text == "hi ada"


def test_current_user_in_an_unprotected_async_view_loads_on_the_loop(
    app: Flask, recorder: Recorder
) -> None:
    # Without login_required nothing loads the user in a worker first: the
    # user loader (a sync callback) runs on the event loop. Hence the advice in
    # docs/flask-extensions.rst to load the user in a sync before_request hook
    # when the loader does I/O (next test).
    client = app.test_client()
    log_in(client)
    assert client.get("/whoami").text == "user:ada"
    assert recorder.loaded == [("ada", True)]


def test_a_sync_before_request_hook_loads_the_user_in_a_worker(
    app: Flask, recorder: Recorder
) -> None:
    @app.before_request
    def load_user() -> None:
        current_user._get_current_object()

    client = app.test_client()
    log_in(client)
    assert client.get("/whoami").text == "user:ada"
    assert recorder.loaded == [("ada", False)]


def test_unauthorized_without_login_view_is_401(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app()
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: None)

    @app.get("/")
    @login_required
    async def index() -> str:
        return "never"

    assert app.test_client().get("/").status_code == 401


def test_async_unauthorized_handler(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app()
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: None)

    @manager.unauthorized_handler
    def unauthorized() -> t.Any:
        flash("who are you?")
        return {"error": "login first", "flashed": get_flashed_messages()}, 401

    @app.get("/")
    @login_required
    async def index() -> str:
        return "never"

    response = app.test_client().get("/")
    assert response.status_code == 401
    assert response.json == {"error": "login first", "flashed": ["who are you?"]}


def test_login_disabled_lets_everyone_in(app: Flask) -> None:
    @app.get("/open")
    @login_required
    async def open_view() -> str:
        return f"authenticated={current_user.is_authenticated}"

    client = app.test_client()
    assert client.get("/open").status_code == 302
    app.config["LOGIN_DISABLED"] = True
    assert client.get("/open").text == "authenticated=False"


def test_flask_login_client_logs_the_user_in(app: Flask) -> None:
    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=User("alan"))
    assert client.get("/async").text == "async:alan"
    assert client.get("/sync").text == "sync:alan"


def test_login_manager_is_registered_on_the_app(app: Flask) -> None:
    assert isinstance(app.login_manager, flask_login.LoginManager)  # type: ignore[attr-defined]
    with app.test_request_context("/"):
        assert not current_user.is_authenticated
        assert login_user(User("ada"))
        assert current_user.name == "ada"
        assert login_fresh()
