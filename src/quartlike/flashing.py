"""Message flashing: a message stored in the session now, shown on a later page.

``await flash("Saved.")`` appends ``(category, message)`` to the list under
the session key ``"_flashes"``; :func:`get_flashed_messages` (usually called
from a template) takes the whole list out of the session the first time it is
called in a request and returns the same messages for the rest of that
request. The storage is Flask's, so a session cookie written by a Flask app
carries its flashes over to quartlike and back.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from .globals import _cv_request
from .signals import message_flashed
from .sync import dual

if t.TYPE_CHECKING:
    from .ctx import RequestContext
    from .sessions import SessionMixin

_FLASHES_KEY = "_flashes"


def _request_ctx(name: str) -> RequestContext:
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            f"'{name}' needs an active request, because flashed messages live in the"
            " session. Call it from a view, a hook or a template rendered during a request"
            " (in a test: 'async with app.test_request_context():')."
        )
    return ctx


def _session(ctx: RequestContext, name: str) -> SessionMixin:
    session = ctx.session
    if session is None:
        raise RuntimeError(
            f"'{name}' needs the session, which this request context has not loaded: it was"
            " pushed with push() instead of 'async with', which opens the session."
        )
    return session


def flash(message: str, category: str = "message") -> t.Any:
    """Store ``message`` in the session, to be shown by a later request.

    Sends the ``message_flashed`` signal (when it has receivers), which is why
    this is a coroutine in async code: ``await flash("Saved.", "success")``. In
    sync code (a plain ``def`` view) it is a plain call, through the sync bridge.

    :param message: the text to show.
    :param category: a label for grouping or styling, such as ``"message"``
        (the default), ``"error"``, ``"info"`` or ``"warning"``; any string works.
    """
    return dual(_flash(message, category))


async def _flash(message: str, category: str) -> None:
    ctx = _request_ctx("flash")
    session = _session(ctx, "flash")
    # A new list, assigned back: sessions kept outside the process only see
    # changes made through __setitem__, never in-place mutation of a value.
    flashes = [*session.get(_FLASHES_KEY, ()), (category, message)]
    session[_FLASHES_KEY] = flashes
    session.modified = True
    if message_flashed.receivers:
        await ctx.app.send_signal(message_flashed, message=message, category=category)


@t.overload
def get_flashed_messages(
    with_categories: t.Literal[False] = False, category_filter: cabc.Iterable[str] = ()
) -> list[str]: ...
@t.overload
def get_flashed_messages(
    with_categories: t.Literal[True], category_filter: cabc.Iterable[str] = ()
) -> list[tuple[str, str]]: ...
@t.overload
def get_flashed_messages(
    with_categories: bool = False, category_filter: cabc.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]: ...
def get_flashed_messages(
    with_categories: bool = False, category_filter: cabc.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Take the flashed messages out of the session and return them.

    The first call in a request removes them from the session; every call in
    the same request returns the same messages.

    :param with_categories: return ``(category, message)`` pairs instead of
        just the messages.
    :param category_filter: keep only messages whose category is ``in`` it.
        It filters independently of ``with_categories``.
    """
    ctx = _request_ctx("get_flashed_messages")
    flashes = ctx.flashes
    if flashes is None:
        session = _session(ctx, "get_flashed_messages")
        if _FLASHES_KEY in session:
            flashes = session.pop(_FLASHES_KEY)
            session.modified = True
        else:
            flashes = []
        ctx.flashes = flashes
    if category_filter:
        flashes = [f for f in flashes if f[0] in category_filter]
    if with_categories:
        return flashes
    return [f[1] for f in flashes]
