from __future__ import annotations

import threading
import typing as t

import pytest

import api
from quartlike import Quart
from quartlike.testing import QuartClient


@pytest.fixture
def app() -> Quart:
    """A fresh app (and so an empty store) for each test."""
    return api.create_app({"TESTING": True})


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


async def create(client: QuartClient, title: str, done: bool = False) -> dict[str, t.Any]:
    response = await client.post("/items", json={"title": title, "done": done})
    assert response.status_code == 201
    body = await response.get_json()
    assert isinstance(body, dict)
    return body


# -- creating and reading -----------------------------------------------------------------


async def test_module_level_app_is_served(client: QuartClient) -> None:
    response = await api.app.test_client().get("/items")
    assert response.status_code == 200
    assert response.mimetype == "application/json"


async def test_create_answers_201_with_location(client: QuartClient) -> None:
    response = await client.post("/items", json={"title": "  Write the docs  "})
    assert response.status_code == 201
    assert response.headers["Location"] == "/items/1"
    assert await response.get_json() == {
        "id": 1,
        "title": "Write the docs",
        "done": False,
        "url": "/items/1",
    }
    again = await client.get(response.headers["Location"])
    assert again.status_code == 200
    assert (await again.get_json())["title"] == "Write the docs"


async def test_ids_increase(client: QuartClient) -> None:
    first = await create(client, "one")
    second = await create(client, "two", done=True)
    assert (first["id"], second["id"]) == (1, 2)
    assert second["done"] is True


async def test_unknown_item_is_a_json_404(client: QuartClient) -> None:
    response = await client.get("/items/42")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert await response.get_json() == {"error": "not_found", "message": "There is no item 42."}


async def test_unknown_path_is_a_json_404(client: QuartClient) -> None:
    response = await client.get("/nothing/here")
    assert response.status_code == 404
    body = await response.get_json()
    assert body["error"] == "not_found"
    assert body["message"]


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"title": "Required."}),
        ({"title": ""}, {"title": "Must not be empty."}),
        ({"title": "   "}, {"title": "Must not be empty."}),
        ({"title": 7}, {"title": "Must be a string."}),
        ({"title": "x" * (api.MAX_TITLE + 1)}, {"title": f"At most {api.MAX_TITLE} characters."}),
        ({"title": "ok", "done": "yes"}, {"done": "Must be true or false."}),
        ({"title": "ok", "done": 1}, {"done": "Must be true or false."}),
        ({"title": "ok", "owner": "me"}, {"owner": "Unknown field."}),
        ({"done": None, "colour": 1}, {"title": "Required.", "done": "Must be true or false.",
                                        "colour": "Unknown field."}),
    ],
)  # fmt: skip
async def test_invalid_items_are_422_with_field_messages(
    client: QuartClient, payload: dict[str, t.Any], fields: dict[str, str]
) -> None:
    response = await client.post("/items", json=payload)
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    assert await response.get_json() == {
        "error": "validation_failed",
        "message": "The item is not valid.",
        "fields": fields,
    }
    assert (await (await client.get("/items")).get_json())["total"] == 0


async def test_title_at_the_limit_is_accepted(client: QuartClient) -> None:
    item = await create(client, "x" * api.MAX_TITLE)
    assert len(item["title"]) == api.MAX_TITLE


@pytest.mark.parametrize("payload", [[], "title", 3, None])
async def test_a_body_that_is_not_an_object_is_422(client: QuartClient, payload: object) -> None:
    response = await client.post("/items", json=payload)
    assert response.status_code == 422
    assert await response.get_json() == {
        "error": "validation_failed",
        "message": "The body must be a JSON object.",
        "fields": {},
    }


