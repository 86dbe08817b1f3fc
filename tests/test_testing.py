from __future__ import annotations

import io
import time
import typing as t

import pytest

from quartlike import Quart
from quartlike import Response
from quartlike import redirect
from quartlike import request
from quartlike.testing import QuartClient


@pytest.fixture
def echo(app: Quart) -> Quart:
    """An app whose catch-all view describes the request it received."""

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"])
    async def describe(path: str) -> dict[str, t.Any]:
        files = await request.files
        return {
            "method": request.method,
            "path": request.path,
            "root_path": request.root_path,
            "host": request.host,
            "url": request.url,
            "args": request.args.to_dict(flat=False),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "x_multi": request.headers.getlist("X-Multi"),
            "cookies": request.cookies.to_dict(),
            "data": (await request.get_data(as_text=True)) if not files else "",
            "form": (await request.form).to_dict(flat=False),
            "files": {k: [f.filename, f.read().decode()] for k, f in files.items()},
            "content_type": request.content_type,
        }

    return app


async def describe(response: Response) -> dict[str, t.Any]:
    assert response.status_code == 200, await response.get_data()
    return t.cast(dict[str, t.Any], await response.get_json())


# -- methods, paths, query strings, headers ------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
async def test_method_helpers(echo: Quart, client: QuartClient, method: str) -> None:
    response = await getattr(client, method)("/thing")
    info = await describe(response)
    assert info["method"] == method.upper()
    assert info["path"] == "/thing"


async def test_open_with_method_and_trace(echo: Quart, client: QuartClient) -> None:
    assert (await describe(await client.open("/x", method="PATCH")))["method"] == "PATCH"
    assert (await describe(await client.trace("/x")))["method"] == "TRACE"


async def test_options_is_answered_automatically(echo: Quart, client: QuartClient) -> None:
    response = await client.options("/")
    assert response.status_code == 200
    assert {"GET", "POST", "OPTIONS"} <= set(response.allow)


async def test_head_has_headers_but_no_body(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        return "twelve bytes"

    response = await client.head("/")
    assert response.status_code == 200
    assert await response.get_data() == b""
    assert response.headers["Content-Length"] == "12"
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "query_string",
    [{"a": "1", "b": ["2", "3"]}, "a=1&b=2&b=3", b"a=1&b=2&b=3"],
)
async def test_query_string(echo: Quart, client: QuartClient, query_string: t.Any) -> None:
    info = await describe(await client.get("/q", query_string=query_string))
    assert info["args"] == {"a": ["1"], "b": ["2", "3"]}


async def test_query_string_in_path_and_encoding(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("/q?x=%C3%A9&y=a+b"))
    assert info["args"] == {"x": ["é"], "y": ["a b"]}
    info = await describe(await client.get("/q", query_string={"text": "a&b=c é"}))
    assert info["args"] == {"text": ["a&b=c é"]}


async def test_unicode_path(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("/caf%C3%A9/ü"))
    assert info["path"] == "/café/ü"


async def test_headers(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("/", headers={"X-One": "1", "Accept": "text/plain"}))
    assert info["headers"]["x-one"] == "1"
    assert info["headers"]["accept"] == "text/plain"
    assert info["headers"]["host"] == "localhost"
    info = await describe(await client.get("/", headers=[("X-Multi", "a"), ("X-Multi", "b")]))
    # As in Flask's (WSGI-based) test client, repeated headers arrive joined.
    assert info["x_multi"] == ["a, b"]


async def test_auth(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("/", auth=("ada", "secret")))
    assert info["headers"]["authorization"] == "Basic YWRhOnNlY3JldA=="


# -- bodies --------------------------------------------------------------------------------


async def test_json_body(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.post("/", json={"a": [1, None, "é"]}))
    assert info["content_type"] == "application/json"
    assert info["data"] == '{"a": [1, null, "\\u00e9"]}'


async def test_json_body_values_other_than_dicts(app: Quart, client: QuartClient) -> None:
    @app.post("/")
    async def index() -> t.Any:
        return {"got": await request.get_json()}

    for value in ([1, 2], "text", None, 0):
        response = await client.post("/", json=value)
        assert await response.get_json() == {"got": value}


@pytest.mark.parametrize(("data", "expected"), [(b"\x00raw", "\x00raw"), ("text é", "text é")])
async def test_data_bytes_and_str(
    echo: Quart, client: QuartClient, data: bytes | str, expected: str
) -> None:
    info = await describe(await client.post("/", data=data))
    assert info["data"] == expected
    assert info["headers"]["content-length"] == str(len(expected.encode()))


