from __future__ import annotations

import sqlite3
import typing as t

import pytest


def test_get_db_is_one_connection_per_context_and_closed_after(app: t.Any, get_db: t.Any) -> None:
    with app.app_context():
        db = get_db()
        assert db is get_db()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        db.execute("SELECT 1")


def test_init_db_command(runner: t.Any, app: t.Any, get_db: t.Any) -> None:
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized the database." in result.output
    with app.app_context():
        assert get_db().execute("SELECT COUNT(*) FROM note").fetchone()[0] == 0
