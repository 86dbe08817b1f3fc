"""The HTTP request: werkzeug's parsed views plus a body read from the ASGI stream.

Reading the body is the only asynchronous part. Everything that needs the body
is awaitable (``await request.get_data()``, ``await request.form``,
``await request.get_json()``), and ``async for chunk in request.body`` streams
it without holding it in memory.
"""

from __future__ import annotations

import collections.abc as cabc
import json
import typing as t

from werkzeug.datastructures import CombinedMultiDict
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.http import parse_options_header

from ..globals import _cv_app
from ..json.provider import DefaultJSONProvider
from ..json.provider import JSONProvider
from ..sync import dual
from ..sync import on_event_loop
from .base import BaseRequestWebsocket
from .body import Body as Body
from .body import ClientDisconnected as ClientDisconnected

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers

    from ..formparser import FormDataParser
    from ..formparser._shared import _FormResult
    from ..typing import HTTPScope


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not valid JSON")


#: The ``loads`` of the providers built on the json module, which accept ``parse_constant``.
_STDLIB_LOADS = frozenset({JSONProvider.loads, DefaultJSONProvider.loads})
#: ``json.loads(s, parse_constant=_reject_constant)`` builds this decoder for each call.
#: A decoder keeps no state between calls (``json.loads`` shares one between all
#: callers for its default options), so one is enough.
_STRICT_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _strict_loads(data: bytes) -> t.Any:
    """``json.loads(data, parse_constant=_reject_constant)``, with a shared decoder.

    :param data: a JSON document as UTF-8, UTF-16 or UTF-32 bytes.
    """
    text = data.decode(json.detect_encoding(data), "surrogatepass")
    return _STRICT_DECODER.decode(text)


_URLENCODED = "application/x-www-form-urlencoded"
_FORM_MIMETYPES = frozenset({_URLENCODED, "multipart/form-data"})
_form_parser: type[FormDataParser] | None = None


def _form_parser_class() -> type[FormDataParser]:
    """:class:`~quartlike.formparser.FormDataParser`, imported on first use.

    The form parser imports asyncio, which importing quartlike does not; the
    class is kept here so that each form does not pay for an import statement.
    """
    global _form_parser
    if _form_parser is None:
        from ..formparser import FormDataParser

        _form_parser = FormDataParser
    return _form_parser


async def _prepend(
    chunks: list[bytes], rest: cabc.AsyncIterator[bytes] | None
) -> cabc.AsyncIterator[bytes]:
    """Yield the non-empty ``chunks``, then the chunks of ``rest`` (if any)."""
    for chunk in chunks:
        if chunk:
            yield chunk
    if rest is not None:
        async for chunk in rest:
            yield chunk


