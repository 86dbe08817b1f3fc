"""A small blog with quartlike: templates, sessions, flashed messages and SQLite.

Serve it with ``hypercorn blog:app`` (or ``scripts/run-example blog`` from the
repository root), open http://127.0.0.1:5000/, register, log in and write.

- Accounts: passwords are hashed with :mod:`werkzeug.security`; the logged-in
  user's id is kept in the signed session cookie.
- Posts: everyone can read them; logged-in users write posts, and edit or
  delete their own (someone else's answers 403).
- Data: a SQLite file, ``blog.sqlite`` in the app's instance folder
  (``examples/blog/instance/``). ``quartlike --app blog init-db`` creates it
  afresh (deleting what was there); the app also creates it on first use.

The standard library's :mod:`sqlite3` blocks, so every query lives in a plain
function below and the async views call those through
:func:`~quartlike.run_sync`, which runs them in the app's thread pool: the
event loop keeps serving other requests meanwhile. Hashing a password is slow
on purpose, so it runs in the pool too. Each helper opens its own connection:
SQLite connections are cheap, and one connection is never shared between
threads.

Configuration comes, in order, from the defaults below, ``config.py`` in the
instance folder (if there is one), and environment variables prefixed with
``BLOG_``: set ``BLOG_SECRET_KEY`` to a long random value for anything but a
demo, and ``BLOG_DATABASE`` to keep the database elsewhere. The session cookie
is ``SameSite=Lax``, so other sites cannot make a visitor's browser submit
these forms with the visitor's session.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import dataclasses
import functools
import os
import re
import sqlite3
import threading
import typing as t

import click
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import current_app
from quartlike import flash
from quartlike import g
from quartlike import redirect
from quartlike import render_template
from quartlike import request
from quartlike import run_sync
from quartlike import session
from quartlike import url_for

P = t.ParamSpec("P")
R = t.TypeVar("R")
#: What the views return: a page, a page with a status, or a redirect.
Page = str | tuple[str, int] | Response

#: Usernames: letters, digits and ``._-``; passwords: at least this long.
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,40}")
MIN_PASSWORD = 8
MAX_TITLE = 200
MAX_BODY = 20_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT UNIQUE NOT NULL,
    password TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS post (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES user (id),
    created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
"""


# -- the database: plain, blocking functions, run in the thread pool -----------------------


@dataclasses.dataclass(frozen=True)
class User:
    id: int
    username: str


@dataclasses.dataclass(frozen=True)
class Post:
    id: int
    title: str
    body: str
    created: str
    author_id: int
    author: str


# Paths whose tables are known to exist in this process, so that the tables are
# checked once per database (and again if the file is deleted), not on every query.
_ready: set[str] = set()
_ready_lock = threading.Lock()


