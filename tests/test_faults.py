"""Faults: clients that leave, code that fails, a full thread pool, files left open, SIGTERM.

Covered elsewhere, and not repeated here: a disconnect in the middle of a
streamed response (``test_streaming``: the generator is closed, teardown runs
once); an exception raised by an async generator mid-stream
(``test_streaming``); a failing teardown-request callback not stopping the
others (``test_hooks``); a failing ``before_serving`` (``test_lifespan`` for
``lifespan.startup.failed`` and its message, ``test_servers`` for Hypercorn,
uvicorn and ``app.run`` exiting non-zero); SIGTERM with one async request in
flight (``test_shutdown_e2e``).
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import gc
import inspect
import logging
import os
import signal
import textwrap
import threading
import time
import tracemalloc
import typing as t
import warnings
from pathlib import Path

import httpx
import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from quartlike import Quart
from quartlike import request
from quartlike import send_from_directory
from quartlike import session
from quartlike.files import FileBody
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request
from quartlike.wrappers.request import ClientDisconnected
from tests.exchange import BOUND
from tests.exchange import Exchange
from tests.exchange import body
from tests.exchange import http_scope
from tests.servers import Server
from tests.servers import app_env
from tests.servers import free_port
from tests.servers import hypercorn_argv
from tests.servers import recorded
from tests.servers import start_server
from tests.servers import write_app

if t.TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

needs_proc_fd = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc/self/fd"
)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config.update(PROPAGATE_EXCEPTIONS=False)
    app.config.update(config)
    return app


BOUNDARY = b"fault-boundary"
MULTIPART_TYPE = b"multipart/form-data; boundary=" + BOUNDARY


def multipart(*parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body of ``(name, content, filename or None)`` parts."""
    out = b""
    for name, content, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += content + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


# =============================================================================================
# The client leaves while the body is being read
# =============================================================================================
#
# Decision: a client that disconnects mid-body is the client's doing, not an
# error of the app. The read raises ClientDisconnected (a BadRequest, 400);
# unless the view handles it, it becomes a 400 answer (which the server drops,
# the client being gone), teardown runs once with no error, and nothing is
# logged at ERROR, testing or not.


async def read_data() -> int:
    return len(await request.get_data())


async def read_stream() -> int:
    return sum([len(chunk) async for chunk in request.stream()])


async def read_form() -> int:
    return len(await request.form)


async def read_files() -> int:
    return len(await request.files)


async def read_json() -> int:
    return len(await request.get_json(force=True))


def read_data_sync() -> int:
    return len(request.get_data())  # the sync bridge, from a pool thread


DISCONNECT_READERS: dict[str, tuple[cabc.Callable[[], t.Any], bytes, bytes]] = {
    # name: (reader, content type, the first chunk the client sends before leaving)
    "get_data": (read_data, b"application/octet-stream", b"x" * 100),
    "stream": (read_stream, b"application/octet-stream", b"x" * 100),
    "urlencoded-form": (read_form, b"application/x-www-form-urlencoded", b"a=1&b="),
    "multipart-spooled-file": (
        read_files,
        MULTIPART_TYPE,
        multipart(("f", b"u" * 5000, "big.bin"))[:-40],
    ),
    "json": (read_json, b"application/json", b'{"a": [1, 2, '),
    "sync-view-get_data": (read_data_sync, b"application/octet-stream", b"x" * 100),
}


