"""Commands that run in an app context: :func:`with_appcontext` and :class:`AppGroup`,
the group behind ``app.cli``.
"""

from __future__ import annotations

import collections.abc as cabc
import contextvars
import functools
import typing as t

import click

from ..globals import _cv_app
from .callbacks import _invoke_in_app_context
from .callbacks import _pop
from .callbacks import _run_async_callback
from .discovery import ScriptInfo

F = t.TypeVar("F", bound=cabc.Callable[..., t.Any])


def with_appcontext(f: F) -> F:
    """Run the decorated command callback inside the app's context.

    The app is loaded through the :class:`ScriptInfo` unless an app context
    is already active. Both ``def`` and ``async def`` callbacks work; an
    async callback runs on a new event loop (with ``asyncio.Runner``), and the
    app context's teardown runs on that same loop after it.

    Commands added with ``app.cli.command()`` (and built-ins like ``routes``)
    already have this; use it for commands of a plain :class:`click.Group`.

    On a group's callback, as in Flask, the app context lasts until the
    group's click context closes: its subcommands run in that same context,
    and see what the group's callback put in ``g`` (Flask-Migrate's ``db``
    group does this).
    """

    @functools.wraps(f)
    def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
        app_ctx = None
        if _cv_app.get(None) is None:
            click_ctx = click.get_current_context()
            group_ctx = click_ctx.meta.get(_GROUP_APP_CONTEXT)
            if group_ctx is not None:  # a subcommand of a group that has one
                context = group_ctx[0]
                return context.run(_invoke_in_app_context, f, None, args, kwargs)
            app = click_ctx.ensure_object(ScriptInfo).load_app()
            app_ctx = app.app_context()
            if isinstance(click_ctx.command, click.Group):
                # ``meta`` is shared by the nested click contexts.
                context = contextvars.copy_context()
                context.run(app_ctx.push)
                click_ctx.meta[_GROUP_APP_CONTEXT] = (context, app_ctx)
                click_ctx.call_on_close(functools.partial(_close_group, click_ctx))
                return context.run(_invoke_in_app_context, f, None, args, kwargs)
        return _invoke_in_app_context(f, app_ctx, args, kwargs)

    return t.cast(F, decorator)


#: The ``click.Context.meta`` key of a group's app context (and the
#: :mod:`contextvars` context it was pushed in).
_GROUP_APP_CONTEXT = "quartlike.group_app_context"


def _close_group(click_ctx: click.Context) -> None:
    context, app_ctx = click_ctx.meta.pop(_GROUP_APP_CONTEXT)
    _pop(app_ctx, None, context)


class AppGroup(click.Group):
    """A :class:`click.Group` whose commands run in an app context by default.

    ``@group.command(with_appcontext=False)`` opts a command out. ``async def``
    callbacks are run on an event loop either way. Sub-groups made with
    :meth:`group` are ``AppGroup``\\ s too.
    """

    @t.overload
    def command(self, __func: cabc.Callable[..., t.Any]) -> click.Command: ...

    @t.overload
    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Command]: ...

    def command(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Command] | click.Command:
        """Register a command, like :meth:`click.Group.command`; the callback gets an app
        context unless ``with_appcontext=False`` is given.
        """
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.command()(args[0])
        wrap_for_ctx = kwargs.pop("with_appcontext", True)

        def decorator(f: cabc.Callable[..., t.Any]) -> click.Command:
            f = with_appcontext(f) if wrap_for_ctx else _run_async_callback(f)
            register = super(AppGroup, self).command(*args, **kwargs)
            return t.cast(click.Command, register(f))

        return decorator

    @t.overload
    def group(self, __func: cabc.Callable[..., t.Any]) -> click.Group: ...

    @t.overload
    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Group]: ...

    def group(
        self, *args: t.Any, **kwargs: t.Any
    ) -> cabc.Callable[[cabc.Callable[..., t.Any]], click.Group] | click.Group:
        """Register a sub-group, like :meth:`click.Group.group`; it is an :class:`AppGroup`."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.group()(args[0])
        kwargs.setdefault("cls", AppGroup)
        return t.cast(
            "cabc.Callable[[cabc.Callable[..., t.Any]], click.Group]",
            super().group(*args, **kwargs),
        )
