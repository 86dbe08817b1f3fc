"""Fuzzing the ASGI interface with hypothesis-generated HTTP requests.

Each example is a raw ASGI scope (method, path, raw path, query string and
headers, all drawn from hostile alphabets: lone surrogates, percent-escapes,
control bytes, duplicated and oversized headers) and a body delivered in
random chunks, sometimes cut short by a disconnect. It is sent to one app that
uses many features at once: forms and uploads, JSON, sessions, files,
``url_for``, redirects, streaming, ranges and sync views on the sync bridge.

The invariants, with ``PROPAGATE_EXCEPTIONS`` off (as in production):

* the app never raises out of the ASGI call;
* it sends exactly one ``http.response.start``, then body messages ending
  with one whose ``more_body`` is false, and nothing after it;
* the status is below 500, except on the one route that fails on purpose;
* no app or request context is left pushed.

300 examples run in CI; set ``QUARTLIKE_FUZZ_EXAMPLES`` to run more, for
example ``QUARTLIKE_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz_requests.py``.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import io
import logging
import os
import typing as t
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import redirect
from quartlike import request
from quartlike import send_file
from quartlike import send_from_directory
from quartlike import session
from quartlike import url_for
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request

if t.TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    from quartlike.typing import HTTPScope
    from quartlike.typing import Message

EXAMPLES = int(os.environ.get("QUARTLIKE_FUZZ_EXAMPLES", "300"))
#: The route that raises on purpose: the only one allowed to answer 500.
FAILING_PATH = "/fail"
#: Seconds one example may take before it counts as a hang.
EXAMPLE_TIMEOUT = 10.0


def make_app(files: Path) -> Quart:
    app = Quart(__name__, static_folder=str(files), static_url_path="/static")
    app.config.update(
        PROPAGATE_EXCEPTIONS=False,
        SECRET_KEY="fuzzing secret",
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=4096,
        MAX_FORM_PARTS=50,
        FORM_SPOOL_THRESHOLD=256,
        BODY_TIMEOUT=2,
        RESPONSE_TIMEOUT=2,
        SYNC_WORKERS=4,
    )
    app.logger.setLevel(logging.CRITICAL)  # the deliberate failures are expected

    @app.before_request
    async def look_at_everything() -> None:
        # Touch what hooks commonly read, so that parsing them is fuzzed too.
        _ = (
            request.url,
            request.host,
            request.args.to_dict(flat=False),
            request.cookies.to_dict(),
            request.accept_mimetypes.best,
            request.accept_languages.values(),
            request.authorization,
            request.range,
            request.if_modified_since,
            request.if_none_match,
            request.user_agent.string,
            request.content_length,
            request.mimetype_params,
            request.access_route,
        )

    @app.route("/", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def index() -> str:
        return "index"

    @app.route("/form", methods=["POST", "PUT"])
    async def form() -> dict[str, t.Any]:
        fields = await request.form
        uploads = await request.files
        values = await request.values
        return {
            "fields": fields.to_dict(flat=False),
            "files": {name: len(f.read()) for name, f in uploads.items(multi=True)},
            "values": len(values),
        }

    @app.route("/json", methods=["POST", "PUT"])
    async def json_view() -> dict[str, t.Any]:
        return {"json": repr(await request.get_json())[:100]}

    @app.route("/json-silent", methods=["GET", "POST"])
    async def json_silent() -> dict[str, t.Any]:
        return {"json": repr(await request.get_json(force=True, silent=True))[:100]}

    @app.route("/data", methods=["POST"])
    async def data() -> dict[str, int]:
        return {"length": len(await request.get_data())}

    @app.route("/body-stream", methods=["POST"])
    async def body_stream() -> dict[str, int]:
        total = 0
        async for chunk in request.body:
            total += len(chunk)
        return {"length": total}

    @app.route("/sync", methods=["GET", "POST"])
    def sync_view() -> dict[str, t.Any]:
        body = request.get_data()
        form = t.cast("MultiDict[str, str]", request.form)  # a plain value in sync views
        return {"length": len(body), "form": len(form)}

    @app.route("/session", methods=["GET", "POST"])
    async def session_view() -> dict[str, t.Any]:
        count = session.get("count", 0)
        session["count"] = count + 1 if isinstance(count, int) else 0
        session["last"] = request.args.get("v", "")[:100]
        return {"count": session["count"], "keys": sorted(session)}

    @app.route("/files/<path:name>")
    async def files_view(name: str) -> Response:
        return await send_from_directory(files, name)

    @app.route("/bytes")
    async def bytes_view() -> Response:
        return await send_file(io.BytesIO(b"0123456789" * 10), mimetype="text/plain")

    @app.route("/conditional")
    async def conditional() -> Response:
        response = Response(b"abcdefghijklmnopqrstuvwxyz")
        response.set_etag("fixed")
        return await response.make_conditional(request, accept_ranges=True)

    @app.route("/url/<name>")
    async def build(name: str) -> dict[str, str]:
        return {
            "self": url_for("build", name=name, _external=True),
            "item": url_for("item", number=len(name), q=name, _anchor=name),
            "args": url_for("index", **t.cast(dict[str, t.Any], request.args.to_dict())),
        }

    @app.route("/item/<int:number>/")
    async def item(number: int) -> str:
        return str(number)

    @app.route("/to")
    async def to() -> Response:
        return redirect(url_for("build", name=request.args.get("name", "x")))

    @app.route("/stream")
    async def stream() -> t.Any:
        async def chunks() -> cabc.AsyncIterator[str]:
            for key, value in request.args.items(multi=True):
                yield f"{key}={value}\n"

        return chunks()

    @app.route("/abort/<int:code>")
    async def abort_view(code: int) -> str:
        if 400 <= code < 500:
            abort(code)
        return "no"

    @app.route(FAILING_PATH, methods=["GET", "POST"])
    async def fail() -> str:
        raise RuntimeError("deliberate failure")

    return app


# -- strategies -------------------------------------------------------------------------------

ROUTES = [
    "/",
    "/form",
    "/json",
    "/json-silent",
    "/data",
    "/body-stream",
    "/sync",
    "/session",
    "/files/hello.txt",
    "/files/../secret",
    "/static/hello.txt",
    "/bytes",
    "/conditional",
    "/url/x",
    "/item/3",
    "/item/3/",
    "/to",
    "/stream",
    "/abort/404",
    "/abort/418",
    FAILING_PATH,
    "/missing",
]

hostile_text = st.text(
    st.characters(codec=None, exclude_categories=()),  # any code point, surrogates included
    max_size=12,
)
path_piece = st.one_of(
    st.sampled_from(
        ["/", "//", "..", ".", "%", "%2F", "%2e%2E", "%00", "%ff", "\\", "?", "#", ";", "@"]
    ),
    hostile_text,
    st.sampled_from(["\udcff", "\ud800", "\x00", "\r\n", "\u2028", "\ufeff"]),
)
paths = st.one_of(
    st.sampled_from(ROUTES),
    st.builds(lambda route, extra: route + extra, st.sampled_from(ROUTES), path_piece),
    st.lists(path_piece, max_size=6).map(lambda parts: "/" + "".join(parts)),
)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=10),
    st.sampled_from(["get", "", "G\x00T", "CONNECT"]),
)
odd_bytes = st.binary(max_size=40)
ascii_bytes = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.encode
)
content_types = st.sampled_from(
    [
        b"application/x-www-form-urlencoded",
        b"application/x-www-form-urlencoded; charset=latin-1",
        b"application/x-www-form-urlencoded; charset=base64",
        b"multipart/form-data; boundary=xyz",
        b"multipart/form-data",
        b"multipart/form-data; boundary=",
        b'multipart/form-data; boundary="a b"',
        b"application/json",
        b"application/json; charset=utf-16",
        b"application/vnd.api+json",
        b"text/plain",
        b"",
        b";;;",
        b"\xff\xfe",
    ]
)
header_values: dict[bytes, st.SearchStrategy[bytes]] = {
    b"host": st.sampled_from(
        [b"localhost", b"evil.com", b"", b"a b", b"[::1]:99", b"x:y:z", b"\xff", b"h" * 300]
    ),
    b"content-type": content_types,
    b"content-length": st.one_of(
        st.integers(min_value=-5, max_value=200_000).map(lambda n: str(n).encode()),
        st.sampled_from([b"", b"abc", b"1e3", b" 12 ", b"99999999999999999999999"]),
    ),
    b"transfer-encoding": st.sampled_from([b"chunked", b"gzip", b""]),
    b"cookie": st.one_of(
        odd_bytes,
        st.sampled_from(
            [b"session=garbage", b"session=a.b.c", b"session=", b"a=1; a=2; session=.x."]
        ),
    ),
    b"range": st.one_of(
        ascii_bytes,
        st.sampled_from([b"bytes=0-4", b"bytes=-3", b"bytes=5-", b"bytes=9-2", b"bytes=0-1,3-4"]),
    ),
    b"accept": odd_bytes,
    b"accept-language": odd_bytes,
    b"authorization": st.one_of(
        odd_bytes, st.sampled_from([b"Basic !!!", b"Basic Og==", b"Bearer", b"Digest x"])
    ),
    b"if-modified-since": odd_bytes,
    b"if-none-match": odd_bytes,
    b"if-range": odd_bytes,
    b"user-agent": odd_bytes,
    b"x-forwarded-for": odd_bytes,
}
header_names = st.one_of(
    st.sampled_from(sorted(header_values)),
    st.binary(min_size=1, max_size=12),
)


@st.composite
def headers_strategy(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    for name in draw(st.lists(header_names, max_size=8)):
        value_strategy = header_values.get(name, odd_bytes)
        pairs.append((name, draw(value_strategy)))
    if draw(st.booleans()):
        # One oversized header: a server with a large header limit may pass it on.
        pairs.append((b"x-big", b"v" * draw(st.integers(min_value=1000, max_value=70_000))))
    return pairs


@st.composite
def bodies(draw: st.DrawFn) -> tuple[list[bytes], bool]:
    """The body's chunks, and whether the client disconnects after them."""
    kind = draw(st.sampled_from(["empty", "binary", "form", "multipart", "json"]))
    if kind == "empty":
        data = b""
    elif kind == "binary":
        data = draw(st.binary(max_size=300))
    elif kind == "form":
        data = draw(st.text(st.sampled_from("ab=&%+2F0é\x00"), max_size=200)).encode()
    elif kind == "multipart":
        name = draw(st.sampled_from([b"a", b"f", b"", b'"', b"\xff"]))
        filename = draw(st.sampled_from([b"", b'; filename="x.txt"', b"; filename=\xff"]))
        content = draw(st.binary(max_size=600))
        data = (
            b'--xyz\r\nContent-Disposition: form-data; name="'
            + name
            + b'"'
            + filename
            + b"\r\n\r\n"
            + content
            + b"\r\n--xyz--\r\n"
        )
        data = draw(st.sampled_from([data, data[: len(data) // 2], data + b"trailing"]))
    else:
        data = draw(
            st.sampled_from(
                [b"{}", b'{"a": [1, 2]}', b"[" * 5000, b"1" * 5000, b"\xff", b"", b"NaN"]
            )
        )
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(data)), max_size=4)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return chunks, draw(st.booleans())


def build_scope(
    method: str,
    path: str,
    raw_path: bytes,
    query_string: bytes,
    headers: list[tuple[bytes, bytes]],
    scheme: str,
) -> HTTPScope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 41000),
        "server": ("localhost", 80),
        "extensions": {},
    }


