from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

import blog
from quartlike import Quart
from quartlike import Response
from quartlike.testing import QuartClient

PASSWORD = "correct horse"
#: Hashing with the default (scrypt) takes a noticeable time, on purpose; most tests
#: use a cheap method instead.
FAST_HASH = "pbkdf2:sha256:1000"


@pytest.fixture
def app(tmp_path: Path) -> Quart:
    """A fresh app with its own database, in a temporary instance folder."""
    config = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_HASH_METHOD": FAST_HASH}
    return blog.create_app(config, instance_path=str(tmp_path / "instance"))


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


async def text(response: Response) -> str:
    return str(await response.get_data(as_text=True))


async def register(client: QuartClient, username: str, password: str = PASSWORD) -> Response:
    return await client.post("/register", form={"username": username, "password": password})


async def login(client: QuartClient, username: str, password: str = PASSWORD) -> Response:
    return await client.post("/login", form={"username": username, "password": password})


async def signed_in(app: Quart, username: str) -> QuartClient:
    """A new client (its own cookies) for a registered, logged-in user."""
    client = app.test_client()
    assert (await register(client, username)).status_code == 302
    assert (await login(client, username)).status_code == 302
    return client


async def publish(client: QuartClient, title: str, body: str = "Some words.") -> None:
    response = await client.post("/create", form={"title": title, "body": body})
    assert response.status_code == 302


def rows(app: Quart, sql: str) -> list[tuple[object, ...]]:
    blog.ensure_db(app.config["DATABASE"])
    with contextlib.closing(sqlite3.connect(app.config["DATABASE"])) as db:
        return db.execute(sql).fetchall()


# -- the database ---------------------------------------------------------------------------


def test_the_database_lives_in_the_instance_folder(app: Quart) -> None:
    assert app.config["DATABASE"] == str(Path(app.instance_path) / "blog.sqlite")


def test_module_level_app_uses_its_own_instance_folder() -> None:
    assert blog.app.instance_path == str(Path(blog.__file__).parent / "instance")


