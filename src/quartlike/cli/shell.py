"""The ``shell`` command: an interactive console in the app context where top-level
``await`` works, its code running on an event loop that lives as long as the shell.
"""

from __future__ import annotations

import ast
import asyncio
import code
import collections.abc as cabc
import concurrent.futures
import contextlib
import contextvars
import inspect
import os
import sys
import threading
import traceback
import types
import typing as t

import click

from .discovery import ScriptInfo
from .discovery import pass_script_info

T = t.TypeVar("T")


class _ShellLoop:
    """An event loop running in a thread of its own for the shell's lifetime.

    Every statement typed in the shell runs on it (so background tasks keep
    running between statements, as in ``python -m asyncio``), in one
    :mod:`contextvars` context that holds the app context.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="quartlike-shell-loop", daemon=True
        )

    def __enter__(self) -> _ShellLoop:
        self._thread.start()
        return self

    def run(self, coro: cabc.Coroutine[t.Any, t.Any, T], context: contextvars.Context) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def start() -> None:
            task = self.loop.create_task(coro, context=context)

            def finished(task: asyncio.Task[T]) -> None:
                if task.cancelled():
                    done.cancel()
                elif task.exception() is not None:
                    done.set_exception(t.cast(BaseException, task.exception()))
                else:
                    done.set_result(task.result())

            task.add_done_callback(finished)

        self.loop.call_soon_threadsafe(start)
        return done.result()

    def __exit__(self, *exc_info: object) -> None:
        async def finish() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.loop.shutdown_asyncgens()
            await self.loop.shutdown_default_executor()

        try:
            asyncio.run_coroutine_threadsafe(finish(), self.loop).result(timeout=10)
        except Exception:  # pragma: no cover - best effort
            pass
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            if not self._thread.is_alive():
                self.loop.close()


class _AsyncConsole(code.InteractiveConsole):
    """An interactive console where ``await`` works at the top level.

    Source is compiled with ``ast.PyCF_ALLOW_TOP_LEVEL_AWAIT``; each statement
    runs on the shell's loop thread, a coroutine statement as a task.
    """

    def __init__(
        self, namespace: dict[str, t.Any], shell_loop: _ShellLoop, context: contextvars.Context
    ) -> None:
        super().__init__(namespace)
        self.namespace = namespace
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self._shell_loop = shell_loop
        self._context = context
        self._task: asyncio.Task[t.Any] | None = None

    def runcode(self, code: types.CodeType) -> None:
        loop = self._shell_loop.loop
        outcome: concurrent.futures.Future[BaseException | None] = concurrent.futures.Future()

        def start() -> None:
            try:
                rv = eval(code, self.namespace)
            except BaseException as e:
                outcome.set_result(e)
                return
            if not code.co_flags & inspect.CO_COROUTINE:
                outcome.set_result(None)
                return
            self._task = task = loop.create_task(rv, context=self._context)

            def finished(task: asyncio.Task[t.Any]) -> None:
                self._task = None
                if task.cancelled():
                    outcome.set_result(KeyboardInterrupt())
                else:
                    outcome.set_result(task.exception())

            task.add_done_callback(finished)

        loop.call_soon_threadsafe(start, context=self._context)
        try:
            error = outcome.result()
        except KeyboardInterrupt:
            task = self._task
            if task is not None:
                loop.call_soon_threadsafe(task.cancel)
            with contextlib.suppress(concurrent.futures.TimeoutError):
                outcome.result(timeout=5)
            self.write("\nKeyboardInterrupt\n")
            return
        if error is None:
            return
        if isinstance(error, SystemExit):
            raise error
        if isinstance(error, KeyboardInterrupt):
            self.write("\nKeyboardInterrupt\n")
            return
        self._show_error(error)

    def _show_error(self, error: BaseException) -> None:
        tb = error.__traceback__
        # Hide this module's frames: the traceback starts at the typed code.
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
        self.write("".join(traceback.format_exception(type(error), error, tb)))


@click.command("shell", short_help="Run a shell in the app context.")
@pass_script_info
def shell_command(info: ScriptInfo) -> None:
    """Run an interactive Python shell in the app's context.

    The namespace holds 'app', 'g', 'asyncio' and what the app's shell context
    processors return. 'await' works at the top level; the code runs on an
    event loop that lives as long as the shell, so tasks started in one
    statement keep running afterwards.
    """
    app = info.load_app()
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {app.instance_path}\n"
        "Top-level 'await' works here."
    )
    namespace: dict[str, t.Any] = {"__name__": "__console__", "__doc__": None, "asyncio": asyncio}
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup, encoding="utf-8") as f:
            exec(compile(f.read(), startup, "exec"), namespace)

    with _ShellLoop() as shell_loop:
        context = contextvars.copy_context()
        app_ctx = app.app_context()
        context.run(app_ctx.push)
        try:
            namespace.update(context.run(app.make_shell_context))
            interactive_hook = getattr(sys, "__interactivehook__", None)
            if interactive_hook is not None and sys.stdin.isatty():
                try:
                    import readline
                    from rlcompleter import Completer
                except ImportError:  # pragma: no cover
                    pass
                else:
                    readline.set_completer(Completer(namespace).complete)
                    interactive_hook()
            console = _AsyncConsole(namespace, shell_loop, context)
            console.interact(banner=banner, exitmsg="")
        finally:
            shell_loop.run(app_ctx.pop(None), context)
