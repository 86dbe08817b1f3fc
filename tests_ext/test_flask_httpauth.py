"""Flask-HTTPAuth on quartlike: Basic and token auth on sync and async views.

``auth.login_required`` wraps the view in a plain function that checks the
``Authorization`` header, calls the app's callbacks and then the view through
``current_app.ensure_sync`` (so callbacks and views may be ``async def``), and
answers 401 (or 403 for a missing role) with a ``WWW-Authenticate`` header.
``auth.current_user()`` reads ``g``, so the view sees the user whether it
runs in a worker thread or on the loop.
"""

from __future__ import annotations

import base64
import collections.abc as cabc
import dataclasses
import typing as t

import pytest
from flask import Flask
from flask import g
from flask_httpauth import HTTPBasicAuth
from flask_httpauth import HTTPTokenAuth
from flask_httpauth import MultiAuth

from quartlike.sync import on_event_loop


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...] = ()


USERS = {
    "ada": ("lovelace", User("ada", ("admin",))),
    "alan": ("turing", User("alan")),
}
TOKENS = {"tok-ada": USERS["ada"][1], "tok-alan": USERS["alan"][1]}


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def app(make_app: cabc.Callable[..., Flask]) -> Flask:
    app = make_app()
    basic_auth = HTTPBasicAuth(realm="quartlike")
    token_auth = HTTPTokenAuth(scheme="Bearer")
    key_auth = HTTPTokenAuth(header="X-API-Key")
    either = MultiAuth(basic_auth, token_auth)
    app.extensions["seen"] = seen = []

    @basic_auth.verify_password
    def verify_password(username: str, password: str) -> User | None:
        seen.append(("verify_password", on_event_loop()))
        entry = USERS.get(username)
        if entry is not None and entry[0] == password:
            return entry[1]
        return None

    @basic_auth.get_user_roles
    async def get_user_roles(user: User) -> list[str]:
        return list(user.roles)

    @token_auth.verify_token
    async def verify_token(token: str) -> User | None:
        seen.append(("verify_token", on_event_loop()))
        return TOKENS.get(token)

    @key_auth.verify_token
    def verify_key(token: str) -> User | None:
        return TOKENS.get(token)

    @key_auth.error_handler
    async def key_error(status: int) -> t.Any:
        return {"error": "bad key", "status": status}, status

    def whoami(face: str, auth: HTTPBasicAuth | HTTPTokenAuth | MultiAuth) -> dict[str, t.Any]:
        user = auth.current_user()
        return {"face": face, "user": user.name if user else None, "g": g.flask_httpauth_user.name}

    @app.route("/basic/sync")
    @basic_auth.login_required
    def basic_sync() -> dict[str, t.Any]:
        return whoami("sync", basic_auth)

    @app.route("/basic/async")
    @basic_auth.login_required
    async def basic_async() -> dict[str, t.Any]:
        return whoami("async", basic_auth)

    @app.route("/admin/sync")
    @basic_auth.login_required(role="admin")
    def admin_sync() -> str:
        return f"admin {basic_auth.current_user().name}"

    @app.route("/admin/async")
    @basic_auth.login_required(role="admin")
    async def admin_async() -> str:
        return f"admin {basic_auth.current_user().name}"

    @app.route("/maybe")
    @basic_auth.login_required(optional=True)
    async def maybe() -> str:
        user = basic_auth.current_user()
        return f"hello {user.name if user else 'anonymous'}"

    @app.route("/token/sync")
    @token_auth.login_required
    def token_sync() -> dict[str, t.Any]:
        return whoami("sync", token_auth)

    @app.route("/token/async")
    @token_auth.login_required
    async def token_async() -> dict[str, t.Any]:
        return whoami("async", token_auth)

    @app.route("/key")
    @key_auth.login_required
    async def key() -> str:
        return f"key of {key_auth.current_user().name}"

    @app.route("/either")
    @either.login_required
    async def either_view() -> str:
        return f"either {either.current_user().name}"

    return app


@pytest.mark.parametrize("face", ["sync", "async"])
def test_basic_auth_on_sync_and_async_views(app: Flask, face: str) -> None:
    client = app.test_client()
    response = client.get(f"/basic/{face}")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="quartlike"'
    assert response.text == "Unauthorized Access"

    response = client.get(f"/basic/{face}", headers=basic("ada", "wrong"))
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers

    response = client.get(f"/basic/{face}", headers=basic("ada", "lovelace"))
    assert response.status_code == 200
    assert response.get_json() == {"face": face, "user": "ada", "g": "ada"}
    # The test client's own ``auth`` argument builds the same header.
    response = client.get(f"/basic/{face}", auth=("alan", "turing"))
    assert response.get_json()["user"] == "alan"
    # The sync callback ran in a worker thread, never on the loop.
    assert {on_loop for name, on_loop in app.extensions["seen"]} == {False}


@pytest.mark.parametrize("face", ["sync", "async"])
def test_roles_give_403_to_a_known_user_without_the_role(app: Flask, face: str) -> None:
    client = app.test_client()
    assert client.get(f"/admin/{face}").status_code == 401
    response = client.get(f"/admin/{face}", headers=basic("alan", "turing"))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Basic realm="quartlike"'
    response = client.get(f"/admin/{face}", headers=basic("ada", "lovelace"))
    assert (response.status_code, response.text) == (200, "admin ada")


def test_optional_login(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/maybe").text == "hello anonymous"
    assert client.get("/maybe", headers=basic("alan", "turing")).text == "hello alan"


@pytest.mark.parametrize("face", ["sync", "async"])
def test_bearer_tokens_with_an_async_verify_callback(app: Flask, face: str) -> None:
    client = app.test_client()
    response = client.get(f"/token/{face}")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    response = client.get(f"/token/{face}", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    response = client.get(f"/token/{face}", headers={"Authorization": "Bearer tok-alan"})
    assert response.get_json() == {"face": face, "user": "alan", "g": "alan"}
    # The async callback ran on the loop, called from the wrapper in a worker thread.
    assert ("verify_token", True) in app.extensions["seen"]


def test_a_custom_header_token_and_an_async_error_handler(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/key", headers={"X-API-Key": "tok-ada"})
    assert (response.status_code, response.text) == (200, "key of ada")
    response = client.get("/key", headers={"X-API-Key": "forged"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "bad key", "status": 401}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'


def test_multi_auth_takes_either_scheme(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/either", headers=basic("ada", "lovelace")).text == "either ada"
    assert client.get("/either", headers={"Authorization": "Bearer tok-alan"}).text == (
        "either alan"
    )
    assert client.get("/either").status_code == 401
