"""A reading list on quartlike, built with Flask-Login, Flask-WTF and Flask-SQLAlchemy.

Serve it with ``hypercorn extensions:app`` (or ``scripts/run-example extensions``
from the repository root), open http://127.0.0.1:5000/, register, and add the
books you are reading.

The three extensions are Flask's own, unchanged: the first import below,
``quartlike.flask_patch``, makes their ``import flask`` give quartlike's sync
face (see docs/flask-extensions.rst). The views are a mix of plain ``def``
views, which run in the app's thread pool and use the extensions exactly as
in Flask, and ``async def`` views, which keep the event loop free:

- Database work in an async view goes through :func:`~quartlike.run_sync`
  (``await run_sync(fn)(...)``): SQLAlchemy's session is sync, so the work
  runs in the pool while the loop serves other requests. Flask-SQLAlchemy's
  session belongs to the request (its app context), whichever thread uses it,
  and is removed when the request ends.
- A Flask-WTF form reads ``request.form`` when it is made, so an async view
  makes it in the pool too: ``form = await run_sync(LoginForm)()``.
- ``login_required`` works on async views as it is. The user loader queries
  the database, so a sync ``before_request`` hook loads the user in the pool
  before any view runs; ``current_user`` is then free to use anywhere.
- ``CSRFProtect`` checks every form post, and the JSON API's posts (the token
  in an ``X-CSRFToken`` header, as ``GET /api/token`` gives it).

Data: a SQLite file, ``shelf.sqlite`` in the instance folder (or
``SQLALCHEMY_DATABASE_URI``); ``quartlike --app extensions init-db`` creates the
tables, and the app creates them at startup if they are missing. Set
``SHELF_SECRET_KEY`` to a long random value for anything but a demo.
"""

from __future__ import annotations

import quartlike.flask_patch  # noqa: F401 - first: the extensions below import flask

# isort: split

import os
import typing as t

import click
from flask_login import LoginManager
from flask_login import UserMixin
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from quartlike import run_sync
from quartlike.flask import Flask
from quartlike.flask import abort
from quartlike.flask import flash
from quartlike.flask import redirect
from quartlike.flask import render_template
from quartlike.flask import request
from quartlike.flask import url_for

if t.TYPE_CHECKING:
    from quartlike.flask.typing import ResponseReturnValue

db = SQLAlchemy()
login_manager = LoginManager()
csrf = CSRFProtect()


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str]


class Book(db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    reader_id: Mapped[int] = mapped_column(ForeignKey("user.id"))


class AccountForm(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=40)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8)])


class BookForm(FlaskForm):  # type: ignore[misc]
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])


# -- the database work (sync: called by sync views, and by async views through run_sync) --


def find_user(name: str) -> User | None:
    return t.cast("User | None", db.session.scalar(db.select(User).filter_by(name=name)))