async def test_malformed_json_is_400(client: QuartClient) -> None:
    response = await client.post(
        "/items", data=b'{"title": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert (await response.get_json())["error"] == "bad_request"


async def test_a_body_not_sent_as_json_is_415(client: QuartClient) -> None:
    response = await client.post("/items", form={"title": "a form"})
    assert response.status_code == 415
    body = await response.get_json()
    assert body["error"] == "unsupported_media_type"
    assert "application/json" in body["message"]


async def test_an_oversized_body_is_a_json_413(client: QuartClient, app: Quart) -> None:
    big = {"title": "x" * app.config["MAX_CONTENT_LENGTH"]}
    response = await client.post("/items", json=big)
    assert response.status_code == 413
    assert (await response.get_json())["error"] == "request_entity_too_large"


# -- pagination -------------------------------------------------------------------------------


async def test_empty_list(client: QuartClient) -> None:
    response = await client.get("/items")
    assert await response.get_json() == {
        "items": [],
        "page": 1,
        "per_page": api.DEFAULT_PER_PAGE,
        "total": 0,
        "pages": 0,
        "next": None,
        "prev": None,
    }


async def test_pages_and_links(client: QuartClient) -> None:
    for number in range(1, 8):
        await create(client, f"item {number}")

    first = await (await client.get("/items?per_page=3")).get_json()
    assert [item["id"] for item in first["items"]] == [1, 2, 3]
    assert (first["page"], first["pages"], first["total"]) == (1, 3, 7)
    assert first["prev"] is None
    assert first["next"] == "/items?page=2&per_page=3"

    second = await (await client.get(first["next"])).get_json()
    assert [item["id"] for item in second["items"]] == [4, 5, 6]
    assert second["prev"] == "/items?page=1&per_page=3"
    assert second["next"] == "/items?page=3&per_page=3"

    last = await (await client.get(second["next"])).get_json()
    assert [item["id"] for item in last["items"]] == [7]
    assert last["next"] is None

    beyond = await (await client.get("/items?page=9&per_page=3")).get_json()
    assert beyond["items"] == []
    assert beyond["next"] is None
    assert beyond["prev"] is None


async def test_filter_by_done_is_kept_in_links(client: QuartClient) -> None:
    for number in range(6):
        await create(client, f"item {number}", done=number % 2 == 0)
    page = await (await client.get("/items?done=true&per_page=2")).get_json()
    assert [item["title"] for item in page["items"]] == ["item 0", "item 2"]
    assert page["total"] == 3
    assert page["next"] == "/items?page=2&per_page=2&done=true"
    rest = await (await client.get("/items", query_string={"done": "false"})).get_json()
    assert [item["title"] for item in rest["items"]] == ["item 1", "item 3", "item 5"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=two", "page"),
        ("per_page=0", "per_page"),
        (f"per_page={api.MAX_PER_PAGE + 1}", "per_page"),
        ("per_page=1.5", "per_page"),
        ("done=maybe", "done"),
    ],
)
async def test_bad_query_arguments_are_400_with_field_messages(
    client: QuartClient, query: str, field: str
) -> None:
    response = await client.get(f"/items?{query}")
    assert response.status_code == 400
    body = await response.get_json()
    assert body["error"] == "bad_request"
    assert body["message"] == "Invalid query arguments."
    assert list(body["fields"]) == [field]


async def test_per_page_at_the_limit_is_accepted(client: QuartClient) -> None:
    response = await client.get(f"/items?per_page={api.MAX_PER_PAGE}")
    assert response.status_code == 200


# -- changing and deleting (sync views) -------------------------------------------------------


async def test_patch_changes_given_fields(client: QuartClient) -> None:
    await create(client, "draft")
    response = await client.patch("/items/1", json={"done": True})
    assert response.status_code == 200
    assert await response.get_json() == {
        "id": 1,
        "title": "draft",
        "done": True,
        "url": "/items/1",
    }
    response = await client.patch("/items/1", json={"title": "final"})
    assert (await response.get_json())["title"] == "final"
    assert (await (await client.get("/items/1")).get_json())["done"] is True


async def test_patch_validates(client: QuartClient) -> None:
    await create(client, "draft")
    response = await client.patch("/items/1", json={"title": ""})
    assert response.status_code == 422
    assert (await response.get_json())["fields"] == {"title": "Must not be empty."}
    response = await client.patch("/items/1", json={})
    assert response.status_code == 422
    assert (await response.get_json())["message"] == "Nothing to change: give title or done."


async def test_patch_unknown_item_is_404(client: QuartClient) -> None:
    response = await client.patch("/items/5", json={"done": True})
    assert response.status_code == 404
    assert (await response.get_json())["message"] == "There is no item 5."


async def test_sync_views_run_in_worker_threads(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create(client, "observed")
    threads: list[str] = []
    original = api.ItemStore.update

    def spy(self: api.ItemStore, item_id: int, changes: t.Any) -> api.Item | None:
        threads.append(threading.current_thread().name)
        return original(self, item_id, changes)

    monkeypatch.setattr(api.ItemStore, "update", spy)
    response = await client.patch("/items/1", json={"done": True})
    assert response.status_code == 200
    assert threads and threads[0] != threading.current_thread().name
    assert threads[0].startswith("quartlike-")


async def test_delete(client: QuartClient) -> None:
    await create(client, "short-lived")
    response = await client.delete("/items/1")
    assert response.status_code == 204
    assert await response.get_data() == b""
    assert (await client.get("/items/1")).status_code == 404
    assert (await client.delete("/items/1")).status_code == 404


# -- other errors ------------------------------------------------------------------------------


async def test_wrong_method_is_a_json_405_with_allow(client: QuartClient) -> None:
    response = await client.put("/items/1", json={"title": "x"})
    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert (await response.get_json())["error"] == "method_not_allowed"
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed


async def test_unhandled_error_is_a_json_500_without_details() -> None:
    app = api.create_app()  # not TESTING: errors are answered, not raised

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals")

    response = await app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    body = await response.get_json()
    assert body == {
        "error": "internal_server_error",
        "message": "Something went wrong on our side.",
    }
    assert "secret" not in await response.get_data(as_text=True)
