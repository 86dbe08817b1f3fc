"""A view that exists only on quartlike: an ``async def`` view in the same app.

It shares the app's hooks, session and ``g`` with the sync views (the
``before_app_request`` hook loaded ``g.user``) and uses the async face,
awaiting the body instead of blocking a thread for it.
"""

from __future__ import annotations

import asyncio
import typing as t

from quartlike import Quart
from quartlike import g
from quartlike import request


def register_async_views(app: Quart) -> None:
    """Add the async views to ``app`` (a quartlike app)."""

    @app.post("/api/echo")
    async def echo() -> dict[str, t.Any]:
        payload = await request.get_json()
        await asyncio.sleep(0)  # stands for awaiting a database or an HTTP call
        user = g.user["username"] if g.user is not None else None
        return {"echo": payload, "user": user}