def create_user(name: str, password: str) -> User | None:
    """The new user, or ``None`` if the name is taken."""
    if find_user(name) is not None:
        return None
    user = User(name=name, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.commit()
    return user


def check_login(name: str, password: str) -> User | None:
    user = find_user(name)
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


def books_of(reader_id: int) -> list[dict[str, t.Any]]:
    query = db.select(Book).filter_by(reader_id=reader_id).order_by(Book.id)
    return [{"id": b.id, "title": b.title} for b in db.session.scalars(query)]


def add_book(reader_id: int, title: str) -> dict[str, t.Any]:
    book = Book(title=title, reader_id=reader_id)
    db.session.add(book)
    db.session.commit()
    return {"id": book.id, "title": book.title}


def remove_book(reader_id: int, book_id: int) -> None:
    """Delete the reader's book ``book_id``: 404 if there is no such book of theirs."""
    book = db.get_or_404(Book, book_id)
    if book.reader_id != reader_id:
        abort(404)
    db.session.delete(book)
    db.session.commit()


def count_books() -> int:
    return t.cast(int, db.session.scalar(db.select(db.func.count(Book.id))))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return t.cast("User | None", db.session.get(User, int(user_id)))


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    """The app; ``config`` overrides the defaults (a test's database, say)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SHELF_SECRET_KEY", "dev-only-secret"),
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "shelf.sqlite"),
    )
    app.config.update(config or {})
    os.makedirs(app.instance_path, exist_ok=True)
    db.init_app(app)  # type: ignore[arg-type] # typed for flask.Flask, which this is at run time
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "login"
    login_manager.login_message = "Log in to see your shelf."

    @app.before_serving
    async def create_tables() -> None:
        await run_sync(db.create_all)()

    @app.before_request
    def load_current_user() -> None:
        # In the pool: the user loader queries the database.
        current_user._get_current_object()

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (keeping what is there)."""
        db.create_all()
        click.echo(f"Initialized {db.engine.url.database}")

    app.add_url_rule("/", view_func=index)
    app.add_url_rule("/register", view_func=register, methods=["GET", "POST"])
    app.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    app.add_url_rule("/logout", view_func=logout, methods=["POST"])
    app.add_url_rule("/books", view_func=books, methods=["GET", "POST"])
    app.add_url_rule("/api/token", view_func=api_token)
    app.add_url_rule("/api/books", view_func=api_books)
    app.add_url_rule("/api/books", view_func=api_add_book, methods=["POST"])
    app.add_url_rule("/api/books/<int:book_id>", view_func=api_remove_book, methods=["DELETE"])
    return app


# -- views ------------------------------------------------------------------------------


async def index() -> str:
    """Public: greets the reader (``current_user`` was loaded by the hook)."""
    total = await run_sync(count_books)()
    return t.cast(str, await render_template("index.html", total=total))  # type: ignore[misc]


def register() -> ResponseReturnValue:
    """Sync: Flask-WTF and Flask-SQLAlchemy exactly as in Flask."""
    form = AccountForm()
    if form.validate_on_submit():
        user = create_user(form.name.data, form.password.data)
        if user is not None:
            login_user(user)
            flash(f"Welcome, {user.name}!")
            return redirect(url_for("books"))
        form.name.errors.append("That name is taken.")
    return render_template("account.html", form=form, title="Register")


async def login() -> ResponseReturnValue:
    """Async: the form is made and validated in the pool, and so is the query."""
    form = await run_sync(AccountForm)()
    if await run_sync(form.validate_on_submit)():
        user = await run_sync(check_login)(form.name.data, form.password.data)
        if user is not None:
            login_user(user)
            target = request.args.get("next", "")
            # Only a path of this site: never an open redirect.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("books")
            return redirect(target)
        form.password.errors.append("Wrong name or password.")
    return t.cast(
        str,
        await render_template("account.html", form=form, title="Log in"),  # type: ignore[misc]
    )


@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash("Logged out.")
    return redirect(url_for("index"))


@login_required
def books() -> ResponseReturnValue:
    """Sync: the reader's books, and a form to add one."""
    form = BookForm()
    if form.validate_on_submit():
        add_book(current_user.id, form.title.data)
        return redirect(url_for("books"))
    return render_template("books.html", form=form, books=books_of(current_user.id))


async def api_token() -> dict[str, str]:
    """The CSRF token, for the ``X-CSRFToken`` header of the API's posts."""
    return {"csrf_token": generate_csrf()}


@login_required
async def api_books() -> dict[str, t.Any]:
    return {"books": await run_sync(books_of)(current_user.id)}


@login_required
async def api_add_book() -> tuple[dict[str, t.Any], int]:
    data = await request.get_json(silent=True)
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not 0 < len(title.strip()) <= 200:
        return {"error": "'title' must be a non-empty string of at most 200 characters"}, 400
    return await run_sync(add_book)(current_user.id, title.strip()), 201


@login_required
async def api_remove_book(book_id: int) -> tuple[str, int]:
    await run_sync(remove_book)(current_user.id, book_id)
    return "", 204


app = create_app()
