"""Responses: view return values, helpers, cookies, conditional requests and wire rules."""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from datetime import UTC
from datetime import datetime

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import NotFound
from werkzeug.http import generate_etag
from werkzeug.wrappers import Response as WSGIResponse

from quartlike import Quart
from quartlike import Response
from quartlike import abort
from quartlike import jsonify
from quartlike import make_response
from quartlike import redirect
from quartlike import request


def make_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config["TESTING"] = True
    app.config.update(config)
    return app


@pytest.fixture
def app() -> Quart:
    return make_app()


async def get_returned(app: Quart, value: t.Any, **kwargs: t.Any) -> Response:
    """GET a view that returns ``value`` (a callable is called for a fresh value)."""

    @app.route("/value")
    async def view() -> t.Any:
        return value() if callable(value) else value

    return await app.test_client().open("/value", **kwargs)


# -- return values ---------------------------------------------------------------------


async def test_return_str(app: Quart) -> None:
    response = await get_returned(app, "héllo")
    assert response.status_code == 200
    assert response.data == "héllo".encode()
    assert response.mimetype == "text/html"
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Length"] == str(len("héllo".encode()))


async def test_return_bytes(app: Quart) -> None:
    response = await get_returned(app, b"\x00\xff")
    assert response.data == b"\x00\xff"
    assert response.headers["Content-Length"] == "2"


@pytest.mark.parametrize("value", [{"b": [1, 2], "a": None}, [1, "two", {"three": 3}]])
async def test_return_dict_or_list_is_json(app: Quart, value: t.Any) -> None:
    response = await get_returned(app, value)
    assert response.mimetype == "application/json"
    assert await response.get_json() == value


async def test_return_response(app: Quart) -> None:
    response = await get_returned(app, lambda: Response("made", 202, {"X-Made": "yes"}))
    assert response.status_code == 202
    assert response.data == b"made"
    assert response.headers["X-Made"] == "yes"


async def test_return_wsgi_response_is_converted(app: Quart) -> None:
    response = await get_returned(
        app, lambda: WSGIResponse("from werkzeug", status=203, headers={"X-Wz": "1"})
    )
    assert response.status_code == 203
    assert response.data == b"from werkzeug"
    assert response.headers["X-Wz"] == "1"


@pytest.mark.parametrize(
    ("value", "status", "reason"),
    [
        (("body", 201), 201, "CREATED"),
        (("body", "201"), 201, "CREATED"),
        (("body", "418 I'M A TEAPOT"), 418, "I'M A TEAPOT"),
        (("body", "299 Custom Reason"), 299, "Custom Reason"),
        (("body", b"299 Custom Reason"), 299, "Custom Reason"),
        (({"json": True}, 202), 202, "ACCEPTED"),
    ],
)
async def test_return_tuple_with_status(
    app: Quart, value: tuple[t.Any, t.Any], status: int, reason: str
) -> None:
    async with app.test_request_context("/"):
        made = await app.make_response(value)
    assert made.status == f"{status} {reason}"
    # ASGI carries only the code; the server supplies the reason phrase.
    response = await get_returned(app, value)
    assert response.status_code == status


@pytest.mark.parametrize(
    "headers",
    [
        {"X-One": "1", "X-Two": "2"},
        [("X-One", "1"), ("X-Two", "2")],
        Headers([("X-One", "1"), ("X-Two", "2")]),
    ],
    ids=["dict", "list", "Headers"],
)
async def test_return_tuple_with_headers(app: Quart, headers: t.Any) -> None:
    response = await get_returned(app, ("body", headers))
    assert response.status_code == 200
    assert response.headers["X-One"] == "1"
    assert response.headers["X-Two"] == "2"

    app = make_app()
    response = await get_returned(app, ("body", 404, headers))
    assert response.status_code == 404
    assert response.data == b"body"
    assert response.headers["X-Two"] == "2"


