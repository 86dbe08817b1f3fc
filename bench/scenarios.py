"""The benchmark scenarios: the request each sends and what its response must be.

Every scenario's check runs (on every framework) before anything is timed, so a
benchmark never times an error page by mistake.
"""

from __future__ import annotations

import collections.abc as cabc
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from apps.common import FORM_FIELD
from apps.common import FORM_FIELDS
from apps.common import ITEMS
from apps.common import JSON_PAYLOAD
from apps.common import PLAINTEXT
from driver import Request
from driver import Result

Check = cabc.Callable[[Result], str | None]


@dataclass
class Scenario:
    name: str
    label: str
    request: Request
    check: Check
    #: Frameworks this scenario is for (None: every one).
    only: frozenset[str] | None = None
    #: Send a session cookie obtained from the app first (see ``with_session_cookie``).
    needs_session: bool = False

    def applies_to(self, framework: str) -> bool:
        return self.only is None or framework in self.only


def _expect(status: int, body: bytes | None = None) -> Check:
    def check(result: Result) -> str | None:
        if result.status != status:
            return f"status {result.status}, expected {status}: {result.body[:200]!r}"
        if body is not None and result.body != body:
            return f"body {result.body[:200]!r}, expected {body!r}"
        return None

    return check


def _check_json(result: Result) -> str | None:
    if result.status != 200:
        return f"status {result.status}, expected 200"
    if "json" not in (result.header("content-type") or ""):
        return f"content-type {result.header('content-type')!r} is not JSON"
    if json.loads(result.body) != JSON_PAYLOAD:
        return f"body {result.body!r} is not {JSON_PAYLOAD!r}"
    return None


def _check_template(result: Result) -> str | None:
    if result.status != 200:
        return f"status {result.status}, expected 200: {result.body[:200]!r}"
    text = result.body.decode()
    if text.count("<li>") != len(ITEMS) or "item9: 90" not in text:
        return f"the page does not list the {len(ITEMS)} items: {text[:200]!r}"
    return None


def _check_session(result: Result) -> str | None:
    problem = _expect(200, b"count=2")(result)
    if problem is not None:
        return problem + " (the session cookie was not read)"
    if not any(c.startswith("session=") for c in result.headers_named("set-cookie")):
        return "no session cookie was set (the session was not written)"
    return None


FORM_BODY = urlencode(FORM_FIELDS).encode()

SCENARIOS: list[Scenario] = [
    Scenario("plaintext", "GET / (text)", Request("GET", "/"), _expect(200, PLAINTEXT.encode())),
    Scenario("json", "GET /json", Request("GET", "/json"), _check_json),
    Scenario(
        "route51",
        "GET /users/<id> (51st route)",
        Request("GET", "/users/42"),
        _expect(200, b"user 42"),
    ),
    Scenario(
        "form",
        "POST 10-field form",
        Request(
            "POST",
            "/form",
            [("content-type", "application/x-www-form-urlencoded")],
            FORM_BODY,
        ),
        _expect(200, FORM_FIELDS[FORM_FIELD].encode()),
    ),
    Scenario("template", "Jinja2, 10-item loop", Request("GET", "/template"), _check_template),
    Scenario(
        "session",
        "session read + write",
        Request("GET", "/session"),
        _check_session,
        needs_session=True,
    ),
    Scenario("not_found", "404", Request("GET", "/no/such/page"), _expect(404)),
    Scenario(
        "plaintext_sync",
        "GET / as a sync view",
        Request("GET", "/sync"),
        _expect(200, PLAINTEXT.encode()),
        # A plain function in a thread pool; Flask has no event loop to leave.
        only=frozenset({"raw", "quartlike", "quart", "starlette", "fastapi"}),
    ),
]

BY_NAME = {s.name: s for s in SCENARIOS}


def session_cookie(result: Result) -> str:
    """The ``name=value`` of the session cookie the response sets."""
    for cookie in result.headers_named("set-cookie"):
        if cookie.startswith("session="):
            return cookie.split(";", 1)[0]
    raise AssertionError(f"the first session request set no session cookie: {result.headers!r}")
