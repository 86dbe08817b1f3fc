"""Fixtures for the shelf example: the app on a fresh SQLite file, and its sync client.

The shim comes first, as in the app: the extensions import ``flask``.
"""

from __future__ import annotations

import quartlike.flask_patch  # noqa: F401 - before anything imports flask

# isort: split

import collections.abc as cabc
from pathlib import Path

import pytest

import extensions
from quartlike.flask import Flask
from quartlike.flask.testing import FlaskClient


@pytest.fixture
def app(tmp_path: Path) -> cabc.Iterator[Flask]:
    app = extensions.create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shelf.sqlite'}",
        }
    )
    with app.app_context():
        extensions.db.create_all()
    yield app
    with app.app_context():
        extensions.db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
