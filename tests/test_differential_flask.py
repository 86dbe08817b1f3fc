"""Differential tests: one app definition, built on Flask and on quartlike, must answer alike.

The app is written once, in :func:`make_app`, against a small adapter
(:class:`Flavor`) that hides the only thing that really differs between the two
frameworks: how a view reaches the request body and the async response helpers.

* Views that need no body are plain ``def`` functions registered as they are in
  both apps (so quartlike runs them in its thread pool).
* Views that need the body (or ``make_response``/``make_conditional``) are
  written as ``async def`` against the adapter. quartlike gets them unchanged;
  Flask gets a *sync* wrapper that runs the coroutine to completion in one step,
  which works because Flask's adapter methods never suspend. Flask therefore
  sees ordinary sync views and needs no async support.

Each row of :data:`ROWS` is one request (plus optional requests sent first on
the same client, for cookies). The test sends it to both apps and compares the
status, the body and every response header except ``Date``. Every row also
pins the status Flask gives, so that a row whose oracle changes fails loudly
instead of comparing two equally wrong answers.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import functools
import io
import re
import types
import typing as t
import uuid
from datetime import UTC
from datetime import datetime
from http import HTTPStatus

import flask
import pytest
from werkzeug.datastructures import Headers
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.http import generate_etag
from werkzeug.http import http_date
from werkzeug.routing import BaseConverter

import quartlike

# -- the adapter ---------------------------------------------------------------------------


class Flavor:
    """What differs between the frameworks, behind one interface."""

    name: str
    mod: types.ModuleType
    app_class: type[t.Any]

    def view(self, f: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        """Adapt an ``async def`` view (or hook) to the framework."""
        raise NotImplementedError

    async def get_json(self, **kwargs: t.Any) -> t.Any:
        raise NotImplementedError

    async def form(self) -> t.Any:
        raise NotImplementedError

    async def files(self) -> t.Any:
        raise NotImplementedError

    async def get_data(self) -> bytes:
        raise NotImplementedError

    async def make_response(self, *args: t.Any) -> t.Any:
        raise NotImplementedError

    async def add_etag(self, response: t.Any) -> None:
        raise NotImplementedError

    async def make_conditional(self, response: t.Any, **kwargs: t.Any) -> t.Any:
        raise NotImplementedError


def _run_to_completion(coro: cabc.Coroutine[t.Any, t.Any, t.Any]) -> t.Any:
    """Run a coroutine that never suspends; return its value (or raise its error)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("A Flask-flavoured view suspended; its adapter must not await I/O.")


