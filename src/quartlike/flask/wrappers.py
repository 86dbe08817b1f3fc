"""``flask.wrappers`` for the sync face: the request and response with sync types.

These are the core classes with Flask's annotations: ``request.form`` is a
``MultiDict``, ``request.get_json()`` returns the value, ``response.get_data()``
returns ``bytes``. The behaviour is the core's: the body accessors are values
in sync code (through the sync bridge) and awaitables on the event loop, so an
``async def`` view of the same app may still ``await request.form``.
:class:`quartlike.flask.Flask` uses these classes as its ``request_class`` and
``response_class``.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from werkzeug.datastructures import CombinedMultiDict
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from ..sync import await_sync
from ..sync import dual
from ..wrappers.request import Request as _Request
from ..wrappers.response import DataBody
from ..wrappers.response import IterableBody
from ..wrappers.response import Response as _Response
from ..wrappers.response import ResponseBody
from ..wrappers.response import _to_bytes

if t.TYPE_CHECKING:
    from ..wrappers.base import BaseRequestWebsocket

__all__ = ["Request", "Response"]


class Request(_Request):
    """An HTTP request, typed for sync code (see the module docs)."""

    @property
    def form(self) -> MultiDict[str, str]:  # type: ignore[override]
        """The urlencoded or multipart form fields."""
        return t.cast("MultiDict[str, str]", super().form)

    @property
    def files(self) -> MultiDict[str, FileStorage]:  # type: ignore[override]
        """The uploaded files of a multipart form."""
        return t.cast("MultiDict[str, FileStorage]", super().files)

    @property
    def values(self) -> CombinedMultiDict[str, str]:  # type: ignore[override]
        """``args`` and (except for GET) ``form`` combined."""
        return t.cast("CombinedMultiDict[str, str]", super().values)

    @property
    def data(self) -> bytes:  # type: ignore[override]
        """The whole body as bytes."""
        return t.cast(bytes, super().data)

    @property
    def json(self) -> t.Any:
        """The parsed JSON body; see :meth:`get_json`."""
        return super().json

    @t.overload
    def get_data(
        self,
        cache: bool = True,
        as_text: t.Literal[False] = False,
        parse_form_data: bool = False,
    ) -> bytes: ...
    @t.overload
    def get_data(
        self, cache: bool = True, *, as_text: t.Literal[True], parse_form_data: bool = False
    ) -> str: ...
    @t.overload
    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str: ...
    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """The whole body as ``bytes``, or ``str`` with ``as_text``."""
        return t.cast("bytes | str", super().get_data(cache, as_text, parse_form_data))


class Response(_Response):
    """An HTTP response, typed for sync code (see the module docs)."""

    @t.overload
    def get_data(self, as_text: t.Literal[False] = False) -> bytes: ...
    @t.overload
    def get_data(self, as_text: t.Literal[True]) -> str: ...
    @t.overload
    def get_data(self, as_text: bool = False) -> bytes | str: ...
    def get_data(self, as_text: bool = False) -> bytes | str:
        """The whole body (a streamed body is read into memory first)."""
        return t.cast("bytes | str", super().get_data(as_text))

    @property
    def json(self) -> t.Any:
        """The body parsed as JSON; see :meth:`get_json`."""
        return self.get_json()

    # Werkzeug's WSGI response API, used by extensions that rewrite bodies
    # (Flask-Compress compresses a streamed body with these).

    @property
    def response(self) -> cabc.Iterable[t.Any] | cabc.AsyncIterable[t.Any]:
        """The body as an iterable (werkzeug's attribute): a list for a body in
        memory, else the iterable or async iterable that produces it. Setting
        it replaces the body with a streamed one."""
        body = self.body
        if isinstance(body, DataBody):
            return [body.data]
        if isinstance(body, IterableBody):
            return body.iterable
        return body

    @response.setter
    def response(self, value: cabc.Iterable[t.Any] | cabc.AsyncIterable[t.Any]) -> None:
        self.body = value if isinstance(value, ResponseBody) else IterableBody(value)

    def iter_encoded(self) -> cabc.Iterator[bytes]:
        """Iterate over the body as bytes in sync code, without reading it all first.

        The iterator holds the body of the time of the call, so the body may
        then be replaced by one built from it. An async body is stepped through
        the sync bridge: the iterator is for sync code (a worker thread, or a
        streamed body, whose sync iterators quartlike steps in the pool).
        """
        return _iter_encoded(self.body)

    def make_conditional(  # type: ignore[override]
        self,
        request: BaseRequestWebsocket,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Answer the conditional and range headers of ``request`` (see the core's
        :meth:`~quartlike.wrappers.response.Response.make_conditional`).

        Returns the response in sync code; awaitable on the event loop.
        """
        return t.cast(
            Response, dual(super().make_conditional(request, accept_ranges, complete_length))
        )

    def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:  # type: ignore[override]
        """Set an ``ETag`` from a hash of the body, unless one is set already.

        A plain call in sync code; awaitable on the event loop.
        """
        return t.cast(None, dual(super().add_etag(overwrite, weak)))


def _iter_encoded(body: ResponseBody) -> cabc.Iterator[bytes]:
    if isinstance(body, DataBody):
        yield body.data
        return
    if isinstance(body, IterableBody) and not body.is_async:
        iterable = t.cast("cabc.Iterable[t.Any]", body.iterable)
        try:
            for chunk in iterable:
                yield _to_bytes(chunk)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return
    chunks = aiter(body)
    try:
        while True:
            try:
                yield await_sync(anext(chunks))
            except StopAsyncIteration:
                return
    finally:
        close_chunks = getattr(chunks, "aclose", None)
        if close_chunks is not None:
            await_sync(close_chunks())
        await_sync(body.aclose())
