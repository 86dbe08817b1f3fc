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

import typing as t

from werkzeug.datastructures import CombinedMultiDict
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from ..wrappers.request import Request as _Request
from ..wrappers.response import Response as _Response

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
