"""Static files and file responses: send_file, send_from_directory, the static route."""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import hashlib
import io
import os
import sys
import threading
import time
import tracemalloc
import typing as t
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote

import flask
import pytest
from werkzeug.exceptions import NotFound
from werkzeug.http import http_date
from werkzeug.http import parse_date
from werkzeug.routing import BuildError

from quartlike import Quart
from quartlike import Response
from quartlike import send_file
from quartlike import send_from_directory
from quartlike import url_for
from quartlike.files import CHUNK_SIZE
from quartlike.files import FileBody
from quartlike.files import IOBody
from quartlike.files import safe_join

if t.TYPE_CHECKING:
    from pathlib import Path

    from quartlike.testing import QuartClient
    from quartlike.typing import HTTPScope
    from quartlike.typing import Message

SECRET = b"TOP-SECRET-CONTENT"
HELLO = b"hello world 0123456789\n"
LARGE_SIZE = 5 * 1024 * 1024 + 123

needs_proc = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc/self/fd"
)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An app folder: ``static/`` with assorted files, secrets around it."""
    static = tmp_path / "static"
    (static / "sub").mkdir(parents=True)
    (static / "hello.txt").write_bytes(HELLO)
    (static / "style.css").write_text("body { color: red; }\n")
    (static / "app.js").write_text("console.log(1);\n")
    (static / "data.json").write_text('{"a": 1}\n')
    (static / "sub" / "page.html").write_text("<p>sub page</p>\n")
    (static / "empty.txt").write_bytes(b"")
    (static / "archive.tar.gz").write_bytes(b"\x1f\x8b not really gzip")
    (static / "blob.zzzunknown").write_bytes(b"\x00\x01\x02")
    (static / "my file.txt").write_bytes(b"spaces\n")
    (static / "résumé.txt").write_bytes(b"unicode name\n")
    # Secrets next to and above the static folder.
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "static-secret").mkdir()
    (tmp_path / "static-secret" / "x").write_bytes(SECRET)
    (tmp_path / "static2").mkdir()
    (tmp_path / "static2" / "secret").write_bytes(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "linked.txt").write_bytes(b"linked content\n")
    (outside / "secret.txt").write_bytes(SECRET)
    # Links inside static that point out of it (followed, as in Flask).
    (static / "link.txt").symlink_to(outside / "linked.txt")
    (static / "linkdir").symlink_to(outside, target_is_directory=True)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "settings.cfg").write_text("X = 1\n")
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (é TEXT);\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def large(site: Path) -> Path:
    """A file of several megabytes in the static folder: ``large.bin``."""
    path = site / "static" / "large.bin"
    path.write_bytes(os.urandom(1024) * (LARGE_SIZE // 1024) + b"x" * (LARGE_SIZE % 1024))
    return path


def make_app(site: Path, **kwargs: t.Any) -> Quart:
    app = Quart(__name__, root_path=str(site), instance_path=str(site / "instance"), **kwargs)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def files_app(site: Path) -> Quart:
    app = make_app(site)

    @app.route("/send/<path:name>")
    async def send(name: str) -> Response:
        return await send_file(f"static/{name}")

    @app.route("/files/<path:name>")
    async def files(name: str) -> Response:
        return await send_from_directory("static", name)

    @app.route("/bio")
    async def bio() -> Response:
        return await send_file(io.BytesIO(b"in-memory bytes"), mimetype="text/plain")

    return app


@pytest.fixture
def fclient(files_app: Quart) -> QuartClient:
    return files_app.test_client()


# -- the static route ------------------------------------------------------------------


async def test_static_route_serves_the_file(fclient: QuartClient, site: Path) -> None:
    response = await fclient.get("/static/hello.txt")
    assert response.status_code == 200
    assert response.data == HELLO
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(HELLO))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"] == "inline; filename=hello.txt"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Expires" not in response.headers
    assert response.headers["ETag"].startswith('"')
    mtime = (site / "static" / "hello.txt").stat().st_mtime
    assert response.headers["Last-Modified"] == http_date(mtime)
    nested = await fclient.get("/static/sub/page.html")
    assert nested.data == b"<p>sub page</p>\n"
    assert nested.mimetype == "text/html"


@pytest.mark.parametrize(
    ("name", "mimetype"),
    [
        ("style.css", "text/css"),
        ("app.js", "text/javascript"),
        ("data.json", "application/json"),
        ("sub/page.html", "text/html"),
        ("blob.zzzunknown", "application/octet-stream"),
    ],
)
async def test_static_mimetypes(fclient: QuartClient, name: str, mimetype: str) -> None:
    response = await fclient.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.mimetype == mimetype


async def test_static_missing_file_is_404(fclient: QuartClient) -> None:
    assert (await fclient.get("/static/nope.txt")).status_code == 404
    assert (await fclient.get("/static/sub/nope.txt")).status_code == 404


async def test_static_route_methods(fclient: QuartClient) -> None:
    assert (await fclient.post("/static/hello.txt")).status_code == 405
    options = await fclient.options("/static/hello.txt")
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


async def test_url_for_static(files_app: Quart) -> None:
    async with files_app.test_request_context("/"):
        assert url_for("static", filename="css/site.css") == "/static/css/site.css"
        assert url_for("static", filename="a b.txt") == "/static/a%20b.txt"
        assert url_for("static", filename="x.js", v=3) == "/static/x.js?v=3"
        assert url_for("static", filename="x.js", _external=True) == "http://localhost/static/x.js"


async def test_send_file_max_age_default(site: Path) -> None:
    app = make_app(site)
    client = app.test_client()
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    before = time.time()
    response = await client.get("/static/hello.txt")
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    expires = parse_date(response.headers["Expires"])
    assert expires is not None
    assert before + 3600 - 2 <= expires.timestamp() <= time.time() + 3600 + 1

    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(minutes=2)
    response = await client.get("/static/hello.txt")
    assert response.headers["Cache-Control"] == "public, max-age=120"

    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0
    response = await client.get("/static/hello.txt")
    assert response.cache_control.no_cache
    assert response.cache_control.max_age == 0
    assert not response.cache_control.public


async def test_get_send_file_max_age_can_vary_by_file(site: Path) -> None:
    class App(Quart):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            if filename is not None and filename.endswith(".js"):
                return 60
            return super().get_send_file_max_age(filename)

    app = App(__name__, root_path=str(site))
    client = app.test_client()
    assert (await client.get("/static/app.js")).headers["Cache-Control"] == "public, max-age=60"
    assert (await client.get("/static/style.css")).headers["Cache-Control"] == "no-cache"


def test_get_send_file_max_age_needs_an_app_context(site: Path) -> None:
    app = make_app(site)
    with pytest.raises(RuntimeError, match="application context"):
        app.get_send_file_max_age("x")


async def test_get_send_file_max_age_reads_config(site: Path) -> None:
    app = make_app(site)
    async with app.app_context():
        assert app.get_send_file_max_age("x") is None
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=1, seconds=1)
        assert app.get_send_file_max_age("x") == 3601
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = "30"
        assert app.get_send_file_max_age(None) == 30


# -- static folder and URL variations --------------------------------------------------


async def test_static_url_path(site: Path) -> None:
    app = make_app(site, static_url_path="/assets")
    client = app.test_client()
    assert (await client.get("/assets/hello.txt")).data == HELLO
    assert (await client.get("/static/hello.txt")).status_code == 404
    async with app.test_request_context("/"):
        assert url_for("static", filename="hello.txt") == "/assets/hello.txt"


async def test_static_url_path_trailing_slash_is_ignored(site: Path) -> None:
    app = make_app(site, static_url_path="/assets/")
    assert (await app.test_client().get("/assets/hello.txt")).data == HELLO


async def test_empty_static_url_path_serves_from_the_root(site: Path) -> None:
    app = make_app(site, static_url_path="")

    @app.route("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    assert (await client.get("/hello.txt")).data == HELLO
    assert (await client.get("/sub/page.html")).status_code == 200
    assert (await client.get("/")).data == b"index"
    async with app.test_request_context("/"):
        assert url_for("static", filename="hello.txt") == "/hello.txt"


async def test_static_folder_name_sets_the_url(site: Path) -> None:
    (site / "public").mkdir()
    (site / "public" / "p.txt").write_bytes(b"public file")
    app = make_app(site, static_folder="public")
    client = app.test_client()
    assert app.static_url_path == "/public"
    assert (await client.get("/public/p.txt")).data == b"public file"
    assert (await client.get("/static/hello.txt")).status_code == 404


async def test_absolute_static_folder(site: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("assets")
    (elsewhere / "e.txt").write_bytes(b"elsewhere")
    app = make_app(site, static_folder=str(elsewhere))
    assert app.static_folder == str(elsewhere)
    response = await app.test_client().get(f"/{elsewhere.name}/e.txt")
    assert response.data == b"elsewhere"


async def test_static_folder_that_does_not_exist_yet(site: Path) -> None:
    app = make_app(site, static_folder="later")
    client = app.test_client()
    assert (await client.get("/later/a.txt")).status_code == 404
    (site / "later").mkdir()
    (site / "later" / "a.txt").write_bytes(b"created while running")
    assert (await client.get("/later/a.txt")).data == b"created while running"


async def test_no_static_folder(site: Path) -> None:
    app = make_app(site, static_folder=None)
    assert not app.has_static_folder
    assert "static" not in app.view_functions
    assert (await app.test_client().get("/static/hello.txt")).status_code == 404
    async with app.test_request_context("/"):
        with pytest.raises(BuildError):
            url_for("static", filename="hello.txt")
        with pytest.raises(RuntimeError, match="static_folder"):
            await app.send_static_file("hello.txt")


async def test_send_static_file_directly(site: Path) -> None:
    app = make_app(site)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 10
    async with app.test_request_context("/"):
        response = await app.send_static_file("hello.txt")
        assert await response.get_data() == HELLO
        assert response.cache_control.max_age == 10
        with pytest.raises(NotFound):
            await app.send_static_file("../secret.txt")


async def test_the_static_view_does_not_keep_the_app_alive(site: Path) -> None:
    import gc
    import weakref

    app = make_app(site)
    ref = weakref.ref(app)
    del app
    gc.collect()
    assert ref() is None


# -- static_host ------------------------------------------------------------------------


async def test_static_host(site: Path) -> None:
    app = make_app(site, host_matching=True, static_host="static.example.com")

    @app.route("/", host="www.example.com")
    async def index() -> str:
        return url_for("static", filename="hello.txt")

    client = app.test_client()
    response = await client.get("/static/hello.txt", base_url="http://static.example.com")
    assert response.data == HELLO
    other = await client.get("/static/hello.txt", base_url="http://www.example.com")
    assert other.status_code == 404
    page = await client.get("/", base_url="http://www.example.com")
    assert page.data == b"http://static.example.com/static/hello.txt"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"static_host": "static.example.com"},
        {"host_matching": True},
    ],
)
def test_invalid_static_host_combinations(site: Path, kwargs: dict[str, t.Any]) -> None:
    with pytest.raises(AssertionError, match="static_host"):
        make_app(site, **kwargs)
    # Both are compared with Flask, which refuses the same combinations.
    with pytest.raises(AssertionError):
        flask.Flask(__name__, root_path=str(site), **kwargs)


def test_host_matching_without_a_static_folder_needs_no_static_host(site: Path) -> None:
    app = make_app(site, host_matching=True, static_folder=None)
    assert app.url_map.host_matching


# -- send_file --------------------------------------------------------------------------


async def test_send_file_relative_and_absolute_paths(files_app: Quart, site: Path) -> None:
    async with files_app.test_request_context("/"):
        relative = await send_file("static/hello.txt")
        absolute = await send_file(site / "static" / "hello.txt")
        assert await relative.get_data() == HELLO
        assert await absolute.get_data() == HELLO
        assert isinstance(relative.body, type(absolute.body))


async def test_send_file_body_is_a_file_body(files_app: Quart, site: Path) -> None:
    async with files_app.test_request_context("/"):
        response = await send_file("static/hello.txt")
        assert isinstance(response.body, FileBody)
        assert response.body.length == len(HELLO)
        assert response.calculate_content_length() == len(HELLO)
        await response.body.aclose()


async def test_send_file_bytesio(fclient: QuartClient) -> None:
    response = await fclient.get("/bio")
    assert response.status_code == 200
    assert response.data == b"in-memory bytes"
    assert response.headers["Content-Length"] == "15"
    assert response.mimetype == "text/plain"
    assert "ETag" not in response.headers
    assert "Last-Modified" not in response.headers
    assert "Content-Disposition" not in response.headers
    ranged = await fclient.get("/bio", headers={"Range": "bytes=3-8"})
    assert ranged.status_code == 206
    assert ranged.data == b"memory"
    assert ranged.headers["Content-Range"] == "bytes 3-8/15"


async def test_send_file_bytesio_starts_at_its_position(files_app: Quart) -> None:
    buffer = io.BytesIO(b"skip:rest of it")
    buffer.seek(5)

    @files_app.route("/positioned")
    async def positioned() -> Response:
        return await send_file(buffer, mimetype="text/plain")

    response = await files_app.test_client().get("/positioned")
    assert response.data == b"rest of it"
    assert response.headers["Content-Length"] == "10"
    assert buffer.closed


async def test_send_file_opened_binary_file(files_app: Quart, site: Path) -> None:
    opened: list[t.IO[bytes]] = []

    @files_app.route("/opened")
    async def opened_view() -> Response:
        file = open(site / "static" / "hello.txt", "rb")  # noqa: SIM115 - send_file closes it
        opened.append(file)
        return await send_file(file, mimetype="text/plain")

    client = files_app.test_client()
    response = await client.get("/opened")
    assert response.data == HELLO
    # Unlike Flask (which sends an opened file without a length), the size is
    # found with fstat, so Content-Length and ranges work.
    assert response.headers["Content-Length"] == str(len(HELLO))
    assert opened[-1].closed
    ranged = await client.get("/opened", headers={"Range": "bytes=0-4"})
    assert ranged.status_code == 206
    assert ranged.data == b"hello"
    assert opened[-1].closed


async def test_send_file_unsized_stream(files_app: Quart) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"from a pipe")
    os.close(write_fd)
    pipe = os.fdopen(read_fd, "rb")

    @files_app.route("/pipe")
    async def pipe_view() -> Response:
        return await send_file(pipe, mimetype="application/octet-stream")

    response = await files_app.test_client().get("/pipe", headers={"Range": "bytes=0-1"})
    # No size and no seeking: the whole stream, without Content-Length or a range.
    assert response.status_code == 200
    assert response.data == b"from a pipe"
    assert "Content-Length" not in response.headers
    assert pipe.closed


async def test_send_file_text_mode_file_is_refused(files_app: Quart, site: Path) -> None:
    async with files_app.test_request_context("/"):
        with (
            open(site / "static" / "hello.txt") as text_file,
            pytest.raises(ValueError, match="binary mode"),
        ):
            await send_file(text_file, mimetype="text/plain")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="binary mode"):
            await send_file(io.StringIO("x"), mimetype="text/plain")  # type: ignore[arg-type]


async def test_send_file_needs_a_name_or_a_mimetype(files_app: Quart) -> None:
    async with files_app.test_request_context("/"):
        with pytest.raises(TypeError, match="mimetype"):
            await send_file(io.BytesIO(b"x"))
        with pytest.raises(TypeError, match="file name"):
            await send_file(io.BytesIO(b"x"), mimetype="text/plain", as_attachment=True)
        named = await send_file(io.BytesIO(b"a,b"), download_name="report.csv")
        assert named.mimetype == "text/csv"
        assert named.headers["Content-Disposition"] == "inline; filename=report.csv"
        await named.body.aclose()


async def test_send_file_errors_for_the_apps_own_paths(files_app: Quart) -> None:
    async with files_app.test_request_context("/"):
        with pytest.raises(FileNotFoundError):
            await send_file("static/nope.txt")
        with pytest.raises(IsADirectoryError):
            await send_file("static/sub")


async def test_send_file_needs_a_request(files_app: Quart) -> None:
    async with files_app.app_context():
        with pytest.raises(RuntimeError, match="request context"):
            await send_file("static/hello.txt")
    with pytest.raises(RuntimeError, match="application context"):
        await send_file("static/hello.txt")


async def test_send_file_without_conditional_needs_only_the_app(files_app: Quart) -> None:
    async with files_app.app_context():
        response = await send_file("static/hello.txt", conditional=False)
        assert await response.get_data() == HELLO
        assert "Accept-Ranges" not in response.headers


@pytest.mark.parametrize(
    ("kwargs", "disposition"),
    [
        ({}, "inline; filename=hello.txt"),
        ({"as_attachment": True}, "attachment; filename=hello.txt"),
        ({"download_name": "report.txt"}, "inline; filename=report.txt"),
        (
            {"as_attachment": True, "download_name": "my report.txt"},
            'attachment; filename="my report.txt"',
        ),
        (
            {"as_attachment": True, "download_name": "résumé.txt"},
            "attachment; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
        ),
        (
            {"as_attachment": True, "download_name": "日本語.txt"},
            "attachment; filename=.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt",
        ),
        (
            {"download_name": "a;b=c.txt"},
            'inline; filename="a;b=c.txt"',
        ),
    ],
)
async def test_content_disposition(
    files_app: Quart, kwargs: dict[str, t.Any], disposition: str
) -> None:
    async with files_app.test_request_context("/"):
        response = await send_file("static/hello.txt", **kwargs)
        assert response.headers["Content-Disposition"] == disposition
        await response.body.aclose()
    with flask.Flask(__name__, root_path=files_app.root_path).test_request_context("/"):
        oracle = flask.send_file("static/hello.txt", **kwargs)
        assert oracle.headers["Content-Disposition"] == disposition
        oracle.close()


async def test_non_ascii_file_name_from_the_path(fclient: QuartClient) -> None:
    response = await fclient.get(f"/static/{quote('résumé.txt')}")
    assert response.data == b"unicode name\n"
    assert response.headers["Content-Disposition"] == (
        "inline; filename=resume.txt; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )


@pytest.mark.parametrize(
    ("kwargs", "mimetype", "encoding"),
    [
        ({}, "application/x-tar", "gzip"),
        ({"as_attachment": True}, "application/x-tar", None),
        ({"mimetype": "application/gzip"}, "application/gzip", None),
        ({"download_name": "x.json"}, "application/json", None),
    ],
)
async def test_mimetype_and_encoding(
    files_app: Quart, kwargs: dict[str, t.Any], mimetype: str, encoding: str | None
) -> None:
    async with files_app.test_request_context("/"):
        response = await send_file("static/archive.tar.gz", **kwargs)
        assert response.mimetype == mimetype
        assert response.headers.get("Content-Encoding") == encoding
        await response.body.aclose()


async def test_etag_options(files_app: Quart, site: Path) -> None:
    async with files_app.test_request_context("/"):
        generated = await send_file("static/hello.txt")
        again = await send_file("static/hello.txt")
        none = await send_file("static/hello.txt", etag=False)
        custom = await send_file("static/hello.txt", etag="v1")
        other_file = await send_file("static/style.css")
        assert generated.get_etag() == again.get_etag()
        assert generated.get_etag()[0] and not generated.get_etag()[1]
        assert "ETag" not in none.headers
        assert custom.headers["ETag"] == '"v1"'
        assert other_file.get_etag() != generated.get_etag()
        (site / "static" / "hello.txt").write_bytes(HELLO + b"more")
        changed = await send_file("static/hello.txt")
        assert changed.get_etag() != generated.get_etag()


async def test_etag_changes_with_mtime_alone(files_app: Quart, site: Path) -> None:
    path = site / "static" / "hello.txt"
    async with files_app.test_request_context("/"):
        before = (await send_file(path)).headers["ETag"]
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert (await send_file(path)).headers["ETag"] != before


async def test_last_modified_option(files_app: Quart) -> None:
    moment = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with files_app.test_request_context("/"):
        response = await send_file("static/hello.txt", last_modified=moment)
        assert response.headers["Last-Modified"] == "Thu, 02 Jan 2020 03:04:05 GMT"
        stamp = await send_file("static/hello.txt", last_modified=0)
        assert stamp.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
        in_memory = await send_file(io.BytesIO(b"x"), mimetype="text/plain", last_modified=moment)
        assert in_memory.last_modified == moment


async def test_max_age_options(files_app: Quart, site: Path) -> None:
    seen: list[str | None] = []

    def by_path(path: str | None) -> int | None:
        seen.append(path)
        return 42

    async with files_app.test_request_context("/"):
        assert (await send_file("static/hello.txt", max_age=300)).headers[
            "Cache-Control"
        ] == "public, max-age=300"
        assert (await send_file("static/hello.txt", max_age=timedelta(seconds=7))).headers[
            "Cache-Control"
        ] == "public, max-age=7"
        assert (await send_file("static/hello.txt", max_age=by_path)).headers[
            "Cache-Control"
        ] == "public, max-age=42"
        assert seen == [os.path.join(str(site), "static/hello.txt")]
        assert (await send_file(io.BytesIO(b""), mimetype="text/plain", max_age=by_path)).headers[
            "Cache-Control"
        ] == "public, max-age=42"
        assert seen[-1] is None
        assert (await send_file("static/hello.txt", max_age=lambda p: None)).headers[
            "Cache-Control"
        ] == "no-cache"
        assert (await send_file("static/hello.txt")).headers["Cache-Control"] == "no-cache"


async def test_unknown_send_from_directory_argument(files_app: Quart) -> None:
    async with files_app.test_request_context("/"):
        with pytest.raises(TypeError):
            await send_from_directory("static", "hello.txt", nonsense=True)


# -- conditional and range requests -----------------------------------------------------


async def test_if_none_match(fclient: QuartClient) -> None:
    etag = (await fclient.get("/static/hello.txt")).headers["ETag"]
    response = await fclient.get("/static/hello.txt", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert "Content-Length" not in response.headers
    assert response.headers["ETag"] == etag
    other = await fclient.get("/static/hello.txt", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200
    star = await fclient.get("/static/hello.txt", headers={"If-None-Match": "*"})
    assert star.status_code == 304


async def test_if_modified_since(fclient: QuartClient) -> None:
    last_modified = (await fclient.get("/static/hello.txt")).headers["Last-Modified"]
    same = await fclient.get("/static/hello.txt", headers={"If-Modified-Since": last_modified})
    assert same.status_code == 304
    assert same.data == b""
    old = http_date(datetime(2000, 1, 1, tzinfo=UTC))
    older = await fclient.get("/static/hello.txt", headers={"If-Modified-Since": old})
    assert older.status_code == 200
    assert older.data == HELLO


async def test_if_match(fclient: QuartClient) -> None:
    etag = (await fclient.get("/static/hello.txt")).headers["ETag"]
    ok = await fclient.get("/static/hello.txt", headers={"If-Match": etag})
    assert ok.status_code == 200
    failed = await fclient.get("/static/hello.txt", headers={"If-Match": '"other"'})
    assert failed.status_code == 412


@pytest.mark.parametrize(
    ("header", "content_range", "data"),
    [
        ("bytes=0-4", "bytes 0-4/23", HELLO[0:5]),
        ("bytes=6-10", "bytes 6-10/23", b"world"),
        ("bytes=-5", "bytes 18-22/23", HELLO[-5:]),
        ("bytes=12-", "bytes 12-22/23", HELLO[12:]),
        ("bytes=20-1000", "bytes 20-22/23", HELLO[20:]),
        ("bytes=0-0", "bytes 0-0/23", b"h"),
        ("bytes=22-22", "bytes 22-22/23", b"\n"),
    ],
)
async def test_range(fclient: QuartClient, header: str, content_range: str, data: bytes) -> None:
    response = await fclient.get("/static/hello.txt", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(data))
    assert response.data == data


@pytest.mark.parametrize(
    "header",
    [
        "bytes=100-",  # starts past the end
        "bytes=23-30",
        "bytes=5-1",  # backwards
        "bytes=0-1,4-5",  # several ranges: refused, as Flask (werkzeug) does
        "bytes=abc",
        "items=0-1",  # unknown unit
    ],
)
async def test_unsatisfiable_range(fclient: QuartClient, header: str) -> None:
    response = await fclient.get("/static/hello.txt", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */23"
    assert HELLO not in response.data


async def test_range_on_an_empty_file_sends_it_whole(fclient: QuartClient) -> None:
    response = await fclient.get("/static/empty.txt", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"


async def test_if_range(fclient: QuartClient) -> None:
    first = await fclient.get("/static/hello.txt")
    etag = first.headers["ETag"]
    current = await fclient.get(
        "/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": etag}
    )
    assert current.status_code == 206
    assert current.data == b"hello"
    stale = await fclient.get(
        "/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": '"stale"'}
    )
    assert stale.status_code == 200
    assert stale.data == HELLO
    by_date = await fclient.get(
        "/static/hello.txt",
        headers={"Range": "bytes=0-4", "If-Range": first.headers["Last-Modified"]},
    )
    assert by_date.status_code == 206
    old_date = http_date(datetime(2000, 1, 1, tzinfo=UTC))
    stale_date = await fclient.get(
        "/static/hello.txt", headers={"Range": "bytes=0-4", "If-Range": old_date}
    )
    assert stale_date.status_code == 200


async def test_range_is_ignored_without_conditional(files_app: Quart) -> None:
    @files_app.route("/plain")
    async def plain() -> Response:
        return await send_file("static/hello.txt", conditional=False)

    client = files_app.test_client()
    response = await client.get("/plain", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.data == HELLO
    etag = response.headers["ETag"]
    assert (await client.get("/plain", headers={"If-None-Match": etag})).status_code == 200


async def test_head(fclient: QuartClient) -> None:
    response = await fclient.head("/static/hello.txt")
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == str(len(HELLO))
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    ranged = await fclient.head("/static/hello.txt", headers={"Range": "bytes=0-4"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Length"] == "5"
    assert ranged.data == b""


# -- streaming, memory, file handles ----------------------------------------------------


class ASGIClient:
    """Plays the server for one request; may report a disconnect after some chunks."""

    def __init__(self, disconnect_after: int | None = None) -> None:
        self.disconnect_after = disconnect_after
        self.start: Message | None = None
        self.sizes: list[int] = []
        self.digest = hashlib.sha256()
        self.last_more_body: bool | None = None
        self._requested = False
        self._progress = asyncio.Event()

    async def receive(self) -> Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if self.disconnect_after is None:
            await asyncio.Event().wait()
        while len(self.sizes) < (self.disconnect_after or 0):
            self._progress.clear()
            await self._progress.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        else:
            body = message.get("body", b"")
            self.last_more_body = message.get("more_body", False)
            if body:
                self.sizes.append(len(body))
                self.digest.update(body)
        self._progress.set()

    async def call(self, app: Quart, path: str, method: str = "GET") -> ASGIClient:
        scope: HTTPScope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000),
            "server": ("localhost", 80),
        }
        await asyncio.wait_for(app(scope, self.receive, self.send), timeout=20)
        return self

    @property
    def status(self) -> int:
        assert self.start is not None
        return int(self.start["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        assert self.start is not None
        return dict(self.start["headers"])


async def test_large_file_is_streamed_in_chunks(files_app: Quart, site: Path, large: Path) -> None:
    large = site / "static" / "large.bin"
    expected = hashlib.sha256(large.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        client = await ASGIClient().call(files_app, "/static/large.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert client.status == 200
    assert client.headers[b"content-length"] == str(LARGE_SIZE).encode()
    assert client.digest.hexdigest() == expected
    assert sum(client.sizes) == LARGE_SIZE
    assert client.sizes[0] <= CHUNK_SIZE
    assert max(client.sizes) <= CHUNK_SIZE
    assert len(client.sizes) >= LARGE_SIZE // CHUNK_SIZE
    assert client.last_more_body is False
    # Never more than a few chunks in memory at once, far below the file's size.
    assert peak < 2 * 1024 * 1024


async def test_large_file_range(fclient: QuartClient, site: Path, large: Path) -> None:
    content = (site / "static" / "large.bin").read_bytes()
    begin, end = 1_000_000, 3_500_000
    response = await fclient.get("/static/large.bin", headers={"Range": f"bytes={begin}-{end}"})
    assert response.status_code == 206
    assert response.data == content[begin : end + 1]
    assert response.headers["Content-Range"] == f"bytes {begin}-{end}/{LARGE_SIZE}"


# Records which threads open the watched paths (audit hooks cannot be removed,
# so this one stays installed, idle unless a path is being watched).
_OPEN_WATCH: dict[str, list[int]] = {}


def _audit(event: str, args: tuple[t.Any, ...]) -> None:
    if event == "open" and _OPEN_WATCH and isinstance(args[0], str) and args[0] in _OPEN_WATCH:
        _OPEN_WATCH[args[0]].append(threading.get_ident())


sys.addaudithook(_audit)


async def test_file_is_opened_off_the_event_loop(files_app: Quart, site: Path) -> None:
    target = os.fspath(site / "static" / "hello.txt")
    threads: list[int] = []
    _OPEN_WATCH[target] = threads
    try:
        client = await ASGIClient().call(files_app, "/static/hello.txt")
    finally:
        del _OPEN_WATCH[target]
    assert client.status == 200
    assert threads, "the file was never opened"
    assert threading.get_ident() not in threads


async def test_head_and_304_do_not_open_the_file(files_app: Quart, site: Path) -> None:
    target = os.fspath(site / "static" / "hello.txt")
    opened: list[int] = []
    _OPEN_WATCH[target] = opened
    try:
        head = await ASGIClient().call(files_app, "/static/hello.txt", method="HEAD")
        assert head.status == 200
        assert head.headers[b"content-length"] == str(len(HELLO)).encode()
        assert opened == []
        await ASGIClient().call(files_app, "/static/hello.txt")
        assert len(opened) == 1
    finally:
        del _OPEN_WATCH[target]


@needs_proc
@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/static/hello.txt", {}, 200),
        ("GET", "/static/large.bin", {}, 200),
        ("GET", "/static/hello.txt", {"Range": "bytes=1-3"}, 206),
        ("GET", "/static/hello.txt", {"Range": "bytes=99-"}, 416),
        ("GET", "/static/hello.txt", {"If-None-Match": "*"}, 304),
        ("HEAD", "/static/large.bin", {}, 200),
        ("GET", "/send/hello.txt", {}, 200),
        ("GET", "/files/sub/page.html", {}, 200),
        ("GET", "/bio", {}, 200),
    ],
)
async def test_file_handles_are_closed(
    fclient: QuartClient, method: str, path: str, headers: dict[str, str], status: int, large: Path
) -> None:
    await fclient.get("/static/hello.txt")  # warm up lazily created resources
    before = open_fds()
    for _ in range(5):
        response = await fclient.open(path, method=method, headers=headers)
        assert response.status_code == status
    assert open_fds() == before


@needs_proc
async def test_disconnect_mid_file_closes_it(files_app: Quart, large: Path) -> None:
    await ASGIClient().call(files_app, "/static/hello.txt")  # warm up
    before = open_fds()
    client = await ASGIClient(disconnect_after=2).call(files_app, "/static/large.bin")
    assert client.status == 200
    assert 2 <= len(client.sizes) < LARGE_SIZE // CHUNK_SIZE
    assert client.last_more_body is True
    assert open_fds() == before


@needs_proc
async def test_unsent_bodies_hold_no_file(files_app: Quart, large: Path) -> None:
    before = open_fds()

    @files_app.after_request
    async def replace(response: Response) -> Response:
        return Response("replaced")

    response = await files_app.test_client().get("/static/large.bin")
    assert response.data == b"replaced"
    assert open_fds() == before


async def test_file_body_ranges_and_chunks(site: Path) -> None:
    path = site / "static" / "hello.txt"
    body = FileBody(path, len(HELLO), buffer_size=4)
    assert body.supports_ranges
    chunks = [chunk async for chunk in body]
    assert chunks[0] == b"hell"
    assert all(len(chunk) <= 4 for chunk in chunks)
    assert b"".join(chunks) == HELLO
    ranged = FileBody(path, len(HELLO), buffer_size=4)
    ranged.make_range(6, 11)
    assert ranged.length == 5
    ranged.make_range(1, 3)  # relative to the current range
    assert ranged.length == 2
    assert b"".join([chunk async for chunk in ranged]) == b"or"
    clamped = FileBody(path, len(HELLO))
    clamped.make_range(20, 1000)
    assert clamped.length == len(HELLO) - 20
    assert b"".join([chunk async for chunk in clamped]) == HELLO[20:]
    with pytest.raises(ValueError):
        clamped.make_range(3, 1)
    with pytest.raises(ValueError):
        FileBody(path, -1)
    await body.aclose()  # closing twice, or after the end, is harmless
    await body.aclose()


async def test_file_body_stops_when_the_file_shrinks(site: Path) -> None:
    path = site / "static" / "hello.txt"
    body = FileBody(path, len(HELLO), buffer_size=4)
    path.write_bytes(b"short")
    assert b"".join([chunk async for chunk in body]) == b"short"


async def test_file_body_sends_no_more_than_measured(site: Path) -> None:
    path = site / "static" / "hello.txt"
    body = FileBody(path, 5)
    path.write_bytes(HELLO + b"appended")
    assert b"".join([chunk async for chunk in body]) == b"hello"


async def test_file_body_closes_on_early_stop(site: Path, large: Path) -> None:
    body = FileBody(site / "static" / "large.bin", LARGE_SIZE)
    iterator = aiter(body)
    await anext(iterator)
    assert body._file is not None
    await iterator.aclose()  # type: ignore[attr-defined]
    assert body._file is None


async def test_io_body() -> None:
    buffer = io.BytesIO(b"0123456789")
    body = IOBody(buffer, 10, buffer_size=3)
    assert body.supports_ranges
    body.make_range(2, 8)
    assert body.length == 6
    assert [chunk async for chunk in body] == [b"234", b"567"]
    assert buffer.closed
    unsized = IOBody(io.BytesIO(b"abc"))
    assert unsized.length is None
    assert not unsized.supports_ranges
    with pytest.raises(TypeError):
        unsized.make_range(0, 1)


async def test_response_get_data_reads_a_file_body(files_app: Quart) -> None:
    async with files_app.test_request_context("/"):
        response = await send_file("static/hello.txt")
        assert await response.get_data(as_text=True) == HELLO.decode()
        assert response.data == HELLO


# -- path traversal ------------------------------------------------------------------------

# Paths after the static URL prefix (or the /files/ view's), as a client sends
# them (percent-encoded where it says so). Every one must be a 404.
HOSTILE_PATHS = [
    "../secret.txt",
    "..%2fsecret.txt",
    "..%2Fsecret.txt",
    "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt",
    "%2E%2E%2Fsecret.txt",
    ".%2e/secret.txt",
    "..\\secret.txt",
    "..%5csecret.txt",
    "%2e%2e%5csecret.txt",
    "sub\\..\\..\\secret.txt",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "%2f%2fetc%2fpasswd",
    "..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "../../../../../../../../etc/passwd",
    "secret.txt%00",
    "../secret.txt%00.txt",
    "hello.txt%00../secret.txt",
    "%00",
    "../static-secret/x",
    "..%2fstatic-secret%2fx",
    "../static2/secret",
    "sub/../../secret.txt",
    "sub/..%2f..%2fsecret.txt",
    "./../secret.txt",
    "sub/./../../secret.txt",
    "%252e%252e%252fsecret.txt",
    "%25%32%65%25%32%65/secret.txt",
    "%c0%ae%c0%ae/secret.txt",
    "%e2%80%a5/secret.txt",
    "%ef%bc%8e%ef%bc%8e/secret.txt",
    "%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt",
    "..;/secret.txt",
    ".../secret.txt",
    "....//secret.txt",
    "C:\\secret.txt",
    "C:/secret.txt",
    "~/secret.txt",
    "linkdir/../../secret.txt",
    "linkdir/..%2f..%2fsecret.txt",
    "..",
    "../",
    ".",
    "./",
    "sub",
    "sub/",
    "linkdir",
    "a/" * 3000 + "x",
    "x" * 5000,
    "",
]


def assert_not_served(response: Response) -> None:
    assert response.status_code == 404, response.status
    assert SECRET not in response.data
    assert b"root:" not in response.data


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
@pytest.mark.parametrize("prefix", ["/static/", "/files/"])
async def test_path_traversal_is_404(fclient: QuartClient, prefix: str, hostile: str) -> None:
    response = await fclient.get(prefix + hostile, follow_redirects=True)
    assert_not_served(response)


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
async def test_path_traversal_raw_asgi(files_app: Quart, hostile: str) -> None:
    # The path as an ASGI server hands it over: percent-decoded, not normalised.
    from urllib.parse import unquote

    path = "/static/" + unquote(hostile, errors="surrogateescape")
    client = await ASGIClient().call(files_app, path)
    assert client.status in (404, 308)
    if client.status == 308:
        # Merged slashes redirect; the target is one of the paths above.
        location = client.headers[b"location"].decode()
        assert location.startswith("http://localhost/static/")


HOSTILE_NAMES = [
    "/etc/passwd",
    "//etc/passwd",
    "/" + "static/hello.txt",
    "../secret.txt",
    "..",
    "..\\secret.txt",
    "sub\\..\\..\\secret.txt",
    "secret.txt\x00",
    "hello.txt\x00",
    "\x00",
    "",
    ".",
    "sub",
    "static/../secret.txt",
    "../static-secret/x",
    "sub/../../secret.txt",
    "linkdir/../../secret.txt",
    "x" * 5000,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_send_from_directory_refuses(files_app: Quart, site: Path, name: str) -> None:
    async with files_app.test_request_context("/"):
        for directory in ("static", str(site / "static")):
            with pytest.raises(NotFound):
                await send_from_directory(directory, name)


def test_safe_join() -> None:
    assert safe_join("/srv/static", "a/b.txt") == "/srv/static/a/b.txt"
    assert safe_join("/srv/static", "a/./b/../c.txt") == "/srv/static/a/c.txt"
    for name in ("../x", "/x", "a/../../x", "a\\b", "a\x00b", ".."):
        assert safe_join("/srv/static", name) is None


async def test_sibling_directory_with_the_same_prefix(fclient: QuartClient, site: Path) -> None:
    # The secret exists, with a name that a plain string-prefix check would let through.
    assert (site / "static-secret" / "x").read_bytes() == SECRET
    assert_not_served(await fclient.get("/static/../static-secret/x"))
    assert_not_served(await fclient.get("/static-secret/x"))
    assert_not_served(await fclient.get("/static2/secret"))


async def test_symlinks_inside_static_are_followed(fclient: QuartClient) -> None:
    # The documented choice, as in Flask: a link placed in the static folder
    # is served even when it points outside.
    assert (await fclient.get("/static/link.txt")).data == b"linked content\n"
    assert (await fclient.get("/static/linkdir/linked.txt")).data == b"linked content\n"


async def test_trailing_slash_on_a_file(fclient: QuartClient) -> None:
    # "hello.txt/" normalises to "hello.txt", as in Flask.
    assert (await fclient.get("/static/hello.txt/")).data == HELLO


async def test_names_with_dots_that_are_not_traversal(fclient: QuartClient, site: Path) -> None:
    (site / "static" / "..hidden").write_bytes(b"dotdot name")
    (site / "static" / "a..b.txt").write_bytes(b"dots inside")
    assert (await fclient.get("/static/..hidden")).data == b"dotdot name"
    assert (await fclient.get("/static/a..b.txt")).data == b"dots inside"


# -- open_resource / open_instance_resource -------------------------------------------


async def test_open_resource(site: Path) -> None:
    app = make_app(site)
    async with await app.open_resource("schema.sql") as f:
        assert await f.read() == "CREATE TABLE t (é TEXT);\n".encode()
    async with await app.open_resource("schema.sql", "r", encoding="utf-8") as f:
        assert await f.read() == "CREATE TABLE t (é TEXT);\n"
    async with await app.open_resource("schema.sql", "rt", encoding="latin-1") as f:
        assert await f.read() == "CREATE TABLE t (é TEXT);\n".encode().decode("latin-1")
    with pytest.raises(FileNotFoundError):
        await app.open_resource("missing.sql")


@pytest.mark.parametrize("mode", ["w", "wb", "a", "ab", "r+", "rb+", "x", "w+"])
async def test_open_resource_refuses_writing(site: Path, mode: str) -> None:
    app = make_app(site)
    with pytest.raises(ValueError, match="reading"):
        await app.open_resource("schema.sql", mode)
    assert (site / "schema.sql").read_text(encoding="utf-8") == "CREATE TABLE t (é TEXT);\n"


async def test_open_instance_resource(site: Path) -> None:
    app = make_app(site)
    async with await app.open_instance_resource("settings.cfg") as f:
        assert await f.read() == b"X = 1\n"
    async with await app.open_instance_resource("settings.cfg", "r") as f:
        assert await f.read() == "X = 1\n"
    # The instance folder is for files the app writes (as in Flask).
    async with await app.open_instance_resource("state.txt", "w") as f:
        await f.write("état")
    assert (site / "instance" / "state.txt").read_text(encoding="utf-8") == "état"
    async with await app.open_instance_resource("state.bin", "wb") as f:
        await f.write(b"\x00\x01")
    assert (site / "instance" / "state.bin").read_bytes() == b"\x00\x01"


# -- differential: the same requests against Flask ------------------------------------

COMPARED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Range",
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Last-Modified",
)


def _flask_app(site: Path) -> flask.Flask:
    app = flask.Flask(__name__, root_path=str(site))

    @app.route("/send/<path:name>")
    def send(name: str) -> flask.Response:
        return flask.send_file(f"static/{name}")

    @app.route("/download")
    def download() -> flask.Response:
        return flask.send_file("static/hello.txt", as_attachment=True, download_name="résumé.txt")

    @app.route("/bio")
    def bio() -> flask.Response:
        return flask.send_file(io.BytesIO(b"in-memory bytes"), mimetype="text/plain")

    @app.route("/bio-named")
    def bio_named() -> flask.Response:
        return flask.send_file(io.BytesIO(b"a,b\n1,2\n"), download_name="report.csv")

    @app.route("/cached")
    def cached() -> flask.Response:
        return flask.send_file("static/style.css", max_age=60)

    @app.route("/custom-etag")
    def custom_etag() -> flask.Response:
        return flask.send_file("static/hello.txt", etag="v1", last_modified=0)

    @app.route("/files/<path:name>")
    def files(name: str) -> flask.Response:
        return flask.send_from_directory("static", name)

    return app


def _quartlike_app(site: Path) -> Quart:
    app = make_app(site)

    @app.route("/send/<path:name>")
    async def send(name: str) -> Response:
        return await send_file(f"static/{name}")

    @app.route("/download")
    async def download() -> Response:
        return await send_file("static/hello.txt", as_attachment=True, download_name="résumé.txt")

    @app.route("/bio")
    async def bio() -> Response:
        return await send_file(io.BytesIO(b"in-memory bytes"), mimetype="text/plain")

    @app.route("/bio-named")
    async def bio_named() -> Response:
        return await send_file(io.BytesIO(b"a,b\n1,2\n"), download_name="report.csv")

    @app.route("/cached")
    async def cached() -> Response:
        return await send_file("static/style.css", max_age=60)

    @app.route("/custom-etag")
    async def custom_etag() -> Response:
        return await send_file("static/hello.txt", etag="v1", last_modified=0)

    @app.route("/files/<path:name>")
    async def files(name: str) -> Response:
        return await send_from_directory("static", name)

    return app


OLD_DATE = "Sat, 01 Jan 2000 00:00:00 GMT"

# (method, path, request headers); "{etag}" and "{last_modified}" are replaced
# by each framework's own values for the same path.
DIFFERENTIAL_REQUESTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/static/hello.txt", {}),
    ("GET", "/static/style.css", {}),
    ("GET", "/static/sub/page.html", {}),
    ("GET", "/static/archive.tar.gz", {}),
    ("GET", "/static/blob.zzzunknown", {}),
    ("GET", "/static/empty.txt", {}),
    ("GET", "/static/my%20file.txt", {}),
    ("GET", "/static/r%C3%A9sum%C3%A9.txt", {}),
    ("GET", "/static/missing.txt", {}),
    ("GET", "/static/../secret.txt", {}),
    ("GET", "/static/sub", {}),
    ("GET", "/static/link.txt", {}),
    ("HEAD", "/static/hello.txt", {}),
    ("POST", "/static/hello.txt", {}),
    ("GET", "/static/hello.txt", {"Range": "bytes=0-4"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=-3"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=5-"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=20-999"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=0-0,2-3"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=100-200"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=abc"}),
    ("GET", "/static/empty.txt", {"Range": "bytes=0-1"}),
    ("HEAD", "/static/hello.txt", {"Range": "bytes=1-2"}),
    ("GET", "/static/hello.txt", {"If-None-Match": "{etag}"}),
    ("GET", "/static/hello.txt", {"If-None-Match": '"other"'}),
    ("GET", "/static/hello.txt", {"If-Modified-Since": "{last_modified}"}),
    ("GET", "/static/hello.txt", {"If-Modified-Since": OLD_DATE}),
    ("GET", "/static/hello.txt", {"If-Match": '"other"'}),
    ("GET", "/static/hello.txt", {"If-Match": "{etag}"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=0-4", "If-Range": "{etag}"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=0-4", "If-Range": '"stale"'}),
    ("GET", "/static/hello.txt", {"Range": "bytes=0-4", "If-Range": OLD_DATE}),
    ("GET", "/send/hello.txt", {}),
    ("GET", "/download", {}),
    ("GET", "/bio", {}),
    ("GET", "/bio", {"Range": "bytes=3-8"}),
    ("GET", "/bio-named", {}),
    ("GET", "/cached", {}),
    ("GET", "/custom-etag", {"If-None-Match": '"v1"'}),
    ("GET", "/custom-etag", {"If-Modified-Since": OLD_DATE}),
    ("GET", "/files/hello.txt", {}),
    ("GET", "/files/..%2fsecret.txt", {}),
    ("GET", "/files/sub", {}),
]


@pytest.fixture
def differential(site: Path) -> tuple[flask.Flask, Quart]:
    return _flask_app(site), _quartlike_app(site)


@pytest.mark.parametrize(("method", "path", "headers"), DIFFERENTIAL_REQUESTS)
async def test_differential_against_flask(
    differential: tuple[flask.Flask, Quart], method: str, path: str, headers: dict[str, str]
) -> None:
    flask_app, app = differential
    flask_client = flask_app.test_client()
    client = app.test_client()

    def fill(own: cabc.Mapping[str, str]) -> dict[str, str]:
        filled = {}
        for key, value in headers.items():
            for placeholder, name in (("{etag}", "ETag"), ("{last_modified}", "Last-Modified")):
                if placeholder in value:
                    assert name in own, f"the first response has no {name}"
                    value = value.replace(placeholder, own[name])
            filled[key] = value
        return filled

    flask_first = flask_client.get(path)
    ours_first = await client.get(path)
    expected = flask_client.open(path, method=method, headers=fill(flask_first.headers))
    actual = await client.open(path, method=method, headers=fill(ours_first.headers))
    flask_first.close()

    assert actual.status_code == expected.status_code
    assert actual.data == expected.data
    for name in COMPARED_HEADERS:
        assert actual.headers.get(name) == expected.headers.get(name), name
    for name in ("ETag", "Expires", "Date"):
        assert (name in actual.headers) == (name in expected.headers), name
    expected.close()
