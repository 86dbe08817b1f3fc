"""Startup and shutdown: the before/after-serving hooks and while-serving generators.

Shutdown is thorough: every after-serving hook runs and every while-serving
generator is resumed even when some of them fail; the first error is raised
at the end, once everything had its chance to clean up. A startup that fails
part-way closes the generators it had already started.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

if t.TYPE_CHECKING:
    from .app import Quart
    from .ctx import AppContext


class Lifespan:
    """The serving state of one app: its app context and running generators."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self._ctx: AppContext | None = None
        self._gens: list[cabc.AsyncGenerator[None, None]] = []

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
        """Run every after-serving hook, then finish every while-serving generator."""
        app = self.app
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
