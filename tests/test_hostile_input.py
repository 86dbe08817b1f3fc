"""Hostile input: what a client can send, and what it gets back.

Each section is a table of attacks sent through raw ASGI calls (so that the
test controls every message a server would pass on) or the test client, with
``PROPAGATE_EXCEPTIONS`` off, as in production: an unexpected error shows as
a 500 instead of an exception. What other test files already pin is not
repeated here (``test_request`` for the basic body limits, ``test_formparser``
for the parser on its own, ``test_trusted_hosts`` for the TRUSTED_HOSTS table,
``test_sessions`` for malformed session cookies, ``test_response`` for CR/LF in
header values and names); this file extends them to every body reader, to the
app as a whole, and to the cases they leave out.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import json
import logging
import time
import tracemalloc
import typing as t
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import RequestTimeout

from quartlike import Quart
from quartlike import Response
from quartlike import redirect
from quartlike import request
from quartlike import session
from quartlike import url_for
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request
from quartlike.wrappers.request import ClientDisconnected
from tests.exchange import BOUND
from tests.exchange import Exchange
from tests.exchange import body
from tests.exchange import http_scope
from tests.loopcheck import LoopMonitor

if t.TYPE_CHECKING:
    from quartlike.typing import HTTPScope
    from quartlike.typing import Message


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config.update(PROPAGATE_EXCEPTIONS=False, SECRET_KEY="hostile-input-secret")
    app.config.update(config)
    return app


def error_records(caplog: pytest.LogCaptureFixture, app: Quart) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == app.logger.name and r.levelno >= logging.ERROR]


# =============================================================================================
# Body size: every way of reading the body enforces MAX_CONTENT_LENGTH the same way
# =============================================================================================

LIMIT = 1000
BOUNDARY = b"hostile-boundary"
MULTIPART_TYPE = b"multipart/form-data; boundary=" + BOUNDARY


MULTIPART_HEAD = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="f"\r\n\r\n'
MULTIPART_TAIL = b"\r\n--" + BOUNDARY + b"--\r\n"


def multipart_of_size(size: int) -> bytes:
    """A valid multipart body of exactly ``size`` bytes: one field, padded to fit."""
    return MULTIPART_HEAD + b"m" * multipart_value_size(size) + MULTIPART_TAIL


def multipart_value_size(size: int) -> int:
    return size - len(MULTIPART_HEAD) - len(MULTIPART_TAIL)


async def read_data() -> int:
    return len(await request.get_data())


async def read_stream() -> int:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return total


async def read_body_iterator() -> int:
    total = 0
    async for chunk in request.body:
        total += len(chunk)
    return total


async def read_form() -> int:
    form = await request.form
    return sum(len(value) for value in form.values())


async def read_json() -> int:
    return len(await request.get_json(force=True))


class Reader(t.NamedTuple):
    read: cabc.Callable[[], cabc.Awaitable[int]]
    content_type: bytes
    #: A valid body of the given size for this reader.
    make_body: cabc.Callable[[int], bytes]
    #: What the view reports for that body.
    size_seen: cabc.Callable[[int], int]


READERS = {
    "get_data": Reader(read_data, b"application/octet-stream", lambda n: b"x" * n, lambda n: n),
    "stream": Reader(read_stream, b"application/octet-stream", lambda n: b"x" * n, lambda n: n),
    "async-for-body": Reader(
        read_body_iterator, b"application/octet-stream", lambda n: b"x" * n, lambda n: n
    ),
    "urlencoded-form": Reader(
        read_form,
        b"application/x-www-form-urlencoded",
        lambda n: b"a=" + b"x" * (n - 2),
        lambda n: n - 2,
    ),
    "multipart-form": Reader(read_form, MULTIPART_TYPE, multipart_of_size, multipart_value_size),
    "json": Reader(
        read_json, b"application/json", lambda n: b'"' + b"j" * (n - 2) + b'"', lambda n: n - 2
    ),
}


def reader_app(reader: Reader, **config: t.Any) -> tuple[Quart, list[int]]:
    app = make_app(MAX_CONTENT_LENGTH=LIMIT, **config)
    seen: list[int] = []

    @app.post("/")
    async def index() -> str:
        seen.append(await reader.read())
        return "read"

    return app, seen


@pytest.mark.parametrize("name", READERS)
async def test_declared_oversize_body_is_413_before_any_body_message(name: str) -> None:
    reader = READERS[name]
    app, seen = reader_app(reader)
    data = reader.make_body(LIMIT + 1)
    headers = [(b"content-type", reader.content_type), (b"content-length", b"%d" % len(data))]
    exchange = await Exchange(body(data)).run(app, http_scope(headers=headers))
    assert exchange.status == 413
    assert exchange.receive_calls == 0  # refused on the declared length alone
    assert seen == []


@pytest.mark.parametrize("lying_length", [None, LIMIT], ids=["chunked", "declared-too-small"])
@pytest.mark.parametrize("name", READERS)
async def test_body_crossing_the_limit_is_413_and_not_read_further(
    name: str, lying_length: int | None
) -> None:
    reader = READERS[name]
    app, seen = reader_app(reader)
    data = reader.make_body(3 * LIMIT)
    third = len(data) // 3
    headers = [(b"content-type", reader.content_type)]
    if lying_length is None:
        headers.append((b"transfer-encoding", b"chunked"))
    else:
        headers.append((b"content-length", b"%d" % lying_length))
    messages = [body(data[:third], True), body(data[third : 2 * third], True), body(b"rest")]
    exchange = await Exchange(*messages).run(app, http_scope(headers=headers))
    assert exchange.status == 413
    assert exchange.incoming == [body(b"rest")]  # the reader stopped at the limit
    assert seen == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("name", READERS)
async def test_body_exactly_at_the_limit_is_read(name: str, declared: bool) -> None:
    reader = READERS[name]
    app, seen = reader_app(reader)
    data = reader.make_body(LIMIT)
    assert len(data) == LIMIT
    headers = [(b"content-type", reader.content_type)]
    headers.append(
        (b"content-length", b"%d" % LIMIT) if declared else (b"transfer-encoding", b"chunked")
    )
    cut = LIMIT // 3
    messages = [body(data[:cut], True), body(data[cut : 2 * cut], True), body(data[2 * cut :])]
    exchange = await Exchange(*messages).run(app, http_scope(headers=headers))
    assert (exchange.status, exchange.body) == (200, b"read")
    assert seen == [reader.size_seen(LIMIT)]


CLOSE_CASES: dict[str, tuple[str, list[tuple[bytes, bytes]], list[Message], str, int, bool]] = {
    # name: (http version, headers, messages, then, status, whether "connection: close" is sent)
    "declared-oversize": (
        "1.1",
        [(b"content-length", b"5000")],
        [body(b"x", True)],
        "stall",
        413,
        True,
    ),
    "crossed-the-limit": (
        "1.1",
        [(b"transfer-encoding", b"chunked")],
        [body(b"x" * 600, True), body(b"x" * 600, True)],
        "stall",
        413,
        True,
    ),
    "timed-out": ("1.1", [(b"content-length", b"50")], [body(b"x", True)], "stall", 408, True),
    "read-completely": ("1.1", [(b"content-length", b"3")], [body(b"abc")], "end", 200, False),
    "no-body": ("1.1", [], [body(b"")], "end", 200, False),
    "http-1.0-oversize": (
        "1.0",
        [(b"content-length", b"5000")],
        [body(b"x", True)],
        "stall",
        413,
        True,
    ),
    # HTTP/2 and 3 forbid the header (the server resets the stream instead).
    "http-2-oversize": (
        "2",
        [(b"content-length", b"5000")],
        [body(b"x", True)],
        "stall",
        413,
        False,
    ),
}


@pytest.mark.parametrize("name", CLOSE_CASES)
async def test_a_body_left_unread_closes_the_connection(name: str) -> None:
    # The server closes a connection whose request body is still arriving
    # unread; "connection: close" tells the client not to send its next
    # request on it (RFC 9112, 9.6), which it would otherwise lose.
    version, headers, messages, then, status, closes = CLOSE_CASES[name]
    app, _ = reader_app(READERS["get_data"], BODY_TIMEOUT=0.1)
    scope = http_scope(headers=headers)
    scope["http_version"] = version
    exchange = await Exchange(*messages, then=then).run(app, scope)
    assert exchange.status == status
    assert (exchange.header(b"connection") == b"close") is closes


@pytest.mark.parametrize(
    "headers",
    [[(b"content-length", b"10")], [(b"transfer-encoding", b"chunked")]],
    ids=["content-length", "chunked"],
)
async def test_a_body_nobody_started_to_read_leaves_the_connection_alone(
    headers: list[tuple[bytes, bytes]],
) -> None:
    # Whether an unread body has all arrived is the server's to know (uvicorn
    # drains it; Hypercorn closes the connection if it has not).
    app = make_app()

    @app.post("/")
    async def index() -> str:
        return "ignored the body"

    exchange = await Exchange(body(b"0123456789")).run(app, http_scope(headers=headers))
    assert exchange.status == 200
    assert exchange.header(b"connection") is None


# =============================================================================================
# Body time: BODY_TIMEOUT bounds the whole body; views that do not read are unaffected
# =============================================================================================


@pytest.mark.parametrize("name", READERS)
async def test_stalled_body_is_408_for_every_reader(name: str) -> None:
    reader = READERS[name]
    app, seen = reader_app(reader, BODY_TIMEOUT=0.2)
    headers = [(b"content-type", reader.content_type), (b"content-length", b"500")]
    started = time.monotonic()
    exchange = await Exchange(body(reader.make_body(500)[:10], True), then="stall").run(
        app, http_scope(headers=headers)
    )
    assert exchange.status == 408
    assert 0.2 <= time.monotonic() - started < 3
    assert seen == []


async def test_dripping_body_is_408_even_though_each_chunk_is_quick() -> None:
    # The limit is on the whole body, not on the gap between chunks: a client
    # sending a byte every 50 ms cannot hold the request open for long.
    app, seen = reader_app(READERS["get_data"], BODY_TIMEOUT=0.3)
    drip = [body(b"x", True) for _ in range(100)]
    started = time.monotonic()
    exchange = await Exchange(*drip, delay=0.05).run(app, http_scope())
    assert exchange.status == 408
    assert time.monotonic() - started < 2
    assert len(exchange.incoming) > 80  # most of the drip was never waited for
    assert seen == []


@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
async def test_view_that_never_reads_ignores_a_stalled_body(streamed: bool) -> None:
    app = make_app(BODY_TIMEOUT=0.2)

    @app.post("/")
    async def index() -> t.Any:
        if streamed:

            async def chunks() -> cabc.AsyncIterator[bytes]:
                yield b"not "
                await asyncio.sleep(0.4)  # past BODY_TIMEOUT: not reading is not timing out
                yield b"reading"

            return chunks()
        await asyncio.sleep(0.4)
        return "not reading"

    headers = [(b"content-length", b"1000000")]
    exchange = Exchange(body(b"first bytes", True), then="stall")
    started = time.monotonic()
    await exchange.run(app, http_scope(headers=headers))
    assert (exchange.status, exchange.body) == (200, b"not reading")
    assert time.monotonic() - started < 3


async def test_body_timeout_reaches_a_handler_for_408() -> None:
    app, _ = reader_app(READERS["get_data"], BODY_TIMEOUT=0.1)

    @app.errorhandler(RequestTimeout)
    async def timed_out(e: RequestTimeout) -> tuple[str, int]:
        return "too slow", 408

    exchange = await Exchange(body(b"x", True), then="stall").run(app, http_scope())
    assert (exchange.status, exchange.body) == (408, b"too slow")


# =============================================================================================
# Millions of empty urlencoded fields: refused at once, loop and memory bounded
# =============================================================================================

AMPERSANDS = 5_000_000
SERVER_CHUNK = 64 * 1024


def ampersand_exchange(as_one_message: bool) -> Exchange:
    if as_one_message:
        return Exchange(body(b"&" * AMPERSANDS))
    chunk = b"&" * SERVER_CHUNK  # one object, sent many times: the client costs no memory
    count, rest = divmod(AMPERSANDS, SERVER_CHUNK)
    return Exchange(*[body(chunk, True)] * count, body(b"&" * rest))


def ampersand_app() -> tuple[Quart, HTTPScope]:
    app = make_app(MAX_CONTENT_LENGTH=8 * 1024 * 1024)  # 5 MB of "&" is within the limit

    @app.post("/")
    async def index() -> str:
        return str(len(await request.form))

    headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", b"%d" % AMPERSANDS),
    ]
    return app, http_scope(headers=headers)


@pytest.mark.parametrize("as_one_message", [False, True], ids=["64KiB-chunks", "one-message"])
@pytest.mark.parametrize("no_loop_blocking", [0.25], indirect=True)
async def test_millions_of_empty_fields_are_413_fast_without_blocking_the_loop(
    as_one_message: bool, no_loop_blocking: LoopMonitor
) -> None:
    app, scope = ampersand_app()
    exchange = ampersand_exchange(as_one_message)
    started = time.monotonic()
    await exchange.run(app, scope)
    elapsed = time.monotonic() - started
    assert exchange.status == 413
    assert b"more than 1000 fields" in exchange.body
    assert elapsed < 1.0
    assert exchange.receive_calls == 1  # the first chunk already holds too many fields
    assert no_loop_blocking.stalled() < 0.25


@pytest.mark.parametrize("as_one_message", [False, True], ids=["64KiB-chunks", "one-message"])
async def test_millions_of_empty_fields_use_bounded_memory(as_one_message: bool) -> None:
    app, scope = ampersand_app()
    exchange = ampersand_exchange(as_one_message)  # the body is allocated before measuring
    await Exchange(body(b"warm=up")).run(app, {**scope, "headers": list(scope["headers"])[:2]})
    tracemalloc.start()
    try:
        await exchange.run(app, scope)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exchange.status == 413
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes for a {AMPERSANDS} byte body"


# =============================================================================================
# Multipart bodies built to exhaust the parser
# =============================================================================================


def part(name: bytes, value: bytes) -> bytes:
    return (
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="'
        + name
        + b'"\r\n\r\n'
        + value
        + b"\r\n"
    )


CLOSE = b"--" + BOUNDARY + b"--\r\n"

MULTIPART_ATTACKS: dict[str, tuple[list[bytes], bytes, int]] = {
    # name: (body chunks, content type, status)
    "too-many-parts": (
        [b"".join(part(b"p", b"v") for _ in range(1001)) + CLOSE],
        MULTIPART_TYPE,
        413,
    ),
    "huge-part-header": (
        [b"--" + BOUNDARY + b"\r\nX-Padding: "] + [b"h" * SERVER_CHUNK] * 40,
        MULTIPART_TYPE,
        413,
    ),
    "endless-preamble": ([b"preamble " * 7000] * 40, MULTIPART_TYPE, 413),
    "endless-field": ([part(b"f", b"v")[:-2]] + [b"v" * SERVER_CHUNK] * 40, MULTIPART_TYPE, 413),
    "no-boundary-parameter": ([part(b"a", b"1") + CLOSE], b"multipart/form-data", 400),
    "boundary-too-long": (
        [b"--" + b"b" * 201 + b"\r\n"],
        b"multipart/form-data; boundary=" + b"b" * 201,
        400,
    ),
    "part-without-name": (
        [b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data\r\n\r\nv\r\n" + CLOSE],
        MULTIPART_TYPE,
        400,
    ),
    "truncated": ([part(b"a", b"1")[:-4]], MULTIPART_TYPE, 400),
}


@pytest.mark.parametrize("name", MULTIPART_ATTACKS)
async def test_multipart_attacks(name: str) -> None:
    chunks, content_type, status = MULTIPART_ATTACKS[name]
    app = make_app(MAX_CONTENT_LENGTH=16 * 1024 * 1024)

    @app.post("/")
    async def index() -> str:
        return str(len(await request.form))

    messages = [body(c, True) for c in chunks[:-1]] + [body(chunks[-1])]
    exchange = await Exchange(*messages).run(
        app, http_scope(headers=[(b"content-type", content_type)])
    )
    assert exchange.status == status, exchange.body
    if len(chunks) > 10:
        # Refused once the limit was crossed, not after reading everything.
        assert len(exchange.incoming) > len(chunks) // 2


# =============================================================================================
# JSON: never a 500; silent=True gives None
# =============================================================================================

JSON_CASES: dict[str, tuple[bytes, int]] = {
    # name: (body, status of get_json()); silent=True gives None wherever the status is 400
    "invalid-utf8": (b'{"a": "\xff\xfe"}', 400),
    "invalid-utf8-start": (b"\xc3\x28", 400),
    "nested-arrays-10000": (b"[" * 10_000 + b"]" * 10_000, 400),
    "nested-objects-10000": (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
    "number-10000-digits": (b"9" * 10_000, 400),
    "float-10000-digits": (b"0." + b"1" * 10_000, 200),
    "truncated-object": (b'{"a": [1, 2', 400),
    "truncated-string": (b'"abc', 400),
    "truncated-escape": (b'"\\u12', 400),
    "empty": (b"", 400),
    "whitespace-only": (b" \r\n\t", 400),
    "bom-only": (b"\xef\xbb\xbf", 400),
    "trailing-garbage": (b"{} {}", 400),
    "nul-byte": (b'{"a": 1}\x00', 400),
    # Not JSON (RFC 8259): Flask accepts them, quartlike refuses them.
    "nan-and-infinity": (b"[NaN, Infinity, -Infinity]", 400),
    # Accepted, as by Flask and the json module (documented in security.rst):
    "utf8-bom": (b'\xef\xbb\xbf{"a": 1}', 200),
    "utf16-with-bom": ('{"a": 1}'.encode("utf-16"), 200),
    "lone-surrogate-escape": (b'"\\ud800"', 200),
    "duplicate-keys": (b'{"a": 1, "a": 2}', 200),
}


@pytest.mark.parametrize("silent", [False, True], ids=["strict", "silent"])
@pytest.mark.parametrize("name", JSON_CASES)
async def test_hostile_json(name: str, silent: bool, caplog: pytest.LogCaptureFixture) -> None:
    data, status = JSON_CASES[name]
    app = make_app()

    @app.post("/")
    async def index() -> dict[str, str]:
        return {"value": repr(await request.get_json(silent=silent))[:50]}

    with caplog.at_level(logging.ERROR):
        exchange = await Exchange(body(data)).run(
            app, http_scope(headers=[(b"content-type", b"application/json")])
        )
    assert not error_records(caplog, app)
    if silent:
        assert exchange.status == 200
        assert (exchange.body == b'{"value":"None"}\n') == (status == 400)
    else:
        assert exchange.status == status, exchange.body


# =============================================================================================
# Header injection: CR, LF and NUL from a view never reach the wire
# =============================================================================================


def set_header_value(response: Response, value: str) -> None:
    response.headers["X-Echo"] = value


def set_header_name(response: Response, value: str) -> None:
    response.headers[f"X-{value}"] = "v"


def set_cookie_value(response: Response, value: str) -> None:
    response.set_cookie("c", value)


def set_cookie_name(response: Response, value: str) -> None:
    response.set_cookie(value, "v")


def set_cookie_domain(response: Response, value: str) -> None:
    response.set_cookie("c", "v", domain=value)


def set_cookie_path(response: Response, value: str) -> None:
    response.set_cookie("c", "v", path=value)


SETTERS: dict[str, cabc.Callable[[Response, str], None]] = {
    "header-value": set_header_value,
    "header-name": set_header_name,
    "cookie-value": set_cookie_value,
    "cookie-name": set_cookie_name,
    "cookie-domain": set_cookie_domain,
    "cookie-path": set_cookie_path,
}

INJECTIONS = {
    "crlf": "a\r\nInjected: 1",
    "lf": "a\nInjected: 1",
    "cr": "a\rInjected: 1",
    "nul": "a\x00b",
}

#: (where, injection) -> the exact outcome: 500, or the Set-Cookie line that is sent.
INJECTION_OUTCOMES: dict[tuple[str, str], int | bytes] = {
    **{(where, kind): 500 for where in SETTERS for kind in INJECTIONS},
    # Cookie values are quoted, with the controls as octal escapes (RFC 6265 would
    # refuse them; browsers read the quoted string as an opaque value).
    ("cookie-value", "crlf"): b'c="a\\015\\012Injected: 1"; Path=/',
    ("cookie-value", "lf"): b'c="a\\012Injected: 1"; Path=/',
    ("cookie-value", "cr"): b'c="a\\015Injected: 1"; Path=/',
    ("cookie-value", "nul"): b'c="a\\000b"; Path=/',
    # The path is percent-encoded.
    ("cookie-path", "crlf"): b"c=v; Path=a%0D%0AInjected:%201",
    ("cookie-path", "lf"): b"c=v; Path=a%0AInjected:%201",
    ("cookie-path", "cr"): b"c=v; Path=a%0DInjected:%201",
    ("cookie-path", "nul"): b"c=v; Path=a%00b",
}


@pytest.mark.parametrize("kind", INJECTIONS)
@pytest.mark.parametrize("where", SETTERS)
async def test_header_injection_never_reaches_the_wire(
    where: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()

    @app.get("/")
    async def index() -> Response:
        response = Response("body")
        SETTERS[where](response, INJECTIONS[kind])
        return response

    with caplog.at_level(logging.ERROR):
        exchange = await Exchange().run(app, http_scope(method="GET"))
    for name, value in exchange.headers:
        assert not any(byte in name + value for byte in b"\r\n\x00"), (name, value)
        assert b"injected" not in name.lower()
    expected = INJECTION_OUTCOMES[(where, kind)]
    if expected == 500:
        assert exchange.status == 500
        assert exchange.header(b"set-cookie") is None
        assert len(error_records(caplog, app)) == 1  # the app's bug is logged
    else:
        assert exchange.status == 200
        assert exchange.header(b"set-cookie") == expected


@pytest.mark.parametrize(
    ("location", "outcome"),
    [
        ("/next\r\nInjected: 1", 500),
        ("http://example.com/\nInjected: 1", 500),
        ("/next\rInjected: 1", 500),
        ("/next\x00x", b"/next%00x"),
        ("/next page", b"/next%20page"),
        ("/caf\u00e9", b"/caf%C3%A9"),
    ],
    ids=["crlf", "lf", "cr", "nul", "space", "non-ascii"],
)
async def test_redirect_locations_are_never_injected(location: str, outcome: int | bytes) -> None:
    app = make_app()

    @app.get("/")
    async def index() -> Response:
        return redirect(location)

    exchange = await Exchange().run(app, http_scope(method="GET"))
    for name, value in exchange.headers:
        assert not any(byte in name + value for byte in b"\r\n\x00")
    if outcome == 500:
        assert exchange.status == 500
        assert exchange.header(b"location") is None
    else:
        assert exchange.status == 302
        assert exchange.header(b"location") == outcome


# =============================================================================================
# Open redirects: the strict-slash redirect stays on the request's host
# =============================================================================================

HOSTILE_PATHS = [
    "//evil.com",
    "//evil.com/",
    "///evil.com",
    "/\\evil.com",
    "/\\\\evil.com",
    "/\\/evil.com",
    "/.//evil.com",
    "/\tevil.com",
    "/%2F%2Fevil.com",
    "/@evil.com",
    "/http://evil.com",
    "/http:\\\\evil.com",
    "/evil.com%2F..",
    "/dir//",
    "//dir",
    "/dir",
    "/n//evil.com",
    "/n/\\evil.com",
    "/n/%5Cevil.com",
]


def redirecting_app(**config: t.Any) -> Quart:
    app = make_app(**config)

    @app.route("/<path:p>/")
    async def anything(p: str) -> str:
        return p

    @app.route("/n/<name>/")
    async def named(name: str) -> str:
        return name

    @app.route("/dir/")
    async def directory() -> str:
        return "dir"

    return app


@pytest.mark.parametrize("path", HOSTILE_PATHS)
async def test_strict_slash_redirects_stay_on_the_requested_host(path: str) -> None:
    exchange = await Exchange().run(redirecting_app(), http_scope(path, method="GET"))
    assert exchange.status in (200, 308, 404)
    location = exchange.header(b"location")
    if exchange.status != 308:
        assert location is None
        return
    assert location is not None
    # Absolute, on the Host the client asked for, and with nothing a browser
    # would read as another authority (a backslash, a control character).
    assert location.startswith(b"http://example.com/")
    assert urlsplit(location.decode("ascii")).netloc == "example.com"
    assert not any(c in location for c in b"\\\t\r\n\x00 ")
    assert not location.removeprefix(b"http://example.com").startswith(b"//")


@pytest.mark.parametrize("path", ["/\\evil.com", "/\\/evil.com", "/dir", "/n/\\evil.com"])
async def test_following_strict_slash_redirects_never_leaves_the_host(path: str) -> None:
    # ("//evil.com" is not a path to the test client but a URL with a host.)
    client = redirecting_app().test_client()
    response = await client.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert all(
        urlsplit(r.headers["Location"]).netloc in ("", "localhost")
        for r in response.history  # type: ignore[attr-defined]
    )


async def test_redirect_of_user_input_is_the_apps_business() -> None:
    # redirect() sends what it is given (made ASCII-safe): checking that a
    # "next" URL stays on the site is up to the app (see docs/security.rst).
    app = make_app()

    @app.get("/login")
    async def login() -> Response:
        return redirect(request.args.get("next", "/"))

    client = app.test_client()
    for target in ["//evil.com/", "https://evil.com/", "/\\evil.com"]:
        response = await client.get("/login", query_string={"next": target})
        assert response.status_code == 302
        assert response.headers["Location"] == target.replace("\\", "%5C")


# =============================================================================================
# Host safety
# =============================================================================================


@pytest.mark.parametrize("host", [b"evil.com", b"evil.com:8080", b"127.0.0.1", b"EVIL.COM"])
async def test_without_trusted_hosts_the_host_header_is_believed(host: bytes) -> None:
    # Documented: with neither TRUSTED_HOSTS nor SERVER_NAME set, request.url,
    # external URLs and redirects all use the Host the client sent.
    app = redirecting_app()

    @app.get("/where")
    async def where() -> dict[str, str]:
        return {"url": request.url, "external": url_for("directory", _external=True)}

    exchange = await Exchange().run(app, http_scope("/where", method="GET", host=host))
    shown = host.lower()  # host names are case-insensitive, and URLs show them lowercased
    assert exchange.body == (
        b'{"external":"http://%s/dir/","url":"http://%s/where"}\n' % (shown, shown)
    )
    redirected = await Exchange().run(app, http_scope("/dir", method="GET", host=host))
    assert redirected.header(b"location") == b"http://%s/dir/" % shown


INVALID_HOSTS = [b"", b"a b", b"evil.com/x", b"user@evil.com", b"evil.com:99999", b"\xff"]


@pytest.mark.parametrize("host", INVALID_HOSTS)
async def test_invalid_host_headers_are_refused_with_trusted_hosts(host: bytes) -> None:
    app = redirecting_app(TRUSTED_HOSTS=["example.com"])
    exchange = await Exchange().run(app, http_scope("//evil.com", method="GET", host=host))
    assert exchange.status == 400
    assert exchange.header(b"location") is None


@pytest.mark.parametrize("host", [b"evil.com", b"sub.example.com", *INVALID_HOSTS])
async def test_server_name_decides_urls_whatever_the_host(host: bytes) -> None:
    app = redirecting_app(SERVER_NAME="example.com")

    @app.get("/where")
    async def where() -> str:
        return url_for("directory", _external=True)

    exchange = await Exchange().run(app, http_scope("/where", method="GET", host=host))
    assert (exchange.status, exchange.body) == (200, b"http://example.com/dir/")
    for path in ("/dir", "//evil.com", "/\\evil.com"):
        redirected = await Exchange().run(app, http_scope(path, method="GET", host=host))
        assert redirected.status == 308
        location = redirected.header(b"location")
        assert location is not None and location.startswith(b"http://example.com/")


@pytest.mark.parametrize(
    ("host", "body"),
    [
        (b"api.example.com", b"api"),
        (b"example.com", b"www"),
        (b"api.evil.com", None),
        (b"example.com.evil.com", None),
        (b"evil.com", None),
        (b"api.example.com.evil.com", None),
    ],
)
async def test_subdomain_routing_never_follows_a_foreign_host(
    host: bytes, body: bytes | None
) -> None:
    app = Quart(__name__, subdomain_matching=True)
    app.config.update(PROPAGATE_EXCEPTIONS=False, SERVER_NAME="example.com")
    app.add_url_rule("/", "api", lambda: "api", subdomain="api")
    app.add_url_rule("/", "www", lambda: "www")
    exchange = await Exchange().run(app, http_scope("/", method="GET", host=host))
    if body is None:
        assert exchange.status == 404
    else:
        assert (exchange.status, exchange.body) == (200, body)


async def test_control_characters_in_request_headers_do_not_break_the_request() -> None:
    # Servers refuse them, but an ASGI app cannot count on that: RFC 9110 lets
    # a recipient replace CR, LF and NUL in a field value with spaces.
    app = make_app()

    @app.get("/")
    async def index() -> dict[str, t.Any]:
        return {"echo": request.headers["X-Odd"], "host": request.host}

    headers = [(b"x-odd", b"a\r\nInjected: 1\x00z")]
    exchange = await Exchange().run(
        app, http_scope(method="GET", headers=headers, host=b"example.com\r\nX: y")
    )
    assert exchange.status == 200
    assert exchange.body == b'{"echo":"a  Injected: 1 z","host":""}\n'


@pytest.mark.parametrize(
    "query_string", [b"a=\xff\xfe", b"a=caf\xc3\xa9", b"a=\r\n", b"a=b c", b"a=\x00"]
)
async def test_raw_bytes_in_the_query_string_are_percent_encoded(query_string: bytes) -> None:
    # The ASGI query string is percent-encoded; a server passing raw bytes on
    # does not make request.args (or a redirect that keeps the query) fail.
    app = redirecting_app()

    @app.get("/args")
    async def args() -> dict[str, t.Any]:
        return {"a": request.args["a"], "full": request.full_path, "url": request.url}

    exchange = await Exchange().run(
        app, http_scope("/args", method="GET", query_string=query_string)
    )
    assert exchange.status == 200
    redirected = await Exchange().run(
        app, http_scope("/dir", method="GET", query_string=query_string)
    )
    assert redirected.status == 308
    location = redirected.header(b"location")
    assert location is not None and location.isascii()
    assert not any(c in location for c in b"\r\n\x00 ")


# =============================================================================================
# Session cookies as raw Cookie headers
# =============================================================================================


def session_app() -> Quart:
    app = make_app()

    @app.get("/")
    async def index() -> dict[str, t.Any]:
        data = dict(session)
        session["seen"] = True
        return {"data": data, "new": session.new}

    return app


async def valid_session_cookie(app: Quart) -> bytes:
    exchange = await Exchange().run(app, http_scope(method="GET"))
    cookie = exchange.header(b"set-cookie")
    assert cookie is not None
    return cookie.split(b";")[0].split(b"=", 1)[1]


async def test_session_cookie_control() -> None:
    app = session_app()
    good = await valid_session_cookie(app)
    exchange = await Exchange().run(
        app, http_scope(method="GET", headers=[(b"cookie", b"session=" + good)])
    )
    assert exchange.body == b'{"data":{"seen":true},"new":false}\n'


@pytest.mark.parametrize(
    "make_header",
    [
        lambda good: b"session=garbage; session=" + good,  # the first one wins, as in Flask
        lambda good: b"session=" + good[:-1] + b"\xff",
        lambda good: b"session=" + good.replace(b".", b"\x00", 1),
        lambda good: b'session="' + good + b'"x',
        lambda good: b"session=" + good + b"." + b"A" * 100_000,
        lambda good: b"session=" + b"." * 50_000,
        lambda good: b"=; ;; session; =session",
        lambda good: b"session=" + good[::-1],
    ],
    ids=["duplicate", "non-ascii", "nul", "quoted", "huge", "dots", "empty-names", "reversed"],
)
async def test_hostile_cookie_headers_give_an_empty_session(
    make_header: cabc.Callable[[bytes], bytes], caplog: pytest.LogCaptureFixture
) -> None:
    app = session_app()
    good = await valid_session_cookie(app)
    with caplog.at_level(logging.ERROR):
        exchange = await Exchange().run(
            app, http_scope(method="GET", headers=[(b"cookie", make_header(good))])
        )
    assert (exchange.status, exchange.body) == (200, b'{"data":{},"new":true}\n')
    assert not error_records(caplog, app)


# =============================================================================================
# No context left behind, however the request ends
# =============================================================================================


async def run_in_own_context(
    app: Quart, scope: HTTPScope, exchange: Exchange, cancel_after: float | None = None
) -> contextvars.Context:
    """Run the request as a server does (its own task), and return that task's context."""
    context = contextvars.copy_context()
    task = asyncio.get_running_loop().create_task(
        app(scope, exchange.receive, exchange.send), context=context
    )
    if cancel_after is not None:
        await asyncio.sleep(cancel_after)
        task.cancel()
    async with asyncio.timeout(BOUND):
        await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        raise t.cast(BaseException, task.exception())
    return context