class FlaskFlavor(Flavor):
    name = "flask"
    mod = flask
    app_class = flask.Flask

    def view(self, f: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        @functools.wraps(f)
        def sync_view(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return _run_to_completion(f(*args, **kwargs))

        return sync_view

    async def get_json(self, **kwargs: t.Any) -> t.Any:
        return flask.request.get_json(**kwargs)

    async def form(self) -> t.Any:
        return flask.request.form

    async def files(self) -> t.Any:
        return flask.request.files

    async def get_data(self) -> bytes:
        return flask.request.get_data()

    async def make_response(self, *args: t.Any) -> t.Any:
        return flask.make_response(*args)

    async def add_etag(self, response: t.Any) -> None:
        response.add_etag()

    async def make_conditional(self, response: t.Any, **kwargs: t.Any) -> t.Any:
        return response.make_conditional(flask.request, **kwargs)


class QuartlikeFlavor(Flavor):
    name = "quartlike"
    mod = quartlike
    app_class = quartlike.Quart

    def view(self, f: cabc.Callable[..., t.Any]) -> cabc.Callable[..., t.Any]:
        return f

    async def get_json(self, **kwargs: t.Any) -> t.Any:
        return await quartlike.request.get_json(**kwargs)

    async def form(self) -> t.Any:
        return await quartlike.request.form

    async def files(self) -> t.Any:
        return await quartlike.request.files

    async def get_data(self) -> bytes:
        return t.cast(bytes, await quartlike.request.get_data())

    async def make_response(self, *args: t.Any) -> t.Any:
        return await quartlike.make_response(*args)

    async def add_etag(self, response: t.Any) -> None:
        await response.add_etag()

    async def make_conditional(self, response: t.Any, **kwargs: t.Any) -> t.Any:
        return await response.make_conditional(quartlike.request, **kwargs)


# -- the app, written once ----------------------------------------------------------------

COND_BODY = b"0123456789abcdefghij"
COND_ETAG = generate_etag(COND_BODY)
COND_MODIFIED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
COOKIE_EXPIRES = datetime(2099, 1, 1, tzinfo=UTC)
SOME_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


class MyError(Exception):
    """Handled by an error handler registered for its class."""


class ListConverter(BaseConverter):
    """``/list/a+b+c`` <-> ``["a", "b", "c"]``."""

    def to_python(self, value: str) -> list[str]:
        return value.split("+")

    def to_url(self, value: t.Any) -> str:
        return "+".join(super(ListConverter, self).to_url(item) for item in value)


def make_app(fw: Flavor) -> t.Any:
    """Build the same app on the framework behind ``fw``."""
    mod = fw.mod
    request = mod.request
    g = mod.g
    url_for = mod.url_for
    # No static route: quartlike does not serve static files (yet), and Flask
    # would otherwise add a ``static`` endpoint that only one side has.
    app = fw.app_class(__name__, static_folder=None)
    # Body limits are set alike on both: their defaults differ on purpose
    # (quartlike limits request bodies to 16 MiB by default, Flask does not).
    app.config.update(
        TESTING=True,
        PROPAGATE_EXCEPTIONS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
        MAX_FORM_MEMORY_SIZE=1000,
        MAX_FORM_PARTS=20,
    )
    app.url_map.converters["list"] = ListConverter

    def route(rule: str, **options: t.Any) -> cabc.Callable[[t.Any], t.Any]:
        """Register an ``async def`` view through the adapter."""

        def decorator(f: t.Any) -> t.Any:
            app.route(rule, **options)(fw.view(f))
            return f

        return decorator

    # -- return values ---------------------------------------------------------------

    @app.route("/text")
    def text() -> t.Any:
        return "plain text \u00fc"

    @app.route("/bytes")
    def raw_bytes() -> t.Any:
        return b"\x00raw\xffbytes"

    @app.route("/dict")
    def a_dict() -> t.Any:
        return {"b": 1, "a": [1, 2], "u": "\u00e9", "none": None}

    @app.route("/list")
    def a_list() -> t.Any:
        return [1, "two", None, True, {"z": 0, "y": 1}]

    @app.route("/jsonify")
    def a_jsonify() -> t.Any:
        return mod.jsonify(1, 2, "three")

    @app.route("/tuple/status")
    def tuple_status() -> t.Any:
        return "created", 201

    @app.route("/tuple/status-line")
    def tuple_status_line() -> t.Any:
        return "odd", "299 Custom Thing"

    @app.route("/tuple/headers")
    def tuple_headers() -> t.Any:
        return "with headers", {"X-Custom": "1", "Content-Type": "text/plain; charset=utf-8"}

    @app.route("/tuple/all")
    def tuple_all() -> t.Any:
        return {"ok": True}, 202, [("X-Multi", "a"), ("X-Multi", "b")]

    @app.route("/no-content")
    def no_content() -> t.Any:
        return "", 204

    @app.route("/response-object")
    def response_object() -> t.Any:
        return mod.Response("made by hand", 207, {"X-Hand": "1"}, mimetype="text/csv")

    @app.route("/response-tuple")
    def response_tuple() -> t.Any:
        return mod.Response("response in a tuple"), HTTPStatus.CREATED, {"X-T": "1"}

    @app.route("/stream-tuple")
    def stream_tuple() -> t.Any:
        return (chunk for chunk in ["a", "b"]), 202, {"X-Stream": "1"}

    @app.route("/none")
    def returns_none() -> t.Any:
        return None

    @app.route("/stream")
    def stream() -> t.Any:
        def generate() -> cabc.Iterator[str]:
            yield "one,"
            yield "two,"
            yield "three"

        return generate()

    # -- redirects and aborts ---------------------------------------------------------------

    @app.route("/redirect")
    def go_redirect() -> t.Any:
        return mod.redirect(url_for("text"))

    @app.route("/redirect/301")
    def go_redirect_301() -> t.Any:
        return mod.redirect("/text?from=301", 301)

    @app.route("/redirect/unicode")
    def go_redirect_unicode() -> t.Any:
        return mod.redirect("/\u00fcn\u00efcode?q=\u00e4 b")

    @app.route("/abort/<int:code>")
    def go_abort(code: int) -> t.Any:
        mod.abort(code)

    @app.route("/abort-response")
    def go_abort_response() -> t.Any:
        mod.abort(mod.Response("aborted with a response", 409, {"X-Aborted": "1"}))

    @app.route("/redirect/external-307")
    def go_redirect_external() -> t.Any:
        return mod.redirect("https://example.com/elsewhere?x=1", 307)

    @app.route("/abort-described")
    def go_abort_described() -> t.Any:
        mod.abort(403, description="Members only.")

    # -- routing -------------------------------------------------------------------------

    @app.route("/conv/int/<int:n>")
    def conv_int(n: int) -> t.Any:
        return f"int {n!r}"

    @app.route("/conv/signed/<int(signed=True):n>")
    def conv_signed(n: int) -> t.Any:
        return f"signed {n!r}"

    @app.route("/conv/range/<int(min=1, max=10):n>")
    def conv_range(n: int) -> t.Any:
        return f"range {n!r}"

    @app.route("/conv/float/<float:x>")
    def conv_float(x: float) -> t.Any:
        return f"float {x!r}"

    @app.route("/conv/path/<path:p>")
    def conv_path(p: str) -> t.Any:
        return f"path {p!r}"

    @app.route("/conv/uuid/<uuid:u>")
    def conv_uuid(u: uuid.UUID) -> t.Any:
        return f"uuid {u!r}"

    @app.route("/conv/any/<any(red, green):color>")
    def conv_any(color: str) -> t.Any:
        return f"any {color!r}"

    @app.route("/conv/code/<string(length=3):code>")
    def conv_code(code: str) -> t.Any:
        return f"code {code!r}"

    @app.route("/list/<list:items>")
    def list_conv(items: list[str]) -> t.Any:
        return {"items": items, "back": url_for("list_conv", items=items)}

    @app.route("/page/", defaults={"n": 1})
    @app.route("/page/<int:n>")
    def page(n: int) -> t.Any:
        return f"page {n}"

    @app.route("/dir/", methods=["GET", "POST"])
    def directory() -> t.Any:
        return f"directory {request.method}"

    @app.route("/loose", strict_slashes=False)
    def loose() -> t.Any:
        return "loose"

    app.add_url_rule("/old", endpoint="old", redirect_to="/text")
    app.add_url_rule("/old-int/<int:n>", endpoint="old_int", redirect_to="/conv/int/<n>")
    app.add_url_rule(
        "/old-call/<int:n>",
        endpoint="old_call",
        redirect_to=lambda adapter, n: f"/conv/int/{n * 2}",
    )

    @app.route("/ep", endpoint="custom_ep")
    def named_differently() -> t.Any:
        return f"endpoint={request.endpoint} url={url_for('custom_ep')}"

    @app.route("/methods", methods=["GET", "POST", "PUT"])
    def methods_view() -> t.Any:
        return f"method={request.method}"

    def dual() -> t.Any:
        return f"dual {request.method} {request.path}"

    app.add_url_rule("/dual-get", "dual", dual, methods=["GET"])
    app.add_url_rule("/dual-post", "dual", dual, methods=["POST"])

    @app.route("/urls")
    def urls() -> t.Any:
        return {
            "plain": url_for("text"),
            "query": url_for("conv_int", n=3, q="a b&c", multi=["x", "y"]),
            "external": url_for("text", _external=True),
            "scheme": url_for("text", _external=True, _scheme="https"),
            "anchor": url_for("text", _anchor="sec 1/\u00fc"),
            "method_get": url_for("dual", _method="GET"),
            "method_post": url_for("dual", _method="POST"),
            "path": url_for("conv_path", p="a/b c/\u00e9"),
            "uuid": url_for("conv_uuid", u=SOME_UUID),
            "any": url_for("conv_any", color="green"),
            "default": url_for("page"),
            "page2": url_for("page", n=2),
            "page1": url_for("page", n=1),
            "custom": url_for("custom_ep"),
            "list": url_for("list_conv", items=["a", "b c"]),
            "lang": url_for("about", lang_code="de"),
            "float": url_for("conv_float", x=1.5),
            "signed": url_for("conv_signed", n=-4),
        }

    @app.route("/urls/bad")
    def urls_bad() -> t.Any:
        return url_for("no_such_endpoint")

    # url_value_preprocessor + url_defaults: a language code taken out of the URL
    # and put back into URLs built during the request.
    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        if values is not None:
            g.lang = values.pop("lang_code", None)

    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, t.Any]) -> None:
        if "lang_code" in values or not g.get("lang"):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            values["lang_code"] = g.lang

    @app.route("/<lang_code>/about")
    def about() -> t.Any:
        return f"about lang={g.lang} self={url_for('about')} fr={url_for('about', lang_code='fr')}"

    # -- hooks ---------------------------------------------------------------------------

    @app.before_request
    def block() -> t.Any:
        if request.path == "/blocked":
            return "blocked by hook", 403, {"X-Blocked": "yes"}
        if request.path == "/hook-abort":
            mod.abort(401, www_authenticate=WWWAuthenticate("basic", {"realm": "diff"}))
        return None

    @app.after_request
    def stamp(response: t.Any) -> t.Any:
        response.headers["X-After"] = request.endpoint or "-"
        if request.path == "/after-fails":
            raise MyError("after_request failed")
        return response

    @app.route("/after-fails")
    def after_fails() -> t.Any:
        return "the after_request hook will fail"

    # -- errors --------------------------------------------------------------------------

    @app.errorhandler(404)
    def not_found(e: t.Any) -> t.Any:
        return {"error": "not found", "path": request.path, "code": e.code}, 404

    @app.errorhandler(MyError)
    def my_error(e: MyError) -> t.Any:
        return f"my error handled: {e}", 418

    @app.errorhandler(LookupError)
    def lookup_error(e: LookupError) -> t.Any:
        return f"lookup handler: {type(e).__name__}", 400

    @app.errorhandler(500)
    def server_error(e: t.Any) -> t.Any:
        original = e.original_exception
        return (
            f"500 handler: {type(e).__name__} wrapping {type(original).__name__}: {original}",
            500,
        )

    @app.errorhandler(ArithmeticError)
    def failing_handler(e: ArithmeticError) -> t.Any:
        raise ValueError("the error handler failed too")

    @app.route("/handler-fails")
    def handler_fails() -> t.Any:
        return 1 // 0

    @app.route("/boom")
    def boom() -> t.Any:
        raise RuntimeError("kaboom")

    @app.route("/myerror")
    def raise_my_error() -> t.Any:
        raise MyError("mine")

    @app.route("/keyerror")
    def raise_key_error() -> t.Any:
        raise KeyError("k")

    @app.route("/args/missing")
    def args_missing() -> t.Any:
        return request.args["nope"]

    # -- the request object -----------------------------------------------------------------

    @app.route("/reqinfo", methods=["GET", "POST"])
    def reqinfo() -> t.Any:
        return {
            "args": request.args.to_dict(flat=False),
            "method": request.method,
            "path": request.path,
            "full_path": request.full_path,
            "url": request.url,
            "base_url": request.base_url,
            "url_root": request.url_root,
            "host_url": request.host_url,
            "host": request.host,
            "scheme": request.scheme,
            "is_secure": request.is_secure,
            "remote_addr": request.remote_addr,
            "is_json": request.is_json,
            "mimetype": request.mimetype,
            "mimetype_params": dict(request.mimetype_params),
            "content_length": request.content_length,
            "user_agent": request.user_agent.string,
            "cookies": dict(sorted(request.cookies.items())),
            "x_thing": request.headers.get("X-Thing"),
            "x_thing_all": request.headers.getlist("X-Thing"),
            "endpoint": request.endpoint,
            "view_args": request.view_args,
            "rule": request.url_rule.rule if request.url_rule else None,
        }

    @app.route("/negotiate")
    def negotiate() -> t.Any:
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        rv = mod.Response(f"best={best} q_json={request.accept_mimetypes['application/json']}")
        rv.vary.add("Accept")
        return rv

    @app.route("/auth")
    def auth() -> t.Any:
        a = request.authorization
        if a is None:
            return {"auth": None}
        return {"type": a.type, "username": a.username, "password": a.password, "token": a.token}

    @app.route("/preconditions")
    def preconditions() -> t.Any:
        rng = request.range
        return {
            "if_none_match": request.if_none_match.to_header(),
            "if_match": request.if_match.to_header(),
            "if_modified_since": str(request.if_modified_since),
            "range": rng.to_header() if rng is not None else None,
            "if_range": request.if_range.to_header(),
        }

    @app.route("/cookies")
    def cookies() -> t.Any:
        return dict(sorted(request.cookies.items()))

    # -- bodies (async views through the adapter) ------------------------------------------

    @route("/json", methods=["POST"])
    async def json_echo() -> t.Any:
        return {"got": await fw.get_json()}

    @route("/json/silent", methods=["POST"])
    async def json_silent() -> t.Any:
        return {"got": await fw.get_json(silent=True)}

    @route("/json/force", methods=["POST"])
    async def json_force() -> t.Any:
        return {"got": await fw.get_json(force=True)}

    @route("/form", methods=["POST", "PUT"])
    async def form() -> t.Any:
        fields = await fw.form()
        files = await fw.files()
        return {
            "form": fields.to_dict(flat=False),
            "files": {
                key: [
                    {
                        "filename": f.filename,
                        "content_type": f.content_type,
                        "data": f.read().decode("latin-1"),
                    }
                    for f in files.getlist(key)
                ]
                for key in sorted(files)
            },
        }

    @route("/echo", methods=["POST", "PUT"])
    async def echo() -> t.Any:
        data = await fw.get_data()
        return data, {"Content-Type": "application/octet-stream", "X-Length": str(len(data))}

    # -- responses (async views through the adapter) -----------------------------------------

    @route("/made")
    async def made() -> t.Any:
        rv = await fw.make_response("made", 201)
        rv.headers["X-Made"] = "yes"
        rv.headers.add("X-Multi", "1")
        rv.headers.add("X-Multi", "2")
        rv.mimetype = "text/plain"
        rv.headers.pop("X-Never", None)
        return rv

    @route("/made/json")
    async def made_json() -> t.Any:
        rv = await fw.make_response({"k": "v"})
        rv.status_code = 203
        rv.headers["Cache-Control"] = "no-store"
        return rv

    @route("/setcookie")
    async def setcookie() -> t.Any:
        rv = await fw.make_response("cookie set")
        rv.set_cookie("flavor", "choc chip", expires=COOKIE_EXPIRES, httponly=True, samesite="Lax")
        rv.set_cookie("plain", "1")
        rv.set_cookie("scoped", "x", path="/cookies", secure=False)
        return rv

    @route("/setcookie/secure")
    async def setcookie_secure() -> t.Any:
        rv = await fw.make_response("secure cookie set")
        rv.set_cookie("secret", "s", secure=True)
        rv.set_cookie("open", "o")
        return rv

    @route("/delcookie")
    async def delcookie() -> t.Any:
        rv = await fw.make_response("cookie deleted")
        rv.delete_cookie("flavor")
        return rv

    @route("/cond", methods=["GET", "POST"])
    async def conditional() -> t.Any:
        rv = await fw.make_response(COND_BODY)
        rv.last_modified = COND_MODIFIED
        await fw.add_etag(rv)
        return await fw.make_conditional(rv, accept_ranges=True, complete_length=len(COND_BODY))

    @route("/cond/auto-length")
    async def conditional_auto_length() -> t.Any:
        rv = await fw.make_response(COND_BODY)
        await fw.add_etag(rv)
        return await fw.make_conditional(rv, accept_ranges=True)

    @route("/cond/no-ranges")
    async def conditional_no_ranges() -> t.Any:
        rv = await fw.make_response(COND_BODY)
        await fw.add_etag(rv)
        return await fw.make_conditional(rv)

    return app


