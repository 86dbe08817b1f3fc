"""The SQLite database: one connection per app context, kept in ``g``."""

from __future__ import annotations

import sqlite3
import typing as t

import click

from .compat import current_app
from .compat import g
from .compat import with_appcontext


def get_db() -> sqlite3.Connection:
    """The connection of the current app context, opened on first use."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES)
        g.db.row_factory = sqlite3.Row
    return t.cast(sqlite3.Connection, g.db)


def close_db(error: BaseException | None = None) -> None:
    """Close the connection, if this app context opened one."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db() -> None:
    """Create the tables, dropping any existing data."""
    with current_app.open_resource("schema.sql") as f:
        get_db().executescript(f.read().decode("utf-8"))


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Clear the existing data and create new tables."""
    init_db()
    click.echo("Initialized the database.")


def init_app(app: t.Any) -> None:
    """Register the teardown callback and the ``init-db`` command on ``app``."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
