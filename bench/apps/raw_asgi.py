"""The benchmark routes as a bare ASGI callable: the floor every framework is measured against.

No framework, only what the routes need: a dict of paths, one prefix test for the user
route, ``urllib.parse`` for the form, a Jinja2 environment for the template and
itsdangerous for a Flask-format session cookie. The lifespan scope is answered too, as
servers expect.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import json as _json
import typing as t
from urllib.parse import parse_qs

import jinja2
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer

from .common import FORM_FIELD
from .common import ITEMS
from .common import JSON_PAYLOAD
from .common import PLAINTEXT
from .common import SECRET_KEY
from .common import TEMPLATES
from .common import TITLE

Scope = dict[str, t.Any]
Message = dict[str, t.Any]
Receive = cabc.Callable[[], cabc.Awaitable[Message]]
Send = cabc.Callable[[Message], cabc.Awaitable[None]]
Handler = cabc.Callable[[Scope, Receive], cabc.Awaitable[tuple[int, bytes, bytes, list[t.Any]]]]

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
_serializer = URLSafeTimedSerializer(
    SECRET_KEY, salt="cookie-session", signer_kwargs={"key_derivation": "hmac"}
)
_TEXT = b"text/plain; charset=utf-8"
_HTML = b"text/html; charset=utf-8"
_JSON = b"application/json"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def plaintext(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    return 200, _TEXT, PLAINTEXT.encode(), []


def _hello() -> str:
    return PLAINTEXT


async def plaintext_sync(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    # A plain function called in the loop's default thread pool: the floor of a sync view.
    text = await asyncio.get_running_loop().run_in_executor(None, _hello)
    return 200, _TEXT, text.encode(), []


async def json(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    return 200, _JSON, _json.dumps(JSON_PAYLOAD).encode(), []


async def form(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    if scope["method"] != "POST":
        return 405, _TEXT, b"Method Not Allowed", []
    fields = parse_qs((await _read_body(receive)).decode("latin-1"))
    return 200, _TEXT, fields[FORM_FIELD][0].encode(), []


async def template(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    html = _env.get_template("items.html").render(title=TITLE, items=ITEMS)
    return 200, _HTML, html.encode(), []


async def counter(scope: Scope, receive: Receive) -> tuple[int, bytes, bytes, list[t.Any]]:
    data: dict[str, t.Any] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, cookie = part.strip().partition("=")
                if key == "session":
                    try:
                        data = _serializer.loads(cookie)
                    except BadSignature:
                        data = {}
    n = data.get("n", 0) + 1
    data["n"] = n
    cookie = f"session={_serializer.dumps(data)}; HttpOnly; Path=/; SameSite=Lax"
    return 200, _TEXT, f"count={n}".encode(), [(b"set-cookie", cookie.encode("latin-1"))]


ROUTES: dict[str, Handler] = {
    "/": plaintext,
    "/sync": plaintext_sync,
    "/json": json,
    "/form": form,
    "/template": template,
    "/session": counter,
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    kind = scope["type"]
    if kind == "http":
        path = scope["path"]
        handler = ROUTES.get(path)
        if handler is not None:
            status, content_type, body, extra = await handler(scope, receive)
        elif path.startswith("/users/") and path[7:].isdigit():
            status, content_type, body, extra = 200, _TEXT, f"user {int(path[7:])}".encode(), []
        else:
            status, content_type, body, extra = 404, _TEXT, b"Not Found", []
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
