"""The benchmark routes in Starlette, as its documentation writes them."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.responses import PlainTextResponse
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .common import FORM_FIELD
from .common import ITEMS
from .common import JSON_PAYLOAD
from .common import PLAINTEXT
from .common import SECRET_KEY
from .common import TEMPLATES
from .common import TITLE
from .common import filler_paths

templates = Jinja2Templates(directory=TEMPLATES)


async def plaintext(request: Request) -> Response:
    return PlainTextResponse(PLAINTEXT)


def plaintext_sync(request: Request) -> Response:  # a plain function: runs in a thread pool
    return PlainTextResponse(PLAINTEXT)


async def json(request: Request) -> Response:
    return JSONResponse(JSON_PAYLOAD)


async def form(request: Request) -> Response:
    data = await request.form()
    return PlainTextResponse(str(data[FORM_FIELD]))


async def template(request: Request) -> Response:
    return templates.TemplateResponse(request, "items.html", {"title": TITLE, "items": ITEMS})


async def counter(request: Request) -> Response:
    n = request.session.get("n", 0) + 1
    request.session["n"] = n
    return PlainTextResponse(f"count={n}")


async def other(request: Request) -> Response:
    return PlainTextResponse(f"other {request.path_params['id']}")


async def user(request: Request) -> Response:
    return PlainTextResponse(f"user {request.path_params['id']}")


routes = [
    Route("/", plaintext),
    Route("/sync", plaintext_sync),
    Route("/json", json),
    Route("/form", form, methods=["POST"]),
    Route("/template", template),
    Route("/session", counter),
]
routes += [Route(f"{prefix}/{{id:int}}", other) for _, prefix in filler_paths(len(routes))]
routes.append(Route("/users/{id:int}", user))

app = Starlette(
    routes=routes,
    middleware=[Middleware(SessionMiddleware, secret_key=SECRET_KEY)],
)
