"""Flask-JWT-Extended on quartlike: tokens at login, ``jwt_required()`` on sync and async views.

``jwt_required()`` is a sync decorator: it checks the token and then calls
``current_app.ensure_sync(view)``. On an ``async def`` view quartlike runs the
decorator in the thread pool and :meth:`Flask.ensure_sync` runs the coroutine
on the event loop through the sync bridge, so ``await request.get_json()``
works inside the view.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from flask import Flask
from flask import jsonify
from flask import render_template_string
from flask import request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import JWTManager
from flask_jwt_extended import create_access_token
from flask_jwt_extended import create_refresh_token
from flask_jwt_extended import current_user
from flask_jwt_extended import get_jwt
from flask_jwt_extended import get_jwt_identity
from flask_jwt_extended import jwt_required
from flask_jwt_extended import set_access_cookies
from flask_jwt_extended import unset_jwt_cookies
from flask_jwt_extended import verify_jwt_in_request

from quartlike import run_sync
from quartlike.sync import on_event_loop
from quartlike.testing import QuartClient

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
USERS = {"ada": {"name": "Ada Lovelace"}, "bob": {"name": "Bob"}}


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        JWT_SECRET_KEY=SECRET,
        JWT_TOKEN_LOCATION=["headers", "cookies", "json"],
        JWT_COOKIE_SECURE=False,
        JWT_COOKIE_CSRF_PROTECT=True,
    )
    jwt = JWTManager(app, add_context_processor=True)

    @jwt.user_lookup_loader
    def load_user(header: dict[str, object], data: dict[str, object]) -> object:
        return USERS.get(str(data["sub"]))

    @app.post("/login")
    def login() -> ResponseReturnValue:
        user = request.get_json()["user"]
        if user not in USERS:
            return jsonify(msg="unknown user"), 403
        return jsonify(
            access=create_access_token(identity=user, additional_claims={"role": "admin"}),
            refresh=create_refresh_token(identity=user),
        )

    @app.post("/alogin")
    async def async_login() -> ResponseReturnValue:
        user = (await request.get_json())["user"]
        response = jsonify(ok=True)
        set_access_cookies(response, create_access_token(identity=user))
        return response

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        response = jsonify(ok=True)
        unset_jwt_cookies(response)
        return response

    @app.route("/me", methods=["GET", "POST"])
    @jwt_required()
    def me() -> ResponseReturnValue:
        return jsonify(
            user=get_jwt_identity(), role=get_jwt().get("role"), name=current_user["name"]
        )

    @app.route("/ame", methods=["GET", "POST"])
    @jwt_required()
    async def async_me() -> ResponseReturnValue:
        await asyncio.sleep(0)
        body = (await request.get_json(silent=True)) or {}
        return jsonify(
            user=get_jwt_identity(),
            role=get_jwt().get("role"),
            name=current_user["name"],
            echo=body.get("echo"),
            on_loop=on_event_loop(),
        )

    @app.get("/optional")
    @jwt_required(optional=True)
    async def optional() -> ResponseReturnValue:
        return jsonify(user=get_jwt_identity())

    @app.post("/refresh")
    @jwt_required(refresh=True)
    async def refresh() -> ResponseReturnValue:
        return jsonify(access=create_access_token(identity=get_jwt_identity()))

    @app.get("/verify")
    async def verify_in_async_view() -> ResponseReturnValue:
        verify_jwt_in_request(locations=["headers"])
        return jsonify(user=get_jwt_identity())

    @app.post("/verify-json")
    async def verify_json_in_async_view() -> ResponseReturnValue:
        # Reading the token from the body is sync work (request.json): in an
        # async view, run it in the pool.
        await run_sync(verify_jwt_in_request)(locations=["json"])
        return jsonify(user=get_jwt_identity())

    @app.get("/template")
    @jwt_required()
    def template() -> str:
        return render_template_string("{{ current_user.name }}")

    @app.get("/atemplate")
    @jwt_required()
    async def async_template() -> str:
        return await render_template_string("{{ current_user.name }}")  # type: ignore[misc]

    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(app: Flask, user: str = "ada") -> dict[str, str]:
    rv = app.test_client().post("/login", json={"user": user})
    assert rv.status_code == 200
    return dict(rv.get_json())


@pytest.mark.parametrize("path", ["/me", "/ame"])
def test_token_in_header(app: Flask, path: str) -> None:
    token = login(app)["access"]
    rv = app.test_client().get(path, headers=bearer(token))
    assert rv.status_code == 200
    data = rv.get_json()
    assert (data["user"], data["role"], data["name"]) == ("ada", "admin", "Ada Lovelace")


def test_async_view_runs_on_the_event_loop_and_reads_the_body(app: Flask) -> None:
    token = login(app, "bob")["access"]
    rv = app.test_client().post("/ame", headers=bearer(token), json={"echo": "hi"})
    assert rv.status_code == 200
    data = rv.get_json()
    assert (data["user"], data["name"], data["echo"]) == ("bob", "Bob", "hi")
    # The coroutine ran on the event loop, not in the decorator's worker thread.
    assert data["on_loop"] is True


@pytest.mark.parametrize("path", ["/me", "/ame"])
def test_missing_token_is_401(app: Flask, path: str) -> None:
    rv = app.test_client().get(path)
    assert rv.status_code == 401
    assert rv.get_json()["msg"].startswith("Missing JWT")


@pytest.mark.parametrize("path", ["/me", "/ame"])
def test_invalid_tokens_are_422(app: Flask, path: str) -> None:
    client = app.test_client()
    rv = client.get(path, headers=bearer("not-a-token"))
    assert rv.status_code == 422
    assert rv.get_json() == {"msg": "Not enough segments"}

    token = login(app)["access"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    rv = client.get(path, headers=bearer(tampered))
    assert rv.status_code == 422
    assert rv.get_json() == {"msg": "Signature verification failed"}

    rv = client.get(path, headers={"Authorization": f"Token {token}"})
    assert rv.status_code == 401  # a header of the wrong type counts as no token here


@pytest.mark.parametrize("path", ["/me", "/ame"])
def test_expired_token_is_401(app: Flask, path: str) -> None:
    with app.app_context():
        token = create_access_token(identity="ada", expires_delta=timedelta(seconds=-60))
    rv = app.test_client().get(path, headers=bearer(token))
    assert rv.status_code == 401
    assert rv.get_json() == {"msg": "Token has expired"}


def test_refresh_token_only_where_refresh_is_required(app: Flask) -> None:
    tokens = login(app)
    client = app.test_client()
    rv = client.get("/ame", headers=bearer(tokens["refresh"]))
    assert rv.status_code == 422
    assert rv.get_json() == {"msg": "Only non-refresh tokens are allowed"}
    rv = client.post("/refresh", headers=bearer(tokens["refresh"]))
    assert rv.status_code == 200
    assert client.get("/ame", headers=bearer(rv.get_json()["access"])).status_code == 200
    rv = client.post("/refresh", headers=bearer(tokens["access"]))
    assert rv.status_code == 422


def test_token_in_json_body_for_an_async_view(app: Flask) -> None:
    # The decorator reads request.json in its worker thread (a value there).
    token = login(app)["access"]
    rv = app.test_client().post("/ame", json={"access_token": token, "echo": "body"})
    assert rv.status_code == 200
    assert rv.get_json()["echo"] == "body"


def test_cookies_with_csrf_double_submit(app: Flask) -> None:
    client = app.test_client()
    rv = client.post("/alogin", json={"user": "ada"})
    assert rv.status_code == 200
    cookies = rv.headers.getlist("Set-Cookie")
    assert any(c.startswith("access_token_cookie=") and "HttpOnly" in c for c in cookies)
    csrf = client.get_cookie("csrf_access_token")
    assert csrf is not None

    for path in ("/me", "/ame"):
        # GET is not CSRF-checked; POST needs the double-submitted token.
        assert client.get(path).get_json()["user"] == "ada"
        rv = client.post(path)
        assert rv.status_code == 401
        assert rv.get_json() == {"msg": "Missing CSRF token"}
        rv = client.post(path, headers={"X-CSRF-TOKEN": "wrong"})
        assert rv.status_code == 401
        assert rv.get_json() == {"msg": "CSRF double submit tokens do not match"}
        rv = client.post(path, headers={"X-CSRF-TOKEN": csrf.value})
        assert rv.status_code == 200
        assert rv.get_json()["user"] == "ada"

    client.post("/logout")
    assert client.get_cookie("access_token_cookie") is None
    assert client.get("/ame").status_code == 401


def test_csrf_token_in_a_form_field(app: Flask) -> None:
    # The decorator reads request.form in its worker thread, also for an async view.
    app.config["JWT_CSRF_CHECK_FORM"] = True
    client = app.test_client()
    client.post("/alogin", json={"user": "bob"})
    csrf = client.get_cookie("csrf_access_token")
    assert csrf is not None
    for path in ("/me", "/ame"):
        rv = client.post(path, data={"csrf_token": csrf.value})
        assert rv.status_code == 200
        assert rv.get_json()["user"] == "bob"
        rv = client.post(path, data={"csrf_token": "forged"})
        assert rv.status_code == 401


def test_optional_and_verify_in_request(app: Flask) -> None:
    client = app.test_client()
    token = login(app)["access"]
    assert client.get("/optional").get_json() == {"user": None}
    assert client.get("/optional", headers=bearer(token)).get_json() == {"user": "ada"}
    # verify_jwt_in_request() called directly inside an async view (on the loop).
    assert client.get("/verify", headers=bearer(token)).get_json() == {"user": "ada"}
    assert client.get("/verify").status_code == 401
    rv = client.post("/verify-json", json={"access_token": token})
    assert rv.get_json() == {"user": "ada"}
    assert client.post("/verify-json", json={}).status_code == 401


@pytest.mark.parametrize("path", ["/template", "/atemplate"])
def test_current_user_in_templates(app: Flask, path: str) -> None:
    token = login(app)["access"]
    rv = app.test_client().get(path, headers=bearer(token))
    assert rv.get_data(as_text=True) == "Ada Lovelace"


async def test_concurrent_requests_see_their_own_identity(app: Flask) -> None:
    async with app.app_context():
        tokens = {user: create_access_token(identity=user) for user in USERS}
    client = QuartClient(app)
    users = list(USERS) * 10
    paths = ["/me", "/ame"] * 10
    responses = await asyncio.wait_for(
        asyncio.gather(
            *(
                client.get(path, headers=bearer(tokens[user]))
                for path, user in zip(paths, users, strict=True)
            )
        ),
        timeout=30,
    )
    for user, rv in zip(users, responses, strict=True):
        assert rv.status_code == 200
        assert (await rv.get_json())["user"] == user