def init_db(path: str) -> None:
    """Create the tables at ``path``, dropping any that exist (and their data)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with _ready_lock, contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript("DROP TABLE IF EXISTS post;\nDROP TABLE IF EXISTS user;\n" + SCHEMA)
        _ready.add(path)


def ensure_db(path: str) -> None:
    """Create the database file and its tables if they are missing; keep any data."""
    if path in _ready and os.path.exists(path):
        return
    with _ready_lock:
        if path in _ready and os.path.exists(path):
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.executescript(SCHEMA)
        _ready.add(path)


@contextlib.contextmanager
def connect(path: str) -> cabc.Iterator[sqlite3.Connection]:
    """A connection to the database at ``path``, committed on success, always closed."""
    ensure_db(path)
    db = sqlite3.connect(path, timeout=10)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    try:
        with db:  # commits, or rolls back on an exception
            yield db
    finally:
        db.close()


def create_user(path: str, username: str, password: str, method: str = "scrypt") -> int | None:
    """Add a user, hashing the password with ``method``; ``None`` when the name is taken."""
    hashed = generate_password_hash(password, method)
    try:
        with connect(path) as db:
            cursor = db.execute(
                "INSERT INTO user (username, password) VALUES (?, ?)", (username, hashed)
            )
    except sqlite3.IntegrityError:
        return None
    return t.cast(int, cursor.lastrowid)


def check_login(path: str, username: str, password: str) -> User | None:
    """The user with this name and password, or ``None``."""
    with connect(path) as db:
        row = db.execute(
            "SELECT id, username, password FROM user WHERE username = ?", (username,)
        ).fetchone()
    if row is None or not check_password_hash(row["password"], password):
        return None
    return User(row["id"], row["username"])


def get_user(path: str, user_id: int) -> User | None:
    with connect(path) as db:
        row = db.execute("SELECT id, username FROM user WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else User(row["id"], row["username"])


_POSTS = (
    "SELECT p.id, title, body, created, author_id, username AS author"
    " FROM post p JOIN user u ON p.author_id = u.id"
)


def _post(row: sqlite3.Row) -> Post:
    return Post(
        row["id"], row["title"], row["body"], row["created"], row["author_id"], row["author"]
    )


def list_posts(path: str) -> list[Post]:
    """Every post, newest first."""
    with connect(path) as db:
        rows = db.execute(f"{_POSTS} ORDER BY created DESC, p.id DESC").fetchall()
    return [_post(row) for row in rows]


def get_post(path: str, post_id: int) -> Post | None:
    with connect(path) as db:
        row = db.execute(f"{_POSTS} WHERE p.id = ?", (post_id,)).fetchone()
    return None if row is None else _post(row)


def create_post(path: str, author_id: int, title: str, body: str) -> int:
    with connect(path) as db:
        cursor = db.execute(
            "INSERT INTO post (author_id, title, body) VALUES (?, ?, ?)", (author_id, title, body)
        )
    return t.cast(int, cursor.lastrowid)


def update_post(path: str, post_id: int, title: str, body: str) -> None:
    with connect(path) as db:
        db.execute("UPDATE post SET title = ?, body = ? WHERE id = ?", (title, body, post_id))


def delete_post(path: str, post_id: int) -> None:
    with connect(path) as db:
        db.execute("DELETE FROM post WHERE id = ?", (post_id,))


async def query(
    func: cabc.Callable[t.Concatenate[str, P], R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run the database helper ``func`` on the app's database, in the thread pool."""
    return await run_sync(func)(current_app.config["DATABASE"], *args, **kwargs)


# -- the web side ---------------------------------------------------------------------------


def current_user() -> User | None:
    return t.cast("User | None", g.get("user"))


