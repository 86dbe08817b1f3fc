"""Real servers for the slow tests: start one in a subprocess on a free loopback port,
wait until it answers, and stop it by PID.

Every child runs in a session of its own (its own process group), so that a
server which does not stop when signalled is killed together with any worker
processes it started. Every wait is bounded.

Two shapes of the same thing:

* :class:`Server` (and :func:`start_server`): the output goes to a log file that
  can be read at any time; ready means ``GET ready_path`` answered 200 (the
  test fails at once if the process exits first); :meth:`Server.stop` signals
  by PID and SIGKILLs the process group after a bounded wait. A server is a
  context manager that stops it.
* :func:`start_process`, :func:`wait_for` and :func:`stop_process`: the output
  comes through a text pipe, read once the process is stopped; for the tests of
  the ``quartlike`` command and ``app.run()``, which wait for a given answer
  (before and after a reload, say).

The apps the server tests write (:func:`write_app`) record what happens in
files of a ``markers`` folder next to them, found through ``$QL_MARKER_DIR``.
"""

from __future__ import annotations

import collections.abc as cabc
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import httpx
import pytest

#: Default bounds, in seconds: a server starting to answer, and exiting once signalled.
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

#: Makes a server's command line for the port it is to listen on.
Launcher = cabc.Callable[[int], list[str]]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(
    *pythonpath: str | Path, drop_prefix: str | None = None, **extra: str
) -> dict[str, str]:
    """This process's environment for a child: ``pythonpath`` ahead of ``$PYTHONPATH``,
    unbuffered output, and ``extra``. With ``drop_prefix``, the variables whose names
    start with it are left out.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if drop_prefix is None or not key.startswith(drop_prefix)
    }
    paths = os.pathsep.join(filter(None, [*map(str, pythonpath), env.get("PYTHONPATH")]))
    if paths:
        env["PYTHONPATH"] = paths
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


# -- the apps the server tests write --------------------------------------------------------


def write_app(folder: Path, module: str, source: str) -> Path:
    """Write the app module ``module`` into ``folder``, with an empty ``markers``
    folder; return ``folder``.
    """
    (folder / f"{module}.py").write_text(source)
    (folder / "markers").mkdir()
    return folder


def app_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a server for an app written by :func:`write_app`."""
    return child_env(folder, QL_MARKER_DIR=str(folder / "markers"), **extra)


def recorded(folder: Path) -> list[str]:
    """The events the app wrote, one a line, to ``markers/order`` so far."""
    path = folder / "markers" / "order"
    return path.read_text().splitlines() if path.exists() else []


def hypercorn_argv(target: str, port: int, *options: str) -> list[str]:
    """Hypercorn serving ``target`` (``module:attribute``) on 127.0.0.1."""
    return [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", target, *options]


def uvicorn_argv(target: str, port: int, *options: str) -> list[str]:
    """uvicorn serving ``target`` (``module:attribute``) on 127.0.0.1, lifespan on."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "on",
        *options,
    ]


def launchers(target: str) -> dict[str, Launcher]:
    """Hypercorn and uvicorn, by name, serving ``target``."""
    return {
        "hypercorn": lambda port: hypercorn_argv(target, port),
        "uvicorn": lambda port: uvicorn_argv(target, port),
    }


# -- a server logging to a file ---------------------------------------------------------------


class Server:
    """A server process started for one test; its output goes to a log file.

    ``log_path`` is ``cwd / "server-<port>.log"`` unless given. ``pass_fds`` are
    file descriptors the process inherits (a listening socket, say).
    """

    def __init__(
        self,
        argv: cabc.Sequence[str],
        *,
        port: int,
        cwd: Path,
        env: cabc.Mapping[str, str],
        log_path: Path | None = None,
        pass_fds: cabc.Sequence[int] = (),
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.stop_timeout = stop_timeout
        self.log_path = log_path if log_path is not None else cwd / f"server-{port}.log"
        self._log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=tuple(pass_fds),
                start_new_session=True,
            )
        except BaseException:
            self._log.close()
            raise

    @property
    def output(self) -> str:
        """Everything the server has written so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, path: str = "/", timeout: float = STARTUP_TIMEOUT) -> None:
        """Poll ``GET path`` until it answers 200; fail if the server exits or takes too long."""
        url = f"{self.base_url}{path}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"The server exited with {self.process.returncode} before it was ready:\n"
                    f"{self.output}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except (OSError, httpx.TransportError):
                pass
            time.sleep(0.1)
        pytest.fail(f"The server was not ready within {timeout} s:\n{self.output}")

    def wait_until(self, predicate: cabc.Callable[[], bool], what: str, timeout: float) -> None:
        """Poll ``predicate`` until it is true; fail, showing the output, after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"Timed out waiting for {what}:\n{self.output}")
            time.sleep(0.02)

    def wait_exit(self, timeout: float | None = None) -> int:
        """Wait for the process to exit by itself (``stop_timeout`` at most); its status."""
        timeout = self.stop_timeout if timeout is None else timeout
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"The server did not exit within {timeout} s:\n{self.output}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the process by PID; SIGKILL its group if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=self.stop_timeout)
        return self.process.returncode

    def close(self) -> None:
        """Stop the server, kill whatever is left of its process group, close the log."""
        try:
            self.stop()
        finally:
            # A worker left behind by the server would be in its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.close()


def start_server(
    argv: cabc.Sequence[str],
    *,
    port: int,
    cwd: Path,
    env: cabc.Mapping[str, str],
    ready_path: str = "/",
    timeout: float = STARTUP_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
    log_path: Path | None = None,
) -> Server:
    """Start a :class:`Server` and wait until it is ready (stopping it if it never is).

    Use it as a context manager: ``with start_server(...) as server:``.
    """
    server = Server(argv, port=port, cwd=cwd, env=env, log_path=log_path, stop_timeout=stop_timeout)
    try:
        server.wait_ready(ready_path, timeout)
    except BaseException:
        server.close()
        raise
    return server


# -- a process with piped output --------------------------------------------------------------


def start_process(
    argv: cabc.Sequence[str],
    cwd: Path,
    env: cabc.Mapping[str, str],
    *,
    stderr: int = subprocess.STDOUT,
) -> subprocess.Popen[str]:
    """Start ``argv`` with its output on a text pipe (its errors too, unless ``stderr``
    says otherwise: ``subprocess.PIPE`` for a pipe of their own).
    """
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
    )


def wait_for(url: str, expected: str | None = None, timeout: float = 20) -> httpx.Response:
    """Poll ``GET url`` until it answers (with the text ``expected``, if given)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError as e:
            last = e
        else:
            if expected is None or response.text == expected:
                return response
            last = response.text
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {expected!r} in {timeout} s (last: {last!r})")


def stop_process(proc: subprocess.Popen[str], *, group: bool = False) -> str:
    """SIGTERM the process by PID (its whole process group with ``group``); SIGKILL the
    group after a bounded wait. Returns what is left of its output (and closes the pipes).
    """
    if proc.poll() is None:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=5)
    return out or ""


def write_source(path: Path, source: str) -> None:
    """Write (dedented) ``source`` to ``path`` with a clearly newer mtime, for a reloader
    to notice whatever the clock resolution.
    """
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    later = time.time() + 2
    os.utime(path, (later, later))
