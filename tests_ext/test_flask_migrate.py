"""Flask-Migrate on quartlike: ``quartlike db init / migrate / upgrade / downgrade``.

Flask-Migrate adds its ``db`` group to ``app.cli``; its commands run through
the ``quartlike`` command in a subprocess (``QUARTLIKE_APP``), against a
SQLite file in ``tmp_path``. Flask extensions that register commands in the
``flask.commands`` entry point group instead are offered by the ``quartlike``
command once the shim is installed: checked with a distribution made in
``tmp_path``.
"""

from __future__ import annotations

import collections.abc as cabc
import sqlite3
import subprocess
import textwrap
import typing as t
from pathlib import Path

import click
import flask_migrate
import pytest
from flask import Flask
from flask import g
from flask.cli import with_appcontext
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

Run = cabc.Callable[..., subprocess.CompletedProcess[str]]

APP = """
import quartlike.flask_patch  # noqa: F401

import os

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.abspath("notes.db")
db = SQLAlchemy(app)
migrate = Migrate(app, db)


class Note(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]
    if os.environ.get("NOTES_V2"):
        pinned: Mapped[bool] = mapped_column(default=False)


@app.get("/notes")
async def notes():
    return {"count": db.session.query(Note).count()}
"""


def tables(path: Path) -> dict[str, list[str]]:
    """The tables of the SQLite database at ``path`` and their columns."""
    connection = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in connection.execute("select name from sqlite_master where type = 'table'")
        ]
        return {
            name: [row[1] for row in connection.execute(f"pragma table_info({name})")]
            for name in names
        }
    finally:
        connection.close()


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "notesapp.py").write_text(APP, encoding="utf-8")
    return tmp_path


@pytest.mark.slow  # subprocesses
def test_init_migrate_upgrade_downgrade(run_quartlike: Run, app_dir: Path) -> None:
    database = app_dir / "notes.db"
    output = ok(run_quartlike("db", "init", app="notesapp"))
    assert (app_dir / "migrations" / "env.py").is_file()
    assert "Generating" in output

    output = ok(run_quartlike("db", "migrate", "-m", "notes", app="notesapp"))
    assert "Detected added table 'note'" in output
    [first] = (app_dir / "migrations" / "versions").glob("*_notes.py")

    ok(run_quartlike("db", "upgrade", app="notesapp"))
    assert tables(database) == {"alembic_version": ["version_num"], "note": ["id", "text"]}
    assert first.name.split("_")[0] in ok(run_quartlike("db", "current", app="notesapp"))

    # A new column: a second revision, applied, then rolled back.
    v2 = {"NOTES_V2": "1"}
    output = ok(run_quartlike("db", "migrate", "-m", "pinned", app="notesapp", env=v2))
    assert "Detected added column 'note.pinned'" in output
    ok(run_quartlike("db", "upgrade", app="notesapp", env=v2))
    assert tables(database)["note"] == ["id", "text", "pinned"]
    history = ok(run_quartlike("db", "history", app="notesapp"))
    assert "-> " in history and "pinned" in history and "notes" in history

    ok(run_quartlike("db", "downgrade", app="notesapp"))
    assert tables(database)["note"] == ["id", "text"]


@pytest.mark.slow  # subprocesses
def test_db_group_options_reach_the_subcommands(run_quartlike: Run, app_dir: Path) -> None:
    # ``db -d DIR`` sets g.directory in the group's callback; the subcommand
    # reads it, so both must run in one app context (as in Flask).
    ok(run_quartlike("db", "-d", "schema", "init", app="notesapp"))
    assert (app_dir / "schema" / "env.py").is_file()
    assert not (app_dir / "migrations").exists()
    ok(run_quartlike("db", "-d", "schema", "migrate", "-m", "x", app="notesapp"))
    ok(run_quartlike("db", "-d", "schema", "upgrade", app="notesapp"))
    assert "note" in tables(app_dir / "notes.db")


@pytest.mark.slow  # subprocesses
def test_db_is_listed_in_help(run_quartlike: Run, app_dir: Path) -> None:
    output = ok(run_quartlike("--help", app="notesapp"))
    assert "db " in output and "Perform database migrations." in output
    output = ok(run_quartlike("db", "--help", app="notesapp"))
    for command in ("init", "migrate", "upgrade", "downgrade", "history"):
        assert command in output