async def test_the_database_is_created_on_first_use(app: Quart, client: QuartClient) -> None:
    database = Path(app.config["DATABASE"])
    assert not database.exists()
    response = await client.get("/")
    assert response.status_code == 200
    assert database.is_file()
    assert rows(app, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [
        ("post",),
        ("sqlite_sequence",),
        ("user",),
    ]


async def test_serving_creates_the_database(app: Quart) -> None:
    database = Path(app.config["DATABASE"])
    await app.startup()
    try:
        assert database.is_file()
    finally:
        await app.shutdown()


def test_init_db_command_creates_an_empty_database(app: Quart) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert result.output == f"Initialized the database at {app.config['DATABASE']}.\n"
    assert rows(app, "SELECT COUNT(*) FROM user") == [(0,)]


async def test_init_db_command_deletes_existing_data(app: Quart) -> None:
    author = await signed_in(app, "ada")
    await publish(author, "Before the reset")
    assert rows(app, "SELECT COUNT(*) FROM post") == [(1,)]

    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert rows(app, "SELECT COUNT(*) FROM post") == [(0,)]
    # The old session points at an account that is gone: the visitor is logged out.
    page = await text(await author.get("/"))
    assert "Before the reset" not in page
    assert 'href="/login"' in page


def test_init_db_is_listed_in_the_help(app: Quart) -> None:
    result = app.test_cli_runner().invoke(args=["--help"])
    assert "init-db" in result.output


async def test_queries_run_in_worker_threads(
    app: Quart, client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    real_connect = sqlite3.connect

    def spy(*args: object, **kwargs: object) -> sqlite3.Connection:
        threads.add(threading.current_thread().name)
        return real_connect(*args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(sqlite3, "connect", spy)
    await register(client, "ada")
    await login(client, "ada")
    await publish(client, "Off the loop")
    await client.get("/")
    assert threads
    assert threading.current_thread().name not in threads
    assert all(name.startswith("quartlike-") for name in threads)


# -- registering and logging in -------------------------------------------------------------


def test_passwords_are_hashed_with_scrypt_by_default() -> None:
    assert blog.app.config["PASSWORD_HASH_METHOD"] == "scrypt"


@pytest.mark.parametrize("method", ["scrypt", FAST_HASH])
async def test_register_stores_a_password_hash(app: Quart, method: str) -> None:
    app.config["PASSWORD_HASH_METHOD"] = method
    client = app.test_client()
    response = await register(client, "ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    [(username, stored)] = rows(app, "SELECT username, password FROM user")
    assert username == "ada"
    assert isinstance(stored, str)
    assert PASSWORD not in stored
    assert stored.startswith(method.split(":")[0] + ":")
    page = await text(await client.get("/login"))
    assert "Welcome, ada! You can log in now." in page
    assert (await login(client, "ada")).status_code == 302


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", PASSWORD, "Usernames have 1 to 40 letters"),
        ("no spaces", PASSWORD, "Usernames have 1 to 40 letters"),
        ("x" * 41, PASSWORD, "Usernames have 1 to 40 letters"),
        ("ada", "short", "Passwords have at least 8 characters."),
    ],
)
async def test_register_validates(
    app: Quart, client: QuartClient, username: str, password: str, message: str
) -> None:
    response = await register(client, username, password)
    assert response.status_code == 400
    assert message in await text(response)
    assert rows(app, "SELECT COUNT(*) FROM user") == [(0,)]


async def test_usernames_are_unique(client: QuartClient) -> None:
    await register(client, "ada")
    response = await register(client, "ada", "another password")
    assert response.status_code == 400
    assert "The username ada is already taken." in await text(response)


async def test_login_and_logout(client: QuartClient) -> None:
    await register(client, "ada")
    response = await login(client, "ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    page = await text(await client.get("/"))
    assert '<span id="whoami">ada</span>' in page
    assert "Logged in as ada." in page
    # A flashed message is shown once.
    assert "Logged in as ada." not in await text(await client.get("/"))

    response = await client.post("/logout", follow_redirects=True)
    page = await text(response)
    assert "Logged out." in page
    assert 'id="whoami"' not in page


@pytest.mark.parametrize(("username", "password"), [("ada", "wrong password"), ("bob", PASSWORD)])
async def test_login_refuses_bad_credentials(
    client: QuartClient, username: str, password: str
) -> None:
    await register(client, "ada")
    response = await login(client, username, password)
    assert response.status_code == 400
    page = await text(response)
    assert "Incorrect username or password." in page
    assert 'id="whoami"' not in page


async def test_logout_needs_post(client: QuartClient) -> None:
    response = await client.get("/logout")
    assert response.status_code == 405


async def test_login_returns_to_the_page_asked_for(client: QuartClient) -> None:
    await register(client, "ada")
    response = await client.get("/create")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/create"
    page = await text(await client.get(response.headers["Location"]))
    assert 'name="next" value="/create"' in page
    assert "Please log in first." in page
    response = await client.post(
        "/login", form={"username": "ada", "password": PASSWORD, "next": "/create"}
    )
    assert response.headers["Location"] == "/create"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
async def test_login_does_not_redirect_elsewhere(client: QuartClient, target: str) -> None:
    await register(client, "ada")
    response = await client.post(
        "/login", form={"username": "ada", "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == "/"


# -- posts --------------------------------------------------------------------------------


async def test_index_without_posts(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "No posts yet." in await text(response)


async def test_publish_and_list(app: Quart) -> None:
    client = await signed_in(app, "ada")
    await publish(client, "First", "Hello\nthere")
    await publish(client, "Second <b>bold</b>")

    page = await text(await client.get("/"))
    assert "Your post is published." in page
    assert page.index("Second") < page.index("First")  # newest first
    assert "Second &lt;b&gt;bold&lt;/b&gt;" in page  # escaped
    assert 'href="/1/edit"' in page

    visitor = await text(await app.test_client().get("/"))
    assert "First" in visitor
    assert '<span class="author">ada</span>' in visitor
    assert 'href="/1/edit"' not in visitor


async def test_create_needs_a_login(app: Quart, client: QuartClient) -> None:
    response = await client.post("/create", form={"title": "sneaky", "body": ""})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert rows(app, "SELECT COUNT(*) FROM post") == [(0,)]


async def test_create_validates(app: Quart) -> None:
    client = await signed_in(app, "ada")
    response = await client.post("/create", form={"title": "  ", "body": "kept"})
    assert response.status_code == 400
    page = await text(response)
    assert "A title is required." in page
    assert ">kept</textarea>" in page
    response = await client.post("/create", form={"title": "x" * (blog.MAX_TITLE + 1)})
    assert response.status_code == 400
    assert f"at most {blog.MAX_TITLE} characters" in await text(response)
    assert rows(app, "SELECT COUNT(*) FROM post") == [(0,)]


async def test_edit_own_post(app: Quart) -> None:
    client = await signed_in(app, "ada")
    await publish(client, "Draft", "first version")
    form = await text(await client.get("/1/edit"))
    assert 'value="Draft"' in form
    assert ">first version</textarea>" in form

    response = await client.post("/1/edit", form={"title": "Final", "body": "second version"})
    assert response.status_code == 302
    page = await text(await client.get("/"))
    assert "Your post is updated." in page
    assert "Final" in page
    assert "second version" in page
    assert "Draft" not in page


async def test_edit_validates(app: Quart) -> None:
    client = await signed_in(app, "ada")
    await publish(client, "Draft")
    response = await client.post("/1/edit", form={"title": "", "body": "x"})
    assert response.status_code == 400
    assert "A title is required." in await text(response)
    assert rows(app, "SELECT title FROM post") == [("Draft",)]


async def test_someone_elses_post_is_403(app: Quart) -> None:
    ada = await signed_in(app, "ada")
    await publish(ada, "Mine")
    bob = await signed_in(app, "bob")

    assert 'href="/1/edit"' not in await text(await bob.get("/"))
    response = await bob.get("/1/edit")
    assert response.status_code == 403
    assert "You can only change your own posts." in await text(response)
    assert (await bob.post("/1/edit", form={"title": "Stolen", "body": ""})).status_code == 403
    assert (await bob.post("/1/delete")).status_code == 403
    assert rows(app, "SELECT title FROM post") == [("Mine",)]


async def test_missing_post_is_404(app: Quart) -> None:
    client = await signed_in(app, "ada")
    response = await client.get("/7/edit")
    assert response.status_code == 404
    assert "There is no post 7." in await text(response)
    assert (await client.post("/7/delete")).status_code == 404


async def test_delete_own_post(app: Quart) -> None:
    client = await signed_in(app, "ada")
    await publish(client, "Short-lived")
    response = await client.post("/1/delete", follow_redirects=True)
    page = await text(response)
    assert "Your post is deleted." in page
    assert "Short-lived" not in page
    assert rows(app, "SELECT COUNT(*) FROM post") == [(0,)]


async def test_concurrent_requests_share_the_database(app: Quart) -> None:
    clients = [await signed_in(app, f"user{n}") for n in range(3)]
    await asyncio.gather(
        *(publish(client, f"post {n}.{i}") for n, client in enumerate(clients) for i in range(3))
    )
    assert rows(app, "SELECT COUNT(*) FROM post") == [(9,)]
