"""Flask-Talisman on quartlike: security headers, HTTPS redirects, CSP nonces, per-view options.

Talisman's hooks are sync (they run in the thread pool) and its per-view
decorator only tags the view function, which it finds again through
``app.view_functions[request.endpoint]``: both work for ``async def`` views.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask import render_template_string
from flask_talisman import ALLOW_FROM
from flask_talisman import DENY
from flask_talisman import Talisman

HTTPS = "https://localhost"
NONCE_PAGE = "<script nonce='{{ csp_nonce() }}'>run()</script>"


def make_app(**options: object) -> Flask:
    app = Flask(__name__)
    talisman = Talisman(
        app,
        content_security_policy={"default-src": "'self'", "script-src": "'self'"},
        content_security_policy_nonce_in=["script-src"],
        **options,  # type: ignore[arg-type]
    )

    @app.route("/")
    def index() -> str:
        return render_template_string(NONCE_PAGE)

    @app.route("/async")
    async def async_index() -> str:
        return await render_template_string(NONCE_PAGE)  # type: ignore[misc]

    @app.route("/embed")
    @talisman(
        frame_options=ALLOW_FROM,
        frame_options_allow_from="https://example.com",
        content_security_policy={"default-src": "*"},
    )
    def embed() -> str:
        return "embeddable"

    @app.route("/aembed")
    @talisman(
        frame_options=ALLOW_FROM,
        frame_options_allow_from="https://example.com",
        content_security_policy={"default-src": "*"},
    )
    async def async_embed() -> str:
        return "embeddable"

    @app.route("/deny")
    @talisman(frame_options=DENY, force_https=False)
    def deny() -> str:
        return "plain http is fine here"

    @app.route("/adeny")
    @talisman(frame_options=DENY, force_https=False)
    async def async_deny() -> str:
        return "plain http is fine here"

    return app


@pytest.fixture
def app() -> Flask:
    return make_app()


def nonce_of(header: str) -> str:
    match = re.search(r"'nonce-([^']+)'", header)
    assert match is not None, header
    return match.group(1)


@pytest.mark.parametrize("path", ["/", "/async"])
def test_security_headers_over_https(app: Flask, path: str) -> None:
    rv = app.test_client().get(path, base_url=HTTPS)
    assert rv.status_code == 200
    headers = rv.headers
    assert headers["Strict-Transport-Security"] == "max-age=31556926; includeSubDomains"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Permissions-Policy"] == "browsing-topics=()"
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'self'; script-src 'self' 'nonce-")


@pytest.mark.parametrize("path", ["/", "/async"])
def test_nonce_in_template_matches_the_header(app: Flask, path: str) -> None:
    client = app.test_client()
    nonces = set()
    for _ in range(2):
        rv = client.get(path, base_url=HTTPS)
        nonce = nonce_of(rv.headers["Content-Security-Policy"])
        assert rv.get_data(as_text=True) == f"<script nonce='{nonce}'>run()</script>"
        nonces.add(nonce)
    assert len(nonces) == 2  # a fresh nonce per request


@pytest.mark.parametrize("path", ["/", "/async", "/embed", "/aembed"])
def test_plain_http_is_redirected_to_https(app: Flask, path: str) -> None:
    rv = app.test_client().get(f"{path}?q=1")
    assert rv.status_code == 302
    assert rv.headers["Location"] == f"https://localhost{path}?q=1"
    assert "Strict-Transport-Security" not in rv.headers


def test_https_behind_a_proxy(app: Flask) -> None:
    rv = app.test_client().get("/async", headers={"X-Forwarded-Proto": "https"})
    assert rv.status_code == 200
    assert "Strict-Transport-Security" in rv.headers


def test_permanent_redirect_and_no_forcing() -> None:
    rv = make_app(force_https_permanent=True).test_client().get("/async")
    assert (rv.status_code, rv.headers["Location"]) == (301, "https://localhost/async")

    client = make_app(force_https=False).test_client()
    for path in ("/", "/async"):
        rv = client.get(path)
        assert rv.status_code == 200
        # No HSTS over plain HTTP; the other headers are still set.
        assert "Strict-Transport-Security" not in rv.headers
        assert rv.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("path", ["/embed", "/aembed"])
def test_per_view_options(app: Flask, path: str) -> None:
    rv = app.test_client().get(path, base_url=HTTPS)
    assert rv.status_code == 200
    assert rv.headers["X-Frame-Options"] == "ALLOW-FROM https://example.com"
    assert rv.headers["Content-Security-Policy"] == "default-src *"
    # The app-wide default still applies to the other views.
    rv = app.test_client().get("/", base_url=HTTPS)
    assert rv.headers["X-Frame-Options"] == "SAMEORIGIN"


@pytest.mark.parametrize("path", ["/deny", "/adeny"])
def test_per_view_force_https_off(app: Flask, path: str) -> None:
    rv = app.test_client().get(path)
    assert rv.status_code == 200
    assert rv.get_data(as_text=True) == "plain http is fine here"
    assert rv.headers["X-Frame-Options"] == "DENY"