async def test_data_dict_is_a_form(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.post("/", data={"name": "ada", "tags": ["x", "y"]}))
    assert info["content_type"] == "application/x-www-form-urlencoded"
    assert info["form"] == {"name": ["ada"], "tags": ["x", "y"]}


async def test_form_argument(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.post("/", form={"a": "1"}, query_string={"q": "2"}))
    assert info["form"] == {"a": ["1"]}
    assert info["args"] == {"q": ["2"]}


async def test_files_argument(echo: Quart, client: QuartClient) -> None:
    info = await describe(
        await client.post(
            "/",
            form={"title": "report"},
            files={
                "upload": (b"file contents", "report.txt"),
                "stream": (io.BytesIO(b"streamed"), "s.bin"),
            },
        )
    )
    assert info["content_type"].startswith("multipart/form-data; boundary=")
    assert info["form"] == {"title": ["report"]}
    assert info["files"] == {
        "upload": ["report.txt", "file contents"],
        "stream": ["s.bin", "streamed"],
    }


async def test_explicit_content_type(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.post("/", data="<a/>", content_type="application/xml"))
    assert info["content_type"] == "application/xml"
    assert info["data"] == "<a/>"


async def test_conflicting_body_arguments(client: QuartClient) -> None:
    with pytest.raises(TypeError, match="not both"):
        await client.post("/", data="x", json={})
    with pytest.raises(TypeError, match="not both"):
        await client.post("/", data="x", form={"a": "b"})


# -- URLs, hosts, root paths ---------------------------------------------------------------


async def test_full_url_path(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("http://example.com/x?y=1"))
    assert info["host"] == "example.com"
    assert info["path"] == "/x"
    assert info["args"] == {"y": ["1"]}
    info = await describe(await client.get("https://secure.example.com:8443/s"))
    assert info["url"] == "https://secure.example.com:8443/s"


async def test_subdomain(echo: Quart, client: QuartClient) -> None:
    echo.config["SERVER_NAME"] = "example.org"
    info = await describe(await client.get("/x", subdomain="api"))
    assert info["host"] == "api.example.org"
    assert info["url"] == "http://api.example.org/x"


async def test_subdomain_routing(app: Quart, client: QuartClient) -> None:
    app.config["SERVER_NAME"] = "example.org"
    app.subdomain_matching = True

    @app.route("/", subdomain="<user>")
    async def profile(user: str) -> str:
        return f"profile of {user}"

    response = await client.get("/", subdomain="ada")
    assert await response.get_data() == b"profile of ada"


async def test_root_path(echo: Quart, client: QuartClient) -> None:
    info = await describe(await client.get("/x", root_path="/mounted"))
    assert info["root_path"] == "/mounted"
    assert info["path"] == "/x"
    assert info["url"] == "http://localhost/mounted/x"


async def test_application_root_is_the_default_root_path(echo: Quart, client: QuartClient) -> None:
    echo.config["APPLICATION_ROOT"] = "/base"
    info = await describe(await client.get("/x"))
    assert info["root_path"] == "/base"
    assert info["path"] == "/x"


# -- cookies -------------------------------------------------------------------------------


@pytest.fixture
def cookie_app(echo: Quart) -> Quart:
    @echo.route("/set-cookie")
    async def set_cookie() -> Response:
        response = Response("set")
        args = request.args
        kwargs: dict[str, t.Any] = {}
        for key in ("path", "domain"):
            if key in args:
                kwargs[key] = args[key]
        if "max_age" in args:
            kwargs["max_age"] = int(args["max_age"])
        if "expires" in args:
            kwargs["expires"] = int(args["expires"])
        if "secure" in args:
            kwargs["secure"] = True
        response.set_cookie(args["name"], args.get("value", ""), **kwargs)
        return response

    @echo.route("/delete-cookie")
    async def delete_cookie() -> Response:
        response = Response("deleted")
        response.delete_cookie(request.args["name"], path=request.args.get("path", "/"))
        return response

    return echo


async def cookies_at(client: QuartClient, url: str) -> dict[str, str]:
    return t.cast(dict[str, str], (await describe(await client.get(url)))["cookies"])


async def test_cookies_are_kept_across_requests(cookie_app: Quart, client: QuartClient) -> None:
    await client.get("/set-cookie?name=a&value=1")
    await client.get("/set-cookie?name=b&value=2")
    assert await cookies_at(client, "/") == {"a": "1", "b": "2"}
    assert client.get_cookie("a") == "1"
    await client.get("/set-cookie?name=a&value=changed")
    assert await cookies_at(client, "/") == {"a": "changed", "b": "2"}