async def test_tuple_headers_replace_the_response_headers(app: Quart) -> None:
    response = await get_returned(
        app, lambda: (Response("x", headers={"X-A": "old", "X-B": "kept"}), {"X-A": "new"})
    )
    assert response.headers.getlist("X-A") == ["new"]
    assert response.headers["X-B"] == "kept"


async def test_tuple_status_overrides_a_response_status(app: Quart) -> None:
    response = await get_returned(app, lambda: (Response("x", status=200), 410))
    assert response.status_code == 410


async def test_return_sync_generator_is_streamed(app: Quart) -> None:
    def produce() -> cabc.Iterator[str | bytes]:
        yield "one "
        yield b"two "
        yield "thr\u00e9e"

    response = await get_returned(app, produce)
    assert response.data == "one two thr\u00e9e".encode()
    assert "Content-Length" not in response.headers


async def test_return_async_generator_is_streamed(app: Quart) -> None:
    async def produce() -> cabc.AsyncIterator[bytes]:
        for i in range(3):
            yield f"{i};".encode()

    response = await get_returned(app, produce)
    assert response.data == b"0;1;2;"
    assert "Content-Length" not in response.headers


async def test_generator_can_read_the_request(app: Quart) -> None:
    @app.route("/stream")
    async def stream() -> t.Any:
        async def produce() -> cabc.AsyncIterator[str]:
            yield request.args["name"]
            yield "!"

        return produce(), {"X-Streamed": "1"}

    response = await app.test_client().get("/stream?name=ann")
    assert response.data == b"ann!"
    assert response.headers["X-Streamed"] == "1"


async def test_stream_of_wrong_items_is_an_error(app: Quart) -> None:
    async def produce() -> cabc.AsyncIterator[t.Any]:
        yield 42

    with pytest.raises(TypeError, match="bytes or str"):
        await get_returned(app, produce)


async def test_return_http_exception(app: Quart) -> None:
    response = await get_returned(app, lambda: NotFound("gone fishing"))
    assert response.status_code == 404
    assert b"gone fishing" in response.data


async def test_abort(app: Quart) -> None:
    @app.route("/forbidden")
    async def forbidden() -> str:
        abort(403)

    @app.route("/described")
    async def described() -> str:
        abort(400, "Your fault.")

    client = app.test_client()
    assert (await client.get("/forbidden")).status_code == 403
    response = await client.get("/described")
    assert response.status_code == 400
    assert b"Your fault." in response.data


async def test_abort_with_a_response(app: Quart) -> None:
    @app.route("/")
    async def index() -> str:
        abort(Response("teapot body", 418, {"X-Why": "because"}))

    response = await app.test_client().get("/")
    assert response.status_code == 418
    assert response.data == b"teapot body"
    assert response.headers["X-Why"] == "because"


async def test_http_exception_with_a_response(app: Quart) -> None:
    response = await get_returned(
        app, lambda: Forbidden(response=WSGIResponse("custom page", status=403))
    )
    assert response.status_code == 403
    assert response.data == b"custom page"


