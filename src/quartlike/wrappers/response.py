"""The HTTP response: werkzeug's header logic over a body that can be streamed.

A response body is one of three shapes, each an object with the same small
protocol (``async for chunk in body``, ``length``):

* :class:`DataBody`: bytes known up front (the common, fast case);
* :class:`IterableBody`: a sync or async iterable of ``bytes``/``str``,
  streamed as it is produced (sync iterators are stepped in the app's thread
  pool by the ASGI layer, never on the event loop);
* file bodies, added by the file-serving helpers.

Conditional requests (``ETag``, ``If-Modified-Since``, ...) and ``Range``
requests are handled by :meth:`Response.make_conditional`.
"""

from __future__ import annotations

import collections.abc as cabc
import json
import re
import typing as t
from abc import ABC
from abc import abstractmethod
from types import EllipsisType

from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import generate_etag
from werkzeug.http import http_date
from werkzeug.http import parse_etags
from werkzeug.http import parse_range_header
from werkzeug.http import remove_entity_headers
from werkzeug.sansio.http import is_resource_modified
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.urls import iri_to_uri
from werkzeug.utils import get_content_type

from ..globals import _cv_app
from ..sync import dual
from ..sync import on_event_loop

if t.TYPE_CHECKING:
    from .base import BaseRequestWebsocket

HeadersInput = Headers | cabc.Mapping[str, t.Any] | cabc.Iterable[tuple[str, t.Any]]

__all__ = ["DataBody", "IterableBody", "Response", "ResponseBody"]

#: An RFC 9110 token: what a header name may contain.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Header names already checked against ``_HEADER_NAME`` (bounded).
_VALID_NAMES: set[str] = set()
#: Checked ``(name, value)`` pairs: their wire form, and whether it is Content-Length.
#: Bounded: cleared when full; long values and Location headers (whose value is
#: rewritten) are not kept.
_ENCODED: dict[tuple[str, str], tuple[tuple[bytes, bytes], bool]] = {}


class ResponseBody(ABC):
    """What every response body offers: async iteration and an optional length."""

    #: The number of bytes the body will produce, if known in advance.
    length: int | None = None
    #: Whether the body can serve a byte range (``Range`` requests).
    supports_ranges = False

    @abstractmethod
    def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        """Produce the body's chunks."""

    def make_range(self, begin: int, end: int) -> None:
        """Restrict the body to the bytes ``[begin, end)``."""
        raise TypeError(f"{type(self).__name__} cannot serve byte ranges.")

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most bodies hold nothing
        """Release what the body holds (files, generators)."""


class DataBody(ResponseBody):
    """A body whose bytes are all known."""

    __slots__ = ("data",)
    supports_ranges = True

    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def length(self) -> int:  # type: ignore[override]
        return len(self.data)

    async def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        yield self.data

    def make_range(self, begin: int, end: int) -> None:
        self.data = self.data[begin:end]


class IterableBody(ResponseBody):
    """A body produced by an iterable or async iterable of ``bytes`` or ``str``."""

    __slots__ = ("iterable",)

    def __init__(self, iterable: cabc.Iterable[t.Any] | cabc.AsyncIterable[t.Any]) -> None:
        self.iterable = iterable

    @property
    def is_async(self) -> bool:
        return isinstance(self.iterable, cabc.AsyncIterable)

    @property
    def is_buffered(self) -> bool:
        """True for lists and tuples, which are safe to walk on the event loop."""
        return isinstance(self.iterable, list | tuple)

    async def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        iterable = self.iterable
        if isinstance(iterable, cabc.AsyncIterable):
            async for chunk in iterable:
                yield _to_bytes(chunk)
        else:
            for chunk in iterable:
                yield _to_bytes(chunk)

    async def aclose(self) -> None:
        iterable = self.iterable
        if isinstance(iterable, cabc.AsyncGenerator):
            await iterable.aclose()
        elif hasattr(iterable, "close"):
            iterable.close()