async def test_cookie_values_that_need_quoting_round_trip(
    cookie_app: Quart, client: QuartClient
) -> None:
    await client.get("/set-cookie", query_string={"name": "c", "value": 'a b;c="d"'})
    assert await cookies_at(client, "/") == {"c": 'a b;c="d"'}


async def test_deleted_and_expired_cookies_are_dropped(
    cookie_app: Quart, client: QuartClient
) -> None:
    await client.get("/set-cookie?name=a&value=1")
    await client.get("/set-cookie?name=b&value=2")
    await client.get("/delete-cookie?name=a")
    assert client.get_cookie("a") is None
    assert await cookies_at(client, "/") == {"b": "2"}
    await client.get("/set-cookie?name=b&value=2&max_age=0")
    assert await cookies_at(client, "/") == {}


async def test_cookie_with_past_expires_only_is_dropped(
    cookie_app: Quart, client: QuartClient
) -> None:
    await client.get("/set-cookie?name=a&value=1")
    response = await client.get("/set-cookie?name=a&value=1&expires=86400")
    assert "Max-Age" not in response.headers["Set-Cookie"]
    assert "Expires=Fri, 02 Jan 1970" in response.headers["Set-Cookie"]
    assert await cookies_at(client, "/") == {}


async def test_cookie_expires_while_stored(
    cookie_app: Quart, client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.get("/set-cookie?name=short&value=1&max_age=60")
    await client.get("/set-cookie?name=long&value=2&max_age=3600")
    assert await cookies_at(client, "/") == {"short": "1", "long": "2"}
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    assert await cookies_at(client, "/") == {"long": "2"}
    assert client.get_cookie("short") is None


async def test_cookie_path_matching(cookie_app: Quart, client: QuartClient) -> None:
    await client.get("/set-cookie?name=scoped&value=1&path=/shop")
    assert await cookies_at(client, "/shop") == {"scoped": "1"}
    assert await cookies_at(client, "/shop/cart") == {"scoped": "1"}
    assert await cookies_at(client, "/shopping") == {}
    assert await cookies_at(client, "/") == {}
    assert client.get_cookie("scoped") is None
    assert client.get_cookie("scoped", path="/shop") == "1"


async def test_cookie_domain_matching(cookie_app: Quart, client: QuartClient) -> None:
    await client.get("http://example.com/set-cookie?name=site&value=1&domain=example.com")
    await client.get("http://example.com/set-cookie?name=host_only&value=2")
    assert await cookies_at(client, "http://example.com/") == {"site": "1", "host_only": "2"}
    assert await cookies_at(client, "http://www.example.com/") == {"site": "1", "host_only": "2"}
    assert await cookies_at(client, "http://example.org/") == {}
    assert await cookies_at(client, "http://notexample.com/") == {}
    assert await cookies_at(client, "/") == {}
    assert client.get_cookie("site", domain="example.com") == "1"


async def test_secure_cookies_only_over_https(cookie_app: Quart, client: QuartClient) -> None:
    await client.get("https://localhost/set-cookie?name=s&value=1&secure=1")
    assert await cookies_at(client, "http://localhost/") == {}
    assert await cookies_at(client, "https://localhost/") == {"s": "1"}


async def test_client_cookie_api(echo: Quart, client: QuartClient) -> None:
    client.set_cookie("token", "abc")
    client.set_cookie("other", "x", domain="example.com")
    client.set_cookie("scoped", "y", path="/api")
    assert client.get_cookie("token") == "abc"
    assert await cookies_at(client, "/") == {"token": "abc"}
    assert await cookies_at(client, "/api/v1") == {"token": "abc", "scoped": "y"}
    assert await cookies_at(client, "http://example.com/") == {"other": "x"}
    client.delete_cookie("token")
    assert client.get_cookie("token") is None
    assert await cookies_at(client, "/") == {}


async def test_use_cookies_false(cookie_app: Quart) -> None:
    client = cookie_app.test_client(use_cookies=False)
    response = await client.get("/set-cookie?name=a&value=1")
    assert "a=1" in response.headers["Set-Cookie"]
    assert await cookies_at(client, "/") == {}
    with pytest.raises(TypeError, match="use_cookies=False"):
        client.set_cookie("a", "1")
    with pytest.raises(TypeError, match="use_cookies=False"):
        client.get_cookie("a")


async def test_explicit_cookie_header_without_jar(echo: Quart) -> None:
    client = echo.test_client(use_cookies=False)
    info = await describe(await client.get("/", headers={"Cookie": "a=1; b=2"}))
    assert info["cookies"] == {"a": "1", "b": "2"}


# -- redirects -----------------------------------------------------------------------------


@pytest.fixture
def redirecting(echo: Quart) -> Quart:
    @echo.route("/redirect/<int:code>", methods=["GET", "POST", "HEAD", "PUT"])
    async def redirect_with(code: int) -> Response:
        return redirect(request.args.get("to", "/target"), code)

    @echo.route("/loop")
    async def loop() -> Response:
        return redirect("/loop")

    return echo


async def test_redirect_is_not_followed_by_default(redirecting: Quart, client: QuartClient) -> None:
    response = await client.get("/redirect/302")
    assert response.status_code == 302
    assert response.headers["Location"] == "/target"
    assert response.history == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [301, 302, 303])