# -- invalid return values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "did not return a valid response"),
        (42, "it returned a int"),
        (object(), "it returned a object"),
        (("a", 200, {}, "extra"), "tuple of the wrong size"),
        ((), "tuple of the wrong size"),
    ],
    ids=["None", "int", "object", "4-tuple", "empty-tuple"],
)
async def test_invalid_return_raises_type_error(app: Quart, value: t.Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        await get_returned(app, value)


async def test_none_names_the_endpoint(app: Quart) -> None:
    @app.route("/", endpoint="silent_view")
    async def index() -> None:
        return None

    with pytest.raises(TypeError, match="'silent_view'"):
        await app.test_client().get("/")


async def test_invalid_return_is_500_when_not_propagating() -> None:
    app = make_app(TESTING=False)
    logged: list[str] = []

    @app.errorhandler(500)
    async def server_error(e: t.Any) -> tuple[str, int]:
        logged.append(type(e.original_exception).__name__)
        return "handled", 500

    response = await get_returned(app, 42)
    assert response.status_code == 500
    assert response.data == b"handled"
    assert logged == ["TypeError"]


# -- helpers ---------------------------------------------------------------------------------


async def test_jsonify(app: Quart) -> None:
    async with app.app_context():
        assert jsonify({"a": 1}).data == b'{"a":1}\n'
        assert jsonify(a=1).data == b'{"a":1}\n'
        assert jsonify(1, 2).data == b"[1,2]\n"
        assert jsonify().data == b"null\n"
        response = jsonify([1])
        assert response.mimetype == "application/json"
        assert response.status_code == 200
        with pytest.raises(TypeError):
            jsonify(1, a=2)


async def test_make_response(app: Quart) -> None:
    async with app.test_request_context("/"):
        response = await make_response("body", 201, {"X-A": "1"})
        assert response.status_code == 201
        assert response.data == b"body"
        assert response.headers["X-A"] == "1"

        empty = await make_response()
        assert empty.status_code == 200
        assert empty.data == b""

        from_tuple = await make_response(("gone", 410))
        assert from_tuple.status_code == 410

        json_response = await make_response({"k": "v"})
        assert await json_response.get_json() == {"k": "v"}

        same = Response("x")
        assert await make_response(same) is same


async def test_make_response_in_a_view(app: Quart) -> None:
    @app.route("/")
    async def index() -> Response:
        response = await make_response("hi")
        response.headers["X-Added"] = "yes"
        return response

    response = await app.test_client().get("/")
    assert response.headers["X-Added"] == "yes"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_codes(app: Quart, code: int) -> None:
    response = await get_returned(app, lambda: redirect("/target", code))
    assert response.status_code == code
    assert response.headers["Location"] == "/target"
    assert b"/target" in response.data


async def test_redirect_defaults_to_302_and_makes_location_ascii(app: Quart) -> None:
    response = await get_returned(app, lambda: redirect("/caf\u00e9?q=\u00e4"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/caf%C3%A9?q=%C3%A4"


def test_redirect_outside_a_context() -> None:
    response = redirect("https://example.com/", 307)
    assert isinstance(response, Response)
    assert response.status_code == 307
    assert response.location == "https://example.com/"


# -- cookies -----------------------------------------------------------------------------------


def test_set_cookie_attributes() -> None:
    response = Response()
    response.set_cookie(
        "sid",
        "abc",
        max_age=60,
        path="/app",
        domain="example.com",
        secure=True,
        httponly=True,
        samesite="Lax",
        partitioned=True,
    )
    header = response.headers["Set-Cookie"]
    parts = [part.strip() for part in header.split(";")]
    assert parts[0] == "sid=abc"
    assert "Max-Age=60" in parts
    assert "Path=/app" in parts
    assert "Domain=example.com" in parts
    assert "Secure" in parts
    assert "HttpOnly" in parts
    assert "SameSite=Lax" in parts
    assert "Partitioned" in parts
    assert any(part.startswith("Expires=") for part in parts)


def test_set_cookie_defaults_and_expires() -> None:
    response = Response()
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    response.set_cookie("c", "semi;colon")
    a, b, c = response.headers.getlist("Set-Cookie")
    assert a == "a=1; Path=/"
    assert b == "b=2; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Path=/"
    assert c.startswith('c="semi\\073colon"')


def test_delete_cookie() -> None:
    response = Response()
    response.delete_cookie("gone", path="/x", domain="example.com", secure=True, samesite="Strict")
    parts = [part.strip() for part in response.headers["Set-Cookie"].split(";")]
    assert parts[0] == "gone="
    assert "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in parts
    assert "Max-Age=0" in parts
    assert "Path=/x" in parts
    assert "Domain=example.com" in parts
    assert "SameSite=Strict" in parts


async def test_cookies_reach_the_client(app: Quart) -> None:
    @app.route("/set")
    async def set_it() -> Response:
        response = Response("set")
        response.set_cookie("flavour", "ginger", httponly=True)
        return response

    @app.route("/clear")
    async def clear() -> Response:
        response = Response("cleared")
        response.delete_cookie("flavour")
        return response

    client = app.test_client()
    response = await client.get("/set")
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert client.get_cookie("flavour") == "ginger"
    await client.get("/clear")
    assert client.get_cookie("flavour") is None


# -- the response object ---------------------------------------------------------------------


async def test_get_data_set_data_and_data() -> None:
    response = Response("héllo")
    assert response.data == "héllo".encode()
    assert await response.get_data() == "héllo".encode()
    assert await response.get_data(as_text=True) == "héllo"
    assert response.headers["Content-Length"] == "6"

    response.set_data(b"bytes!")
    assert response.data == b"bytes!"
    assert response.headers["Content-Length"] == "6"

    response.data = "new text"
    assert response.data == b"new text"
    assert response.headers["Content-Length"] == "8"


async def test_data_of_a_streamed_body() -> None:
    async def produce() -> cabc.AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    response = Response(produce())
    assert response.is_streamed
    with pytest.raises(RuntimeError, match="get_data"):
        response.data  # noqa: B018 - the property access is what raises
    assert await response.get_data() == b"ab"
    # Once read, the body is in memory and no longer streamed.
    assert not response.is_streamed
    assert response.data == b"ab"
    assert await response.get_data() == b"ab"


async def test_sync_iterable_body() -> None:
    response = Response(iter(["x", b"y"]))
    assert response.is_streamed
    assert await response.get_data(as_text=True) == "xy"


async def test_response_get_json() -> None:
    response = Response('{"a": [1]}', mimetype="application/json")
    assert response.is_json
    assert await response.get_json() == {"a": [1]}

    text = Response('{"a": 1}')
    with pytest.raises(ValueError, match="not JSON"):
        await text.get_json()
    assert await text.get_json(silent=True) is None
    assert await text.get_json(force=True) == {"a": 1}

    broken = Response("{", mimetype="application/json")
    with pytest.raises(ValueError):
        await broken.get_json()
    assert await broken.get_json(silent=True) is None


def test_response_constructor_options() -> None:
    response = Response("x", status="404 NOT FOUND", mimetype="text/plain")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    other = Response(b"{}", content_type="application/vnd.x+json")
    assert other.content_type == "application/vnd.x+json"
    assert other.is_json


async def test_add_etag() -> None:
    response = Response("content")
    await response.add_etag()
    assert response.headers["ETag"] == f'"{generate_etag(b"content")}"'
    assert response.get_etag() == (generate_etag(b"content"), False)

    response.set_data("changed")
    await response.add_etag()
    assert response.get_etag()[0] == generate_etag(b"content")
    await response.add_etag(overwrite=True, weak=True)
    assert response.get_etag() == (generate_etag(b"changed"), True)


async def test_add_etag_on_a_streamed_body() -> None:
    async def produce() -> cabc.AsyncIterator[bytes]:
        yield b"con"
        yield b"tent"

    response = Response(produce())
    await response.add_etag()
    assert response.get_etag()[0] == generate_etag(b"content")
    assert response.data == b"content"


# -- conditional requests --------------------------------------------------------------------


def conditional_app(**route_options: t.Any) -> Quart:
    app = make_app()

    @app.route("/doc", **route_options)
    async def doc() -> Response:
        response = Response(b"0123456789", mimetype="text/plain")
        response.set_etag("v1")
        response.last_modified = datetime(2020, 1, 1, tzinfo=UTC)
        return await response.make_conditional(request, accept_ranges=True)

    return app


async def test_conditional_plain_request_is_200() -> None:
    response = await conditional_app().test_client().get("/doc")
    assert response.status_code == 200
    assert response.data == b"0123456789"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Date" in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"v1"'},
        {"If-None-Match": '"other", W/"v1"'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Wed, 01 Jan 2020 00:00:00 GMT"},
        {"If-Modified-Since": "Thu, 02 Jan 2020 00:00:00 GMT"},
    ],
)
async def test_conditional_not_modified_is_304(headers: dict[str, str]) -> None:
    response = await conditional_app().test_client().get("/doc", headers=headers)
    assert response.status_code == 304
    assert response.data == b""
    # A 304 carries no entity headers.
    assert "Content-Length" not in response.headers
    assert "Content-Type" not in response.headers
    assert response.headers["ETag"] == '"v1"'


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"v0"'},
        {"If-Modified-Since": "Tue, 31 Dec 2019 00:00:00 GMT"},
    ],
)
async def test_conditional_modified_is_200(headers: dict[str, str]) -> None:
    response = await conditional_app().test_client().get("/doc", headers=headers)
    assert response.status_code == 200
    assert response.data == b"0123456789"


