"""Running an app's ASGI lifespan around tests.

:class:`TestApp` (what ``app.test_app()`` returns) sends the lifespan startup
and shutdown events a server would, so ``before_serving``, ``while_serving``,
background tasks and ``after_serving`` run as they would when served.
:class:`LifespanError` carries the app's message when either phase fails.
"""

from __future__ import annotations

import asyncio
import typing as t

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..typing import Message
    from .client import QuartClient


class LifespanError(Exception):
    """The app's startup or shutdown failed under :class:`TestApp`."""


class TestApp:
    """Run an app's startup and shutdown around tests: ``async with app.test_app() as t:``.

    Inside, ``before_serving`` and ``while_serving`` have run; leaving runs the
    shutdown (waiting for background tasks, then ``after_serving``), exactly
    as a server's ASGI lifespan would. Startup or shutdown failures raise
    :class:`LifespanError` with the app's message.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Quart, timeout: float = 60) -> None:
        self.app = app
        self.timeout = timeout
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def test_client(self, **kwargs: t.Any) -> QuartClient:
        """A test client for the running app."""
        return self.app.test_client(**kwargs)

    async def _expect(self, event: str) -> None:
        await self._to_app.put({"type": f"lifespan.{event}"})
        async with asyncio.timeout(self.timeout):
            message = await self._from_app.get()
        if message["type"] != f"lifespan.{event}.complete":
            raise LifespanError(message.get("message", message["type"]))

    async def startup(self) -> None:
        """Run the app's startup."""
        scope: t.Any = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        self._task = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._expect("startup")

    async def shutdown(self) -> None:
        """Run the app's shutdown and wait for the lifespan handler to return."""
        try:
            await self._expect("shutdown")
        finally:
            if self._task is not None:
                task, self._task = self._task, None
                await task

    async def __aenter__(self) -> TestApp:
        await self.startup()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()