def login_required(
    view: cabc.Callable[P, cabc.Awaitable[R]],
) -> cabc.Callable[P, cabc.Awaitable[R | Response]]:
    """Send visitors who are not logged in to the login page, and back afterwards."""

    @functools.wraps(view)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if current_user() is None:
            await flash("Please log in first.", "error")
            return redirect(url_for("login", next=request.full_path.rstrip("?")))
        return await view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the index (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("index")


async def post_for_author(post_id: int) -> Post:
    """The post, if the current user wrote it: 404 when missing, 403 when not theirs."""
    post = await query(get_post, post_id)
    if post is None:
        abort(404, description=f"There is no post {post_id}.")
    user = current_user()
    if user is None or post.author_id != user.id:
        abort(403, description="You can only change your own posts.")
    return post


def post_errors(title: str, body: str) -> list[str]:
    errors = []
    if not title:
        errors.append("A title is required.")
    elif len(title) > MAX_TITLE:
        errors.append(f"The title can have at most {MAX_TITLE} characters.")
    if len(body) > MAX_BODY:
        errors.append(f"The post can have at most {MAX_BODY} characters.")
    return errors


def create_app(
    config: cabc.Mapping[str, t.Any] | None = None, instance_path: str | None = None
) -> Quart:
    """Make the blog app; ``config`` overrides every other source of settings."""
    app = Quart(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",  # a demo value: set BLOG_SECRET_KEY (or SECRET_KEY in config.py)
        DATABASE=os.path.join(app.instance_path, "blog.sqlite"),
        # werkzeug.security's strongest; tests may choose a cheaper one.
        PASSWORD_HASH_METHOD="scrypt",
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("BLOG")
    if config is not None:
        app.config.update(config)

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create the database tables, deleting any existing data."""
        path = current_app.config["DATABASE"]
        init_db(path)
        click.echo(f"Initialized the database at {path}.")

    @app.before_serving
    async def open_database() -> None:
        # A server creates the database as it starts, so a database that cannot
        # be created stops it right away; the helpers also do it on first use.
        await run_sync(ensure_db)(app.config["DATABASE"])

    @app.before_request
    async def load_user() -> None:
        user_id = session.get("user_id")
        g.user = None if user_id is None else await query(get_user, user_id)
        if user_id is not None and g.user is None:
            session.clear()  # the account is gone (the database was reset)

    @app.context_processor
    async def limits() -> dict[str, int]:
        return {"max_title": MAX_TITLE, "max_body": MAX_BODY, "min_password": MIN_PASSWORD}

    @app.errorhandler(403)
    @app.errorhandler(404)
    async def error_page(error: HTTPException) -> tuple[str, int]:
        page: str = await render_template("error.html", error=error)
        return page, error.code or 500

    @app.get("/")
    async def index() -> str:
        posts = await query(list_posts)
        page: str = await render_template("index.html", posts=posts)
        return page

    @app.route("/register", methods=["GET", "POST"])
    async def register() -> Page:
        if request.method == "GET":
            page: str = await render_template("register.html")
            return page
        form = await request.form
        username = form.get("username", "").strip()
        password = form.get("password", "")
        method = app.config["PASSWORD_HASH_METHOD"]
        if not USERNAME_PATTERN.fullmatch(username):
            error = "Usernames have 1 to 40 letters, digits, dots, dashes or underscores."
        elif len(password) < MIN_PASSWORD:
            error = f"Passwords have at least {MIN_PASSWORD} characters."
        elif await query(create_user, username, password, method) is None:
            error = f"The username {username} is already taken."
        else:
            await flash(f"Welcome, {username}! You can log in now.", "success")
            return redirect(url_for("login"))
        await flash(error, "error")
        page = await render_template("register.html", username=username)
        return page, 400

    @app.route("/login", methods=["GET", "POST"])
    async def login() -> Page:
        if request.method == "GET":
            page: str = await render_template("login.html", next=request.args.get("next", ""))
            return page
        form = await request.form
        username = form.get("username", "").strip()
        user = await query(check_login, username, form.get("password", ""))
        if user is None:
            await flash("Incorrect username or password.", "error")
            page = await render_template("login.html", username=username, next=form.get("next"))
            return page, 400
        session.clear()  # a fresh session for the new login
        session["user_id"] = user.id
        await flash(f"Logged in as {user.username}.", "success")
        return redirect(safe_next(form.get("next")))

    @app.post("/logout")
    async def logout() -> Response:
        session.clear()
        await flash("Logged out.", "success")
        return redirect(url_for("index"))

    @app.route("/create", methods=["GET", "POST"])
    @login_required
    async def create() -> Page:
        if request.method == "GET":
            page: str = await render_template("post_form.html", post=None)
            return page
        form = await request.form
        title, body = form.get("title", "").strip(), form.get("body", "").strip()
        errors = post_errors(title, body)
        if errors:
            for error in errors:
                await flash(error, "error")
            page = await render_template("post_form.html", post=None, title=title, body=body)
            return page, 400
        user = current_user()
        assert user is not None
        await query(create_post, user.id, title, body)
        await flash("Your post is published.", "success")
        return redirect(url_for("index"))

    @app.route("/<int:post_id>/edit", methods=["GET", "POST"])
    @login_required
    async def edit(post_id: int) -> Page:
        post = await post_for_author(post_id)
        if request.method == "GET":
            page: str = await render_template(
                "post_form.html", post=post, title=post.title, body=post.body
            )
            return page
        form = await request.form
        title, body = form.get("title", "").strip(), form.get("body", "").strip()
        errors = post_errors(title, body)
        if errors:
            for error in errors:
                await flash(error, "error")
            page = await render_template("post_form.html", post=post, title=title, body=body)
            return page, 400
        await query(update_post, post_id, title, body)
        await flash("Your post is updated.", "success")
        return redirect(url_for("index"))

    @app.post("/<int:post_id>/delete")
    @login_required
    async def delete(post_id: int) -> Response:
        await post_for_author(post_id)
        await query(delete_post, post_id)
        await flash("Your post is deleted.", "success")
        return redirect(url_for("index"))

    return app


app = create_app()