def leak_app(events: list[str], **config: t.Any) -> Quart:
    app = make_app(**config)

    @app.post("/read")
    async def read() -> str:
        try:
            return str(len(await request.get_data()))
        except ClientDisconnected:
            events.append("disconnected")
            raise

    @app.get("/stream")
    async def stream() -> t.Any:
        async def ticks() -> cabc.AsyncIterator[bytes]:
            while True:
                yield b"tick"
                await asyncio.sleep(0.01)

        return ticks()

    @app.get("/slow")
    async def slow() -> str:
        await asyncio.sleep(3600)
        return "never"

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append(f"teardown {type(exc).__name__}")

    return app


LEAK_CASES: dict[str, tuple[str, str, list[Message], str, dict[str, t.Any], float | None]] = {
    # name: (method, path, messages, then, config, cancel the server task after)
    "disconnect-mid-body": ("POST", "/read", [body(b"x", True)], "disconnect", {}, None),
    "body-timeout": ("POST", "/read", [body(b"x", True)], "stall", {"BODY_TIMEOUT": 0.1}, None),
    "disconnect-mid-stream": ("GET", "/stream", [body(b"")], "disconnect", {}, None),
    "response-timeout": ("GET", "/stream", [body(b"")], "stall", {"RESPONSE_TIMEOUT": 0.1}, None),
    "server-cancels-the-request": ("GET", "/slow", [body(b"")], "stall", {}, 0.1),
}