# -- running one request against each app -----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Seen:
    """What a client sees: status, headers (without ``Date``) and body."""

    status: int
    headers: dict[str, list[str]]
    body: bytes


def _seen(status: int, headers: Headers, body: bytes) -> Seen:
    grouped: dict[str, list[str]] = {}
    for key, value in headers.items():
        key = key.lower()
        if key == "date":  # the clock, not the framework
            continue
        if key == "allow":
            # werkzeug lists the methods in set iteration order, which depends on
            # the process's string hashing and carries no meaning; sort them.
            value = ", ".join(sorted(m.strip() for m in value.split(",")))
        grouped.setdefault(key, []).append(value)
    return Seen(status, dict(sorted(grouped.items())), body)


def _files(spec: dict[str, tuple[bytes, str] | tuple[bytes, str, str]]) -> dict[str, t.Any]:
    # Fresh streams for every request: a stream is consumed by the first client.
    return {key: (io.BytesIO(value[0]), *value[1:]) for key, value in spec.items()}


@dataclasses.dataclass
class Req:
    method: str
    path: str
    query: dict[str, t.Any] | str | None = None
    headers: list[tuple[str, str]] | None = None
    json: t.Any = dataclasses.field(default_factory=lambda: _NO_JSON)
    data: bytes | str | dict[str, t.Any] | None = None
    files: dict[str, t.Any] | None = None
    content_type: str | None = None
    base_url: str | None = None
    follow_redirects: bool = False

    def kwargs(self) -> dict[str, t.Any]:
        kwargs: dict[str, t.Any] = {"method": self.method}
        if self.query is not None:
            kwargs["query_string"] = self.query
        # Flask's client sends "User-Agent: Werkzeug/<version>" by default and
        # quartlike's sends none; a real client sends its own, so every request
        # here names one, unless the row gives its own.
        headers = list(self.headers or [])
        if not any(name.lower() == "user-agent" for name, _ in headers):
            headers.append(("User-Agent", "differential-test/1.0"))
        kwargs["headers"] = headers
        if self.json is not _NO_JSON:
            kwargs["json"] = self.json
        if self.data is not None or self.files is not None:
            data: dict[str, t.Any] = {}
            if isinstance(self.data, dict):
                data.update(self.data)
            elif self.data is not None:
                kwargs["data"] = self.data
            if self.files is not None:
                data.update(_files(self.files))
            if data:
                kwargs["data"] = data
        if self.content_type is not None:
            kwargs["content_type"] = self.content_type
        if self.base_url is not None:
            kwargs["base_url"] = self.base_url
        if self.follow_redirects:
            kwargs["follow_redirects"] = True
        return kwargs


