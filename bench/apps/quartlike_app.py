"""The benchmark routes in quartlike, as its documentation writes them."""

from __future__ import annotations

from quartlike import Quart
from quartlike import render_template
from quartlike import request
from quartlike import session

from .common import FORM_FIELD
from .common import ITEMS
from .common import JSON_PAYLOAD
from .common import PLAINTEXT
from .common import SECRET_KEY
from .common import TITLE
from .common import filler_paths

app = Quart(__name__)
app.secret_key = SECRET_KEY


@app.route("/")
async def plaintext() -> str:
    return PLAINTEXT


@app.route("/sync")
def plaintext_sync() -> str:  # a plain function: runs in the app's thread pool
    return PLAINTEXT


@app.route("/json")
async def json() -> dict[str, object]:
    return JSON_PAYLOAD


@app.post("/form")
async def form() -> str:
    data = await request.form
    value: str = data[FORM_FIELD]
    return value


@app.route("/template")
async def template() -> str:
    return await render_template("items.html", title=TITLE, items=ITEMS)


@app.route("/session")
async def counter() -> str:
    n = session.get("n", 0) + 1
    session["n"] = n
    return f"count={n}"


async def _filler(id: int) -> str:
    return f"other {id}"


# ``url_map`` also holds the static route; count only ours.
for _i, _prefix in filler_paths(len(app.view_functions) - 1):
    app.add_url_rule(f"{_prefix}/<int:id>", f"other{_i}", _filler)


@app.route("/users/<int:id>")
async def user(id: int) -> str:
    return f"user {id}"
