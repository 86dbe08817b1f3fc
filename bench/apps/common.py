"""What every benchmark app shares: the data its routes return and the route table size.

Every app in this package implements the same routes with its framework's public API,
written the way that framework's documentation teaches it:

===========================  =======================================================
``GET /``                    the text ``Hello, World!``
``GET /sync``                the same from a plain (sync) function, run in a thread pool
                             (not in Flask, whose views are all plain functions)
``GET /json``                :data:`JSON_PAYLOAD` as JSON
``GET /users/<int:id>``      the text ``user <id>``; the 51st route of the app
``POST /form``               a 10-field urlencoded form; answers with field ``f5``
``GET /template``            ``templates/items.html``: a 10-item loop
``GET /session``             reads ``n`` from the signed-cookie session, stores n + 1
(anything else)              404
===========================  =======================================================

Sessions are enabled app-wide wherever the framework has them (Flask, Quart and
quartlike by setting a secret key, Starlette and FastAPI with ``SessionMiddleware``).
"""

from __future__ import annotations

from pathlib import Path

SECRET_KEY = "bench-secret-key-not-for-production"
TEMPLATES = Path(__file__).parent / "templates"

PLAINTEXT = "Hello, World!"
JSON_PAYLOAD: dict[str, object] = {"message": "Hello, World!", "id": 1, "ok": True}
ITEMS: list[dict[str, object]] = [{"name": f"item{i}", "price": i * 10} for i in range(10)]
TITLE = "Items"

#: The user route is registered after this many others (the scenario routes and fillers).
ROUTES_BEFORE_USERS = 50
FORM_FIELDS: dict[str, str] = {f"f{i}": f"value{i}" for i in range(10)}
FORM_FIELD = "f5"


def filler_paths(registered: int) -> list[tuple[int, str]]:
    """``(index, path prefix)`` of the filler routes that bring the table to 50.

    Each filler is ``/other<i>/<int:id>``, a dynamic route shaped like the user route,
    so that no router can skip it by a cheap static lookup.
    """
    return [(i, f"/other{i}") for i in range(ROUTES_BEFORE_USERS - registered)]
