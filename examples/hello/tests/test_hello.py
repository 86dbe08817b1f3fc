from __future__ import annotations

import threading

import pytest

import hello
from hello import app
from quartlike.testing import QuartClient


@pytest.fixture
def client() -> QuartClient:
    return app.test_client()


async def test_index_says_hello(client: QuartClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert await response.get_data(as_text=True) == "Hello, World!"


async def test_json_returns_an_object(client: QuartClient) -> None:
    response = await client.get("/json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert await response.get_json() == {
        "message": "Hello, World!",
        "framework": "quartlike",
        "async": True,
    }


async def test_greet_uses_the_url_value(client: QuartClient) -> None:
    response = await client.get("/greet/Ada")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "<p>Hello, Ada!</p>"


async def test_greet_escapes_markup(client: QuartClient) -> None:
    response = await client.get("/greet/<script>")
    assert await response.get_data(as_text=True) == "<p>Hello, &lt;script&gt;!</p>"


async def test_stream_sends_every_chunk(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hello, "STREAM_PAUSE", 0)
    response = await client.get("/stream")
    assert response.status_code == 200
    assert "Content-Length" not in response.headers
    expected = "".join(f"chunk {n}\n" for n in range(1, 6))
    assert await response.get_data(as_text=True) == expected


async def test_upload_reports_the_body_length(client: QuartClient) -> None:
    response = await client.post("/upload", data=b"x" * 1000)
    assert response.status_code == 200
    assert await response.get_json() == {"received": 1000}


async def test_upload_accepts_exactly_the_limit(client: QuartClient) -> None:
    response = await client.post("/upload", data=b"x" * app.config["MAX_CONTENT_LENGTH"])
    assert response.status_code == 200
    assert await response.get_json() == {"received": 1024 * 1024}


async def test_upload_over_the_limit_is_refused(client: QuartClient) -> None:
    response = await client.post("/upload", data=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413


async def test_upload_needs_post(client: QuartClient) -> None:
    response = await client.get("/upload")
    assert response.status_code == 405


async def test_sync_view_runs_in_a_worker_thread(client: QuartClient) -> None:
    response = await client.get("/sync")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["path"] == "/sync"
    assert body["thread"] != threading.current_thread().name
    assert body["thread"].startswith("quartlike-")


async def test_unknown_path_is_404(client: QuartClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
