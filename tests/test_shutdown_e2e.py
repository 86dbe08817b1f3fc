"""Streaming and clean shutdown over real servers.

Server-sent events consumed by httpx arrive as they are sent, and a client
that goes away ends the server-side generator. SIGTERM makes Hypercorn finish
the requests in flight, then the lifespan shutdown waits for (or cancels)
background tasks before ``after_serving`` runs. The app records what happens,
in order, in marker files.
"""

from __future__ import annotations

import signal
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import Launcher
from tests.servers import Server
from tests.servers import app_env
from tests.servers import free_port
from tests.servers import launchers
from tests.servers import recorded
from tests.servers import start_server
from tests.servers import write_app

pytestmark = pytest.mark.slow

#: Upper bound for each wait on the server; the expected waits are far shorter.
BOUND = 10.0

APP_MODULE = "ql_shutdown_app"
APP_SOURCE = textwrap.dedent(
    '''
    """The app the shutdown tests run (written by tests/test_shutdown_e2e.py)."""

    from __future__ import annotations

    import asyncio
    import os
    from pathlib import Path

    from quartlike import Quart
    from quartlike import ServerSentEvent
    from quartlike import event_stream
    from quartlike import request

    app = Quart(__name__)
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = float(os.environ["QL_BG_TIMEOUT"])
    markers = Path(os.environ["QL_MARKER_DIR"])


    def record(event: str) -> None:
        with open(markers / "order", "a") as f:
            f.write(event + "\\n")


    @app.route("/")
    async def index() -> str:
        return "ready"


    @app.route("/events")
    async def events() -> object:
        async def generate():
            n = 0
            try:
                while True:
                    n += 1
                    yield ServerSentEvent(f"tick {n}", id=str(n))
                    await asyncio.sleep(0.2)
            finally:
                (markers / "sse-closed").write_text(str(n))
                record("sse closed")

        response = event_stream(generate())
        if request.args.get("unbounded"):
            response.timeout = None
        return response


    @app.route("/spawn/<kind>")
    async def spawn(kind: str) -> str:
        async def slow() -> None:
            record("slow task started")
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                record("slow task cancelled")
                raise

        async def quick() -> None:
            record("quick task started")
            await asyncio.sleep(1)
            record("quick task finished")

        app.add_background_task(slow if kind == "slow" else quick)
        return "spawned"


    @app.route("/slow-request")
    async def slow_request() -> str:
        record("request started")
        await asyncio.sleep(1)
        record("request finished")
        return "finished"


    @app.after_serving
    async def after() -> None:
        record("after_serving")
    '''
)


LAUNCHERS = launchers(f"{APP_MODULE}:app")
hypercorn_args = LAUNCHERS["hypercorn"]


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP_MODULE, APP_SOURCE)


def running(app_dir: Path, bg_timeout: float = 5, launcher: Launcher = hypercorn_args) -> Server:
    port = free_port()
    env = app_env(app_dir, QL_BG_TIMEOUT=str(bg_timeout))
    return start_server(launcher(port), port=port, cwd=app_dir, env=env)


def terminate(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    return server.wait_exit(BOUND)


# -- server-sent events --------------------------------------------------------------------


@pytest.mark.parametrize("launcher", list(LAUNCHERS.values()), ids=list(LAUNCHERS))
def test_sse_arrives_incrementally_and_a_closed_client_ends_the_generator(
    app_dir: Path, launcher: Launcher
) -> None:
    closed = app_dir / "markers" / "sse-closed"
    with running(app_dir, launcher=launcher) as server:
        events: list[tuple[float, str]] = []
        with httpx.stream("GET", f"{server.base_url}/events", timeout=BOUND) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert response.headers["x-accel-buffering"] == "no"
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append((time.monotonic(), line[len("data: ") :]))
                if len(events) == 3:
                    assert not closed.exists()  # still streaming
                    # Abandoning the iteration closes the connection mid-stream.
                    left = time.monotonic()
                    break
        server.wait_until(closed.exists, "the SSE generator's finally block", BOUND)
        assert time.monotonic() - left < 2
        assert [data for _, data in events] == ["tick 1", "tick 2", "tick 3"]
        # The app pauses 0.2 s between events: they were not buffered.
        assert events[2][0] - events[0][0] >= 0.3
        # The server is still healthy after the abandoned stream.
        assert httpx.get(f"{server.base_url}/", timeout=BOUND).text == "ready"


# -- SIGTERM -------------------------------------------------------------------------------


def test_sigterm_cancels_a_slow_background_task_before_after_serving(app_dir: Path) -> None:
    with running(app_dir, bg_timeout=0.5) as server:
        assert httpx.get(f"{server.base_url}/spawn/slow", timeout=BOUND).text == "spawned"
        server.wait_until(
            lambda: "slow task started" in recorded(app_dir), "the task to start", BOUND
        )
        started = time.monotonic()
        assert terminate(server) == 0, server.output
        stopped = time.monotonic() - started
    assert recorded(app_dir) == ["slow task started", "slow task cancelled", "after_serving"]
    assert "Cancelled 1 background task(s)" in server.output
    assert stopped < BOUND


def test_sigterm_lets_a_quick_background_task_finish_before_after_serving(
    app_dir: Path,
) -> None:
    with running(app_dir, bg_timeout=30) as server:
        assert httpx.get(f"{server.base_url}/spawn/quick", timeout=BOUND).text == "spawned"
        server.wait_until(
            lambda: "quick task started" in recorded(app_dir), "the task to start", BOUND
        )
        assert terminate(server) == 0, server.output
    assert recorded(app_dir) == ["quick task started", "quick task finished", "after_serving"]
    assert "Cancelled" not in server.output


def test_sigterm_lets_an_in_flight_request_complete(app_dir: Path) -> None:
    with running(app_dir) as server:
        result: dict[str, object] = {}

        def call() -> None:
            try:
                response = httpx.get(f"{server.base_url}/slow-request", timeout=BOUND)
                result["response"] = (response.status_code, response.text)
            except Exception as e:  # reported by the assertion below
                result["error"] = e

        client = threading.Thread(target=call)
        client.start()
        try:
            server.wait_until(lambda: "request started" in recorded(app_dir), "the request", BOUND)
            assert terminate(server) == 0, server.output
        finally:
            client.join(BOUND)
        assert result == {"response": (200, "finished")}, server.output
    assert recorded(app_dir) == ["request started", "request finished", "after_serving"]


def test_sigterm_ends_an_open_event_stream_after_the_graceful_timeout(app_dir: Path) -> None:
    def launcher(port: int) -> list[str]:
        return [*hypercorn_args(port), "--graceful-timeout", "1"]

    with running(app_dir, launcher=launcher) as server:
        streaming = threading.Event()
        events: list[str] = []
        outcome: list[str] = []

        def listen() -> None:
            url = f"{server.base_url}/events?unbounded=1"
            try:
                with httpx.stream("GET", url, timeout=BOUND) as response:
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            events.append(line)
                            streaming.set()
                outcome.append("complete")
            except httpx.TransportError:
                outcome.append("cut")

        client = threading.Thread(target=listen)
        client.start()
        try:
            assert streaming.wait(BOUND), server.output
            at_sigterm = len(events)
            assert terminate(server) == 0, server.output
        finally:
            client.join(BOUND)
    # The stream went on during the graceful period, then the server cancelled
    # it: the generator's finally ran, and the app's shutdown came after.
    assert len(events) > at_sigterm
    assert outcome == ["cut"]
    assert recorded(app_dir) == ["sse closed", "after_serving"]