def _to_bytes(chunk: t.Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(
        f"A streamed response produced a {type(chunk).__name__}; each item must be bytes or str."
    )


_content_types: dict[type[SansIOResponse], str | None] = {}
_statuses: dict[type[SansIOResponse], tuple[str, int]] = {}


def _default_content_type(cls: type[SansIOResponse]) -> str | None:
    """The Content-Type a response class gets by default (cached per class)."""
    try:
        return _content_types[cls]
    except KeyError:
        mimetype = cls.default_mimetype
        value = get_content_type(mimetype, "utf-8") if mimetype is not None else None
        _content_types[cls] = value
        return value


_mimetype_content_types: dict[str, str] = {}


def _content_type_for(mimetype: str) -> str:
    """``get_content_type(mimetype, "utf-8")``, cached for the few mimetypes apps use."""
    value = _mimetype_content_types.get(mimetype)
    if value is None:
        value = get_content_type(mimetype, "utf-8")
        if len(_mimetype_content_types) < 256:
            _mimetype_content_types[mimetype] = value
    return value


def _default_status(cls: type[SansIOResponse]) -> tuple[str, int]:
    """The status line and code a response class gets by default (cached per class)."""
    try:
        return _statuses[cls]
    except KeyError:
        probe = SansIOResponse.__new__(cls)
        probe.status = cls.default_status
        value = _statuses[cls] = (probe._status, probe._status_code)
        return value


class Response(SansIOResponse):
    """An HTTP response.

    :param response: the body: ``str``, ``bytes``, or an iterable / async
        iterable of them for a streamed body.
    :param status: a status code or a status line such as ``"404 NOT FOUND"``.
    :param headers: a :class:`~werkzeug.datastructures.Headers`, mapping or list of pairs.
    :param mimetype: the mimetype; ``charset=utf-8`` is added for text types.
    :param content_type: the full Content-Type, overriding ``mimetype``.
    """

    default_mimetype: str | None = "text/html"
    json_module: t.Any = json
    #: Add ``Content-Length`` when the body's length is known.
    automatically_set_content_length = True
    #: Seconds allowed to send a streamed body. The default (``...``) uses the
    #: app's ``RESPONSE_TIMEOUT``; ``None`` removes the limit for this response
    #: (a large download, a long-lived event stream).
    timeout: float | None | EllipsisType = ...

    def __init__(
        self,
        response: t.Any = None,
        status: int | str | None = None,
        headers: HeadersInput | None = None,
        mimetype: str | None = None,
        content_type: str | None = None,
    ) -> None:
        self.body: ResponseBody
        if (
            status is None
            and headers is None
            and content_type is None
            and (
                (kind := type(response)) is str
                or kind is bytes
                or isinstance(response, str | bytes)
            )
        ):
            # The common case (a view returned a string), built without the
            # generic header machinery: this runs for most responses.
            data = response.encode("utf-8") if isinstance(response, str) else response
            fast = Headers()
            pairs = fast._list
            cls = type(self)
            content_type = (
                _default_content_type(cls) if mimetype is None else _content_type_for(mimetype)
            )
            if content_type is not None:
                pairs.append(("Content-Type", content_type))
            if self.automatically_set_content_length:
                pairs.append(("Content-Length", str(len(data))))
            self.headers = fast
            self._status, self._status_code = _statuses.get(cls) or _default_status(cls)
            self.body = DataBody(data)
            return
        super().__init__(status, headers, mimetype, content_type)
        if response is None:
            self.body = DataBody(b"")
        elif isinstance(response, str | bytes | bytearray):
            self.set_data(response)
        elif isinstance(response, ResponseBody):
            self.body = response
        else:
            self.body = IterableBody(response)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status}]>"

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The largest cookie ``set_cookie`` accepts without a warning (``MAX_COOKIE_SIZE``)."""
        ctx = _cv_app.get(None)
        if ctx is not None:
            return int(ctx.app.config["MAX_COOKIE_SIZE"])
        return 4093

    # -- body ---------------------------------------------------------------

    def set_data(self, value: str | bytes | bytearray) -> None:
        """Replace the body with ``value`` (``str`` is encoded as UTF-8)."""
        if isinstance(value, str):
            value = value.encode("utf-8")
        else:
            value = bytes(value)
        self.body = DataBody(value)
        if self.automatically_set_content_length:
            self.headers["Content-Length"] = str(len(value))

    def get_data(self, as_text: bool = False) -> t.Any:
        """Return the whole body, consuming a streamed body into memory first.

        ``await response.get_data()`` in async code; in sync code (an
        ``after_request`` hook in the thread pool, a sync test) a plain call.
        """
        body = self.body
        if isinstance(body, DataBody) and not on_event_loop():
            return body.data.decode("utf-8", "replace") if as_text else body.data
        return dual(self._get_data(as_text))

    async def _get_data(self, as_text: bool = False) -> t.Any:
        body = self.body
        if not isinstance(body, DataBody):
            chunks = [chunk async for chunk in body]
            await body.aclose()
            self.body = body = DataBody(b"".join(chunks))
        if as_text:
            return body.data.decode("utf-8", "replace")
        return body.data

    @property
    def data(self) -> bytes:
        """The body bytes, for a response whose body is already in memory.

        A streamed body must be read with ``await response.get_data()``.
        """
        body = self.body
        if isinstance(body, DataBody):
            return body.data
        raise RuntimeError(
            "This response streams its body; read it with 'await response.get_data()'."
        )

    @data.setter
    def data(self, value: str | bytes) -> None:
        self.set_data(value)

    @property
    def is_streamed(self) -> bool:
        """Whether the body is produced incrementally (its length is unknown)."""
        return self.body.length is None

    def calculate_content_length(self) -> int | None:
        """The body's length if known without consuming it."""
        return self.body.length

    def get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        """Parse the body as JSON (used mostly by tests).

        Awaited in async code, a plain call in sync code (see :meth:`get_data`).
        """
        body = self.body
        if isinstance(body, DataBody) and not on_event_loop():
            return self._load_json(body.data, force, silent)
        return dual(self._get_json(force, silent))

    async def _get_json(self, force: bool = False, silent: bool = False) -> t.Any:
        if not (force or self.is_json):
            return self._load_json(b"", force, silent)
        return self._load_json(await self._get_data(), force, silent)

    def _load_json(self, data: bytes, force: bool, silent: bool) -> t.Any:
        if not (force or self.is_json):
            if silent:
                return None
            raise ValueError("The response is not JSON; pass force=True to parse it anyway.")
        try:
            return self.json_module.loads(data)
        except ValueError:
            if silent:
                return None
            raise

    # -- conditional and range ---------------------------------------------

    async def add_etag(self, overwrite: bool = False, weak: bool = False) -> None:
        """Set an ``ETag`` from a hash of the body, unless one is set already."""
        if overwrite or "etag" not in self.headers:
            data = await self._get_data()
            self.set_etag(generate_etag(data), weak)

    async def make_conditional(
        self,
        request: BaseRequestWebsocket,
        accept_ranges: bool | str = False,
        complete_length: int | None = None,
    ) -> Response:
        """Make the response answer conditional and range headers of ``request``.

        For GET and HEAD: adds ``Date``; serves a ``Range`` (206, or 416 when it
        cannot be satisfied) when ``accept_ranges`` is set and the body supports
        it; turns the response into 304 (or 412 with ``If-Match``) when the
        client's copy is current. Other methods, and responses that are not
        ``200 OK`` (an error page, say), are left untouched: a range or a 304
        only makes sense for the resource itself.
        """
        if request.method not in ("GET", "HEAD") or self.status_code != 200:
            return self
        if "date" not in self.headers:
            self.headers["Date"] = http_date()
        if complete_length is None:
            complete_length = self.body.length
        is206 = self._process_range(request, complete_length, accept_ranges)
        if not is206 and not is_resource_modified(
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
            http_range=request.headers.get("Range"),
            http_if_range=request.headers.get("If-Range"),
            http_if_modified_since=request.headers.get("If-Modified-Since"),
            http_if_none_match=request.headers.get("If-None-Match"),
            http_if_match=request.headers.get("If-Match"),
        ):
            if parse_etags(request.headers.get("If-Match")):
                self.status_code = 412
            else:
                self.status_code = 304
        if self.automatically_set_content_length and "content-length" not in self.headers:
            length = self.body.length
            if length is not None:
                self.headers["Content-Length"] = str(length)
        return self

    def _process_range(
        self,
        request: BaseRequestWebsocket,
        complete_length: int | None,
        accept_ranges: bool | str,
    ) -> bool:
        if not accept_ranges:
            return False
        self.accept_ranges = "bytes" if accept_ranges is True else accept_ranges
        range_header = request.headers.get("Range")
        if not complete_length or range_header is None or not self.body.supports_ranges:
            return False
        if_range = request.headers.get("If-Range")
        if if_range is not None and is_resource_modified(
            etag=self.headers.get("ETag"),
            last_modified=self.headers.get("Last-Modified"),
            ignore_if_range=False,
            http_range=range_header,
            http_if_range=if_range,
        ):
            return False
        parsed = parse_range_header(range_header)
        if parsed is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        bounds = parsed.range_for_length(complete_length)
        content_range = parsed.to_content_range_header(complete_length)
        if bounds is None or content_range is None:
            raise RequestedRangeNotSatisfiable(complete_length)
        begin, end = bounds
        self.body.make_range(begin, end)
        self.headers["Content-Length"] = str(end - begin)
        self.content_range = content_range
        self.status_code = 206
        return True

    # -- wire format ------------------------------------------------------------

    def final_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as they go on the wire, with status-dependent fixes.

        ``Location`` and ``Content-Location`` are made ASCII-safe, 1xx/204
        responses drop ``Content-Length``, 304 drops entity headers, and a known
        body length is filled in. Every name and value is checked, so nothing
        set by a view can inject a header. One pass over the headers: this runs
        for every response.
        """
        status = self.status_code
        headers = self.headers
        if status == 304:
            remove_entity_headers(headers)
        drop_length = 100 <= status < 200 or status == 204
        has_length = False
        rv = []
        pairs = getattr(headers, "_list", None)
        if type(pairs) is not list:
            pairs = list(headers.items())
        encoded = _ENCODED
        for pair in pairs:
            # Most headers repeat from response to response (Content-Type,
            # Content-Length of the same size, Vary...): checked and encoded once.
            known = encoded.get(pair)
            if known is not None:
                if known[1]:
                    if drop_length:
                        continue
                    has_length = True
                rv.append(known[0])
                continue
            key, value = pair
            lower = key.lower()
            if lower == "content-length":
                if drop_length:
                    continue
                has_length = True
            elif lower == "location" or lower == "content-location":
                value = iri_to_uri(value)
            if key not in _VALID_NAMES:
                # Values set through ``Headers`` are checked for newlines, names
                # are not: check both here.
                if _HEADER_NAME.fullmatch(key) is None:
                    raise ValueError(f"Invalid response header name {key!r}.")
                if len(_VALID_NAMES) < 1024:
                    _VALID_NAMES.add(key)
            if "\r" in value or "\n" in value or "\x00" in value:
                raise ValueError(f"Invalid response header {key!r}: {value!r}.")
            wire = (lower.encode("latin-1"), value.encode("latin-1"))
            rv.append(wire)
            if (
                len(value) <= 200
                and lower != "location"
                and lower != "content-location"
                and type(pair) is tuple
            ):
                if len(encoded) >= 4096:
                    encoded.clear()
                encoded[pair] = (wire, lower == "content-length")
        if (
            not has_length
            and not drop_length
            and status != 304
            and self.automatically_set_content_length
        ):
            length = self.body.length
            if length is not None:
                rv.append((b"content-length", str(length).encode("latin-1")))
        return rv

    @property
    def body_is_empty_for_status(self) -> bool:
        """Whether this status forbids a body (1xx, 204, 304)."""
        status = self.status_code
        return status < 200 or status in (204, 304)