_NO_JSON: t.Any = object()
Difference = cabc.Callable[[Seen, Seen], tuple[Seen, Seen]]


@dataclasses.dataclass
class Row:
    id: str
    request: Req
    #: The status Flask answers with; pins the oracle.
    status: int
    #: Requests sent first on the same client (to set cookies).
    before: tuple[Req, ...] = ()
    #: Whether the clients keep a cookie jar. Werkzeug's client (Flask's) drops
    #: a ``Cookie`` header given by hand when it keeps a jar, so rows that send
    #: one by hand use clients without a jar.
    use_cookies: bool = True
    #: For an intended difference: asserts it, and returns both sides normalised.
    difference: Difference | None = None


def get(path: str, **kwargs: t.Any) -> Req:
    return Req("GET", path, **kwargs)


def post(path: str, **kwargs: t.Any) -> Req:
    return Req("POST", path, **kwargs)


def head(path: str, **kwargs: t.Any) -> Req:
    return Req("HEAD", path, **kwargs)


def options(path: str, **kwargs: t.Any) -> Req:
    return Req("OPTIONS", path, **kwargs)


def run_flask(app: t.Any, row: Row) -> Seen:
    client = app.test_client(use_cookies=row.use_cookies)
    for req in row.before:
        client.open(req.path, **req.kwargs())
    r = client.open(row.request.path, **row.request.kwargs())
    try:
        return _seen(r.status_code, Headers(r.headers), r.get_data())
    finally:
        r.close()


async def run_quartlike(app: quartlike.Quart, row: Row) -> Seen:
    client = app.test_client(use_cookies=row.use_cookies)
    for req in row.before:
        await client.open(req.path, **req.kwargs())
    r = await client.open(row.request.path, **row.request.kwargs())
    return _seen(r.status_code, r.headers, await r.get_data())


