"""The shelf example end to end: accounts, forms with CSRF, books in SQLite, the JSON API."""

from __future__ import annotations

import re
import sqlite3
import threading
import typing as t
from pathlib import Path

import extensions
from quartlike.flask import Flask
from quartlike.flask.testing import FlaskClient
from quartlike.flask.testing import TestResponse

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PASSWORD = "correct horse"


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form at ``path``."""
    match = TOKEN.search(client.get(path).text)
    assert match is not None
    return match.group(1)


def register(client: FlaskClient, name: str, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/register")
    data = {"csrf_token": token, "name": name, "password": password}
    return client.post("/register", data=data)


def log_in(
    client: FlaskClient, name: str, password: str = PASSWORD, query: str = ""
) -> TestResponse:
    token = csrf_token(client, "/login")
    data = {"csrf_token": token, "name": name, "password": password}
    return client.post(f"/login{query}", data=data)


def api_headers(client: FlaskClient) -> dict[str, str]:
    """The header that lets the client post to the API."""
    return {"X-CSRFToken": client.get("/api/token").json["csrf_token"]}


def query(database: Path, sql: str) -> list[tuple[t.Any, ...]]:
    connection = sqlite3.connect(database)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def text_of(response: TestResponse, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)<', response.text, re.S)
    assert match is not None, response.text
    return " ".join(match.group(1).split())


def test_index_greets_a_stranger(client: FlaskClient) -> None:
    response = client.get("/")
    assert text_of(response, "greeting") == "Hello, stranger."
    assert text_of(response, "total") == "0 books on all shelves."


def test_register_logs_in_and_leads_to_the_shelf(client: FlaskClient) -> None:
    response = register(client, "ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/books"
    page = client.get("/books")
    assert "Welcome, ada!" in page.text
    assert "None yet." in page.text
    assert text_of(client.get("/"), "greeting") == "Hello, ada."


def test_register_validates(app: Flask) -> None:
    register(app.test_client(), "ada")
    other = app.test_client()  # a second visitor
    taken = register(other, "ada")
    assert taken.status_code == 200
    assert "That name is taken." in taken.text
    short = register(other, "bob", "short")
    assert "Field must be at least 8 characters long." in short.text


def test_posts_without_the_csrf_token_are_refused(client: FlaskClient) -> None:
    client.get("/register")
    response = client.post("/register", data={"name": "ada", "password": PASSWORD})
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.text


def test_async_login(app: Flask) -> None:
    register(app.test_client(), "ada")
    client = app.test_client()
    wrong = log_in(client, "ada", "not the password")
    assert wrong.status_code == 200
    assert "Wrong name or password." in wrong.text
    response = log_in(client, "ada", query="?next=/api/books")
    assert response.status_code == 302
    assert response.headers["Location"] == "/api/books"
    assert client.get("/api/books").json == {"books": []}


def test_login_never_redirects_off_site(app: Flask) -> None:
    register(app.test_client(), "ada")
    client = app.test_client()
    for target in ("//evil.example/", "https://evil.example/"):
        response = log_in(client, "ada", query=f"?next={target}")
        assert response.headers["Location"] == "/books"


def test_the_shelf_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/books")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fbooks"
    assert "Log in to see your shelf." in client.get("/login").text
    assert client.get("/api/books").status_code == 302


def test_add_books_with_the_form(client: FlaskClient) -> None:
    register(client, "ada")
    for title in ("Middlemarch", "Dune"):
        token = csrf_token(client, "/books")
        response = client.post("/books", data={"csrf_token": token, "title": title})
        assert response.status_code == 302
    page = client.get("/books")
    assert re.findall(r"<li>(.*?)</li>", page.text) == ["Middlemarch", "Dune"]
    empty = client.post("/books", data={"csrf_token": csrf_token(client, "/books"), "title": ""})
    assert "This field is required." in empty.text
    assert text_of(client.get("/"), "total") == "2 books on all shelves."


def test_the_json_api(app: Flask, client: FlaskClient) -> None:
    register(client, "ada")
    headers = api_headers(client)
    created = client.post("/api/books", json={"title": " Emma "}, headers=headers)
    assert created.status_code == 201
    book = created.json
    assert book == {"id": book["id"], "title": "Emma"}
    assert client.get("/api/books").json == {"books": [book]}
    bad = client.post("/api/books", json={"title": ""}, headers=headers)
    assert bad.status_code == 400
    # The token is required for the API's posts too.
    assert client.post("/api/books", json={"title": "X"}).status_code == 400

    # Someone else cannot delete it.
    other = app.test_client()
    register(other, "bob")
    assert other.delete(f"/api/books/{book['id']}", headers=api_headers(other)).status_code == 404
    assert client.delete(f"/api/books/{book['id']}", headers=headers).status_code == 204
    assert client.get("/api/books").json == {"books": []}
    assert client.delete(f"/api/books/{book['id']}", headers=headers).status_code == 404


def test_logout(client: FlaskClient) -> None:
    register(client, "ada")
    token = csrf_token(client, "/books")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert "Logged out." in page.text
    assert text_of(page, "greeting") == "Hello, stranger."


def test_readers_adding_at_the_same_time_keep_their_own_books(app: Flask) -> None:
    clients = {name: app.test_client() for name in ("ada", "bob", "cy")}
    headers = {}
    for name, client in clients.items():
        register(client, name)
        headers[name] = api_headers(client)
    barrier = threading.Barrier(len(clients), timeout=10)
    errors: list[BaseException] = []

    def add(name: str) -> None:
        try:
            barrier.wait()
            for i in range(5):
                response = clients[name].post(
                    "/api/books", json={"title": f"{name}-{i}"}, headers=headers[name]
                )
                assert response.status_code == 201
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=add, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not any(thread.is_alive() for thread in threads)
    for name, client in clients.items():
        titles = [b["title"] for b in client.get("/api/books").json["books"]]
        assert titles == [f"{name}-{i}" for i in range(5)]


def test_init_db_command(app: Flask, tmp_path: Path) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    fresh = extensions.create_app(dict(app.config))
    result = fresh.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert result.output == f"Initialized {tmp_path / 'fresh.sqlite'}\n"
    tables = query(
        tmp_path / "fresh.sqlite",
        "select name from sqlite_master where type = 'table' order by name",
    )
    assert tables == [("book",), ("user",)]
    with fresh.app_context():
        extensions.db.engine.dispose()


def test_startup_creates_the_tables(tmp_path: Path) -> None:
    database = tmp_path / "startup.sqlite"
    app = extensions.create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"}
    )
    with app.test_app():
        client = app.test_client()
        assert register(client, "ada").status_code == 302
    with app.app_context():
        extensions.db.engine.dispose()
    assert query(database, "select name from user") == [("ada",)]


def test_the_module_app_uses_the_instance_folder() -> None:
    assert isinstance(extensions.app, Flask)
    uri = t.cast(str, extensions.app.config["SQLALCHEMY_DATABASE_URI"])
    assert uri.endswith("instance/shelf.sqlite")
