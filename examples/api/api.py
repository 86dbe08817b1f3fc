"""A JSON API with quartlike: a small to-do list service.

Serve it with ``hypercorn api:app`` (or ``scripts/run-example api`` from the
repository root) and try it with curl::

    curl -i -X POST 127.0.0.1:5000/items -H 'Content-Type: application/json' \\
        -d '{"title": "Write the docs"}'
    curl -i '127.0.0.1:5000/items?page=1&per_page=10&done=false'
    curl -i -X PATCH 127.0.0.1:5000/items/1 -H 'Content-Type: application/json' \\
        -d '{"done": true}'

The routes:

- ``GET /items``: a page of items (``page``, ``per_page``, ``done=true|false``); async view
- ``POST /items``: create an item, answered 201 with a ``Location`` header; async view
- ``GET /items/<id>``: one item; async view
- ``PATCH /items/<id>``: change ``title`` and/or ``done``; sync view (thread pool)
- ``DELETE /items/<id>``: delete it, answered 204; sync view

Every error is JSON too, ``{"error": "not_found", "message": "..."}``, and
validation errors say what is wrong with each field::

    HTTP/1.1 422 UNPROCESSABLE ENTITY
    {"error": "validation_failed", "message": "The item is not valid.",
     "fields": {"title": "Must not be empty."}}

A body that is not JSON at all is a 400 (415 when it is not even sent as
JSON), a query argument that makes no sense is a 400 with the same
``fields`` object, and a JSON body that does not describe a valid item is a
422.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import math
import threading
import typing as t

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from quartlike import Quart
from quartlike import abort
from quartlike import current_app
from quartlike import request
from quartlike import url_for

#: Longest title accepted, in characters.
MAX_TITLE = 200
#: Items per page when ``per_page`` is not given, and the most it may ask for.
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100

JSON = dict[str, t.Any]


# -- the data ---------------------------------------------------------------------------


@dataclasses.dataclass
class Item:
    id: int
    title: str
    done: bool = False

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "title": self.title,
            "done": self.done,
            "url": url_for("get_item", item_id=self.id),
        }


class ItemStore:
    """The items, in memory, safe to use from the event loop and from worker threads.

    The sync views run in the app's thread pool, possibly several at once, so
    every access takes the lock. Each operation is short, so the async views
    can call it directly without blocking the event loop for long.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Item] = {}
        self._next_id = 1

    def add(self, title: str, done: bool = False) -> Item:
        with self._lock:
            item = Item(self._next_id, title, done)
            self._items[item.id] = item
            self._next_id += 1
            return dataclasses.replace(item)

    def get(self, item_id: int) -> Item | None:
        with self._lock:
            item = self._items.get(item_id)
            return None if item is None else dataclasses.replace(item)

    def update(self, item_id: int, changes: cabc.Mapping[str, t.Any]) -> Item | None:
        with self._lock:
            item = self._items.get(item_id)
            if item is None:
                return None
            self._items[item_id] = item = dataclasses.replace(item, **changes)
            return dataclasses.replace(item)

    def delete(self, item_id: int) -> bool:
        with self._lock:
            return self._items.pop(item_id, None) is not None

    def page(self, offset: int, limit: int, done: bool | None = None) -> tuple[list[Item], int]:
        """Up to ``limit`` items from ``offset`` on (oldest first), and how many match."""
        with self._lock:
            matching = [
                dataclasses.replace(item)
                for item in self._items.values()
                if done is None or item.done is done
            ]
        return matching[offset : offset + limit], len(matching)


def get_store() -> ItemStore:
    return t.cast(ItemStore, current_app.extensions["items"])


# -- validation ---------------------------------------------------------------------------


