from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextvars
import typing as t

import pytest

from quartlike import Quart
from quartlike.globals import _cv_app
from quartlike.globals import _cv_request
from quartlike.testing import QuartClient

pytest_plugins = ["pytester", "tests.loopcheck"]


@pytest.fixture
def app() -> Quart:
    app = Quart(__name__)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


def _leaked(context: contextvars.Context) -> list[object]:
    return [v for v in (context.get(_cv_app), context.get(_cv_request)) if v is not None]


@pytest.fixture
async def _test_task_contexts() -> cabc.AsyncIterator[list[contextvars.Context]]:
    """Record the context of each task started with an explicit context on this loop.

    pytest-asyncio runs an async test as such a task, so after the test its
    context holds whatever the test left pushed.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    contexts: list[contextvars.Context] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: t.Any, **kwargs: t.Any) -> t.Any:
        if kwargs.get("context") is not None:
            contexts.append(kwargs["context"])
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    yield contexts
    loop.set_task_factory(previous)


@pytest.fixture(autouse=True)
def leak_detector(
    _test_task_contexts: list[contextvars.Context],
) -> cabc.Iterator[None]:
    """Fail a test that leaves an app or request context pushed (sync or async)."""
    before = _leaked(contextvars.copy_context())
    yield
    contexts = (contextvars.copy_context(), *_test_task_contexts)
    leaked = [v for ctx in contexts for v in _leaked(ctx) if v not in before]
    if leaked:
        pytest.fail(f"The test left contexts pushed: {leaked!r}", pytrace=False)
