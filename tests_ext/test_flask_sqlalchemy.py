"""Flask-SQLAlchemy on quartlike: models, rows written and read from sync and async views.

SQLAlchemy's ``Session`` is sync. Sync views use ``db.session`` as in Flask.
Async views run the database work in a worker, ``await run_sync(work)()``,
so the event loop is not blocked meanwhile. Flask-SQLAlchemy's scoped
session is keyed by the app context: one session per request, shared by the
request's threads (hooks, view, ``run_sync`` calls), and removed when the
request's app context is torn down.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import sqlite3
import threading
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import abort
from flask import request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.record_queries import get_recorded_queries
from flask_sqlalchemy.track_modifications import models_committed
from sqlalchemy import ForeignKey
from sqlalchemy import event
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from quartlike import run_sync
from quartlike.sync import on_event_loop
from quartlike.testing import QuartClient

#: How long the ``slow()`` SQL function sleeps, in seconds.
SLOW = 0.3
BARRIER_TIMEOUT = 10


class Ext(t.NamedTuple):
    app: Flask
    db: SQLAlchemy
    Author: t.Any
    Book: t.Any
    sessions: dict[str, list[Session]]
    barrier: threading.Barrier


def slow(value: t.Any) -> t.Any:
    time.sleep(SLOW)
    return value


@pytest.fixture
def ext(make_app: cabc.Callable[..., Flask], tmp_path: Path) -> cabc.Iterator[Ext]:
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'books.db'}",
        SQLALCHEMY_RECORD_QUERIES=True,
        SQLALCHEMY_TRACK_MODIFICATIONS=True,
    )
    db = SQLAlchemy(app)  # a declarative base of its own: each test has fresh models

    class Author(db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(unique=True)
        books: Mapped[list[Book]] = relationship(back_populates="author")

    class Book(db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]
        author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
        author: Mapped[Author] = relationship(back_populates="books")

    # The session each part of a request saw, by label.
    sessions: dict[str, list[Session]] = {}
    barrier = threading.Barrier(2, timeout=BARRIER_TIMEOUT)

    def seen(label: str) -> None:
        sessions.setdefault(label, []).append(db.session())

    with app.app_context():
        event.listen(
            db.engine,
            "connect",
            lambda connection, record: connection.create_function("slow", 1, slow),
        )
        db.create_all()
        ada = Author(name="Ada")
        db.session.add_all([ada, Book(title="Notes", author=ada)])
        db.session.commit()

    @app.before_request
    def before() -> None:
        seen("before")

    @app.post("/sync/authors/<name>/books")
    def sync_add_book(name: str) -> t.Any:
        author = db.session.scalar(db.select(Author).filter_by(name=name))
        if author is None:
            author = Author(name=name)
        db.session.add(Book(title=request.form["title"], author=author))
        db.session.commit()
        seen("view")
        return {"books": sorted(b.title for b in author.books)}, 201

    @app.post("/async/authors/<name>/books")
    async def async_add_book(name: str) -> t.Any:
        title = (await request.form)["title"]

        def add() -> list[str]:
            author = db.session.scalar(db.select(Author).filter_by(name=name))
            if author is None:
                author = Author(name=name)
            db.session.add(Book(title=title, author=author))
            db.session.commit()
            seen("view")
            return sorted(b.title for b in author.books)

        return {"books": await run_sync(add)()}, 201

    @app.get("/sync/authors/<name>")
    def sync_author(name: str) -> t.Any:
        author = db.first_or_404(db.select(Author).filter_by(name=name))
        return {"name": author.name, "books": [b.title for b in author.books]}

    @app.get("/async/authors/<name>")
    async def async_author(name: str) -> t.Any:
        def load() -> dict[str, t.Any]:
            author = db.first_or_404(db.select(Author).filter_by(name=name))
            return {"name": author.name, "books": [b.title for b in author.books]}

        return await run_sync(load)()

    @app.get("/sync/books")
    def sync_books() -> t.Any:
        page = db.paginate(db.select(Book).order_by(Book.title), per_page=2)
        return {"titles": [b.title for b in page.items], "total": page.total}

    @app.get("/async/books")
    async def async_books() -> t.Any:
        def titles() -> list[str]:
            return [b.title for b in Book.query.order_by(Book.title)]

        return {"titles": await run_sync(titles)()}

    @app.get("/sync/concurrent")
    def sync_concurrent() -> str:
        seen("view")
        barrier.wait()  # both requests are in flight, each with its session
        db.session.scalar(db.select(Author).filter_by(name="Ada"))
        return "ok"

    @app.get("/async/concurrent")
    async def async_concurrent() -> str:
        def work() -> None:
            seen("view")
            barrier.wait()
            db.session.scalar(db.select(Author).filter_by(name="Ada"))

        await run_sync(work)()
        return "ok"

    @app.get("/async/slow")
    async def async_slow() -> t.Any:
        def query() -> t.Any:
            return db.session.scalar(db.select(db.func.slow(db.func.count(Book.id))))

        return {"books": await run_sync(query)(), "queries": len(get_recorded_queries())}

    @app.get("/async/slow-on-the-loop")
    async def async_slow_on_the_loop() -> t.Any:
        assert on_event_loop()
        return {"books": db.session.scalar(db.select(db.func.slow(db.func.count(Book.id))))}

    @app.get("/abort")
    async def aborting() -> str:
        def work() -> None:
            seen("view")
            abort(409)

        await run_sync(work)()
        return "never"

    yield Ext(app, db, Author, Book, sessions, barrier)
    with app.app_context():
        db.engine.dispose()


def registry(ext: Ext) -> dict[t.Any, Session]:
    """The scoped session's live sessions, by scope (an app context's id)."""
    return t.cast("dict[t.Any, Session]", ext.db.session.registry.registry)  # type: ignore[attr-defined]


def rows(ext: Ext) -> list[tuple[str, str]]:
    connection = sqlite3.connect(ext.app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :])
    try:
        query = "select author.name, book.title from book join author on author.id = book.author_id"
        return sorted(connection.execute(query).fetchall())
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_rows_are_written(ext: Ext, kind: str) -> None:
    client = ext.app.test_client()
    response = client.post(f"/{kind}/authors/Ada/books", data={"title": "Sketch"})
    assert response.status_code == 201
    assert response.json == {"books": ["Notes", "Sketch"]}
    response = client.post(f"/{kind}/authors/Alan/books", data={"title": "Computable Numbers"})
    assert response.json == {"books": ["Computable Numbers"]}
    assert rows(ext) == [("Ada", "Notes"), ("Ada", "Sketch"), ("Alan", "Computable Numbers")]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_rows_are_read(ext: Ext, kind: str) -> None:
    client = ext.app.test_client()
    assert client.get(f"/{kind}/authors/Ada").json == {"name": "Ada", "books": ["Notes"]}
    assert client.get(f"/{kind}/authors/Nobody").status_code == 404


def test_paginate_and_the_legacy_query_api(ext: Ext) -> None:
    client = ext.app.test_client()
    for title in ("C", "A", "B"):
        client.post("/async/authors/Ada/books", data={"title": title})
    assert client.get("/sync/books?page=2").json == {"titles": ["C", "Notes"], "total": 4}
    assert client.get("/async/books").json == {"titles": ["A", "B", "C", "Notes"]}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_session_per_request_removed_at_teardown(ext: Ext, kind: str) -> None:
    client = ext.app.test_client()
    client.post(f"/{kind}/authors/Ada/books", data={"title": "One"})
    client.post(f"/{kind}/authors/Ada/books", data={"title": "Two"})
    before, view = ext.sessions["before"], ext.sessions["view"]
    # The hook (a worker thread) and the view (or its run_sync call) shared a session...
    assert before[0] is view[0] and before[1] is view[1]
    # ... each request had its own, and it is gone after the request.
    assert before[0] is not before[1]
    assert registry(ext) == {}
    assert not view[0].in_transaction() and len(view[0].identity_map) == 0


@pytest.mark.parametrize(
    "paths",
    [
        ("/sync/concurrent", "/sync/concurrent"),
        ("/async/concurrent", "/async/concurrent"),
        ("/sync/concurrent", "/async/concurrent"),
    ],
)
def test_concurrent_requests_do_not_share_a_session(
    ext: Ext, concurrently: cabc.Callable[..., list[t.Any]], paths: tuple[str, str]
) -> None:
    client = ext.app.test_client()
    responses = concurrently(*(lambda path=path: client.get(path) for path in paths))
    assert [r.text for r in responses] == ["ok", "ok"]
    first, second = ext.sessions["view"]
    assert first is not second
    assert sorted(map(id, ext.sessions["before"])) == sorted(map(id, ext.sessions["view"]))
    assert registry(ext) == {}


async def test_concurrent_requests_through_the_asgi_interface(ext: Ext) -> None:
    client = QuartClient(ext.app)
    responses = await asyncio.wait_for(
        asyncio.gather(client.get("/async/concurrent"), client.get("/sync/concurrent")),
        timeout=BARRIER_TIMEOUT * 2,
    )
    assert [r.status_code for r in responses] == [200, 200]
    first, second = ext.sessions["view"]
    assert first is not second
    assert registry(ext) == {}


def test_the_session_is_removed_after_an_error(ext: Ext) -> None:
    response = ext.app.test_client().get("/abort")
    assert response.status_code == 409
    assert len(ext.sessions["view"]) == 1
    assert registry(ext) == {}


def test_app_context_in_sync_code(ext: Ext) -> None:
    with ext.app.app_context():
        ext.db.session.add(ext.Book(title="Outside", author_id=1))
        ext.db.session.commit()
        assert len(registry(ext)) == 1
    assert registry(ext) == {}
    assert ("Ada", "Outside") in rows(ext)


async def test_app_context_in_async_code(ext: Ext) -> None:
    async with ext.app.app_context():

        def count() -> int:
            return len(ext.db.session.scalars(ext.db.select(ext.Book)).all())

        assert await run_sync(count)() == 1
    assert registry(ext) == {}


def test_models_committed_signal(ext: Ext) -> None:
    committed: list[tuple[str, str]] = []

    def receiver(sender: t.Any, changes: list[tuple[t.Any, str]]) -> None:
        committed.extend((type(model).__name__, change) for model, change in changes)

    with models_committed.connected_to(receiver, ext.app):
        ext.app.test_client().post("/async/authors/Grace/books", data={"title": "COBOL"})
    assert sorted(committed) == [("Author", "insert"), ("Book", "insert")]


class LoopStalls:
    """The longest the event loop went without running a 5 ms ticker."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.005
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - due)


async def measure(client: QuartClient, path: str) -> tuple[t.Any, float]:
    stalls = LoopStalls()
    ticker = asyncio.create_task(stalls.tick())
    try:
        await asyncio.sleep(0.02)
        response = await asyncio.wait_for(client.get(path), timeout=10)
        return await response.get_json(), stalls.worst
    finally:
        ticker.cancel()


async def test_database_work_in_run_sync_does_not_block_the_loop(ext: Ext) -> None:
    client = QuartClient(ext.app)
    start = time.perf_counter()
    body, worst = await measure(client, "/async/slow")
    assert time.perf_counter() - start >= SLOW
    assert body == {"books": 1, "queries": 1}  # g (recorded queries) is the request's
    assert worst < SLOW / 3


async def test_database_work_on_the_loop_blocks_it(ext: Ext) -> None:
    # What run_sync avoids: the same query made in the async view itself.
    client = QuartClient(ext.app)
    body, worst = await measure(client, "/async/slow-on-the-loop")
    assert body == {"books": 1}
    assert worst >= SLOW * 0.8
