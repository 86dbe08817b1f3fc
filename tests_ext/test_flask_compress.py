"""Flask-Compress on quartlike: compressed bodies, Vary, ETags and streamed responses.

Flask-Compress's ``after_request`` is sync (it runs in the thread pool). For a
body in memory it uses ``get_data``/``set_data`` and ``make_conditional``; for
a streamed body it replaces ``response.response`` with a generator over
``response.iter_encoded()``, which quartlike steps in the pool, and an async
body (an async generator from an ``async def`` view) is stepped through the
sync bridge, chunk by chunk: the response still streams.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import gzip
import sys
import threading
import zlib
from pathlib import Path

import brotli
import pytest
from flask import Flask
from flask import Response
from flask import send_file
from flask import session
from flask_compress import Compress
from flask_compress import DictCache

from quartlike.testing import QuartClient

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

BODY = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(200))
LINES = BODY.splitlines(keepends=True)


def decompress(data: bytes, algorithm: str) -> bytes:
    if algorithm == "gzip":
        return gzip.decompress(data)
    if algorithm == "deflate":
        return zlib.decompress(data)
    if algorithm == "br":
        return bytes(brotli.decompress(data))
    if algorithm == "zstd":
        return bytes(zstd.decompress(data))
    raise AssertionError(algorithm)


def add_views(app: Flask) -> None:
    @app.route("/text")
    def text() -> str:
        return BODY

    @app.route("/atext")
    async def async_text() -> str:
        await asyncio.sleep(0)
        return BODY

    @app.route("/small")
    async def small() -> str:
        return "short"

    @app.route("/png")
    def png() -> Response:
        return Response(BODY.encode(), mimetype="image/png")

    @app.route("/missing")
    def missing() -> tuple[str, int]:
        return BODY, 404

    @app.route("/etag")
    def etag() -> Response:
        response = Response(BODY, mimetype="text/plain")
        response.set_etag("v1")
        return response

    @app.route("/aetag")
    async def async_etag() -> Response:
        response = Response(BODY, mimetype="text/plain")
        response.set_etag("v1")
        return response

    @app.route("/with-session")
    def with_session() -> str:
        session["seen"] = True
        return BODY

    @app.route("/avary")
    async def async_vary() -> Response:
        return Response(BODY, headers={"Vary": "Origin"})

    @app.route("/stream")
    def stream() -> Response:
        def generate() -> cabc.Iterator[str]:
            try:
                yield from LINES
            finally:
                app.extensions["closed"].append("sync")

        return Response(generate(), mimetype="text/plain")

    @app.route("/astream")
    async def async_stream() -> Response:
        async def generate() -> cabc.AsyncIterator[str]:
            try:
                for line in LINES:
                    await asyncio.sleep(0)
                    yield line
            finally:
                app.extensions["closed"].append("async")

        return Response(generate(), mimetype="text/plain")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    app = Flask(__name__)
    app.secret_key = "compress-tests"
    app.extensions["closed"] = []
    Compress(app)
    add_views(app)
    (tmp_path / "big.txt").write_text(BODY, encoding="utf-8")

    @app.route("/file")
    def file() -> Response:
        return send_file(tmp_path / "big.txt", mimetype="text/plain")

    return app


@pytest.mark.parametrize("path", ["/text", "/atext", "/file"])
@pytest.mark.parametrize("algorithm", ["gzip", "br", "deflate", "zstd"])
def test_compressed_when_accepted(app: Flask, path: str, algorithm: str) -> None:
    rv = app.test_client().get(path, headers={"Accept-Encoding": algorithm})
    assert rv.status_code == 200
    assert rv.headers["Content-Encoding"] == algorithm
    assert rv.headers["Vary"] == "Accept-Encoding"
    data = rv.get_data()
    assert int(rv.headers["Content-Length"]) == len(data) < len(BODY)
    assert decompress(data, algorithm).decode() == BODY


@pytest.mark.parametrize("path", ["/text", "/atext"])
def test_preference_order_and_quality(app: Flask, path: str) -> None:
    client = app.test_client()
    rv = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert rv.headers["Content-Encoding"] == "zstd"  # the server's first choice among equals
    rv = client.get(path, headers={"Accept-Encoding": "gzip;q=1.0, br;q=0.5"})
    assert rv.headers["Content-Encoding"] == "gzip"
    assert decompress(rv.get_data(), "gzip").decode() == BODY


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/text", {}),
        ("/atext", {"Accept-Encoding": "identity"}),
        ("/small", {"Accept-Encoding": "gzip"}),
        ("/png", {"Accept-Encoding": "gzip"}),
        ("/missing", {"Accept-Encoding": "gzip"}),
    ],
)
def test_left_alone(app: Flask, path: str, headers: dict[str, str]) -> None:
    rv = app.test_client().get(path, headers=headers)
    assert "Content-Encoding" not in rv.headers
    assert rv.headers["Vary"] == "Accept-Encoding"
    assert rv.get_data(as_text=True) in (BODY, "short")


def test_vary_is_appended(app: Flask) -> None:
    rv = app.test_client().get("/with-session", headers={"Accept-Encoding": "gzip"})
    assert rv.headers["Content-Encoding"] == "gzip"
    # The session is saved after the after_request hooks (as in Flask): both are there.
    assert {v.strip() for v in rv.headers["Vary"].split(",")} == {"Cookie", "Accept-Encoding"}
    rv = app.test_client().get("/avary", headers={"Accept-Encoding": "gzip"})
    assert rv.headers["Vary"] == "Origin, Accept-Encoding"


@pytest.mark.parametrize("path", ["/etag", "/aetag"])
def test_etag_and_conditional_requests(app: Flask, path: str) -> None:
    client = app.test_client()
    rv = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert rv.status_code == 200
    assert rv.headers["ETag"] == '"v1:gzip"'
    # make_conditional runs in the worker thread of the after_request hook.
    rv = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": '"v1:gzip"'})
    assert rv.status_code == 304
    assert rv.get_data() == b""
    rv = client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": '"v1"'})
    assert rv.status_code == 200


@pytest.mark.parametrize("path", ["/stream", "/astream"])
@pytest.mark.parametrize("algorithm", ["br", "deflate", "zstd"])
def test_streamed_responses_are_compressed_as_they_stream(
    app: Flask, path: str, algorithm: str
) -> None:
    rv = app.test_client().get(path, headers={"Accept-Encoding": algorithm})
    assert rv.status_code == 200
    assert rv.headers["Content-Encoding"] == algorithm
    assert "Content-Length" not in rv.headers
    assert decompress(rv.get_data(), algorithm).decode() == BODY
    assert app.extensions["closed"] == ["async" if path == "/astream" else "sync"]


@pytest.mark.parametrize("path", ["/stream", "/astream"])
def test_streams_are_not_gzipped_by_default(app: Flask, path: str) -> None:
    # COMPRESS_ALGORITHM_STREAMING leaves gzip out: a gzip-only client gets the plain stream.
    rv = app.test_client().get(path, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in rv.headers
    assert rv.get_data(as_text=True) == BODY


def test_streams_left_alone_when_disabled() -> None:
    app = Flask(__name__)
    app.config["COMPRESS_STREAMS"] = False
    app.extensions["closed"] = []
    Compress(app)
    add_views(app)
    client = app.test_client()
    for path in ("/stream", "/astream"):
        rv = client.get(path, headers={"Accept-Encoding": "br"})
        assert "Content-Encoding" not in rv.headers
        assert rv.get_data(as_text=True) == BODY
    # Bodies in memory are still compressed.
    assert (
        client.get("/atext", headers={"Accept-Encoding": "br"}).headers["Content-Encoding"] == "br"
    )


async def test_compressed_stream_is_not_buffered() -> None:
    """The response starts before the view's generators have produced their body."""
    app = Flask(__name__)
    Compress(app)
    sync_release = threading.Event()
    async_release = asyncio.Event()

    @app.route("/sync")
    def sync_stream() -> Response:
        def generate() -> cabc.Iterator[str]:
            yield BODY
            if not sync_release.wait(10):
                raise TimeoutError("the test never released the stream")
            yield "the end\n"

        return Response(generate(), mimetype="text/plain")

    @app.route("/async")
    async def async_stream() -> Response:
        async def generate() -> cabc.AsyncIterator[str]:
            yield BODY
            await asyncio.wait_for(async_release.wait(), 10)
            yield "the end\n"

        return Response(generate(), mimetype="text/plain")

    client = QuartClient(app)
    for path, release in (("/sync", sync_release.set), ("/async", async_release.set)):
        async with asyncio.timeout(30):
            async with client.request(path, headers={"Accept-Encoding": "deflate"}) as rv:
                assert rv.status_code == 200
                assert rv.headers["Content-Encoding"] == "deflate"
                # Headers are here while the generator waits for the release.
                release()
                data = await rv.read()
        assert decompress(data, "deflate").decode() == BODY + "the end\n"