class ValidationError(Exception):
    """Invalid input; answered with ``status`` and a message for each bad field."""

    def __init__(
        self, message: str, fields: cabc.Mapping[str, str] | None = None, status: int = 422
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        self.status = status


def validate_item(data: object, *, partial: bool) -> JSON:
    """Check a JSON body describing an item; return the clean fields or raise.

    With ``partial`` (a PATCH) every field is optional, but at least one is needed.
    """
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object.")
    errors: dict[str, str] = {}
    clean: JSON = {}
    for name in data.keys() - {"title", "done"}:
        errors[name] = "Unknown field."
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str):
            errors["title"] = "Must be a string."
        elif not title.strip():
            errors["title"] = "Must not be empty."
        elif len(title.strip()) > MAX_TITLE:
            errors["title"] = f"At most {MAX_TITLE} characters."
        else:
            clean["title"] = title.strip()
    elif not partial:
        errors["title"] = "Required."
    if "done" in data:
        if isinstance(data["done"], bool):
            clean["done"] = data["done"]
        else:
            errors["done"] = "Must be true or false."
    if errors:
        raise ValidationError("The item is not valid.", errors)
    if not clean:
        raise ValidationError("Nothing to change: give title or done.")
    return clean


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    """The query argument ``name`` as an int in ``[low, high]``; 400 when it is not."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ValidationError(
            "Invalid query arguments.", {name: f"Must be a whole number {bounds}."}, status=400
        )
    return value


def bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw in ("true", "false"):
        return raw == "true"
    raise ValidationError("Invalid query arguments.", {name: "Must be true or false."}, status=400)


# -- the app ------------------------------------------------------------------------------


def error_body(error: str, message: str, fields: cabc.Mapping[str, str] | None = None) -> JSON:
    body: JSON = {"error": error, "message": message}
    if fields is not None:
        body["fields"] = dict(fields)
    return body


def create_app(config: cabc.Mapping[str, t.Any] | None = None) -> Quart:
    """Make the app, with an empty store; ``config`` overrides the defaults."""
    app = Quart(__name__)
    # Bodies larger than this are refused with a (JSON) 413 before they are read.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    if config is not None:
        app.config.update(config)
    app.extensions["items"] = ItemStore()

    @app.errorhandler(ValidationError)
    async def invalid(error: ValidationError) -> tuple[JSON, int]:
        code = "validation_failed" if error.status == 422 else "bad_request"
        return error_body(code, error.message, error.fields), error.status

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> tuple[JSON, int, list[tuple[str, str]]]:
        # Every abort(), 404, 405, 413, 415... as JSON, keeping the error's own
        # headers (such as Allow on a 405) but not its HTML content type.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        name = (error.name or "error").lower().replace(" ", "_").replace("'", "")
        return error_body(name, error.description or ""), error.code or 500, headers

    @app.errorhandler(InternalServerError)
    async def server_error(error: InternalServerError) -> tuple[JSON, int]:
        # Unhandled exceptions end up here (already logged by the app); their
        # details stay in the log rather than being sent to the client.
        return error_body("internal_server_error", "Something went wrong on our side."), 500

    @app.get("/items")
    async def list_items() -> JSON:
        page = int_arg("page", 1, low=1)
        per_page = int_arg("per_page", DEFAULT_PER_PAGE, low=1, high=MAX_PER_PAGE)
        done = bool_arg("done")
        items, total = get_store().page((page - 1) * per_page, per_page, done)
        pages = math.ceil(total / per_page)

        def link(number: int) -> str | None:
            if number < 1 or number > pages:
                return None
            args: dict[str, t.Any] = {"page": number, "per_page": per_page}
            if done is not None:
                args["done"] = "true" if done else "false"
            return url_for("list_items", **args)

        return {
            "items": [item.to_json() for item in items],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "next": link(page + 1),
            "prev": link(page - 1),
        }

    @app.post("/items")
    async def create_item() -> tuple[JSON, int, dict[str, str]]:
        data = await request.get_json()  # 415 if not sent as JSON, 400 if unparsable
        fields = validate_item(data, partial=False)
        item = get_store().add(**fields)
        return item.to_json(), 201, {"Location": url_for("get_item", item_id=item.id)}

    @app.get("/items/<int:item_id>")
    async def get_item(item_id: int) -> JSON:
        item = get_store().get(item_id)
        if item is None:
            abort(404, description=f"There is no item {item_id}.")
        return item.to_json()

    # The two views below are plain functions: quartlike runs them in its thread
    # pool, and there request.get_json() returns the body directly (no await).

    @app.patch("/items/<int:item_id>")
    def update_item(item_id: int) -> JSON:
        changes = validate_item(request.get_json(), partial=True)
        item = get_store().update(item_id, changes)
        if item is None:
            abort(404, description=f"There is no item {item_id}.")
        return item.to_json()

    @app.delete("/items/<int:item_id>")
    def delete_item(item_id: int) -> tuple[str, int]:
        if not get_store().delete(item_id):
            abort(404, description=f"There is no item {item_id}.")
        return "", 204

    return app


app = create_app()