@pytest.mark.parametrize("name", LEAK_CASES)
async def test_no_context_is_left_pushed(name: str) -> None:
    method, path, messages, then, config, cancel_after = LEAK_CASES[name]
    events: list[str] = []
    app = leak_app(events, **config)
    exchange = Exchange(*messages, then=then)
    context = await run_in_own_context(app, http_scope(path, method=method), exchange, cancel_after)
    assert context.get(_cv_app, None) is None
    assert context.get(_cv_request, None) is None
    assert len([e for e in events if e.startswith("teardown")]) == 1, events


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/x\udcff", "x\ufffd"),  # an undecodable byte, escaped by the server
        ("/caf\udcc3\udca9", "caf\u00e9"),  # escaped bytes that are valid UTF-8 after all
        ("/x\ud800y", "x\ufffd\ufffd\ufffdy"),  # a lone surrogate
    ],
    ids=["escaped-byte", "escaped-utf8", "lone-surrogate"],
)
async def test_undecodable_path_bytes_become_replacement_characters(path: str, name: str) -> None:
    # As werkzeug decodes a WSGI path: URLs can then be built from the path.
    app = make_app()

    @app.get("/<name>")
    async def named(name: str) -> dict[str, str]:
        return {"name": name, "url": request.url}

    exchange = await Exchange().run(app, http_scope(path, method="GET"))
    assert exchange.status == 200
    shown = json.loads(exchange.body)
    assert shown["name"] == name
    assert shown["url"] == f"http://example.com/{name}"  # an IRI, as werkzeug shows it