scopes = st.builds(
    build_scope,
    method=methods,
    path=paths,
    raw_path=odd_bytes,
    query_string=st.one_of(
        odd_bytes, st.sampled_from([b"v=1&v=2", b"name=a%2Fb", b"%ff=%00", b"&&&&", b"q=\xff"])
    ),
    headers=headers_strategy(),
    scheme=st.sampled_from(["http", "https", "ws", ""]),
)


# -- the exchange -----------------------------------------------------------------------------


class Recorder:
    """A server's side of one request: feeds the body, records what the app sends."""

    def __init__(self, chunks: list[bytes], disconnect: bool) -> None:
        self.chunks = list(chunks)
        self.disconnect = disconnect
        self.sent: list[Message] = []
        self.done = asyncio.Event()
        #: Whether the app was told the client left before the response was complete.
        self.left_early = False

    async def receive(self) -> Message:
        if self.chunks:
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks)}
        if self.disconnect:
            self.left_early = self.left_early or not self.done.is_set()
            return {"type": "http.disconnect"}
        await self.done.wait()  # a server reports the disconnect once the response is over
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done.set()


async def exchange(app: Quart, scope: HTTPScope, chunks: list[bytes], disconnect: bool) -> Recorder:
    recorder = Recorder(chunks, disconnect)
    async with asyncio.timeout(EXAMPLE_TIMEOUT):
        await app(scope, recorder.receive, recorder.send)
    assert _cv_app.get(None) is None, "an app context was left pushed"
    assert _cv_request.get(None) is None, "a request context was left pushed"
    return recorder