class Request(BaseRequestWebsocket):
    """An HTTP request.

    The attributes of werkzeug's sans-IO request are all here (``args``,
    ``headers``, ``cookies``, ``accept_*``, ``authorization``, ...), plus the
    routing results (``url_rule``, ``view_args``, ``endpoint``, ``blueprint``)
    and the awaitable body accessors.
    """

    json_module: t.Any = json
    #: The per-request override of the body size limit; ``None`` uses the app config.
    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None
    # Per-request state, set when the body is parsed (class defaults until then).
    _form: MultiDict[str, str] | None = None
    _files: MultiDict[str, FileStorage] | None = None
    _cached_json: tuple[t.Any, t.Any] = (Ellipsis, Ellipsis)
    #: Whether the form parser read the body from the network (so it is gone).
    _form_streamed_body = False

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers | t.Iterable[tuple[bytes, bytes]],
        root_path: str,
        http_version: str,
        scope: HTTPScope,
        *,
        body: Body | None = None,
    ) -> None:
        super().__init__(
            method, scheme, path, query_string, headers, root_path, http_version, scope
        )
        if body is None:
            body = Body(None, 0)
        self.body = body
        body.owner = self

    # -- limits ------------------------------------------------------------

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted (413 past it): per request, else ``MAX_CONTENT_LENGTH``."""
        if self._max_content_length is not None:
            return self._max_content_length
        ctx = _cv_app.get(None)
        return ctx.app.config["MAX_CONTENT_LENGTH"] if ctx is not None else None

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field accepted, per request or ``MAX_FORM_MEMORY_SIZE``."""
        if self._max_form_memory_size is not None:
            return self._max_form_memory_size
        ctx = _cv_app.get(None)
        return ctx.app.config["MAX_FORM_MEMORY_SIZE"] if ctx is not None else None

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property
    def max_form_parts(self) -> int | None:
        """The most form fields and files accepted, per request or ``MAX_FORM_PARTS``."""
        if self._max_form_parts is not None:
            return self._max_form_parts
        ctx = _cv_app.get(None)
        return ctx.app.config["MAX_FORM_PARTS"] if ctx is not None else None

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @property
    def body_timeout(self) -> float | None:
        """Seconds allowed to receive the whole body (``BODY_TIMEOUT``), 408 past it."""
        ctx = _cv_app.get(None)
        return ctx.app.config["BODY_TIMEOUT"] if ctx is not None else None

    # -- body ----------------------------------------------------------------

    def stream(self) -> cabc.AsyncIterator[bytes]:
        """Stream the body in chunks, with this request's size and time limits."""
        return self.body.stream(self.max_content_length, self.body_timeout)

    def get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        """Receive the whole body and return it as ``bytes`` (or ``str`` with ``as_text``).

        In ``async def`` code, await it: ``await request.get_data()``. In sync
        code running in the thread pool (a plain ``def`` view) it returns the
        value directly, through the sync bridge.

        :param cache: kept for Flask compatibility; the body is always cached so
            that it can be read again.
        :param as_text: decode the body as UTF-8 (invalid bytes replaced).
        :param parse_form_data: parse the form first, so that a form body is
            consumed by the form parser as in Flask.
        """
        if not on_event_loop():
            data = self._data_now(parse_form_data)
            if data is not None:
                return data.decode("utf-8", "replace") if as_text else data
        return dual(self._get_data(cache, as_text, parse_form_data))

    def _data_now(self, parse_form_data: bool = False) -> bytes | None:
        """What :meth:`_get_data` returns, when the body is here without waiting
        (see :meth:`Body.take_now`); ``None`` when it needs the event loop."""
        if parse_form_data and not self._form_now():
            return None
        if self._form_streamed_body:
            return b""
        return self.body.take_now(self.max_content_length)

    async def _get_data(
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> t.Any:
        if parse_form_data:
            await self._load_form_data()
        if self._form_streamed_body:
            # As in Flask: the form parser consumed the body, so no raw data is left.
            data = b""
        else:
            data = await self.body.read(self.max_content_length, self.body_timeout)
        if as_text:
            return data.decode("utf-8", "replace")
        return data

    @property
    def data(self) -> cabc.Awaitable[bytes]:
        """``await request.data``: the whole body as bytes (a plain value in sync code)."""
        return t.cast("cabc.Awaitable[bytes]", self.get_data())

    # -- forms ---------------------------------------------------------------

    def _parse_content_type(self) -> None:
        # werkzeug's (behind ``mimetype``, ``mimetype_params`` and ``is_json``)
        # builds the whole ``headers`` object to read this one header.
        if "_parsed_content_type" not in self.__dict__:
            values = self._header_values(b"content-type")
            self._parsed_content_type = parse_options_header(values[0] if values else "")

    @property
    def want_form_data_parsed(self) -> bool:
        """Whether the content type is one the form parser reads."""
        return self.mimetype in _FORM_MIMETYPES

    def _form_parser(self) -> FormDataParser:
        ctx = _cv_app.get(None)
        spool = ctx.app.config["FORM_SPOOL_THRESHOLD"] if ctx is not None else 500 * 1024
        return _form_parser_class()(
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            spool_threshold=spool,
            cls=self.parameter_storage_class,
        )

    def _form_now(self) -> bool:
        """Load the form as :meth:`_load_form_data` does, if that needs no waiting
        (no form content type, or a small urlencoded body already here); whether
        it is loaded. Sync code in a worker thread may call it."""
        if self._form is not None:
            return True
        if not self.want_form_data_parsed:
            self._form = self.parameter_storage_class()
            self._files = self.parameter_storage_class()
            return True
        if self.mimetype.strip().lower() != _URLENCODED or type(self).stream is not Request.stream:
            return False
        body = self.body
        data = body.ready_data()
        if data is None:
            return False
        parser = self._form_parser()
        if not parser.parses_at_once(data):
            return False
        streamed = not body.is_complete
        data = body.take_now(self.max_content_length)
        assert data is not None
        result = parser.parse_urlencoded_data(data, self.mimetype_params)
        assert result is not None
        self._form, self._files = result
        self._form_streamed_body = streamed
        return True

    async def _load_form_data(self) -> None:
        if self._form is not None:
            return
        if not self.want_form_data_parsed:
            self._form = self.parameter_storage_class()
            self._files = self.parameter_storage_class()
            return
        parser = self._form_parser()
        body = self.body
        streamed = not body.is_complete
        mimetype = self.mimetype
        options = self.mimetype_params
        if mimetype.strip().lower() == _URLENCODED:
            # A small body that arrives whole (usually in one message) is parsed
            # in one go, without the incremental parser's per-field pauses.
            if type(self).stream is Request.stream:
                first, rest = await body._first(self.max_content_length, self.body_timeout)
                result = None
                if rest is None:
                    result = parser.parse_urlencoded_data(first, options)
                if result is None:
                    result = await parser.parse(_prepend([first], rest), mimetype, options)
            else:
                result = await self._parse_urlencoded_stream(parser, mimetype, options)
        else:
            result = await parser.parse(self.stream(), mimetype, options)
        self._form, self._files = result
        self._form_streamed_body = streamed

    async def _parse_urlencoded_stream(
        self, parser: FormDataParser, mimetype: str, options: dict[str, str]
    ) -> _FormResult:
        """Parse an urlencoded body read through :meth:`stream`, overridden by a subclass."""
        stream = aiter(self.stream())
        chunks = [await anext(stream, b"")]
        if self.body.is_complete:
            # Nothing more to receive: see whether the stream has more to
            # give (it does not, unless the subclass's ``stream`` splits
            # chunks). This also finishes it, which spares the event loop
            # closing it.
            more = await anext(stream, None)
            if more is None:
                result = parser.parse_urlencoded_data(chunks[0], options)
                if result is not None:
                    return result
            else:
                chunks.append(more)
        return await parser.parse(_prepend(chunks, stream), mimetype, options)

    async def _get_form(self) -> MultiDict[str, str]:
        await self._load_form_data()
        assert self._form is not None
        return self._form

    async def _get_files(self) -> MultiDict[str, FileStorage]:
        await self._load_form_data()
        assert self._files is not None
        return self._files

    async def _get_values(self) -> CombinedMultiDict[str, str]:
        return self._values_from(None if self.method == "GET" else await self._get_form())

    def _values_from(self, form: MultiDict[str, str] | None) -> CombinedMultiDict[str, str]:
        # As in Flask, a GET request's body is never part of ``values``.
        if self.method == "GET" or form is None:
            return CombinedMultiDict([self.args])
        return CombinedMultiDict([self.args, form])

    @property
    def form(self) -> cabc.Awaitable[MultiDict[str, str]]:
        """``await request.form``: the urlencoded or multipart form fields.

        In sync code in the thread pool, ``request.form`` is the MultiDict itself.
        """
        if not on_event_loop() and self._form_now():
            return self._form  # type: ignore[return-value]
        return dual(self._get_form())  # type: ignore[no-any-return]

    @property
    def files(self) -> cabc.Awaitable[MultiDict[str, FileStorage]]:
        """``await request.files``: the uploaded files of a multipart form.

        In sync code in the thread pool, ``request.files`` is the MultiDict itself.
        """
        if not on_event_loop() and self._form_now():
            return self._files  # type: ignore[return-value]
        return dual(self._get_files())  # type: ignore[no-any-return]

    @property
    def values(self) -> cabc.Awaitable[CombinedMultiDict[str, str]]:
        """``await request.values``: ``args`` and (except for GET) ``form`` combined.

        In sync code in the thread pool, ``request.values`` is the value itself.
        """
        if not on_event_loop() and (self.method == "GET" or self._form_now()):
            return self._values_from(self._form)  # type: ignore[return-value]
        return dual(self._get_values())  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close any uploaded files spooled by the form parser."""
        files = self._files
        if files:
            for _key, value in files.items(multi=True):
                value.close()

    # -- JSON ------------------------------------------------------------------

    @property
    def json(self) -> cabc.Awaitable[t.Any]:
        """``await request.json``: the parsed JSON body, see :meth:`get_json`."""
        return t.cast("cabc.Awaitable[t.Any]", self.get_json())

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> t.Any:
        """Parse the body as JSON: ``await request.get_json()`` (a plain call in sync code).

        Without ``force``, the content type must be JSON (``application/json``
        or ``+json``), else 415. Invalid JSON (bad UTF-8, syntax, nesting too
        deep, numbers too large) is a 400. ``silent`` returns ``None`` instead
        of either error.
        """
        if not on_event_loop():
            if cache and self._cached_json[silent] is not Ellipsis:
                return self._cached_json[silent]
            if not (force or self.is_json):
                return None if silent else self.on_json_loading_failed(None)
            data = self._data_now()
            if data is not None:
                return self._json_from(data, silent, cache)
        return dual(self._get_json(force, silent, cache))

    async def _get_json(
        self, force: bool = False, silent: bool = False, cache: bool = True
    ) -> t.Any:
        if cache and self._cached_json[silent] is not Ellipsis:
            return self._cached_json[silent]
        if not (force or self.is_json):
            if silent:
                return None
            return self.on_json_loading_failed(None)
        return self._json_from(await self._get_data(), silent, cache)

    def _json_from(self, data: bytes, silent: bool, cache: bool) -> t.Any:
        try:
            rv = self._load_json(data)
        except ValueError as e:
            if silent:
                rv = None
                if cache:
                    self._cached_json = (self._cached_json[0], rv)
            else:
                rv = self.on_json_loading_failed(e)
                if cache:
                    self._cached_json = (rv, self._cached_json[1])
        else:
            if cache:
                self._cached_json = (rv, rv)
        return rv

    def _load_json(self, data: bytes) -> t.Any:
        # NaN and Infinity are not JSON (RFC 8259), and a client sending them
        # usually means to break arithmetic downstream: with the stdlib-based
        # providers they are refused (400). A custom provider decides for itself.
        ctx = _cv_app.get(None)
        try:
            if ctx is None:
                return self.json_module.loads(data, parse_constant=_reject_constant)
            provider = ctx.app.json
            if type(provider).loads in _STDLIB_LOADS:
                # What ``provider.loads(data, parse_constant=_reject_constant)``
                # does, without building a decoder for every request.
                return _strict_loads(data)
            return provider.loads(data)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Called when JSON loading fails and ``silent`` is false; raises by default.

        The 400 carries the parser's message in debug mode only.
        """
        if e is None:
            raise UnsupportedMediaType(
                "Did not attempt to load JSON data because the request"
                " Content-Type was not 'application/json'."
            )
        ctx = _cv_app.get(None)
        if ctx is not None and ctx.app.debug:
            raise BadRequest(f"Failed to decode JSON object: {e}")
        raise BadRequest()
