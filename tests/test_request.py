"""The request object: URL parts, headers, parsed header values and the async body."""

from __future__ import annotations

import asyncio
import io
import json
import math
import typing as t
from datetime import UTC
from datetime import datetime

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest

from quartlike import Quart
from quartlike import request
from quartlike.json.provider import DefaultJSONProvider

if t.TYPE_CHECKING:
    from quartlike.typing import HTTPScope
    from quartlike.typing import Message


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config["TESTING"] = True
    app.config.update(config)
    return app


@pytest.fixture
def app() -> Quart:
    return make_app()


# -- raw ASGI calls, for what the test client cannot express ---------------------------


def http_scope(
    path: str = "/",
    *,
    method: str = "POST",
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    client: tuple[str, int] | None = ("203.0.113.9", 40000),
) -> HTTPScope:
    """An HTTP scope as a server would send it; ``host: testserver`` unless given."""
    raw_headers = list(headers or [])
    if not any(name == b"host" for name, _ in raw_headers):
        raw_headers.insert(0, (b"host", b"testserver"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": "",
        "headers": raw_headers,
        "client": client,
        "server": ("testserver", 80),
    }


def body_message(data: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": data, "more_body": more}


class Exchange:
    """One raw ASGI request: scripted ``receive`` messages and the recorded ``send`` ones.

    After the scripted messages, ``receive`` stalls (``then="stall"``) or reports
    a disconnect (``then="disconnect"``).
    """

    def __init__(self, *messages: Message, then: str = "stall") -> None:
        self.incoming = list(messages)
        self.then = then
        self.receive_calls = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.receive_calls += 1
        if self.incoming:
            return self.incoming.pop(0)
        if self.then == "disconnect":
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, app: Quart, scope: HTTPScope) -> Exchange:
        await app(scope, self.receive, self.send)
        return self

    @property
    def status(self) -> int:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        assert len(starts) == 1
        return int(starts[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


# -- URL parts -----------------------------------------------------------------------


async def test_url_parts(app: Quart) -> None:
    async with app.test_request_context(
        "/p q/ü", base_url="https://Example.COM:8443/root", query_string="a=1&b=%C3%A9"
    ):
        assert request.method == "GET"
        assert request.scheme == "https"
        assert request.host == "example.com:8443"
        assert request.root_path == "/root"
        assert request.script_root == "/root"
        assert request.path == "/p q/ü"
        assert request.full_path == "/p q/ü?a=1&b=%C3%A9"
        assert request.query_string == b"a=1&b=%C3%A9"
        assert request.url == "https://example.com:8443/root/p%20q/ü?a=1&b=é"
        assert request.base_url == "https://example.com:8443/root/p%20q/ü"
        assert request.url_root == "https://example.com:8443/root/"
        assert request.host_url == "https://example.com:8443/"


async def test_url_parts_without_query_string_or_root(app: Quart) -> None:
    async with app.test_request_context("/plain"):
        assert request.full_path == "/plain?"
        assert request.url == "http://localhost/plain"
        assert request.url_root == "http://localhost/"
        assert request.root_path == ""


async def test_args(app: Quart) -> None:
    async with app.test_request_context("/?a=1&a=2&n=5&e=&sp=x+y&u=%C3%BC"):
        assert request.args["a"] == "1"
        assert request.args.getlist("a") == ["1", "2"]
        assert request.args.get("n", type=int) == 5
        assert request.args.get("missing", "d") == "d"
        assert request.args["e"] == ""
        assert request.args["sp"] == "x y"
        assert request.args["u"] == "ü"
        with pytest.raises(KeyError):
            request.args["missing"]


async def test_args_from_query_string_mapping(app: Quart) -> None:
    async with app.test_request_context("/", query_string={"q": "a&b", "n": ["1", "2"]}):
        assert request.args["q"] == "a&b"
        assert request.args.getlist("n") == ["1", "2"]


async def test_missing_arg_in_a_view_is_a_400(app: Quart) -> None:
    app.config["TESTING"] = False

    @app.route("/")
    async def index() -> str:
        return request.args["required"]

    assert (await app.test_client().get("/")).status_code == 400
    assert (await app.test_client().get("/?required=yes")).data == b"yes"


async def test_remote_addr_comes_from_the_scope_client(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        return str(request.remote_addr)

    exchange = await Exchange(body_message(b"")).run(app, http_scope())
    assert exchange.body == b"203.0.113.9"
    exchange = await Exchange(body_message(b"")).run(app, http_scope(client=None))
    assert exchange.body == b"None"
    response = await app.test_client().post("/", remote_addr="198.51.100.1")
    assert response.data == b"198.51.100.1"


# -- headers ----------------------------------------------------------------------------


async def test_headers_decoded_from_raw_pairs(app: Quart) -> None:
    seen: dict[str, t.Any] = {}

    @app.post("/")
    async def index() -> str:
        headers = request.headers
        seen.update(
            repeated=headers.getlist("X-Repeated"),
            first=headers["x-repeated"],
            latin=headers["X-Latin"],
            utf8=headers["X-Utf8"],
            case=headers.get("X-MiXeD-CaSe"),
            missing=headers.get("X-Missing"),
            count=len(headers.getlist("Host")),
            pairs=[(k, v) for k, v in headers.items() if k.lower().startswith("x-repeated")],
        )
        return ""

    scope = http_scope(
        headers=[
            (b"x-repeated", b"one"),
            (b"x-latin", "café".encode("latin-1")),
            (b"x-repeated", b"two, three"),
            (b"x-utf8", "é".encode()),
            (b"x-mixed-case", b"v"),
        ]
    )
    await Exchange(body_message(b"")).run(app, scope)
    assert seen == {
        "repeated": ["one", "two, three"],
        "first": "one",
        "latin": "café",
        # Header bytes are decoded as latin-1, as WSGI does; UTF-8 is recoverable.
        "utf8": "é".encode().decode("latin-1"),
        "case": "v",
        "missing": None,
        "count": 1,
        "pairs": [("X-Repeated", "one"), ("X-Repeated", "two, three")],
    }


async def test_headers_from_test_request_context(app: Quart) -> None:
    async with app.test_request_context("/", headers={"X-A": "1", "x-b": "b"}):
        assert request.headers["x-a"] == "1"
        assert request.headers["X-B"] == "b"
        assert "X-A" in request.headers
        assert "X-C" not in request.headers
        # Names are presented title-cased, as Flask (WSGI) presents them.
        assert {"X-A", "X-B", "Host"} <= set(request.headers.keys())


async def test_cookies(app: Quart) -> None:
    async with app.test_request_context("/", headers={"Cookie": 'a=1; b="two words"; c='}):
        assert request.cookies.to_dict() == {"a": "1", "b": "two words", "c": ""}
    async with app.test_request_context("/"):
        assert not request.cookies


async def test_test_client_sends_cookies(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        return request.cookies.get("flavour", "none")

    client = app.test_client()
    client.set_cookie("flavour", "ginger")
    assert (await client.get("/")).data == b"ginger"


@pytest.mark.parametrize(
    ("content_type", "mimetype", "params", "is_json"),
    [
        ("application/json", "application/json", {}, True),
        (
            "application/problem+json; charset=utf-8",
            "application/problem+json",
            {"charset": "utf-8"},
            True,
        ),
        ("Text/HTML; Charset=latin-1", "text/html", {"charset": "latin-1"}, False),
        ("text/plain; format=flowed", "text/plain", {"format": "flowed"}, False),
        ("application/jsonp", "application/jsonp", {}, False),
        (None, "", {}, False),
    ],
)
async def test_mimetype(
    app: Quart, content_type: str | None, mimetype: str, params: dict[str, str], is_json: bool
) -> None:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    async with app.test_request_context("/", method="POST", headers=headers):
        assert request.mimetype == mimetype
        assert request.mimetype_params == params
        assert request.is_json is is_json


async def test_accept_headers(app: Quart) -> None:
    headers = {
        "Accept": "text/html;q=0.5, application/json, */*;q=0.1",
        "Accept-Language": "de-CH, de;q=0.9, en;q=0.5",
        "Accept-Encoding": "gzip, br;q=0.8, identity;q=0",
    }
    async with app.test_request_context("/", headers=headers):
        accept = request.accept_mimetypes
        assert accept.best == "application/json"
        assert accept.best_match(["text/html", "application/json"]) == "application/json"
        assert accept["text/html"] == 0.5
        assert accept.accept_json
        assert request.accept_languages.best_match(["en", "de"]) == "de"
        assert request.accept_languages.best == "de-CH"
        assert request.accept_encodings["br"] == 0.8
        assert request.accept_encodings.best == "gzip"


async def test_accept_headers_missing(app: Quart) -> None:
    async with app.test_request_context("/"):
        # As in werkzeug: a missing header is "not provided", and matches nothing.
        assert not request.accept_mimetypes.provided
        assert request.accept_mimetypes.best_match(["text/plain"]) is None
        assert not request.accept_languages


async def test_authorization_basic(app: Quart) -> None:
    async with app.test_request_context("/", auth=("aladdin", "open sesame")):
        auth = request.authorization
        assert auth is not None
        assert auth.type == "basic"
        assert auth.username == "aladdin"
        assert auth.password == "open sesame"


async def test_authorization_bearer_and_missing(app: Quart) -> None:
    async with app.test_request_context("/", headers={"Authorization": "Bearer tok.en"}):
        auth = request.authorization
        assert auth is not None
        assert auth.type == "bearer"
        assert auth.token == "tok.en"
    async with app.test_request_context("/"):
        assert request.authorization is None


async def test_conditional_headers(app: Quart) -> None:
    headers = {
        "If-Match": '"a", "b"',
        "If-None-Match": 'W/"weak", "strong"',
        "If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT",
        "If-Unmodified-Since": "Thu, 22 Oct 2015 07:28:00 GMT",
        "Range": "bytes=0-99, 200-",
        "If-Range": '"a"',
    }
    async with app.test_request_context("/", headers=headers):
        assert "a" in request.if_match
        assert "c" not in request.if_match
        assert request.if_none_match.contains_weak("weak")
        assert not request.if_none_match.contains("weak")
        assert request.if_none_match.contains("strong")
        assert request.if_modified_since == datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
        assert request.if_unmodified_since == datetime(2015, 10, 22, 7, 28, tzinfo=UTC)
        assert request.range is not None
        assert request.range.units == "bytes"
        assert request.range.ranges == [(0, 100), (200, None)]
        assert request.if_range.etag == "a"


async def test_conditional_headers_missing(app: Quart) -> None:
    async with app.test_request_context("/"):
        assert not request.if_match
        assert not request.if_none_match
        assert request.if_modified_since is None
        assert request.range is None


# -- body -------------------------------------------------------------------------------


async def test_get_data(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", data="héllo".encode()):
        assert await request.get_data() == "héllo".encode()
        assert await request.get_data(as_text=True) == "héllo"
        assert await request.data == "héllo".encode()


async def test_get_data_as_text_replaces_invalid_utf8(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", data=b"ok\xff"):
        assert await request.get_data(as_text=True) == "ok\ufffd"


async def test_get_data_through_the_client(app: Quart) -> None:
    @app.post("/")
    async def echo() -> bytes:
        first: bytes = await request.get_data()
        again = await request.data
        assert first == again
        return first[::-1]

    response = await app.test_client().post("/", data=b"abc")
    assert response.data == b"cba"


async def test_empty_body(app: Quart) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def index() -> str:
        return repr(await request.get_data())

    client = app.test_client()
    assert (await client.get("/")).data == b"b''"
    assert (await client.post("/")).data == b"b''"


async def test_stream_the_body_in_chunks(app: Quart) -> None:
    chunks: list[bytes] = []

    @app.post("/upload")
    async def upload() -> str:
        async for chunk in request.body:
            chunks.append(chunk)
        return str(sum(len(c) for c in chunks))

    exchange = await Exchange(
        body_message(b"abc", more=True),
        body_message(b"", more=True),
        body_message(b"defg", more=True),
        body_message(b"h"),
    ).run(app, http_scope("/upload", headers=[(b"transfer-encoding", b"chunked")]))
    assert exchange.status == 200
    assert exchange.body == b"8"
    assert chunks == [b"abc", b"defg", b"h"]


async def test_streamed_body_cannot_be_read_again(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        async for _chunk in request.body:
            pass
        try:
            await request.get_data()
        except RuntimeError as e:
            return str(e)
        return "read twice"

    exchange = await Exchange(body_message(b"x", more=True), body_message(b"y")).run(
        app, http_scope(headers=[(b"content-length", b"2")])
    )
    assert b"already consumed" in exchange.body


async def test_read_body_can_then_be_iterated(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        data = await request.get_data()
        chunks = [chunk async for chunk in request.body]
        return f"{data!r} {chunks!r}"

    exchange = await Exchange(body_message(b"x", more=True), body_message(b"y")).run(
        app, http_scope(headers=[(b"content-length", b"2")])
    )
    assert exchange.body == b"b'xy' [b'xy']"


# -- JSON ------------------------------------------------------------------------------------


async def test_json(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", json={"a": [1, 2.5, None]}):
        assert request.is_json
        assert await request.get_json() == {"a": [1, 2.5, None]}
        assert await request.json == {"a": [1, 2.5, None]}


async def test_get_json_caches(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", json={"a": 1}):
        first = await request.get_json()
        assert await request.get_json() is first
        fresh = await request.get_json(cache=False)
        assert fresh == first
        assert fresh is not first


async def test_get_json_force_ignores_the_content_type(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", data=b'{"x": 1}'):
        assert not request.is_json
        assert await request.get_json(force=True) == {"x": 1}


async def test_get_json_silent(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", data=b"{}", content_type="text/plain"):
        assert await request.get_json(silent=True) is None
    bad = {"data": b"{nope", "content_type": "application/json"}
    async with app.test_request_context("/", method="POST", **bad):
        assert await request.get_json(silent=True) is None


async def json_status(app: Quart, data: bytes, content_type: str = "application/json") -> int:
    @app.post("/json")
    async def parse() -> str:
        value = await request.get_json()
        return type(value).__name__

    response = await app.test_client().post("/json", data=data, content_type=content_type)
    return response.status_code


async def test_get_json_wrong_content_type_is_415(app: Quart) -> None:
    assert await json_status(app, b"{}", "text/plain") == 415


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"{nope", id="syntax"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"a": "\xff"}', id="invalid-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
        pytest.param(b"1" * 10_000, id="huge-integer"),
    ],
)
async def test_get_json_invalid_is_400(app: Quart, data: bytes) -> None:
    assert await json_status(app, data) == 400


async def test_get_json_invalid_with_silent_in_a_view(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        return repr(await request.get_json(silent=True))

    response = await app.test_client().post(
        "/", data=b"[" * 100_000, content_type="application/json"
    )
    assert response.data == b"None"


async def test_get_json_error_detail_only_in_debug(app: Quart) -> None:
    @app.post("/")
    async def index() -> str:
        return str(await request.get_json())

    client = app.test_client()
    response = await client.post("/", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert b"Failed to decode JSON" not in response.data
    app.debug = True
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = await client.post("/", data=b"{nope", content_type="application/json")
    assert response.status_code == 400
    assert b"Failed to decode JSON" in response.data


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
async def test_get_json_refuses_nan_and_infinity(app: Quart, constant: bytes) -> None:
    # Not JSON (RFC 8259); Flask and the json module accept them, we refuse (400).
    async with app.test_request_context(
        "/", method="POST", data=b"[1, " + constant + b"]", content_type="application/json"
    ):
        with pytest.raises(BadRequest):
            await request.get_json()
        assert await request.get_json(silent=True) is None


async def test_a_custom_json_provider_decides_about_nan(app: Quart) -> None:
    class Lenient(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return json.loads(s)

    app.json = Lenient(app)
    async with app.test_request_context(
        "/", method="POST", data=b"[NaN]", content_type="application/json"
    ):
        value = await request.get_json()
    assert math.isnan(value[0])


# -- forms and files ------------------------------------------------------------------------


async def test_urlencoded_form(app: Quart) -> None:
    @app.post("/")
    async def index() -> dict[str, t.Any]:
        form = await request.form
        return {"form": form.to_dict(flat=False), "files": len(await request.files)}

    response = await app.test_client().post("/", data={"a": ["1", "2"], "b": "é &"})
    assert await response.get_json() == {"form": {"a": ["1", "2"], "b": ["é &"]}, "files": 0}


async def test_multipart_upload_with_data(app: Quart) -> None:
    @app.post("/")
    async def index() -> dict[str, t.Any]:
        files = await request.files
        upload = files["f"]
        assert isinstance(upload, FileStorage)
        return {
            "field": (await request.form)["name"],
            "filename": upload.filename,
            "content": upload.read().decode(),
            "mimetype": upload.mimetype,
        }

    response = await app.test_client().post(
        "/", data={"name": "doc", "f": (io.BytesIO(b"file body"), "a.txt")}
    )
    assert await response.get_json() == {
        "field": "doc",
        "filename": "a.txt",
        "content": "file body",
        "mimetype": "text/plain",
    }


async def test_multipart_upload_with_form_and_files(app: Quart) -> None:
    @app.post("/")
    async def index() -> dict[str, t.Any]:
        files = await request.files
        return {
            "form": (await request.form).to_dict(),
            "names": [f.filename for f in files.getlist("docs")],
            "data": [f.read().decode() for f in files.getlist("docs")],
        }

    response = await app.test_client().post(
        "/",
        form={"k": "v"},
        files={"docs": [(io.BytesIO(b"one"), "1.txt"), (b"two", "2.bin", "application/x-two")]},
    )
    assert await response.get_json() == {
        "form": {"k": "v"},
        "names": ["1.txt", "2.bin"],
        "data": ["one", "two"],
    }


async def test_form_of_a_json_request_is_empty(app: Quart) -> None:
    async with app.test_request_context("/", method="POST", json={"a": 1}):
        assert not await request.form
        assert await request.get_json() == {"a": 1}


async def test_values_combines_args_and_form_except_for_get(app: Quart) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def index() -> dict[str, t.Any]:
        return (await request.values).to_dict(flat=False)

    client = app.test_client()
    response = await client.post("/?a=q", data={"a": "f", "b": "f"})
    assert await response.get_json() == {"a": ["q", "f"], "b": ["f"]}
    response = await client.get("/?a=q", data={"b": "f"})
    assert await response.get_json() == {"a": ["q"]}


# -- limits ---------------------------------------------------------------------------------


def limited_app(**config: t.Any) -> tuple[Quart, list[int]]:
    """An app whose POST view reads the body; returns it and the sizes it saw."""
    app = make_app(**config)
    sizes: list[int] = []

    @app.post("/")
    async def index() -> str:
        sizes.append(len(await request.get_data()))
        return "read"

    return app, sizes


async def test_declared_content_length_too_large_is_413_without_reading() -> None:
    app, sizes = limited_app(MAX_CONTENT_LENGTH=10)
    exchange = Exchange(body_message(b"x" * 11))
    await exchange.run(app, http_scope(headers=[(b"content-length", b"11")]))
    assert exchange.status == 413
    assert exchange.receive_calls == 0
    assert sizes == []


async def test_declared_content_length_at_the_limit_is_read() -> None:
    app, sizes = limited_app(MAX_CONTENT_LENGTH=10)
    response = await app.test_client().post("/", data=b"x" * 10)
    assert response.status_code == 200
    assert sizes == [10]


async def test_undeclared_body_crossing_the_limit_is_413() -> None:
    app, sizes = limited_app(MAX_CONTENT_LENGTH=10)
    exchange = Exchange(
        body_message(b"x" * 6, more=True),
        body_message(b"x" * 6, more=True),
        body_message(b"never read"),
    )
    await exchange.run(app, http_scope(headers=[(b"transfer-encoding", b"chunked")]))
    assert exchange.status == 413
    assert exchange.incoming == [body_message(b"never read")]
    assert sizes == []


async def test_body_lying_about_its_length_is_413() -> None:
    app, sizes = limited_app(MAX_CONTENT_LENGTH=10)
    exchange = Exchange(body_message(b"x" * 5, more=True), body_message(b"x" * 20))
    await exchange.run(app, http_scope(headers=[(b"content-length", b"5")]))
    assert exchange.status == 413
    assert sizes == []


async def test_max_content_length_in_the_test_client() -> None:
    app, _ = limited_app(MAX_CONTENT_LENGTH=4)
    assert (await app.test_client().post("/", data=b"12345")).status_code == 413


async def test_per_request_max_content_length_override() -> None:
    app, sizes = limited_app(MAX_CONTENT_LENGTH=10)

    @app.before_request
    async def adjust() -> None:
        limit = request.args.get("limit", type=int)
        if limit is not None:
            request.max_content_length = limit

    client = app.test_client()
    assert (await client.post("/?limit=3", data=b"1234")).status_code == 413
    assert (await client.post("/?limit=100", data=b"x" * 50)).status_code == 200
    assert (await client.post("/", data=b"x" * 50)).status_code == 413
    assert sizes == [50]


async def test_max_content_length_reported_on_the_request() -> None:
    app = make_app(MAX_CONTENT_LENGTH=123)
    async with app.test_request_context("/"):
        assert request.max_content_length == 123
        request.max_content_length = 7
        assert request.max_content_length == 7


async def test_body_timeout_is_408() -> None:
    app, sizes = limited_app(BODY_TIMEOUT=0.05)
    exchange = Exchange(body_message(b"part", more=True))  # then stalls
    await asyncio.wait_for(
        exchange.run(app, http_scope(headers=[(b"content-length", b"100")])), timeout=5
    )
    assert exchange.status == 408
    assert sizes == []


async def test_client_disconnect_while_reading_the_body() -> None:
    app, sizes = limited_app()
    teardowns: list[BaseException | None] = []

    @app.teardown_request
    async def record(exc: BaseException | None) -> None:
        teardowns.append(exc)

    exchange = Exchange(body_message(b"part", more=True), then="disconnect")
    await asyncio.wait_for(
        exchange.run(app, http_scope(headers=[(b"content-length", b"100")])), timeout=5
    )
    assert sizes == []
    assert len(teardowns) == 1
    assert exchange.status == 400


async def test_max_form_parts_is_413() -> None:
    app = make_app(MAX_FORM_PARTS=2)

    @app.post("/")
    async def index() -> str:
        return str(len(await request.form))

    client = app.test_client()
    two = {"a": "1", "f": (b"x", "f.txt")}
    assert (await client.post("/", data=two)).data == b"1"
    three = {"a": "1", "b": "2", "f": (b"x", "f.txt")}
    assert (await client.post("/", data=three)).status_code == 413
    assert (await client.post("/", data={"a": "1", "b": "2", "c": "3"})).status_code == 413


async def test_max_form_memory_size_is_413() -> None:
    app = make_app(MAX_FORM_MEMORY_SIZE=300)

    @app.post("/")
    async def index() -> str:
        form = await request.form
        files = await request.files
        return f"{len(form)} {len(files)}"

    client = app.test_client()
    big_field = {"a": "x" * 400, "f": (b"y", "f.txt")}
    assert (await client.post("/", data=big_field)).status_code == 413
    # Files are not held in memory, so they do not count.
    big_file = {"a": "x", "f": (b"y" * 1000, "f.txt")}
    response = await client.post("/", data=big_file)
    assert response.data == b"1 1"
    assert (await client.post("/", data={"a": "x" * 400})).status_code == 413


async def test_form_limits_per_request_override() -> None:
    app = make_app(MAX_FORM_PARTS=1)

    @app.post("/")
    async def index() -> str:
        request.max_form_parts = 5
        return str(len(await request.form))

    response = await app.test_client().post("/", data={"a": "1", "b": "2", "c": "3"})
    assert response.data == b"3"


async def test_json_body_reuses_the_body_limit() -> None:
    app = make_app(MAX_CONTENT_LENGTH=8)

    @app.post("/")
    async def index() -> str:
        return json.dumps(await request.get_json())

    client = app.test_client()
    assert (await client.post("/", json=[1, 2])).data == b"[1, 2]"
    assert (await client.post("/", json=list(range(10)))).status_code == 413


def test_a_request_and_its_body_are_freed_without_the_garbage_collector() -> None:
    import gc
    import weakref

    from quartlike.wrappers.request import Body
    from quartlike.wrappers.request import Request

    async def receive() -> t.Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope: t.Any = {"type": "http", "headers": []}
    gc.disable()
    try:
        body = Body(receive, None)
        req = Request("GET", "http", "/", b"", [], "", "1.1", scope, body=body)
        assert body.owner is req
        gone = weakref.ref(req)
        del req
        assert gone() is None
        assert body.owner is None
    finally:
        gc.enable()