def test_compressed_decorator_on_sync_and_async_views() -> None:
    app = Flask(__name__)
    app.config["COMPRESS_REGISTER"] = False
    compress = Compress(app)

    @app.route("/plain")
    def plain() -> str:
        return BODY

    @app.route("/sync")
    @compress.compressed()
    def sync_view() -> str:
        return BODY

    @app.route("/async")
    @compress.compressed()
    async def async_view() -> str:
        await asyncio.sleep(0)
        return BODY

    client = app.test_client()
    headers = {"Accept-Encoding": "br"}
    assert "Content-Encoding" not in client.get("/plain", headers=headers).headers
    for path in ("/sync", "/async"):
        rv = client.get(path, headers=headers)
        assert rv.headers["Content-Encoding"] == "br"
        assert decompress(rv.get_data(), "br").decode() == BODY


def test_cache_backend() -> None:
    app = Flask(__name__)
    app.config.update(
        COMPRESS_CACHE_BACKEND=DictCache,
        COMPRESS_CACHE_KEY=lambda request: request.path,
    )
    compress = Compress(app)
    add_views(app)
    client = app.test_client()
    first = client.get("/atext", headers={"Accept-Encoding": "br"}).get_data()
    assert compress.cache is not None
    assert compress.cache.get("br;/atext") == first
    assert client.get("/atext", headers={"Accept-Encoding": "br"}).get_data() == first
