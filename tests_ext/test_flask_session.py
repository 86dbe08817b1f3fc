"""Flask-Session on quartlike: server-side sessions in a cachelib FileSystemCache.

The session data lives in files under ``tmp_path``; the cookie carries only
the session id. Flask-Session's interface is sync, so quartlike runs its
``open_session``/``save_session`` in the thread pool (checked with the async
client, where the app runs as under a server).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from cachelib.file import FileSystemCache
from flask import Flask
from flask import request
from flask import session
from flask_session import Session
from flask_session.cachelib import CacheLibSessionInterface

from quartlike.testing import QuartClient


@pytest.fixture
def cache(tmp_path: Path) -> FileSystemCache:
    return FileSystemCache(str(tmp_path / "sessions"), threshold=500)


@pytest.fixture
def app(cache: FileSystemCache) -> Flask:
    app = Flask(__name__)
    app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=cache, SECRET_KEY="not-used")
    Session(app)

    @app.post("/set")
    def set_value() -> str:
        session[request.form["key"]] = request.form["value"]
        return "set"

    @app.post("/aset")
    async def async_set_value() -> str:
        form = await request.form
        session[form["key"]] = form["value"]
        return "set"

    @app.get("/get/<key>")
    def get_value(key: str) -> str:
        return str(session.get(key, "-"))

    @app.get("/aget/<key>")
    async def async_get_value(key: str) -> str:
        await asyncio.sleep(0)
        return str(session.get(key, "-"))

    @app.post("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    @app.post("/clear")
    def clear() -> str:
        session.clear()
        return "cleared"

    @app.post("/aclear")
    async def async_clear() -> str:
        session.clear()
        return "cleared"

    @app.post("/regenerate")
    def regenerate() -> str:
        app.session_interface.regenerate(session)  # type: ignore[attr-defined]
        return "regenerated"

    return app


def stored(cache: FileSystemCache, sid: str) -> object:
    return cache.get("session:" + sid)


def test_installs_the_server_side_interface(app: Flask) -> None:
    assert isinstance(app.session_interface, CacheLibSessionInterface)


@pytest.mark.parametrize(("setter", "getter"), [("/set", "/aget"), ("/aset", "/get")])
def test_values_persist_across_requests_and_faces(
    app: Flask, cache: FileSystemCache, setter: str, getter: str
) -> None:
    client = app.test_client()
    rv = client.post(setter, data={"key": "user", "value": "ada"})
    assert rv.status_code == 200
    assert "Cookie" in rv.headers["Vary"]
    cookie = client.get_cookie("session")
    assert cookie is not None
    sid = cookie.value
    # The cookie holds only the id; the value is in the server-side store.
    assert "ada" not in rv.headers["Set-Cookie"]
    assert stored(cache, sid) == {"_permanent": True, "user": "ada"}

    assert client.get(f"{getter}/user").get_data(as_text=True) == "ada"
    assert client.get(f"{getter}/other").get_data(as_text=True) == "-"
    assert [client.post("/count").get_data(as_text=True) for _ in range(3)] == ["1", "2", "3"]
    assert client.get_cookie("session").value == sid  # type: ignore[union-attr]
    assert stored(cache, sid) == {"_permanent": True, "user": "ada", "n": 3}


def test_a_second_client_gets_its_own_session(app: Flask) -> None:
    first, second = app.test_client(), app.test_client()
    first.post("/set", data={"key": "user", "value": "ada"})
    second.post("/aset", data={"key": "user", "value": "bob"})
    assert first.get("/get/user").get_data(as_text=True) == "ada"
    assert second.get("/aget/user").get_data(as_text=True) == "bob"
    assert first.get_cookie("session").value != second.get_cookie("session").value  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/clear", "/aclear"])
def test_clear_deletes_the_stored_session_and_the_cookie(
    app: Flask, cache: FileSystemCache, path: str
) -> None:
    client = app.test_client()
    client.post("/set", data={"key": "user", "value": "ada"})
    sid = client.get_cookie("session").value  # type: ignore[union-attr]
    rv = client.post(path)
    assert rv.get_data(as_text=True) == "cleared"
    assert stored(cache, sid) is None
    assert client.get_cookie("session") is None
    assert "Max-Age=0" in rv.headers["Set-Cookie"]
    assert client.get("/get/user").get_data(as_text=True) == "-"


def test_unknown_or_forged_ids_start_a_new_session(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie("session", "made-up-id")
    assert client.get("/get/user").get_data(as_text=True) == "-"
    client.post("/set", data={"key": "user", "value": "ada"})
    assert client.get_cookie("session").value != "made-up-id"  # type: ignore[union-attr]
    assert client.get("/aget/user").get_data(as_text=True) == "ada"


def test_regenerate_moves_the_data_to_a_new_id(app: Flask, cache: FileSystemCache) -> None:
    client = app.test_client()
    client.post("/set", data={"key": "user", "value": "ada"})
    old = client.get_cookie("session").value  # type: ignore[union-attr]
    client.post("/regenerate")
    new = client.get_cookie("session").value  # type: ignore[union-attr]
    assert new != old
    assert stored(cache, old) is None
    assert client.get("/get/user").get_data(as_text=True) == "ada"


async def test_interface_methods_run_in_the_thread_pool(app: Flask) -> None:
    interface = app.session_interface
    threads: list[str] = []
    loop_thread = threading.current_thread().name
    for name in ("open_session", "save_session"):
        method = getattr(interface, name)

        def spy(*args: object, _method: object = method) -> object:
            threads.append(threading.current_thread().name)
            return _method(*args)  # type: ignore[operator]

        setattr(interface, name, spy)

    client = QuartClient(app)
    rv = await client.post("/aset", form={"key": "user", "value": "ada"})
    assert rv.status_code == 200
    rv = await client.get("/get/user")
    assert await rv.get_data(as_text=True) == "ada"
    assert len(threads) == 4
    assert loop_thread not in threads
    assert all(name.startswith(f"quartlike-{app.name}") for name in threads), threads


async def test_concurrent_clients_do_not_mix_sessions(app: Flask) -> None:
    clients = [QuartClient(app) for _ in range(8)]

    async def roundtrip(i: int, client: QuartClient) -> str:
        await client.post("/aset", form={"key": "user", "value": f"user{i}"})
        rv = await client.get("/get/user")
        return str(await rv.get_data(as_text=True))

    results = await asyncio.wait_for(
        asyncio.gather(*(roundtrip(i, c) for i, c in enumerate(clients))), timeout=30
    )
    assert results == [f"user{i}" for i in range(8)]
