"""Startup and shutdown, and the background tasks that live between them.

Background tasks (``app.add_background_task``) run in a copy of an app
context, are held by a strong reference until they finish (asyncio itself
keeps only weak ones), and never fail silently: an exception is logged and
sent to the ``got_background_exception`` signal. At shutdown the app waits up
to ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds for them, cancels the rest,
and only then runs the after-serving hooks.

Shutdown is thorough: every after-serving hook runs and every while-serving
generator is resumed even when some of them fail; the first error is raised
at the end, once everything had its chance to clean up. A startup that fails
part-way closes the generators it had already started.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from .signals import got_background_exception
from .sync import _cv_lane
from .sync import await_sync
from .sync import on_event_loop

if t.TYPE_CHECKING:
    import asyncio

    from .app import Quart
    from .ctx import AppContext


class Lifespan:
    """The serving state of one app: its app context and running generators."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self._ctx: AppContext | None = None
        self._gens: list[cabc.AsyncGenerator[None, None]] = []
        self.background_tasks: set[asyncio.Task[None]] = set()

    def add_background_task(
        self, func: cabc.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> asyncio.Task[None]:
        """Start ``func(*args, **kwargs)`` (sync or async) as a task in an app context.

        Sync code (a view in the thread pool) may call this too: the task is
        then created on the event loop through the sync bridge.
        """
        import asyncio  # here, so that importing quartlike does not load asyncio

        if not on_event_loop():
            return await_sync(self._add_from_loop(func, *args, **kwargs))

        app = self.app
        call = app.ensure_async(func)

        async def run() -> None:
            # The task's sync calls take any pool thread, not the lane (the
            # thread) of the request that started it.
            _cv_lane.set(None)
            async with app.app_context():
                try:
                    await call(*args, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    app.logger.exception("Background task %r failed", func)
                    if got_background_exception.receivers:
                        await app.send_signal(got_background_exception, exception=e)

        task = asyncio.get_running_loop().create_task(run())
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return task

    async def _add_from_loop(
        self, func: cabc.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> asyncio.Task[None]:
        return self.add_background_task(func, *args, **kwargs)

    async def finish_background_tasks(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` seconds for the background tasks, then cancel the rest.

        Tasks started meanwhile (by other background tasks) count too: the
        app's set is looked at again until it is empty.
        """
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.background_tasks:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            _done, pending = await asyncio.wait(set(self.background_tasks), timeout=remaining)
            if not pending:
                continue
            for task in pending:
                task.cancel()
            self.app.logger.warning(
                "Cancelled %d background task(s) still running after %s s at shutdown.",
                len(pending),
                timeout,
            )
            await asyncio.wait(pending)

    async def startup(self) -> None:
        """Run the before-serving hooks, then start each while-serving generator."""
        app = self.app
        ctx = self._ctx = app.app_context()
        ctx.push()
        try:
            for func in app.before_serving_funcs:
                await app.ensure_async(func)()
            for gen_func in app.while_serving_gens:
                gen = gen_func()
                await gen.__anext__()
                self._gens.append(gen)
        except BaseException:
            await self._close_started()
            raise
        finally:
            ctx._reset()

    async def _close_started(self) -> None:
        for gen in reversed(self._gens):
            try:
                await gen.aclose()
            except Exception:
                self.app.logger.exception("Closing a while_serving generator failed")
        self._gens.clear()

    async def shutdown(self) -> None:
        """Finish the background tasks, then run every after-serving hook and finish
        every while-serving generator.
        """
        app = self.app
        await self.finish_background_tasks(app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"])
        ctx = self._ctx or app.app_context()
        ctx.push()
        first: Exception | None = None
        try:
            for func in app.after_serving_funcs:
                try:
                    await app.ensure_async(func)()
                except Exception as e:
                    app.logger.exception("An after_serving hook failed")
                    first = first or e
            while self._gens:
                gen = self._gens.pop()
                try:
                    await gen.__anext__()
                except StopAsyncIteration:
                    continue
                except Exception as e:
                    app.logger.exception("A while_serving generator failed at shutdown")
                    first = first or e
                    continue
                await gen.aclose()
                error = RuntimeError(
                    f"The while_serving generator {gen!r} yielded more than once;"
                    " it must yield exactly once."
                )
                app.logger.error(str(error))
                first = first or error
        finally:
            ctx._reset()
            self._ctx = None
        if first is not None:
            raise first
