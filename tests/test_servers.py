"""quartlike behind real ASGI servers: Hypercorn, uvicorn, and ``app.run()``.

Each test writes a small app module into its temporary folder, starts a
server for it in a subprocess on a free loopback port, talks HTTP to it with
httpx, and stops it by PID (SIGTERM, then SIGKILL after a bounded wait).
"""

from __future__ import annotations

import collections.abc as cabc
import signal
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import STARTUP_TIMEOUT
from tests.servers import Launcher
from tests.servers import Server
from tests.servers import app_env
from tests.servers import free_port
from tests.servers import launchers
from tests.servers import start_server
from tests.servers import write_app

pytestmark = pytest.mark.slow

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


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP_MODULE, APP_SOURCE)


def server_env(app_dir: Path, **extra: str) -> dict[str, str]:
    env = app_env(app_dir)
    env.pop("QL_FAIL_STARTUP", None)
    return {**env, **extra}


LAUNCHERS = launchers(f"{APP_MODULE}:app")
hypercorn_args = LAUNCHERS["hypercorn"]


def run_script_args(port: int) -> list[str]:
    code = f"from {APP_MODULE} import app\napp.run(port={port})\n"
    return [sys.executable, "-c", code]


def running(launcher: Launcher, app_dir: Path, **env: str) -> Server:
    port = free_port()
    return start_server(launcher(port), port=port, cwd=app_dir, env=server_env(app_dir, **env))


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
    env = server_env(app_dir, QL_FAIL_STARTUP="1")
    with Server(args, port=port, cwd=app_dir, env=env) as server:
        returncode = server.wait_exit(STARTUP_TIMEOUT)
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