async def test_redirect_turns_post_into_get(
    redirecting: Quart, client: QuartClient, code: int
) -> None:
    response = await client.post(
        f"/redirect/{code}", data={"a": "1"}, query_string={"dropped": "1"}, follow_redirects=True
    )
    info = await describe(response)
    assert info["method"] == "GET"
    assert info["path"] == "/target"
    assert info["data"] == ""
    assert info["form"] == {}
    assert info["args"] == {}
    assert [r.status_code for r in response.history] == [code]  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", [307, 308])
async def test_redirect_keeps_method_and_body(
    redirecting: Quart, client: QuartClient, code: int
) -> None:
    response = await client.put(f"/redirect/{code}", json={"keep": True}, follow_redirects=True)
    info = await describe(response)
    assert info["method"] == "PUT"
    assert info["path"] == "/target"
    assert info["data"] == '{"keep": true}'
    assert info["content_type"] == "application/json"


async def test_redirect_history_and_chains(redirecting: Quart, client: QuartClient) -> None:
    response = await client.get(
        "/redirect/302",
        query_string={"to": "/redirect/301?to=/final%3Fx%3D1"},
        follow_redirects=True,
    )
    info = await describe(response)
    assert info["path"] == "/final"
    assert info["args"] == {"x": ["1"]}
    history = response.history  # type: ignore[attr-defined]
    assert [r.status_code for r in history] == [302, 301]
    assert history[0].request_url == "http://localhost/redirect/302"


async def test_redirect_to_another_host(redirecting: Quart, client: QuartClient) -> None:
    response = await client.get(
        "/redirect/302", query_string={"to": "https://other.test/landing"}, follow_redirects=True
    )
    info = await describe(response)
    assert info["url"] == "https://other.test/landing"


async def test_relative_redirect_resolves_against_the_request(
    redirecting: Quart, client: QuartClient
) -> None:
    response = await client.get(
        "/redirect/302", query_string={"to": "sibling"}, follow_redirects=True
    )
    assert (await describe(response))["path"] == "/redirect/sibling"


async def test_head_redirect_stays_head(redirecting: Quart, client: QuartClient) -> None:
    response = await client.head("/redirect/302", follow_redirects=True)
    assert response.status_code == 200
    assert await response.get_data() == b""
    assert [r.status_code for r in response.history] == [302]  # type: ignore[attr-defined]


async def test_redirect_loop_is_an_error(redirecting: Quart, client: QuartClient) -> None:
    with pytest.raises(RuntimeError, match="redirects"):
        await client.get("/loop", follow_redirects=True)


async def test_cookies_set_during_redirects_are_sent(
    cookie_app: Quart, client: QuartClient
) -> None:
    @cookie_app.route("/login")
    async def login() -> Response:
        response = redirect("/")
        response.set_cookie("session", "s1")
        return response

    response = await client.get("/login", follow_redirects=True)
    assert (await describe(response))["cookies"] == {"session": "s1"}


# -- errors --------------------------------------------------------------------------------


async def test_exceptions_propagate_to_the_caller(app: Quart, client: QuartClient) -> None:
    @app.route("/")
    async def index() -> str:
        raise ZeroDivisionError("from the app")

    with pytest.raises(ZeroDivisionError, match="from the app"):
        await client.get("/")


async def test_test_client_class_override(app: Quart) -> None:
    class MyClient(QuartClient):
        pass

    app.test_client_class = MyClient
    assert isinstance(app.test_client(), MyClient)
    assert app.test_client(use_cookies=False).cookie_jar is None
