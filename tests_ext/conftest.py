"""Flask extensions on quartlike: the shared fixtures of ``tests_ext/``.

These tests run in a pytest process of their own (``scripts/test`` runs
``pytest tests_ext`` after ``pytest tests``): the shim is installed below,
before anything imports ``flask``, so every ``import flask`` of this process,
the extensions' included, gives quartlike's sync face. The main suite imports
the real Flask for its differential tests, so the two cannot share a process.

Each extension has its own file, ``test_<extension>.py``, and exercises the
extension through a real app, on sync and ``async def`` views.
"""

from __future__ import annotations

import quartlike.flask_patch  # noqa: F401 - the shim, before anything imports flask

# isort: split

import collections.abc as cabc
import contextvars
import os
import socket
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import flask
import pytest
import uvicorn

from quartlike.flask import Flask
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request

# Everything below relies on it: fail the whole run at once if it is not so.
assert flask.__name__ == "quartlike.flask", "the extension shim is not installed"

#: The longest a subprocess (the ``quartlike`` command) may run, in seconds.
SUBPROCESS_TIMEOUT = 120
#: The longest a live server may take to start or stop, in seconds.
SERVER_TIMEOUT = 15
#: The longest the threads of :func:`concurrently` may take, in seconds.
THREAD_TIMEOUT = 30

T = t.TypeVar("T")


@pytest.fixture
def make_app(tmp_path: Path) -> cabc.Callable[..., Flask]:
    """Make a ``flask.Flask`` app (quartlike's) for a test: ``make_app(KEY=value, ...)``.

    The app has ``TESTING`` on, a ``SECRET_KEY`` and its instance folder in
    ``tmp_path``; the keyword arguments are more config values.
    """

    def make(import_name: str = "tests_ext_app", **config: t.Any) -> Flask:
        app = Flask(import_name, instance_path=str(tmp_path / "instance"))
        app.config.update(TESTING=True, SECRET_KEY="tests-ext-secret")
        app.config.update(config)
        return app

    return make


@pytest.fixture(autouse=True)
def leak_detector() -> cabc.Iterator[None]:
    """Fail a test that leaves an app or request context pushed."""
    yield
    context = contextvars.copy_context()
    leaked = [v for v in (context.get(_cv_app), context.get(_cv_request)) if v is not None]
    if leaked:
        pytest.fail(f"The test left contexts pushed: {leaked!r}", pytrace=False)


def _concurrently(*calls: cabc.Callable[[], T], timeout: float = THREAD_TIMEOUT) -> list[T]:
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results: list[t.Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: cabc.Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"concurrent calls still running after {timeout} s")
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def concurrently() -> cabc.Callable[..., list[t.Any]]:
    """Run the given callables at the same time, each in a thread; return their results.

    ``concurrently(lambda: client.get("/a"), lambda: client.get("/b"))``. The
    threads start together (a barrier); the first exception is raised, and
    threads not done after ``timeout`` seconds raise :class:`TimeoutError`.
    """
    return _concurrently


class LiveServer:
    """An app served by uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, app: t.Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        #: The server's address, ``http://127.0.0.1:<port>``.
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, lifespan="on", log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + SERVER_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("uvicorn stopped before it started serving")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start within {SERVER_TIMEOUT} s")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(SERVER_TIMEOUT)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"uvicorn did not stop within {SERVER_TIMEOUT} s")


@pytest.fixture
def serve() -> cabc.Iterator[cabc.Callable[[t.Any], str]]:
    """Serve an app over real HTTP on 127.0.0.1: ``url = serve(app)``; stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: t.Any) -> str:
        server = LiveServer(app)
        servers.append(server)
        server.start()
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def run_quartlike(tmp_path: Path) -> cabc.Callable[..., subprocess.CompletedProcess[str]]:
    """Run the ``quartlike`` command in a subprocess, in ``tmp_path`` (or ``cwd``).

    ``run_quartlike("db", "upgrade", app="myapp")`` sets ``QUARTLIKE_APP``;
    ``env`` adds environment variables. The output is text; the run is
    bounded by :data:`SUBPROCESS_TIMEOUT`.
    """

    def run(
        *args: str,
        app: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("QUARTLIKE_")}
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(cwd or tmp_path), environ.get("PYTHONPATH")) if p
        )
        if app is not None:
            environ["QUARTLIKE_APP"] = app
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "quartlike", *args],
            cwd=cwd or tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )

    return run
