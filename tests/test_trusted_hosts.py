"""``TRUSTED_HOSTS``: requests for other hosts are refused, and no URL is built from them."""

from __future__ import annotations

import typing as t

import flask
import pytest
from werkzeug.exceptions import SecurityError

import quartlike
from quartlike import Quart
from quartlike import request
from quartlike import url_for

TRUSTED = ["example.com", ".trusted.org", "localhost:5000", "127.0.0.1"]


def _views(app: t.Any, fw: t.Any) -> None:
    """Views, written once, that report what the app made of the Host."""

    def attempt(func: t.Callable[[], str]) -> str:
        try:
            return func()
        except Exception as e:
            return type(e).__name__

    def index() -> str:
        return " ".join(
            [
                fw.request.host,
                fw.request.url,
                fw.url_for("index", _external=True),
                fw.url_for("index", _external=True, _scheme="https"),
            ]
        )

    def bad_request(e: Exception) -> tuple[str, int]:
        url = attempt(lambda: fw.request.url)
        external = attempt(lambda: fw.url_for("index", _external=True))
        return f"refused {type(e).__name__} url={url} url_for={external}", 400

    app.add_url_rule("/", "index", index)
    app.register_error_handler(400, bad_request)


def _quartlike_app(trusted: t.Any) -> Quart:
    app = Quart(__name__)
    app.config["TRUSTED_HOSTS"] = trusted
    _views(app, quartlike)
    return app


def _flask_app(trusted: t.Any) -> flask.Flask:
    app = flask.Flask(__name__, static_folder=None)
    app.config["TRUSTED_HOSTS"] = trusted
    _views(app, flask)
    return app


HOSTS = [
    ("example.com", 200),
    ("example.com:8080", 200),  # ports are not compared
    ("sub.example.com", 400),  # only ".example.com" would admit subdomains
    ("trusted.org", 200),  # ".trusted.org" admits the domain itself ...
    ("a.trusted.org", 200),  # ... and any subdomain
    ("a.b.trusted.org:443", 200),
    ("xtrusted.org", 400),  # not a subdomain, just a suffix
    ("trusted.org.evil.com", 400),
    ("localhost", 200),  # the entry "localhost:5000" admits any port
    ("localhost:9999", 200),
    ("127.0.0.1:80", 200),
    ("127.0.0.2", 400),
    ("evil.com", 400),
    ("example.com.evil.com", 400),
    ("evilexample.com", 400),
    ("EXAMPLE.COM", 400),  # compared as sent, like Flask
    ("example.com.", 400),
    ("", 400),
    ("example.com:abc", 400),
    ("example.com:1:2", 400),
    ("example.com@evil.com", 400),
    ("example.com:8080@evil.com", 400),
    ("\u00e9xample.com", 400),
    ("ex ample.com", 400),
    ("example.com/evil", 400),
    ("[::1]:5000", 400),
]


@pytest.mark.parametrize(("host", "status"), HOSTS, ids=[h or "empty" for h, _ in HOSTS])
async def test_hosts_match_flask(host: str, status: int) -> None:
    fresponse = _flask_app(TRUSTED).test_client().get("/", headers={"Host": host})
    expected = (fresponse.status_code, fresponse.get_data(as_text=True))
    response = await _quartlike_app(TRUSTED).test_client().get("/", headers={"Host": host})
    got = (response.status_code, (await response.get_data()).decode())
    assert got[0] == expected[0] == status  # pins the oracle too
    if status == 400:
        # Handled by the app's 400 handler, and nothing was built from the host.
        # Deliberate: url_for without a URL adapter is a RuntimeError saying so;
        # Flask fails with an AttributeError on None.
        assert expected[1] == "refused SecurityError url=SecurityError url_for=AttributeError"
        assert got[1] == "refused SecurityError url=SecurityError url_for=RuntimeError"
    else:
        assert got == expected
        served = host.removesuffix(":80")
        assert got[1].split() == [
            served,
            f"http://{served}/",
            f"http://{served}/",
            f"https://{served}/",
        ]


@pytest.mark.parametrize("host", ["evil.com", "anything.example", "localhost"])
async def test_no_trusted_hosts_accepts_any_host(host: str) -> None:
    app = _quartlike_app(None)
    assert app.config["TRUSTED_HOSTS"] is None  # the default
    response = await app.test_client().get("/", headers={"Host": host})
    assert response.status_code == 200
    assert (await response.get_data()).decode().startswith(f"{host} http://{host}/")


async def test_default_is_none() -> None:
    assert Quart(__name__).config["TRUSTED_HOSTS"] is None


async def test_untrusted_host_reaches_a_security_error_handler() -> None:
    app = Quart(__name__)
    app.config.update(TRUSTED_HOSTS=["example.com"], TESTING=True)

    @app.errorhandler(SecurityError)
    async def refused(e: SecurityError) -> tuple[str, int]:
        return "untrusted host", 421

    @app.get("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    response = await client.get("/", headers={"Host": "evil.com"})
    assert (response.status_code, await response.get_data()) == (421, b"untrusted host")
    response = await client.get("/", headers={"Host": "example.com"})
    assert response.status_code == 200


async def test_untrusted_host_without_handler_is_a_plain_400() -> None:
    app = Quart(__name__)
    app.config.update(TRUSTED_HOSTS=["example.com"], TESTING=True)
    called: list[str] = []

    @app.get("/")
    async def index() -> str:
        called.append("view")
        return "ok"

    response = await app.test_client().get("/", headers={"Host": "evil.com"})
    assert response.status_code == 400
    # Werkzeug's description names the host, HTML-escaped, as Flask's does.
    assert b"is not trusted" in await response.get_data()
    assert called == []


async def test_hooks_cannot_read_the_untrusted_host() -> None:
    app = Quart(__name__)
    app.config.update(TRUSTED_HOSTS=["example.com"], TESTING=True)
    seen: list[str] = []

    @app.before_request
    async def look() -> None:
        try:
            seen.append(request.url)
        except SecurityError:
            seen.append("refused")
        try:
            seen.append(url_for("index", _external=True))
        except RuntimeError:
            seen.append("no adapter")

    @app.get("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    response = await client.get("/", headers={"Host": "evil.com"})
    assert response.status_code == 400
    response = await client.get("/", headers={"Host": "example.com"})
    assert response.status_code == 200
    assert seen == ["refused", "no adapter", "http://example.com/", "http://example.com/"]


async def test_trusted_hosts_with_server_name() -> None:
    # SERVER_NAME routes; TRUSTED_HOSTS still decides which Host headers are served.
    app = _quartlike_app(["example.com", ".example.com"])
    app.config["SERVER_NAME"] = "example.com"
    client = app.test_client()
    response = await client.get("/", headers={"Host": "example.com"})
    assert response.status_code == 200
    response = await client.get("/", headers={"Host": "evil.com"})
    assert response.status_code == 400


async def _call_without_host_header(app: Quart, server: tuple[str, int]) -> int:
    """Send a request with no Host header (HTTP/1.0): the host is the server's address."""
    messages: list[dict[str, t.Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.0",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 50000),
        "server": server,
    }

    async def receive() -> dict[str, t.Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, t.Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    return int(messages[0]["status"])


async def test_request_without_host_header_is_checked_by_server_name() -> None:
    app = _quartlike_app(["example.com"])
    assert await _call_without_host_header(app, ("example.com", 80)) == 200
    assert await _call_without_host_header(app, ("evil.com", 80)) == 400
