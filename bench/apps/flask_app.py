"""The benchmark routes in Flask (WSGI), as its documentation writes them."""

from __future__ import annotations

from flask import Flask
from flask import render_template
from flask import request
from flask import session

from .common import FORM_FIELD
from .common import ITEMS
from .common import JSON_PAYLOAD
from .common import PLAINTEXT
from .common import SECRET_KEY
from .common import TITLE
from .common import filler_paths

app = Flask(__name__)
app.secret_key = SECRET_KEY


@app.route("/")
def plaintext() -> str:
    return PLAINTEXT


@app.route("/json")
def json() -> dict[str, object]:
    return JSON_PAYLOAD


@app.post("/form")
def form() -> str:
    return request.form[FORM_FIELD]


@app.route("/template")
def template() -> str:
    return render_template("items.html", title=TITLE, items=ITEMS)


@app.route("/session")
def counter() -> str:
    n = session.get("n", 0) + 1
    session["n"] = n
    return f"count={n}"


def _filler(id: int) -> str:
    return f"other {id}"


# ``view_functions`` also holds the static route; count only ours.
for _i, _prefix in filler_paths(len(app.view_functions) - 1):
    app.add_url_rule(f"{_prefix}/<int:id>", f"other{_i}", _filler)


@app.route("/users/<int:id>")
def user(id: int) -> str:
    return f"user {id}"