def check(recorder: Recorder, scope: HTTPScope) -> None:
    sent = recorder.sent
    kinds = [m["type"] for m in sent]
    assert kinds.count("http.response.start") == 1, kinds
    assert kinds[0] == "http.response.start", kinds
    assert set(kinds[1:]) <= {"http.response.body"}, kinds
    more = [bool(m.get("more_body", False)) for m in sent[1:]]
    if recorder.left_early:
        # A client that left gets no more messages: the body may stop anywhere.
        assert False not in more[:-1], "a message after the final one"
    else:
        assert more and more == [True] * (len(more) - 1) + [False], "no final body message"
    status = int(sent[0]["status"])
    assert 100 <= status <= 599
    for name, value in sent[0]["headers"]:
        assert isinstance(name, bytes) and isinstance(value, bytes)
        assert not any(c in value for c in b"\r\n\x00"), (name, value)
        assert not any(c in name for c in b"\r\n\x00: "), name
    if status >= 500:
        assert scope["path"] == FAILING_PATH, (status, b"".join(m.get("body", b"") for m in sent))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> cabc.Iterator[Quart]:
    files = tmp_path_factory.mktemp("fuzz_files")
    (files / "hello.txt").write_text("hello fuzz")
    (files / "sub").mkdir()
    (files / "sub" / "inner.txt").write_text("inner")
    (files.parent / "secret").write_text("never served")
    app = make_app(files)
    yield app
    app.executor.shutdown(wait=True)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scope=scopes, body=bodies())
def test_fuzzed_requests_keep_the_invariants(
    fuzz_app: Quart, scope: HTTPScope, body: tuple[list[bytes], bool]
) -> None:
    chunks, disconnect = body

    async def run() -> Recorder:
        return await exchange(fuzz_app, scope, chunks, disconnect)

    context = contextvars.copy_context()
    recorder = context.run(asyncio.run, run())
    assert context.get(_cv_app) is None and context.get(_cv_request) is None
    check(recorder, scope)