@needs_proc_fd
@pytest.mark.parametrize("testing", [False, True], ids=["production", "testing"])
@pytest.mark.parametrize("name", DISCONNECT_READERS)
async def test_client_disconnect_mid_body(
    name: str, testing: bool, caplog: pytest.LogCaptureFixture
) -> None:
    reader, content_type, first = DISCONNECT_READERS[name]
    app = make_app(TESTING=testing, PROPAGATE_EXCEPTIONS=None, FORM_SPOOL_THRESHOLD=1024)
    seen: list[BaseException] = []
    teardowns: list[BaseException | None] = []

    def view() -> str:
        try:
            return str(reader())
        except BaseException as e:
            seen.append(e)
            raise

    async def async_view() -> str:
        try:
            return str(await reader())
        except BaseException as e:
            seen.append(e)
            raise

    is_sync = not inspect.iscoroutinefunction(reader)
    app.add_url_rule("/", "index", view if is_sync else async_view, methods=["POST"])

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        teardowns.append(exc)

    before = open_fds()
    headers = [(b"content-type", content_type), (b"content-length", b"100000")]
    with caplog.at_level(logging.DEBUG):
        exchange = await Exchange(body(first, True), then="disconnect").run(
            app, http_scope(headers=headers)
        )
    assert len(seen) == 1 and isinstance(seen[0], ClientDisconnected)
    assert isinstance(seen[0], BadRequest) and seen[0].code == 400
    assert exchange.status == 400
    assert teardowns == [None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert open_fds() == before  # a file spooled before the client left is closed


# =============================================================================================
# Exceptions in response generators
# =============================================================================================


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_generator_error_is_logged_and_ends_the_connection(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    events: list[str] = []
    error = ValueError(f"{kind} generator broke")

    def sync_body() -> cabc.Iterator[bytes]:
        try:
            yield b"first"
            raise error
        finally:
            events.append("generator closed")

    async def async_body() -> cabc.AsyncIterator[bytes]:
        try:
            yield b"first"
            raise error
        finally:
            events.append("generator closed")

    @app.get("/")
    async def index() -> t.Any:
        return sync_body() if kind == "sync" else async_body()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {exc!r}")

    exchange = Exchange()
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match="generator broke"):
        # The error reaches the server, which drops the connection.
        await exchange.run(app, http_scope(method="GET"))
    assert _cv_app.get(None) is None and _cv_request.get(None) is None
    assert exchange.status == 200
    assert [m.get("body") for m in exchange.sent[1:]] == [b"first"]
    assert not exchange.complete  # no final body message: the client sees a cut response
    assert events == ["generator closed", f"teardown {error!r}"]
    logged = [r for r in caplog.records if r.name == app.logger.name]
    assert len(logged) == 1
    assert logged[0].exc_info is not None and logged[0].exc_info[1] is error


# =============================================================================================
# Teardown callbacks that fail: every one still runs, the contexts are popped
# =============================================================================================


@pytest.mark.parametrize("ending", ["ok", "view-error", "client-left"])
async def test_failing_teardowns_of_both_kinds_all_run(
    ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    calls: list[str] = []

    @app.post("/")
    async def index() -> str:
        if ending == "view-error":
            raise LookupError("the view broke")
        return str(len(await request.get_data()))

    for n in range(3):

        def request_teardown(exc: BaseException | None, n: int = n) -> None:
            calls.append(f"request {n}")
            if n != 1:
                raise RuntimeError(f"request teardown {n}")

        async def app_teardown(exc: BaseException | None, n: int = n) -> None:
            calls.append(f"app {n}")
            if n != 1:
                raise RuntimeError(f"app teardown {n}")

        app.teardown_request(request_teardown)
        app.teardown_appcontext(app_teardown)

    then = "disconnect" if ending == "client-left" else "end"
    messages = [body(b"data", then == "disconnect")]
    with caplog.at_level(logging.ERROR):
        exchange = await Exchange(*messages, then=then).run(app, http_scope())
    assert exchange.status == {"ok": 200, "view-error": 500, "client-left": 400}[ending]
    # Innermost-last registered first, request callbacks before app-context ones.
    assert calls == ["request 2", "request 1", "request 0", "app 2", "app 1", "app 0"]
    failures = [
        str(r.exc_info[1])
        for r in caplog.records
        if r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError)
    ]
    assert sorted(failures) == [
        "app teardown 0",
        "app teardown 2",
        "request teardown 0",
        "request teardown 2",
    ]


# =============================================================================================
# A full sync pool: sync views waiting on the sync bridge never deadlock
# =============================================================================================

CONCURRENT = 20


async def test_full_sync_pool_with_bridged_body_reads_completes() -> None:
    app = make_app(SYNC_WORKERS=2)
    lock = threading.Lock()
    running = 0
    most = 0

    @app.post("/")
    def index() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            # The worker waits on the loop, which has to receive the dripping body.
            return str(len(request.get_data()))
        finally:
            with lock:
                running -= 1

    def exchange(n: int) -> Exchange:
        chunks = [b"%03d" % n, b"-" * 100, b"end"]
        messages = [body(c, True) for c in chunks[:-1]] + [body(chunks[-1])]
        return Exchange(*messages, delay=0.01)

    exchanges = [exchange(n) for n in range(CONCURRENT)]
    started = time.monotonic()
    async with asyncio.timeout(BOUND):
        await asyncio.gather(*(e.run(app, http_scope()) for e in exchanges))
    elapsed = time.monotonic() - started
    assert [(e.status, e.sent[-1]["body"]) for e in exchanges] == [(200, b"106")] * CONCURRENT
    assert most == 2  # the pool was full the whole time
    assert elapsed < 5, elapsed
    app.executor.shutdown(wait=True)


@needs_proc_fd
async def test_full_sync_pool_with_spooled_uploads_completes() -> None:
    # Spooling writes in the loop's default executor, not the app's pool: a pool
    # full of views waiting for their uploads cannot starve the writes.
    app = make_app(SYNC_WORKERS=2, FORM_SPOOL_THRESHOLD=256)

    @app.post("/")
    def index() -> str:
        upload = t.cast("MultiDict[str, FileStorage]", request.files)["f"]  # sync view
        return str(len(upload.read()))

    data = multipart(("f", b"z" * 4096, "z.bin"))
    before = open_fds()
    exchanges = [
        Exchange(body(data[:1000], True), body(data[1000:]), delay=0.01) for _ in range(CONCURRENT)
    ]
    async with asyncio.timeout(BOUND):
        await asyncio.gather(
            *(
                e.run(app, http_scope(headers=[(b"content-type", MULTIPART_TYPE)]))
                for e in exchanges
            )
        )
    assert [(e.status, e.sent[-1]["body"]) for e in exchanges] == [(200, b"4096")] * CONCURRENT
    assert open_fds() == before
    app.executor.shutdown(wait=True)


# =============================================================================================
# Spooled uploads: their temporary files are closed when the request ends
# =============================================================================================


def upload_app(ending: str, kept: list[FileStorage]) -> Quart:
    app = make_app(FORM_SPOOL_THRESHOLD=512, MAX_FORM_PARTS=3)

    @app.post("/")
    async def index() -> t.Any:
        files = await request.files
        kept.extend(files.values())
        if ending == "view-error":
            raise RuntimeError("after the upload was parsed")
        if ending == "streamed":

            async def chunks() -> cabc.AsyncIterator[bytes]:
                for upload in files.values():
                    yield upload.read()

            return chunks()
        return str(sum(len(upload.read()) for upload in files.values()))

    return app


UPLOAD_ENDINGS: dict[str, tuple[list[bytes], str, int]] = {
    # name: (body chunks, then, status)
    "ok": ([multipart(("a", b"A" * 4000, "a"), ("b", b"B" * 3000, "b"))], "end", 200),
    "view-error": ([multipart(("a", b"A" * 4000, "a"))], "end", 500),
    "streamed": ([multipart(("a", b"A" * 4000, "a"))], "end", 200),
    "client-left": (
        [multipart(("a", b"A" * 4000, "a"), ("b", b"B" * 9, "b"))[:-60]],
        "disconnect",
        400,
    ),
    "too-many-parts": (
        [multipart(*[(f"f{i}", b"F" * 2000, f"f{i}") for i in range(4)])],
        "end",
        413,
    ),
}


@needs_proc_fd
@pytest.mark.parametrize("ending", UPLOAD_ENDINGS)
async def test_spooled_upload_files_are_closed_when_the_request_ends(ending: str) -> None:
    chunks, then, status = UPLOAD_ENDINGS[ending]
    kept: list[FileStorage] = []
    app = upload_app(ending, kept)
    before = open_fds()
    messages = [body(c, True) for c in chunks[:-1]] + [body(chunks[-1], then == "disconnect")]
    exchange = await Exchange(*messages, then=then).run(
        app, http_scope(headers=[(b"content-type", MULTIPART_TYPE)])
    )
    assert exchange.status == status
    assert open_fds() == before
    if status in (200, 500):
        assert kept and all(upload.stream.closed for upload in kept)
        assert any(not hasattr(upload.stream, "getvalue") for upload in kept)  # really spooled


@needs_proc_fd
async def test_file_body_cancelled_while_opening_closes_the_file(tmp_path: Path) -> None:
    # A client leaving just as a file response starts cancels the open, which
    # runs on in its worker thread: the file it opens must still be closed.
    path = tmp_path / "data.bin"
    path.write_bytes(b"d" * 1000)
    before = open_fds()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(20):
            iterator = aiter(FileBody(path, 1000))
            task: asyncio.Task[bytes] = asyncio.create_task(anext(iterator))  # type: ignore[arg-type]
            await asyncio.sleep(0)  # the open has been handed to a thread
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await iterator.aclose()  # type: ignore[attr-defined]
        deadline = time.monotonic() + BOUND
        while open_fds() != before and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        gc.collect()
    assert open_fds() == before
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


# =============================================================================================
# SIGTERM over real Hypercorn, with requests of every kind in flight
# =============================================================================================

APP_MODULE = "ql_faults_app"
APP_SOURCE = textwrap.dedent(
    '''
    """The app the fault tests serve (written by tests/test_faults.py)."""

    from __future__ import annotations

    import asyncio
    import os
    import time
    from pathlib import Path

    from quartlike import Quart
    from quartlike import request

    app = Quart(__name__)
    markers = Path(os.environ["QL_MARKER_DIR"])


    def record(event: str) -> None:
        with open(markers / "order", "a") as f:
            f.write(event + "\\n")


    @app.route("/")
    async def index() -> str:
        return "ready"


    @app.route("/async")
    async def slow_async() -> str:
        record("async started")
        await asyncio.sleep(1.5)
        return "async done"


    @app.route("/sync")
    def slow_sync() -> str:
        record("sync started")
        time.sleep(1.5)
        return "sync done"


    @app.route("/upload", methods=["POST"])
    async def upload() -> str:
        record("upload started")
        return f"upload {len(await request.get_data())}"


    @app.route("/form", methods=["POST"])
    async def form() -> str:
        return str(len(await request.form))


    @app.route("/broken")
    async def broken() -> object:
        async def chunks():
            yield b"partial"
            raise RuntimeError("broken mid-stream")

        return chunks()


    @app.after_serving
    async def after() -> None:
        record("after_serving")
    '''
)


@pytest.fixture
def faults_dir(tmp_path: Path) -> Path:
    return write_app(tmp_path, APP_MODULE, APP_SOURCE)


def hypercorn(app_dir: Path, graceful_timeout: float) -> Server:
    port = free_port()
    argv = hypercorn_argv(f"{APP_MODULE}:app", port, "--graceful-timeout", str(graceful_timeout))
    return start_server(argv, port=port, cwd=app_dir, env=app_env(app_dir))


@pytest.mark.slow
def test_sigterm_lets_every_kind_of_in_flight_request_complete(faults_dir: Path) -> None:
    uploaded = 200_000
    with hypercorn(faults_dir, graceful_timeout=8) as server:
        results: dict[str, object] = {}
        upload_paused = threading.Event()
        resume_upload = threading.Event()

        def upload_body() -> cabc.Iterator[bytes]:
            yield b"u" * (uploaded // 2)
            upload_paused.set()
            resume_upload.wait(BOUND)  # the rest is sent after SIGTERM
            yield b"u" * (uploaded // 2)

        def call(name: str) -> None:
            url = f"{server.base_url}/{name}"
            try:
                if name == "upload":
                    response = httpx.post(url, content=upload_body(), timeout=BOUND)
                else:
                    response = httpx.get(url, timeout=BOUND)
                results[name] = (response.status_code, response.text)
            except Exception as e:  # reported by the assertion below
                results[name] = e

        clients = [threading.Thread(target=call, args=(n,)) for n in ("async", "sync", "upload")]
        for client in clients:
            client.start()
        server.wait_until(
            lambda: (
                upload_paused.is_set()
                and {"async started", "sync started", "upload started"} <= set(recorded(faults_dir))
            ),
            "the requests to start",
            BOUND,
        )
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        time.sleep(0.3)
        resume_upload.set()
        try:
            exit_code = server.wait_exit(BOUND)
        finally:
            for client in clients:
                client.join(BOUND)
        took = time.monotonic() - signalled
    assert results == {
        "async": (200, "async done"),
        "sync": (200, "sync done"),
        "upload": (200, f"upload {uploaded}"),
    }, server.output
    assert exit_code == 0, server.output
    assert took < 8  # well within the graceful timeout
    assert recorded(faults_dir)[-1] == "after_serving"


@pytest.mark.slow
def test_generator_error_cuts_the_response_and_the_server_keeps_serving(
    faults_dir: Path,
) -> None:
    with hypercorn(faults_dir, graceful_timeout=2) as server:
        received: list[bytes] = []
        url = f"{server.base_url}/broken"
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", url, timeout=BOUND) as response,
        ):
            assert response.status_code == 200
            for chunk in response.iter_raw():
                received.append(chunk)
        assert b"".join(received) == b"partial"
        assert httpx.get(f"{server.base_url}/", timeout=BOUND).text == "ready"
    assert "broken mid-stream" in server.output  # logged by the app


@pytest.mark.slow
def test_the_request_after_a_refused_body_is_not_lost(faults_dir: Path) -> None:
    # The app answers 413 after the first chunk of a 2 MB form of "&" and
    # Hypercorn then closes the connection, the rest of the body unread. The
    # client was told "connection: close", so its next request goes on a new
    # connection instead of being lost with the old one (about half of them
    # were, before the header was sent).
    refused = b"&" * (2 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with (
        hypercorn(faults_dir, graceful_timeout=2) as server,
        httpx.Client(base_url=server.base_url, timeout=BOUND) as client,
    ):
        outcomes = []
        for _ in range(30):
            response = client.post("/form", content=refused, headers=headers)
            outcomes.append((response.status_code, response.headers.get("connection")))
            outcomes.append((client.get("/").status_code, None))
    assert outcomes == [(413, "close"), (200, None)] * 30


# =============================================================================================
# Nothing accumulates: memory after many hostile and failing requests
# =============================================================================================


def mixed_app(files: Path) -> Quart:
    app = make_app(SECRET_KEY="memory", FORM_SPOOL_THRESHOLD=1024, BODY_TIMEOUT=0.01)
    app.logger.disabled = True  # the deliberate failures

    @app.route("/", methods=["GET", "POST"])
    async def index() -> t.Any:
        kind = request.args["kind"]
        if kind == "json":
            return {"value": await request.get_json()}
        if kind == "form":
            files_ = await request.files
            return {name: len(f.read()) for name, f in files_.items()}
        if kind == "fields":
            return {"fields": len(await request.form)}
        if kind == "data":
            return {"length": len(await request.get_data())}
        if kind == "session":
            session_count = len(session)
            session["n"] = session_count
            return "session"
        if kind == "file":
            return await send_from_directory(files, "f.txt")
        if kind == "stream":

            async def ticks() -> cabc.AsyncIterator[bytes]:
                while True:
                    yield b"tick"
                    await asyncio.sleep(0)

            return ticks()
        raise RuntimeError("deliberate")

    return app


UPLOAD = multipart(("f", b"u" * 5000, "u.bin"))
MIXED: list[tuple[str, list[tuple[bytes, bytes]], list[bytes], str]] = [
    # (kind, headers, body chunks, then)
    ("json", [(b"content-type", b"application/json")], [b'{"a": [1, 2]}'], "end"),
    ("json", [(b"content-type", b"application/json")], [b"[" * 5000], "end"),
    ("form", [(b"content-type", MULTIPART_TYPE)], [UPLOAD[:3000], UPLOAD[3000:]], "end"),
    ("form", [(b"content-type", MULTIPART_TYPE)], [UPLOAD[:3000]], "disconnect"),
    ("fields", [(b"content-type", b"application/x-www-form-urlencoded")], [b"&" * 60000], "end"),
    ("data", [(b"content-length", b"99999999")], [b"x"], "end"),
    ("data", [(b"content-length", b"100")], [b"x"], "stall"),
    ("session", [(b"cookie", b"session=forged.value.sig")], [b""], "end"),
    ("file", [], [b""], "end"),
    ("stream", [], [b""], "disconnect"),
    ("error", [], [b""], "end"),
]


async def mixed_round(app: Quart) -> None:
    for kind, headers, chunks, then in MIXED:
        messages = [body(c, True) for c in chunks[:-1]]
        messages.append(body(chunks[-1], then != "end"))
        exchange = Exchange(*messages, then=then)
        scope = http_scope(method="POST", headers=headers)
        scope["query_string"] = b"kind=" + kind.encode()
        await exchange.run(app, scope)


ROUNDS = 60


@needs_proc_fd
async def test_memory_and_files_stay_flat_under_hostile_traffic(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_bytes(b"file body")
    app = mixed_app(tmp_path)
    for _ in range(20):  # warm up: caches, pools, lazily created objects
        await mixed_round(app)
    gc.collect()
    fds = open_fds()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(ROUNDS):
            await mixed_round(app)
        await asyncio.sleep(0.05)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    requests = ROUNDS * len(MIXED)
    # A few bounded caches settle in noise; anything kept per request (a body,
    # an upload, a context, a task) would be tens of kilobytes per hundred.
    assert grown < 100_000, f"{grown} bytes kept after {requests} requests"
    assert open_fds() == fds
