"""Flask-style fixtures, run once per backend: quartlike's sync face and real Flask.

The ``backend`` fixture imports the app package afresh with
``FLASK_PORT_BACKEND`` set, so every test below runs twice, as
``test_x[quartlike]`` and ``test_x[flask]``, against the same code.
"""

from __future__ import annotations

import collections.abc as cabc
import importlib
import os
import sys
import tempfile
import types
import typing as t
from pathlib import Path

import pytest

BACKENDS = ["quartlike", "flask"]
PACKAGE = "flask_port"
DATA_SQL = (Path(__file__).parent / "data.sql").read_text()


def _forget_package() -> None:
    for name in list(sys.modules):
        if name == PACKAGE or name.startswith(f"{PACKAGE}."):
            del sys.modules[name]


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> cabc.Iterator[types.ModuleType]:
    """The app package, imported for one backend."""
    monkeypatch.setenv("FLASK_PORT_BACKEND", request.param)
    _forget_package()
    package = importlib.import_module(PACKAGE)
    importlib.import_module(f"{PACKAGE}.db")
    yield package
    _forget_package()


@pytest.fixture
def flask(backend: types.ModuleType) -> types.ModuleType:
    """The framework module in use: ``quartlike.flask`` or ``flask``."""
    return t.cast(types.ModuleType, backend.compat.flask)


@pytest.fixture
def app(backend: types.ModuleType) -> cabc.Iterator[t.Any]:
    """A new app with a fresh database for each test."""
    db_fd, db_path = tempfile.mkstemp()
    app = backend.create_app({"TESTING": True, "DATABASE": db_path})
    with app.app_context():
        backend.db.init_db()
        backend.db.get_db().executescript(DATA_SQL)
    yield app
    os.close(db_fd)
    os.unlink(db_path)


@pytest.fixture
def client(app: t.Any) -> t.Any:
    return app.test_client()


@pytest.fixture
def runner(app: t.Any) -> t.Any:
    return app.test_cli_runner()


@pytest.fixture
def get_db(backend: types.ModuleType) -> t.Any:
    return backend.db.get_db


class AuthActions:
    def __init__(self, client: t.Any) -> None:
        self._client = client

    def login(self, username: str = "test", password: str = "test") -> t.Any:
        return self._client.post("/auth/login", data={"username": username, "password": password})

    def logout(self) -> t.Any:
        return self._client.get("/auth/logout")


@pytest.fixture
def auth(client: t.Any) -> AuthActions:
    return AuthActions(client)