# Flask-Migrate's env.py calls db.get_engine(), which Flask-SQLAlchemy 3.1 deprecates
# (the same on Flask; the subprocess tests show the warning is harmless).
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_the_api_and_the_cli_runner_in_process(
    make_app: cabc.Callable[..., Flask], tmp_path: Path
) -> None:
    database = tmp_path / "inproc.db"
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    db = SQLAlchemy(app)
    Migrate(app, db, directory=str(tmp_path / "migrations"))

    class Item(db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "init"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        flask_migrate.migrate(message="items")
        flask_migrate.upgrade()
    assert tables(database)["item"] == ["id"]
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "item" not in tables(database)


def test_with_appcontext_on_a_group_keeps_one_app_context(
    make_app: cabc.Callable[..., Flask],
) -> None:
    app = make_app()
    torn_down: list[str] = []

    @app.teardown_appcontext
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(getattr(g, "where", "?"))

    @click.group()
    @click.option("--where", default="group")
    @with_appcontext
    def tool(where: str) -> None:
        g.where = where

    @tool.command()
    @with_appcontext
    def show() -> None:
        click.echo(f"sub sees {g.where}")

    @tool.command()
    @with_appcontext
    async def ashow() -> None:
        click.echo(f"async sub sees {g.where}")

    app.cli.add_command(tool)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tool", "--where", "here", "show"])
    assert result.exit_code == 0, result.output
    assert result.output == "sub sees here\n"
    result = runner.invoke(args=["tool", "ashow"])
    assert result.exit_code == 0, result.output
    assert result.output == "async sub sees group\n"
    # One app context per invocation, torn down once, after the subcommand.
    assert torn_down == ["here", "group"]


ENTRY_POINT_MODULE = '''
import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("hello-ext")
@with_appcontext
def hello():
    """A command of a Flask extension."""
    app = current_app._get_current_object()
    click.echo(f"hello from {type(app).__module__}.{type(app).__name__}")
'''

SHIM_APP = """
import quartlike.flask_patch  # noqa: F401
from flask import Flask
app = Flask(__name__)
"""

PLAIN_APP = """
import sys
from quartlike import Quart
app = Quart(__name__)
@app.cli.command()
def flask_imported():
    print("flask imported:", "flask" in sys.modules)
"""


@pytest.fixture
def extension_dist(tmp_path: Path) -> dict[str, str]:
    """A distribution registering a ``flask.commands`` entry point, on ``PYTHONPATH``."""
    site = tmp_path / "site"
    dist_info = site / "fake_flask_ext-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-flask-ext\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[flask.commands]\nhello-ext = fake_flask_ext:hello\n", encoding="utf-8"
    )
    (site / "fake_flask_ext.py").write_text(ENTRY_POINT_MODULE, encoding="utf-8")
    (tmp_path / "shimapp.py").write_text(textwrap.dedent(SHIM_APP), encoding="utf-8")
    (tmp_path / "plainapp.py").write_text(textwrap.dedent(PLAIN_APP), encoding="utf-8")
    return {"PYTHONPATH": f"{tmp_path}:{site}"}


@pytest.mark.slow  # subprocesses
def test_flask_commands_entry_points_load_with_the_shim(
    run_quartlike: Run, extension_dist: dict[str, str]
) -> None:
    output = ok(run_quartlike("hello-ext", app="shimapp", env=extension_dist))
    assert output.strip() == "hello from quartlike.flask.app.Flask"
    assert "hello-ext" in ok(run_quartlike("--help", app="shimapp", env=extension_dist))


@pytest.mark.slow  # subprocesses
def test_flask_commands_entry_points_are_not_loaded_without_the_shim(
    run_quartlike: Run, extension_dist: dict[str, str]
) -> None:
    assert "hello-ext" not in ok(run_quartlike("--help", app="plainapp", env=extension_dist))
    result = run_quartlike("hello-ext", app="plainapp", env=extension_dist)
    assert result.returncode == 2
    assert "No such command 'hello-ext'" in result.stderr
    # Loading them would have imported the real Flask.
    output = ok(run_quartlike("flask-imported", app="plainapp", env=extension_dist))
    assert output.strip() == "flask imported: False"


def test_the_migrate_extension_is_registered(make_app: cabc.Callable[..., Flask]) -> None:
    app = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    db = SQLAlchemy(app)
    migrate = Migrate(app, db)
    config = t.cast(t.Any, app.extensions["migrate"])
    assert config.migrate is migrate and config.db is db
    assert "db" in app.cli.list_commands(click.Context(app.cli))