# -- intended differences -----------------------------------------------------------------


def _message_of_500(seen: Seen) -> tuple[str, str]:
    prefix, _, message = seen.body.decode().partition(": ")
    prefix2, _, message = message.partition(": ")
    return f"{prefix}: {prefix2}", message


def own_error_wording(expected_prefix: str) -> Difference:
    """The 500 handler prints the original exception's message. Where the error is
    raised by the framework itself, quartlike words the message its own way (we
    write our own error texts), so only the message differs; the exception types,
    status and headers must still agree. Content-Length follows the body."""

    def check(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
        flask_prefix, flask_message = _message_of_500(flask_seen)
        our_prefix, our_message = _message_of_500(ours)
        assert flask_prefix == our_prefix == expected_prefix
        assert our_message and flask_message and our_message != flask_message
        headers = {k: v for k, v in ours.headers.items() if k != "content-length"}
        flask_headers = {k: v for k, v in flask_seen.headers.items() if k != "content-length"}
        assert ours.headers["content-length"] == [str(len(ours.body))]
        return (
            dataclasses.replace(flask_seen, body=b"", headers=flask_headers),
            dataclasses.replace(ours, body=b"", headers=headers),
        )

    return check


_DESCRIPTION = re.compile(rb"<p>(.*)</p>\n\Z", re.DOTALL)


def _without_length(seen: Seen) -> dict[str, list[str]]:
    return {k: v for k, v in seen.headers.items() if k != "content-length"}


def own_description(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """Same error, own words: quartlike raises the same HTTP error as Flask but
    with a description of its own (we write our own error texts), so the page
    differs only in its ``<p>`` line and, with it, Content-Length."""
    assert ours.status == flask_seen.status
    flask_match = _DESCRIPTION.search(flask_seen.body)
    our_match = _DESCRIPTION.search(ours.body)
    assert flask_match is not None and our_match is not None
    assert flask_match.group(1) != our_match.group(1)
    assert flask_seen.body[: flask_match.start()] == ours.body[: our_match.start()]
    assert ours.headers["content-length"] == [str(len(ours.body))]
    return (
        dataclasses.replace(flask_seen, body=b"", headers=_without_length(flask_seen)),
        dataclasses.replace(ours, body=b"", headers=_without_length(ours)),
    )


def refused_form(status: int, description: bytes) -> Difference:
    """quartlike's form parser is stricter than werkzeug's, on purpose (see the
    :mod:`quartlike.formparser` docstring): ``MAX_FORM_PARTS`` and
    ``MAX_FORM_MEMORY_SIZE`` also bound urlencoded bodies (werkzeug reads those
    whole and counts nothing), and a malformed multipart body is a 400 instead
    of a silently empty form. Flask accepts what quartlike refuses."""

    def check(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
        assert flask_seen.status == 200
        assert flask_seen.headers["content-type"] == ["application/json"]
        assert ours.status == status
        assert description in ours.body
        assert ours.headers["content-type"] == ["text/html; charset=utf-8"]
        assert ours.headers["x-after"] == ["form"]
        return flask_seen, flask_seen

    return check


def secure_cookie_withheld(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """A test-client difference: werkzeug's client (Flask's) sends a ``Secure``
    cookie over plain http; quartlike's client withholds it, as browsers do."""
    assert flask_seen.body == b'{"open":"o","secret":"s"}\n'
    assert ours.body == b'{"open":"o"}\n'
    assert ours.status == flask_seen.status
    assert _without_length(ours) == _without_length(flask_seen)
    return flask_seen, flask_seen


def too_deep_is_bad_request(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """JSON nested past the recursion limit: Flask lets the ``RecursionError``
    escape (a 500, here through the 500 handler); quartlike treats it as the
    client's malformed input, a 400, like any other undecodable body."""
    assert flask_seen.status == 500
    assert b"wrapping RecursionError" in flask_seen.body
    assert ours.status == 400
    assert b"<title>400 Bad Request</title>" in ours.body
    assert _without_length(ours) == _without_length(flask_seen)
    return flask_seen, flask_seen


def unread_body_closes_connection(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """A refused body (413 before reading it) leaves bytes on the connection, so
    quartlike tells an HTTP/1.1 client the connection will close
    (``Connection: close``, RFC 9112 9.6); Flask leaves that to the WSGI server.
    Everything else is the same."""
    assert ours.headers.get("connection") == ["close"]
    rest = {k: v for k, v in ours.headers.items() if k != "connection"}
    assert rest == flask_seen.headers
    return flask_seen, Seen(ours.status, rest, ours.body)


def client_json_none(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """A test-client difference, not an app one: Flask's client treats ``json=None``
    as "no JSON" (so the view sees no body and answers 415), while quartlike's
    client, like Quart's, sends the JSON document ``null`` (so the view echoes it)."""
    assert flask_seen.status == 415
    assert ours.status == 200
    assert ours.body == b'{"got":null}\n'
    return flask_seen, flask_seen


def ranges_without_complete_length(flask_seen: Seen, ours: Seen) -> tuple[Seen, Seen]:
    """quartlike's ``make_conditional`` serves a ``Range`` when only ``accept_ranges``
    is given, taking the complete length from the in-memory body (as Quart does);
    werkzeug's needs ``complete_length`` and otherwise ignores the ``Range``."""
    assert flask_seen.status == 200
    assert flask_seen.body == COND_BODY
    assert ours.status == 206
    assert ours.body == COND_BODY[:5]
    assert ours.headers["content-range"] == [f"bytes 0-4/{len(COND_BODY)}"]
    assert ours.headers["content-length"] == ["5"]
    rest = {k: v for k, v in ours.headers.items() if k not in ("content-range", "content-length")}
    flask_rest = {k: v for k, v in flask_seen.headers.items() if k != "content-length"}
    assert rest == flask_rest
    return flask_seen, flask_seen


# -- the table ----------------------------------------------------------------------------

_BASIC = [("Authorization", "Basic dXNlcjpwYXNzIHdvcmQ=")]
_COND_MODIFIED_HTTP = http_date(COND_MODIFIED)
_LATER = http_date(datetime(2025, 1, 1, tzinfo=UTC))
_EARLIER = http_date(datetime(2020, 1, 1, tzinfo=UTC))
_FILE_A = (b"file A contents\n", "a.txt", "text/plain")
_FILE_B = (b"\x00\x01binary", "b.bin")

ROWS: list[Row] = [
    # return values
    Row("text", get("/text"), 200),
    Row("bytes", get("/bytes"), 200),
    Row("dict-json", get("/dict"), 200),
    Row("list-json", get("/list"), 200),
    Row("jsonify-args", get("/jsonify"), 200),
    Row("tuple-body-status", get("/tuple/status"), 201),
    Row("tuple-body-status-line", get("/tuple/status-line"), 299),
    Row("tuple-body-headers", get("/tuple/headers"), 200),
    Row("tuple-body-status-headers", get("/tuple/all"), 202),
    Row("stream-generator", get("/stream"), 200),
    Row("stream-generator-head", head("/stream"), 200),
    Row("status-204-no-length", get("/no-content"), 204),
    Row("response-object", get("/response-object"), 207),
    Row("response-in-tuple", get("/response-tuple"), 201),
    Row("stream-in-tuple", get("/stream-tuple"), 202),
    Row(
        "view-returns-none",
        get("/none"),
        500,
        difference=own_error_wording("500 handler: InternalServerError wrapping TypeError"),
    ),
    # redirects, aborts
    Row("redirect-url-for", get("/redirect"), 302),
    Row("redirect-301", get("/redirect/301"), 301),
    Row("redirect-unicode-location", get("/redirect/unicode"), 302),
    Row("abort-404-handled", get("/abort/404"), 404),
    Row("abort-403-default-page", get("/abort/403"), 403),
    Row("abort-403-description", get("/abort-described"), 403),
    Row("abort-with-response", get("/abort-response"), 409),
    Row("redirect-external-307", get("/redirect/external-307"), 307),
    Row("follow-redirect", get("/redirect", follow_redirects=True), 200),
    Row("follow-redirect-chain", get("/old-call/4", follow_redirects=True), 200),
    Row("follow-redirect-301-query", get("/redirect/301", follow_redirects=True), 200),
    Row(
        "follow-308-keeps-method-and-body",
        post("/dir", data=b"payload", follow_redirects=True),
        200,
    ),
    Row("abort-410", get("/abort/410"), 410),
    Row("abort-500-handler-without-original", get("/abort/500"), 500),
    # converters
    Row("conv-int", get("/conv/int/42"), 200),
    Row("conv-int-rejects-text", get("/conv/int/abc"), 404),
    Row("conv-int-rejects-negative", get("/conv/int/-1"), 404),
    Row("conv-int-signed", get("/conv/signed/-7"), 200),
    Row("conv-int-range-ok", get("/conv/range/10"), 200),
    Row("conv-int-range-out", get("/conv/range/11"), 404),
    Row("conv-float", get("/conv/float/2.5"), 200),
    Row("conv-float-rejects-int", get("/conv/float/2"), 404),
    Row("conv-path", get("/conv/path/a/b/c.txt"), 200),
    Row("conv-path-unicode", get("/conv/path/caf%C3%A9/x%20y"), 200),
    Row("conv-path-raw-unicode", get("/conv/path/\u00fcber"), 200),
    Row("conv-path-invalid-utf8", get("/conv/path/%FF%FEx"), 200),
    Row("conv-path-encoded-slash", get("/conv/path/a%2Fb"), 200),
    Row("conv-uuid", get(f"/conv/uuid/{SOME_UUID}"), 200),
    Row("conv-uuid-bad", get("/conv/uuid/not-a-uuid"), 404),
    Row("conv-any", get("/conv/any/green"), 200),
    Row("conv-any-other", get("/conv/any/blue"), 404),
    Row("conv-string-length", get("/conv/code/abc"), 200),
    Row("conv-string-length-wrong", get("/conv/code/abcd"), 404),
    Row("conv-custom-list", get("/list/a+b+c%20d"), 200),
    # defaults, slashes, redirect_to, endpoint, methods
    Row("defaults-bare", get("/page/"), 200),
    Row("defaults-explicit", get("/page/2"), 200),
    Row("defaults-redirects-to-canonical", get("/page/1"), 308),
    Row("strict-slashes-redirect", get("/dir"), 308),
    Row("strict-slashes-redirect-keeps-query", get("/dir", query={"a": "1"}), 308),
    Row("strict-slashes-redirect-post", post("/dir"), 308),
    Row("strict-slashes-no-rule-for-method", Req("PUT", "/dir"), 404),
    Row("strict-slashes-target", get("/dir/"), 200),
    Row("strict-slashes-off", get("/loose/"), 200),
    Row("strict-slashes-off-bare", get("/loose"), 200),
    Row("redirect-to-string", get("/old"), 308),
    Row("redirect-to-template", get("/old-int/5"), 308),
    Row("redirect-to-callable", get("/old-call/5"), 308),
    Row("explicit-endpoint", get("/ep"), 200),
    Row("methods-get", get("/methods"), 200),
    Row("methods-put", Req("PUT", "/methods"), 200),
    Row("methods-405-allow", Req("DELETE", "/methods"), 405),
    Row("methods-405-patch-post-only", Req("PATCH", "/json"), 405),
    Row("same-endpoint-two-rules-post", post("/dual-post"), 200),
    Row("unknown-method-405", Req("BREW", "/text"), 405),
    Row("trace-405", Req("TRACE", "/text"), 405),
    Row("head-on-post-only-405", head("/json"), 405),
    Row("trailing-slash-on-slashless-rule", get("/text/"), 404),
    Row("merge-slashes-redirect", get("/conv//int/3"), 308),
    Row("auto-head", head("/text"), 200),
    Row("auto-head-json", head("/dict"), 200),
    Row("auto-head-404", head("/nope"), 404),
    Row("auto-options", options("/methods"), 200),
    Row("auto-options-post-only", options("/json"), 200),
    Row("options-404", options("/nope"), 404),
    Row("url-for-everything", get("/urls"), 200),
    # BuildError is a LookupError, so the LookupError handler answers.
    Row("url-for-build-error", get("/urls/bad"), 400),
    Row("url-defaults-and-preprocessor", get("/en/about"), 200),
    # hooks and error handlers
    Row("before-request-short-circuit", get("/blocked"), 403),
    Row("before-request-abort-401", get("/hook-abort"), 401),
    Row("after-request-fails", get("/after-fails"), 500),
    Row("error-handler-fails", get("/handler-fails"), 500),
    Row("not-found-handler", get("/does/not/exist"), 404),
    Row("error-handler-by-class", get("/myerror"), 418),
    Row("error-handler-by-base-class", get("/keyerror"), 400),
    Row("bad-request-key-error-mro", get("/args/missing"), 400),
    Row("500-handler-original-exception", get("/boom"), 500),
    # the request object
    Row("request-info", get("/reqinfo"), 200),
    Row(
        "request-info-query-headers",
        get(
            "/reqinfo",
            query="a=1&a=2&b=%C3%A9&empty=",
            headers=[("X-Thing", "one"), ("X-Thing", "two"), ("User-Agent", "diff/1.0")],
        ),
        200,
    ),
    Row(
        "request-info-json-body",
        post("/reqinfo", data='{"x": 1}', content_type="application/json; charset=utf-8"),
        200,
    ),
    Row(
        "request-info-vnd-json",
        post("/reqinfo", data="{}", content_type="application/vnd+json"),
        200,
    ),
    Row("request-info-unicode-query", get("/reqinfo", query={"q": "\u00fc"}), 200),
    Row("request-info-dot-segments", get("/reqinfo/../reqinfo"), 404),
    Row("request-info-odd-query", get("/reqinfo?a=%ZZ&b=+x+&c&=v&d=%E2%82%AC"), 200),
    Row("request-info-host-header", get("/reqinfo", headers=[("Host", "example.com:8080")]), 200),
    Row("request-info-https", get("/reqinfo", base_url="https://secure.test/"), 200),
    Row("request-info-script-root", get("/reqinfo", base_url="http://localhost/mount/"), 200),
    Row("url-for-script-root", get("/urls", base_url="http://localhost/mount/"), 200),
    Row("redirect-under-script-root", get("/dir", base_url="http://localhost/mount/"), 308),
    Row("url-for-other-host", get("/urls", base_url="https://api.example.org:8443/"), 200),
    Row("accept-json", get("/negotiate", headers=[("Accept", "application/json")]), 200),
    Row(
        "accept-weighted",
        get("/negotiate", headers=[("Accept", "text/html;q=0.9, application/json;q=0.5")]),
        200,
    ),
    Row("accept-none", get("/negotiate"), 200),
    Row("authorization-basic", get("/auth", headers=_BASIC), 200),
    Row("authorization-bearer", get("/auth", headers=[("Authorization", "Bearer tok.en")]), 200),
    Row("authorization-none", get("/auth"), 200),
    Row(
        "precondition-headers",
        get(
            "/preconditions",
            headers=[
                ("If-None-Match", '"a", W/"b"'),
                ("If-Match", "*"),
                ("If-Modified-Since", _EARLIER),
                ("Range", "bytes=0-4, 10-"),
                ("If-Range", '"a"'),
            ],
        ),
        200,
    ),
    Row("precondition-headers-absent", get("/preconditions"), 200),
    Row(
        "cookies-header",
        get("/cookies", headers=[("Cookie", "a=1; b=two%20words")]),
        200,
        use_cookies=False,
    ),
    # bodies
    Row("json-valid", post("/json", json={"n": [1, 2], "s": "\u00e9"}), 200),
    Row("json-null", post("/json", data="null", content_type="application/json"), 200),
    Row(
        "json-none-client-argument",
        post("/json", json=None),
        415,
        difference=client_json_none,
    ),
    Row("json-invalid-400", post("/json", data="{not json", content_type="application/json"), 400),
    Row("json-wrong-type-415", post("/json", data='{"a": 1}', content_type="text/plain"), 415),
    Row("json-no-body-415", post("/json"), 415),
    Row(
        "json-silent-invalid", post("/json/silent", data="{", content_type="application/json"), 200
    ),
    Row("json-silent-wrong-type", post("/json/silent", data="{}", content_type="text/plain"), 200),
    Row("json-force", post("/json/force", data='{"f": true}', content_type="text/plain"), 200),
    Row(
        "json-invalid-utf8-400",
        post("/json", data=b"\xff\xfe{", content_type="application/json"),
        400,
    ),
    Row(
        "json-utf16-body",
        post("/json", data='{"u": "\u00e9"}'.encode("utf-16"), content_type="application/json"),
        200,
    ),
    Row(
        "json-too-deep",
        post("/json", data="[" * 50_000, content_type="application/json"),
        500,
        difference=too_deep_is_bad_request,
    ),
    Row(
        "json-body-too-large-413",
        post("/json", json="x" * (70 * 1024)),
        413,
        difference=unread_body_closes_connection,
    ),
    Row(
        "raw-body-too-large-413",
        post("/echo", data=b"x" * (70 * 1024)),
        413,
        difference=unread_body_closes_connection,
    ),
    Row(
        "form-urlencoded",
        post("/form", data={"a": "1", "b": "\u00e9 x"}),
        200,
    ),
    Row(
        "form-urlencoded-repeated",
        post(
            "/form",
            data="a=1&a=2&c=%26",
            content_type="application/x-www-form-urlencoded",
        ),
        200,
    ),
    Row(
        "form-multipart-files",
        Req("PUT", "/form", data={"field": "value"}, files={"up": _FILE_A, "bin": _FILE_B}),
        200,
    ),
    Row("form-wrong-type-is-empty", post("/form", data="a=1", content_type="text/plain"), 200),
    Row(
        "form-multipart-no-boundary",
        post("/form", data="a=1", content_type="multipart/form-data"),
        200,
        difference=refused_form(400, b"no boundary"),
    ),
    Row(
        "form-multipart-garbage",
        post("/form", data="garbage", content_type="multipart/form-data; boundary=xyz"),
        200,
        difference=refused_form(400, b"closing boundary"),
    ),
    Row(
        "form-urlencoded-field-too-large",
        post("/form", data={"big": "x" * 2000}),
        200,
        difference=refused_form(413, b"larger than 1000 bytes"),
    ),
    Row(
        "form-urlencoded-too-many-parts",
        post("/form", data={f"k{i}": "v" for i in range(30)}),
        200,
        difference=refused_form(413, b"more than 20 fields"),
    ),
    Row(
        "form-multipart-field-too-large-413",
        post("/form", data={"big": "x" * 2000}, files={"f": _FILE_A}),
        413,
        difference=own_description,
    ),
    Row(
        "form-multipart-too-many-parts-413",
        post("/form", data={f"k{i}": "v" for i in range(30)}, files={"f": _FILE_A}),
        413,
        difference=own_description,
    ),
    Row(
        "form-urlencoded-charset-param",
        post(
            "/form",
            data="a=%C3%A9",
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        ),
        200,
    ),
    Row("raw-body-echo", post("/echo", data=b"\x00\x01\x02 raw"), 200),
    Row("raw-body-empty", Req("PUT", "/echo"), 200),
    # responses
    Row("make-response-headers", get("/made"), 201),
    Row("make-response-json", get("/made/json"), 203),
    Row("set-cookie", get("/setcookie"), 200),
    Row("delete-cookie", get("/delcookie"), 200),
    Row("cookies-sent-back", get("/cookies"), 200, before=(get("/setcookie"),)),
    Row("cookie-path-scoped", get("/reqinfo"), 200, before=(get("/setcookie"),)),
    Row(
        "cookies-after-delete",
        get("/cookies"),
        200,
        before=(get("/setcookie"), get("/delcookie")),
    ),
    # conditional responses
    Row(
        "secure-cookie-not-sent-over-http",
        get("/cookies"),
        200,
        before=(get("/setcookie/secure"),),
        difference=secure_cookie_withheld,
    ),
    Row("cond-plain", get("/cond"), 200),
    Row("cond-head", head("/cond"), 200),
    Row("cond-post-untouched", post("/cond", headers=[("If-None-Match", COND_ETAG)]), 200),
    Row("cond-if-none-match-304", get("/cond", headers=[("If-None-Match", f'"{COND_ETAG}"')]), 304),
    Row("cond-if-none-match-star", get("/cond", headers=[("If-None-Match", "*")]), 304),
    Row("cond-if-none-match-other", get("/cond", headers=[("If-None-Match", '"other"')]), 200),
    Row(
        "cond-if-none-match-weak-304",
        get("/cond", headers=[("If-None-Match", f'"x", W/"{COND_ETAG}"')]),
        304,
    ),
    Row("cond-head-304", head("/cond", headers=[("If-None-Match", f'"{COND_ETAG}"')]), 304),
    Row(
        "cond-if-unmodified-since-ignored",
        get("/cond", headers=[("If-Unmodified-Since", _EARLIER)]),
        200,
    ),
    Row(
        "cond-if-modified-since-later",
        get("/cond", headers=[("If-Modified-Since", _LATER)]),
        304,
    ),
    Row(
        "cond-if-modified-since-same",
        get("/cond", headers=[("If-Modified-Since", _COND_MODIFIED_HTTP)]),
        304,
    ),
    Row(
        "cond-if-modified-since-earlier",
        get("/cond", headers=[("If-Modified-Since", _EARLIER)]),
        200,
    ),
    Row("cond-if-match-mismatch-412", get("/cond", headers=[("If-Match", '"other"')]), 412),
    Row("cond-if-match-match", get("/cond", headers=[("If-Match", f'"{COND_ETAG}"')]), 200),
    Row("cond-range-206", get("/cond", headers=[("Range", "bytes=0-4")]), 206),
    Row("cond-range-suffix-206", get("/cond", headers=[("Range", "bytes=-3")]), 206),
    Row("cond-range-open-206", get("/cond", headers=[("Range", "bytes=15-")]), 206),
    Row("cond-range-unsatisfiable-416", get("/cond", headers=[("Range", "bytes=100-200")]), 416),
    Row("cond-range-malformed-416", get("/cond", headers=[("Range", "bytes=5-2")]), 416),
    Row("cond-range-multi-ignored", get("/cond", headers=[("Range", "bytes=0-1,4-5")]), 416),
    Row(
        "cond-if-range-etag-match-206",
        get("/cond", headers=[("Range", "bytes=0-4"), ("If-Range", f'"{COND_ETAG}"')]),
        206,
    ),
    Row(
        "cond-if-range-etag-mismatch-full",
        get("/cond", headers=[("Range", "bytes=0-4"), ("If-Range", '"other"')]),
        200,
    ),
    Row(
        "cond-if-range-date-match-206",
        get("/cond", headers=[("Range", "bytes=0-4"), ("If-Range", _COND_MODIFIED_HTTP)]),
        206,
    ),
    Row(
        "cond-if-range-date-old-full",
        get("/cond", headers=[("Range", "bytes=0-4"), ("If-Range", _EARLIER)]),
        200,
    ),
    Row("cond-head-range", head("/cond", headers=[("Range", "bytes=0-4")]), 206),
    Row(
        "cond-no-ranges-ignores-range",
        get("/cond/no-ranges", headers=[("Range", "bytes=0-4")]),
        200,
    ),
    Row("cond-auto-length-no-range", get("/cond/auto-length"), 200),
    Row(
        "cond-auto-length-range",
        get("/cond/auto-length", headers=[("Range", "bytes=0-4")]),
        200,
        difference=ranges_without_complete_length,
    ),
]


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flask_app() -> t.Any:
    return make_app(FlaskFlavor())


@pytest.fixture(scope="module")
def quartlike_app() -> quartlike.Quart:
    return t.cast(quartlike.Quart, make_app(QuartlikeFlavor()))


def test_table_is_large_and_ids_are_unique() -> None:
    ids = [row.id for row in ROWS]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_same_as_flask(row: Row, flask_app: t.Any, quartlike_app: quartlike.Quart) -> None:
    theirs = run_flask(flask_app, row)
    ours = await run_quartlike(quartlike_app, row)
    assert theirs.status == row.status, "the Flask oracle changed; update the row"
    if row.request.method == "HEAD":
        # What a real client sees for HEAD: headers only.
        assert theirs.body == b""
        assert ours.body == b""
    if row.difference is not None:
        theirs, ours = row.difference(theirs, ours)
    assert ours.status == theirs.status
    assert ours.body == theirs.body
    assert ours.headers == theirs.headers
