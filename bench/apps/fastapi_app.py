"""The benchmark routes in FastAPI, as its documentation writes them."""

from __future__ import annotations

import typing as t

from fastapi import FastAPI
from fastapi import Form
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.responses import PlainTextResponse
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from .common import FORM_FIELD
from .common import ITEMS
from .common import JSON_PAYLOAD
from .common import PLAINTEXT
from .common import SECRET_KEY
from .common import TEMPLATES
from .common import TITLE
from .common import filler_paths

assert FORM_FIELD == "f5"  # the form view below names the field it echoes

app = FastAPI()
app.add_middleware(SessionMiddleware, secret_key=SECRET_KEY)
templates = Jinja2Templates(directory=TEMPLATES)


@app.get("/", response_class=PlainTextResponse)
async def plaintext() -> str:
    return PLAINTEXT


@app.get("/sync", response_class=PlainTextResponse)
def plaintext_sync() -> str:  # a plain function: runs in a thread pool
    return PLAINTEXT


@app.get("/json")
async def json() -> dict[str, object]:
    return JSON_PAYLOAD


@app.post("/form", response_class=PlainTextResponse)
async def form(f5: t.Annotated[str, Form()]) -> str:
    return f5


@app.get("/template", response_class=HTMLResponse)
async def template(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "items.html", {"title": TITLE, "items": ITEMS})


@app.get("/session", response_class=PlainTextResponse)
async def counter(request: Request) -> str:
    n = request.session.get("n", 0) + 1
    request.session["n"] = n
    return f"count={n}"


async def other(id: int) -> str:
    return f"other {id}"


for _i, _prefix in filler_paths(6):
    app.add_api_route(
        f"{_prefix}/{{id}}", other, response_class=PlainTextResponse, name=f"other{_i}"
    )


@app.get("/users/{id}", response_class=PlainTextResponse)
async def user(id: int) -> str:
    return f"user {id}"
