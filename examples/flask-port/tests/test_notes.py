from __future__ import annotations

import types
import typing as t

import pytest


def test_index(client: t.Any, auth: t.Any, backend: types.ModuleType) -> None:
    response = client.get("/")
    assert b"Log in to see your notes." in response.data
    assert f"Served by {backend.compat.BACKEND}".encode() in response.data
    auth.login()
    response = client.get("/")
    assert b"first note" in response.data and b"remember the milk" in response.data
    assert b"not yours" not in response.data
    assert b'href="/1/edit"' in response.data


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/new"), ("POST", "/1/edit"), ("POST", "/1/delete"), ("GET", "/1/download")],
)
def test_login_required(client: t.Any, method: str, path: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/login?next={path}"


def test_other_users_notes_are_forbidden(client: t.Any, auth: t.Any) -> None:
    auth.login()
    assert client.post("/2/edit").status_code == 403
    assert client.post("/2/delete").status_code == 403
    assert client.get("/2/download").status_code == 403


def test_missing_notes_use_the_404_handler(client: t.Any, auth: t.Any) -> None:
    auth.login()
    response = client.post("/9/edit")
    assert response.status_code == 404
    assert b"There is nothing at /9/edit." in response.data
    assert client.get("/no/such/page").status_code == 404


def test_create(client: t.Any, auth: t.Any, app: t.Any, get_db: t.Any) -> None:
    auth.login()
    assert client.get("/new").status_code == 200
    response = client.post(
        "/new", data={"title": "groceries", "body": "tea"}, follow_redirects=True
    )
    assert response.request.path == "/"
    assert "Saved “groceries”.".encode() in response.data
    with app.app_context():
        titles = [row[0] for row in get_db().execute("SELECT title FROM note WHERE owner_id = 1")]
    assert titles == ["first note", "groceries"]


@pytest.mark.parametrize("path", ["/new", "/1/edit"])
def test_create_and_edit_validate(client: t.Any, auth: t.Any, path: str) -> None:
    auth.login()
    response = client.post(path, data={"title": " ", "body": "kept"})
    assert b"A title is required." in response.data
    assert b">kept</textarea>" in response.data


def test_edit_and_delete(client: t.Any, auth: t.Any, app: t.Any, get_db: t.Any) -> None:
    auth.login()
    assert b"remember the milk" in client.get("/1/edit").data
    client.post("/1/edit", data={"title": "renamed", "body": "changed"})
    with app.app_context():
        row = get_db().execute("SELECT title, body FROM note WHERE id = 1").fetchone()
        assert tuple(row) == ("renamed", "changed")
    response = client.post("/1/delete")
    assert response.headers["Location"] == "/"
    with app.app_context():
        assert get_db().execute("SELECT * FROM note WHERE id = 1").fetchone() is None


def test_download(client: t.Any, auth: t.Any) -> None:
    auth.login()
    response = client.get("/1/download")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == "attachment; filename=note-1.txt"
    assert response.data == b"first note\n\nremember the milk\n"


def test_json_api(client: t.Any, auth: t.Any) -> None:
    auth.login()
    response = client.get("/api/notes")
    first = {"id": 1, "title": "first note", "body": "remember the milk"}
    assert response.json == {"notes": [first]}
    response = client.post("/api/notes", json={"title": "from json", "body": "b"})
    assert response.status_code == 201
    assert response.get_json() == {"id": 3}
    assert response.headers["Location"] == "/3/edit"
    response = client.post("/api/notes", data="not json", content_type="application/json")
    assert response.status_code == 400
    assert "non-empty 'title'" in response.json["error"]
    titles = [note["title"] for note in client.get("/api/notes").json["notes"]]
    assert titles == ["first note", "from json"]


def test_async_view_only_on_quartlike(
    client: t.Any, auth: t.Any, backend: types.ModuleType
) -> None:
    if backend.compat.BACKEND != "quartlike":
        pytest.skip("the async view is registered on quartlike only")
    auth.login()
    response = client.post("/api/echo", json={"hello": "async"})
    assert response.json == {"echo": {"hello": "async"}, "user": "test"}
