from __future__ import annotations

import types
import typing as t

import pytest


def test_register(client: t.Any, app: t.Any, get_db: t.Any) -> None:
    assert client.get("/auth/register").status_code == 200
    response = client.post("/auth/register", data={"username": "ada", "password": "pw"})
    assert response.headers["Location"] == "/auth/login"
    with app.app_context():
        row = get_db().execute("SELECT * FROM user WHERE username = 'ada'").fetchone()
        assert row is not None
    assert b"Registered: you can log in now." in client.get("/auth/login").data


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "", b"Username is required."),
        ("ada", "", b"Password is required."),
        ("test", "test", b"User test is already registered."),
    ],
)
def test_register_validates(client: t.Any, username: str, password: str, message: bytes) -> None:
    response = client.post("/auth/register", data={"username": username, "password": password})
    assert message in response.data
    assert b'value="' + username.encode() + b'"' in response.data  # the form keeps its input


def test_login_sets_the_session_and_loads_the_user(
    client: t.Any, auth: t.Any, flask: types.ModuleType
) -> None:
    assert client.get("/auth/login").status_code == 200
    response = auth.login()
    assert response.headers["Location"] == "/"
    with client:
        client.get("/")
        assert flask.session["user_id"] == 1
        assert flask.g.user["username"] == "test"


@pytest.mark.parametrize(("username", "password"), [("nobody", "test"), ("test", "wrong")])
def test_login_refuses_bad_credentials(auth: t.Any, username: str, password: str) -> None:
    assert b"Incorrect username or password." in auth.login(username, password).data


def test_login_returns_to_the_page_asked_for(client: t.Any, auth: t.Any) -> None:
    response = client.get("/new")
    assert response.headers["Location"] == "/auth/login?next=/new"
    response = client.post("/auth/login?next=/new", data={"username": "test", "password": "test"})
    assert response.headers["Location"] == "/new"


def test_logout(client: t.Any, auth: t.Any, flask: types.ModuleType) -> None:
    auth.login()
    with client:
        auth.logout()
        assert "user_id" not in flask.session


def test_session_transaction_logs_in_directly(client: t.Any) -> None:
    with client.session_transaction() as session:
        session["user_id"] = 2
    assert b"not yours" in client.get("/").data
