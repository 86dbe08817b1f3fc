"""A small quartlike app showing async and sync views, JSON, streaming and uploads.

Serve it with ``hypercorn hello:app`` (or ``scripts/run-example`` from the
repository root) and open http://127.0.0.1:5000/.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import html
import threading

from quartlike import Quart
from quartlike import request

app = Quart(__name__)
# Bodies above 1 MiB are refused with 413 Request Entity Too Large before the
# view has to hold them in memory (try POSTing a bigger file to /upload).
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024

#: Chunks sent by /stream, and the pause between them in seconds.
STREAM_CHUNKS = 5
STREAM_PAUSE = 0.1


@app.route("/")
async def index() -> tuple[str, dict[str, str]]:
    return "Hello, World!", {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/json")
async def json_view() -> dict[str, object]:
    # A dict (or list) becomes a JSON response.
    return {"message": "Hello, World!", "framework": "quartlike", "async": True}


@app.route("/greet/<name>")
async def greet(name: str) -> str:
    await asyncio.sleep(0)  # an async view may await anything: a database, an HTTP call...
    return f"<p>Hello, {html.escape(name)}!</p>"


@app.route("/stream")
async def stream() -> tuple[cabc.AsyncIterator[str], dict[str, str]]:
    async def chunks() -> cabc.AsyncIterator[str]:
        for number in range(1, STREAM_CHUNKS + 1):
            yield f"chunk {number}\n"
            await asyncio.sleep(STREAM_PAUSE)

    # An async generator is sent to the client chunk by chunk as it yields.
    return chunks(), {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/upload", methods=["POST"])
async def upload() -> dict[str, int]:
    data = await request.get_data()
    return {"received": len(data)}


@app.route("/sync")
def sync_view() -> dict[str, object]:
    # A plain function runs in the app's thread pool, so blocking calls here do
    # not stall the event loop; ``request`` works as in an async view.
    return {
        "thread": threading.current_thread().name,
        "path": request.path,
    }