async def test_conditional_if_match_failure_is_412() -> None:
    client = conditional_app().test_client()
    response = await client.get("/doc", headers={"If-Match": '"v0"'})
    assert response.status_code == 412
    response = await client.get("/doc", headers={"If-Match": '"v1"'})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("range_header", "content_range", "body"),
    [
        ("bytes=2-4", "bytes 2-4/10", b"234"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=5-100", "bytes 5-9/10", b"56789"),
    ],
)
async def test_conditional_range_is_206(range_header: str, content_range: str, body: bytes) -> None:
    response = await conditional_app().test_client().get("/doc", headers={"Range": range_header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Content-Length"] == str(len(body))
    assert response.data == body


@pytest.mark.parametrize("range_header", ["bytes=20-30", "bytes=10-"])
async def test_conditional_unsatisfiable_range_is_416(range_header: str) -> None:
    response = await conditional_app().test_client().get("/doc", headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */10"


async def test_conditional_if_range() -> None:
    client = conditional_app().test_client()
    matching = await client.get("/doc", headers={"Range": "bytes=0-1", "If-Range": '"v1"'})
    assert matching.status_code == 206
    assert matching.data == b"01"
    stale = await client.get("/doc", headers={"Range": "bytes=0-1", "If-Range": '"v0"'})
    assert stale.status_code == 200
    assert stale.data == b"0123456789"
    by_date = await client.get(
        "/doc", headers={"Range": "bytes=0-1", "If-Range": "Wed, 01 Jan 2020 00:00:00 GMT"}
    )
    assert by_date.status_code == 206


async def test_conditional_leaves_other_methods_alone() -> None:
    client = conditional_app(methods=["POST"]).test_client()
    response = await client.post("/doc", headers={"If-None-Match": '"v1"', "Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.data == b"0123456789"
    assert "Date" not in response.headers


async def test_conditional_head_gets_the_range_length_without_a_body() -> None:
    response = await conditional_app().test_client().head("/doc", headers={"Range": "bytes=2-4"})
    assert response.status_code == 206
    assert response.headers["Content-Length"] == "3"
    assert response.data == b""


# -- Content-Length and the wire --------------------------------------------------------------


async def test_204_has_no_content_length_or_body(app: Quart) -> None:
    response = await get_returned(app, ("ignored body", 204))
    assert response.status_code == 204
    assert "Content-Length" not in response.headers
    assert response.data == b""


async def test_304_drops_entity_headers(app: Quart) -> None:
    response = await get_returned(
        app, lambda: Response("body", 304, {"ETag": '"e"', "Content-Language": "en"})
    )
    assert response.status_code == 304
    assert response.data == b""
    assert "Content-Length" not in response.headers
    assert "Content-Type" not in response.headers
    assert "Content-Language" not in response.headers
    assert response.headers["ETag"] == '"e"'


async def test_head_keeps_the_get_length_and_sends_no_body(app: Quart) -> None:
    response = await get_returned(app, "twelve bytes", method="HEAD")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "12"
    assert response.data == b""


async def test_head_of_a_streamed_response_closes_the_generator(app: Quart) -> None:
    closed: list[bool] = []

    async def produce() -> cabc.AsyncIterator[bytes]:
        try:
            yield b"never sent"
        finally:
            closed.append(True)

    @app.route("/")
    async def index() -> t.Any:
        gen = produce()
        await gen.__anext__()  # started, so closing it runs the finally block
        return gen

    response = await app.test_client().head("/")
    assert response.data == b""
    assert closed == [True]


async def test_explicit_content_length_is_kept(app: Quart) -> None:
    async def produce() -> cabc.AsyncIterator[bytes]:
        yield b"abc"

    response = await get_returned(app, lambda: (produce(), {"Content-Length": "3"}))
    assert response.headers["Content-Length"] == "3"
    assert response.data == b"abc"


@pytest.mark.parametrize(
    "name",
    ["X-Evil\r\nInjected", "X-Evil\nInjected", "X Space", "X-Colon:", ""],
    ids=["crlf", "lf", "space", "colon", "empty"],
)
async def test_invalid_header_name_is_a_500(name: str) -> None:
    app = make_app(TESTING=False)

    @app.route("/")
    async def index() -> Response:
        response = Response("x")
        response.headers[name] = "v"
        return response

    response = await app.test_client().get("/")
    assert response.status_code == 500
    assert all(key.lower() != name.lower() for key, _ in response.headers.items())
    assert "Injected" not in str(response.headers)


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nb", "a\rb"])
async def test_header_value_with_newline_is_a_500(value: str) -> None:
    app = make_app(TESTING=False)

    @app.route("/set")
    async def set_item() -> Response:
        response = Response("x")
        response.headers["X-Evil"] = value
        return response

    @app.route("/tuple")
    async def in_tuple() -> t.Any:
        return "x", {"X-Evil": value}

    client = app.test_client()
    for path in ("/set", "/tuple"):
        response = await client.get(path)
        assert response.status_code == 500
        assert "X-Evil" not in response.headers
        assert "Injected" not in str(response.headers)


async def test_header_value_outside_latin_1_is_a_500() -> None:
    app = make_app(TESTING=False)

    @app.route("/")
    async def index() -> Response:
        response = Response("x")
        response.headers["X-Currency"] = "\u20ac"
        return response

    response = await app.test_client().get("/")
    assert response.status_code == 500
    assert "X-Currency" not in response.headers


async def test_invalid_header_propagates_when_testing(app: Quart) -> None:
    @app.route("/")
    async def index() -> Response:
        response = Response("x")
        response.headers["X-Bad\r\nName"] = "v"
        return response

    with pytest.raises(ValueError, match="header"):
        await app.test_client().get("/")


async def test_latin_1_header_values_are_sent(app: Quart) -> None:
    response = await get_returned(app, lambda: ("x", {"X-Name": "caf\u00e9"}))
    assert response.headers["X-Name"] == "caf\u00e9"


async def test_wire_headers_are_checked_and_fixed_each_time_a_pair_repeats(app: Quart) -> None:
    # Checked header pairs are remembered in their wire form: a repeated pair
    # must still be dropped where its status forbids it, and a bad one refused.
    @app.route("/<int:status>")
    async def view(status: int) -> t.Any:
        return "abc", status, {"X-Same": "1"}

    client = app.test_client()
    for _ in range(2):
        ok = await client.get("/200")
        assert ok.headers["Content-Length"] == "3"
        assert ok.headers["X-Same"] == "1"
        empty = await client.get("/204")
        assert "Content-Length" not in empty.headers
        assert empty.headers["X-Same"] == "1"
    direct = Response("abc", headers={"X-Same": "1"})
    assert direct.final_headers() == [
        (b"x-same", b"1"),
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"3"),
    ]
    direct.status_code = 204
    assert direct.final_headers() == [
        (b"x-same", b"1"),
        (b"content-type", b"text/html; charset=utf-8"),
    ]
    bad = Response("abc")
    bad.headers._list.append(("X Bad", "1"))
    with pytest.raises(ValueError, match="Invalid response header name"):
        bad.final_headers()
    with pytest.raises(ValueError, match="Invalid response header name"):
        bad.final_headers()
    location = Response("", 302, {"Location": "/caf\u00e9"})
    for _ in range(2):
        assert (b"location", b"/caf%C3%A9") in location.final_headers()
