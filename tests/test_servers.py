"""quartlike behind real ASGI servers: Hypercorn, uvicorn, and ``app.run()``.

Each test writes a small app module into its temporary folder, starts a
server for it in a subprocess on a free loopback port, talks HTTP to it with
httpx, and stops it by PID (SIGTERM, then SIGKILL after a bounded wait).
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
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

#: Seconds a server gets to start answering, and to exit once signalled.
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
#: The body size limit of the app under test.
LIMIT = 1024
STREAM_CHUNKS = [f"chunk {n}\n".encode() for n in range(1, 6)]

APP_MODULE = "ql_server_app"
APP_SOURCE = textwrap.dedent(
    f'''
    """The app the server tests run (written by tests/test_servers.py)."""

    from __future__ import annotations

    import asyncio
    import os
    from pathlib import Path

    from quartlike import Quart
    from quartlike import request

    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = {LIMIT}
    markers = Path(os.environ["QL_MARKER_DIR"])


    @app.before_serving
    async def started() -> None:
        if os.environ.get("QL_FAIL_STARTUP"):
            raise RuntimeError("startup refused by the test app")
        (markers / "started").write_text(str(os.getpid()))


    @app.after_serving
    async def stopped() -> None:
        (markers / "stopped").write_text(str(os.getpid()))


    @app.route("/")
    async def index() -> str:
        return "Hello from a real server"


    @app.route("/json")
    def json_view() -> dict[str, object]:
        return {{"served": True, "numbers": [1, 2, 3]}}


    @app.route("/stream")
    async def stream() -> object:
        async def chunks():
            for chunk in {STREAM_CHUNKS!r}:
                yield chunk
                await asyncio.sleep(0.15)

        return chunks(), {{"Content-Type": "text/plain"}}


    @app.route("/upload", methods=["POST"])
    async def upload() -> dict[str, int]:
        return {{"received": len(await request.get_data())}}
    '''
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A server process started for one test; its output goes to a log file."""

    def __init__(self, args: list[str], cwd: Path, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = cwd / f"server-{port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that a server which ignores SIGTERM can be
            # killed together with any worker processes it started.
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        """Poll until the port accepts connections and GET / answers, or fail."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"The server exited with {self.process.returncode} before it was ready:\n"
                    f"{self.output}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                response = httpx.get(f"{self.base_url}/", timeout=2)
            except (OSError, httpx.TransportError):
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                return
            time.sleep(0.1)
        pytest.fail(f"The server was not ready within {STARTUP_TIMEOUT} s:\n{self.output}")

    def wait_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"The server did not exit within {timeout} s:\n{self.output}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Signal the process by PID; SIGKILL it if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        return self.process.returncode

    def close(self) -> None:
        self.stop()
        self._log.close()


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / f"{APP_MODULE}.py").write_text(APP_SOURCE)
    (tmp_path / "markers").mkdir()
    return tmp_path


def server_env(app_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(app_dir), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["QL_MARKER_DIR"] = str(app_dir / "markers")
    env.pop("QL_FAIL_STARTUP", None)
    env.update(extra)
    return env


def hypercorn_args(port: int) -> list[str]:
    return [sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}", f"{APP_MODULE}:app"]


def uvicorn_args(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"{APP_MODULE}:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "on",
    ]


def run_script_args(port: int) -> list[str]:
    code = f"from {APP_MODULE} import app\napp.run(port={port})\n"
    return [sys.executable, "-c", code]


LAUNCHERS: dict[str, cabc.Callable[[int], list[str]]] = {
    "hypercorn": hypercorn_args,
    "uvicorn": uvicorn_args,
}


@contextlib.contextmanager
def running(
    launcher: cabc.Callable[[int], list[str]], app_dir: Path, **env: str
) -> cabc.Iterator[Server]:
    port = free_port()
    server = Server(launcher(port), app_dir, port, server_env(app_dir, **env))
    try:
        server.wait_ready()
        yield server
    finally:
        server.close()


@pytest.fixture(params=sorted(LAUNCHERS))
def server(request: pytest.FixtureRequest, app_dir: Path) -> cabc.Iterator[Server]:
    with running(LAUNCHERS[request.param], app_dir) as server:
        yield server


# -- the core checks, against every server ---------------------------------------------


def test_get_index(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/", timeout=5)
    assert response.status_code == 200
    assert response.text == "Hello from a real server"
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-length"] == str(len(response.content))


def test_json_from_a_sync_view(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/json", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"served": True, "numbers": [1, 2, 3]}


def test_unknown_path_is_404(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/no/such/page", timeout=5)
    assert response.status_code == 404
    assert "Not Found" in response.text


def test_stream_arrives_in_chunks(server: Server) -> None:
    received: list[bytes] = []
    arrived: list[float] = []
    with httpx.stream("GET", f"{server.base_url}/stream", timeout=10) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        for data in response.iter_raw():
            received.append(data)
            arrived.append(time.monotonic())
    assert b"".join(received) == b"".join(STREAM_CHUNKS)
    # The app pauses between chunks; a buffered response would come in one piece.
    assert len(received) >= 3
    assert arrived[-1] - arrived[0] >= 0.3


def test_body_within_the_limit_is_read(server: Server) -> None:
    with httpx.Client(timeout=5) as client:
        sized = client.post(f"{server.base_url}/upload", content=b"x" * LIMIT)
        chunked = client.post(f"{server.base_url}/upload", content=iter([b"y" * 600, b"z" * 400]))
    assert sized.status_code == 200
    assert sized.json() == {"received": LIMIT}
    assert chunked.status_code == 200
    assert chunked.json() == {"received": 1000}


def test_body_over_the_limit_with_content_length_is_413(server: Server) -> None:
    response = httpx.post(f"{server.base_url}/upload", content=b"x" * (2 * LIMIT), timeout=5)
    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    def body() -> cabc.Iterator[bytes]:
        yield b"x" * 1000
        yield b"x" * 1000

    with httpx.Client(timeout=5) as client:
        request = client.build_request("POST", f"{server.base_url}/upload", content=body())
        assert request.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in request.headers
        response = client.send(request)
    assert response.status_code == 413


@pytest.mark.parametrize("name", sorted(LAUNCHERS))
def test_lifespan_hooks_run_at_start_and_on_sigterm(name: str, app_dir: Path) -> None:
    markers = app_dir / "markers"
    with running(LAUNCHERS[name], app_dir) as server:
        assert (markers / "started").exists()
        assert not (markers / "stopped").exists()
        returncode = server.stop(signal.SIGTERM)
    # uvicorn re-raises the signal it handled once it has shut down gracefully,
    # so its exit status is "terminated by SIGTERM"; Hypercorn exits with 0.
    graceful = {0, -signal.SIGTERM} if name == "uvicorn" else {0}
    assert returncode in graceful, server.output
    assert (markers / "stopped").exists(), server.output


# -- a failing before_serving hook ----------------------------------------------------


def run_until_exit(args: list[str], app_dir: Path, port: int) -> tuple[int, str]:
    server = Server(args, app_dir, port, server_env(app_dir, QL_FAIL_STARTUP="1"))
    try:
        returncode = server.wait_exit(STARTUP_TIMEOUT)
    finally:
        server.close()
    return returncode, server.output


def test_failing_before_serving_makes_hypercorn_exit_non_zero(app_dir: Path) -> None:
    # With --workers 0 Hypercorn serves in its own process, so the startup error
    # decides its exit status.
    port = free_port()
    returncode, output = run_until_exit([*hypercorn_args(port), "--workers", "0"], app_dir, port)
    assert returncode != 0, output
    assert "RuntimeError: startup refused by the test app" in output
    assert not (app_dir / "markers" / "started").exists()


def test_failing_before_serving_stops_hypercorn_workers(app_dir: Path) -> None:
    # With worker processes (the default) the worker dies with the error and
    # Hypercorn stops instead of serving. Hypercorn 0.18 then reports status 0:
    # its parent process loses the worker's exit code, so only the exit and the
    # message are checked here.
    port = free_port()
    returncode, output = run_until_exit(hypercorn_args(port), app_dir, port)
    assert returncode >= 0, output  # exited by itself, not killed
    assert "RuntimeError: startup refused by the test app" in output
    assert not (app_dir / "markers" / "started").exists()


def test_failing_before_serving_makes_app_run_exit_non_zero(app_dir: Path) -> None:
    port = free_port()
    returncode, output = run_until_exit(run_script_args(port), app_dir, port)
    assert returncode != 0, output
    assert "RuntimeError: startup refused by the test app" in output


# -- app.run() ------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_app_run_serves_until_signalled(sig: signal.Signals, app_dir: Path) -> None:
    with running(run_script_args, app_dir) as server:
        response = httpx.get(f"{server.base_url}/", timeout=5)
        assert response.status_code == 200
        assert response.text == "Hello from a real server"
        returncode = server.stop(sig)
    assert returncode == 0, server.output
    assert f"Running on http://127.0.0.1:{server.port}" in server.output
    assert (app_dir / "markers" / "stopped").exists(), server.output
