"""``flask.templating`` for the sync face: rendering returns the text.

In sync code (a plain ``def`` view, a sync test inside a request context)
``render_template(...)`` returns a ``str`` and ``stream_template(...)`` an
iterator of ``str``. ``render_template`` and ``render_template_string`` render
in the calling thread, as Flask does, unless something in the render needs the
event loop (then, like the streams, they go through the sync bridge: see
:mod:`quartlike.templating_sync`). On the event loop these are the core's
awaitables, so an ``async def`` view may ``await`` them.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from jinja2 import Template

from .. import templating as _templating
from ..sync import await_sync
from ..sync import dual
from ..templating import DispatchingJinjaLoader as DispatchingJinjaLoader
from ..templating import Environment as Environment

__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "TemplateStream",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

TemplateNames = str | Template | list[str | Template]


def render_template(template_name_or_list: TemplateNames, **context: t.Any) -> str:
    """Render a template file with ``context`` and return the text.

    :param template_name_or_list: the template's name, or a list of names of
        which the first that exists is used.
    :param context: the variables of the template.
    """
    return t.cast(str, _templating.render_template(template_name_or_list, **context))


def render_template_string(source: str, **context: t.Any) -> str:
    """Render the template source ``source`` with ``context`` (always autoescaped)."""
    return t.cast(str, _templating.render_template_string(source, **context))


class TemplateStream(cabc.Iterator[str]):
    """The pieces of a template rendered as a stream.

    Returned from a view (or given to a response), it is streamed on the event
    loop as the template renders. Iterated with a plain ``for`` in sync code,
    each piece is rendered through the sync bridge.
    """

    def __init__(self, chunks: cabc.AsyncIterator[str]) -> None:
        self._chunks = chunks

    def __next__(self) -> str:
        try:
            return await_sync(anext(self._chunks))
        except StopAsyncIteration:
            raise StopIteration from None

    def __aiter__(self) -> cabc.AsyncIterator[str]:
        return self._chunks

    async def __anext__(self) -> str:
        return await anext(self._chunks)


def _stream(chunks: t.Any) -> t.Any:
    # On the event loop the core gives a coroutine to await; keep it as it is.
    if isinstance(chunks, cabc.AsyncIterator):
        return TemplateStream(chunks)
    return chunks


def stream_template(template_name_or_list: TemplateNames, **context: t.Any) -> TemplateStream:
    """Render a template file piece by piece, to return from a view as a streamed response.

    The request context stays available to the template while it streams.
    """
    return t.cast(
        TemplateStream, _stream(dual(_templating.stream_template(template_name_or_list, **context)))
    )


def stream_template_string(source: str, **context: t.Any) -> TemplateStream:
    """Render the template source ``source`` piece by piece; see :func:`stream_template`."""
    return t.cast(
        TemplateStream, _stream(dual(_templating.stream_template_string(source, **context)))
    )
