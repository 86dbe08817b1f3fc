"""Incremental parsing of form bodies read from an asynchronous byte stream.

:class:`FormDataParser` turns the chunks of an ASGI request body into a
``(form, files)`` pair of multidicts. Two content types are understood:

``application/x-www-form-urlencoded``
    Split on ``&`` as the chunks arrive; only the unfinished last field is
    kept between chunks. Each field is decoded like
    :func:`urllib.parse.parse_qsl` with ``keep_blank_values=True`` (``+`` is a
    space, ``%XX`` escapes are decoded with the charset: the ``charset``
    content type parameter when it names a text codec of the standard
    library, else the parser charset). ``;`` is *not* a separator.

    Unlike Werkzeug, which reads an urlencoded body in one go and does not
    count its fields, ``max_form_parts`` applies here too: every
    ``&``-separated segment, including empty ones (``a=1&&b=2`` has three),
    counts as a part, so that a body of millions of ``&`` is refused at once
    instead of being walked to its end. An empty segment after a final ``&``
    is not counted. ``max_form_memory_size`` bounds the encoded length of a
    single ``name=value`` segment.

``multipart/form-data``
    Driven through Werkzeug's sans-IO :class:`~werkzeug.sansio.multipart.MultipartDecoder`.
    Field values are kept in memory (bounded by ``max_form_memory_size``);
    each uploaded file is kept in an :class:`io.BytesIO` until it grows past
    ``spool_threshold`` bytes, then moved to an anonymous temporary file. The
    temporary file is created and written in the default executor so that
    disk I/O never runs on the event loop. Temporary files belong to the
    returned :class:`~werkzeug.datastructures.FileStorage` objects; the caller
    closes them when the request ends. If parsing fails, every temporary file
    created so far is closed before the error propagates.

    A ``boundary`` parameter (1 to 200 printable ASCII characters) is
    required. Field values are decoded with the part's ``charset`` parameter
    when it names a text codec of the standard library, else with the parser
    charset. A file part with an empty filename is kept (``filename == ""``);
    a part without a ``name`` is a 400. A completely empty body gives an empty
    form rather than a 400. Data after the closing delimiter is read and
    dropped.

    The decoder is only handed data that does not stop inside a delimiter
    line, because Werkzeug's decoder mis-parses such data; see
    :func:`_feedable_length`.

Every other mimetype gives two empty multidicts and the body is not read.

Errors are HTTP exceptions: too many parts, or a field over the memory limit,
is :exc:`~werkzeug.exceptions.RequestEntityTooLarge` (413); a malformed body
is :exc:`~werkzeug.exceptions.BadRequest` (400). Exceptions raised by the body
iterator itself (size limits, timeouts, disconnects enforced by the caller)
propagate unchanged.

Long bodies never hold the event loop: data is handled in slices of at most
64 KiB and the parser yields to the loop (``await asyncio.sleep(0)``) after
every 64 KiB of data and after every few hundred fields or multipart events.

A small urlencoded body that has arrived whole (at most
:data:`URLENCODED_AT_ONCE_LIMIT` bytes and at most
:data:`URLENCODED_AT_ONCE_SEGMENTS` ``&``-separated segments) can instead be
parsed in one synchronous call, :meth:`FormDataParser.parse_urlencoded_data`,
with the same results, limits and errors as the incremental parser.
"""

from __future__ import annotations

import asyncio
import codecs
import collections.abc as cabc
import encodings
import encodings.aliases
import functools
import pkgutil
import typing as t
from urllib.parse import unquote_to_bytes

from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge

from ._shared import _SLICE_SIZE
from ._shared import _field_too_large
from ._shared import _FormResult
from ._shared import _Pacer
from .multipart import _boundary_from
from .multipart import _MultipartReader

__all__ = [
    "URLENCODED_AT_ONCE_LIMIT",
    "URLENCODED_AT_ONCE_SEGMENTS",
    "FormDataParser",
    "FormParserOptions",
    "parse_form_data",
]

#: Largest urlencoded body :meth:`FormDataParser.parse_urlencoded_data` parses
#: in one go (one slice of the incremental parser, so the results are the same).
URLENCODED_AT_ONCE_LIMIT = _SLICE_SIZE
#: Most ``&``-separated segments parsed in one go: more are parsed
#: incrementally, pausing for the event loop (only reached when
#: ``max_form_parts`` is above it or ``None``).
URLENCODED_AT_ONCE_SEGMENTS = 1024

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


class FormParserOptions(t.TypedDict, total=False):
    """Keyword arguments accepted by :class:`FormDataParser` and :func:`parse_form_data`."""

    max_form_memory_size: int | None
    max_form_parts: int | None
    spool_threshold: int
    charset: str
    errors: str
    cls: type[MultiDict[str, t.Any]]


class FormDataParser:
    """Parse urlencoded and multipart request bodies from an async byte stream.

    :param max_form_memory_size: the largest number of bytes allowed for a
        single non-file multipart field value, or for a single encoded
        urlencoded ``name=value`` segment. Larger values are a 413. ``None``
        disables the check.
    :param max_form_parts: the largest number of parts allowed: fields plus
        files for multipart bodies, ``&``-separated segments for urlencoded
        ones. More is a 413. ``None`` disables the check.
    :param spool_threshold: the number of bytes of one uploaded file kept in
        memory; a file that grows past it is moved to a temporary file.
    :param charset: the charset used to decode field names and values when the
        request (or, for multipart, the part) does not name a usable one.
    :param errors: the codec error handler used when decoding; with
        ``"strict"``, undecodable data is a 400.
    :param cls: the multidict class used for both results.
    """

    def __init__(
        self,
        *,
        max_form_memory_size: int | None = 500_000,
        max_form_parts: int | None = 1_000,
        spool_threshold: int = 500 * 1024,
        charset: str = "utf-8",
        errors: str = "replace",
        cls: type[MultiDict[str, t.Any]] = MultiDict,
    ) -> None:
        codec = _parser_codec_name(charset)
        if codec is None:
            raise LookupError(f"{charset!r} is not a known text encoding.")
        codecs.lookup_error(errors)
        self._codec = codec
        self.max_form_memory_size = max_form_memory_size
        self.max_form_parts = max_form_parts
        self.spool_threshold = spool_threshold
        self.charset = charset
        self.errors = errors
        self.cls = cls

    async def parse(
        self,
        body: cabc.AsyncIterable[bytes],
        mimetype: str,
        options: dict[str, str],
    ) -> _FormResult:
        """Read ``body`` and parse it according to ``mimetype``.

        :param body: the request body as an async iterable of byte chunks. It
            is consumed to its end for the two form content types and left
            untouched for any other.
        :param mimetype: the content type without parameters, for example
            ``"multipart/form-data"``.
        :param options: the content type parameters, for example
            ``{"boundary": "..."}`` or ``{"charset": "latin-1"}``.
        :return: ``(form, files)``. ``files`` is always empty for urlencoded
            bodies.
        :raises werkzeug.exceptions.BadRequest: the body is malformed.
        :raises werkzeug.exceptions.RequestEntityTooLarge: a part limit or the
            field memory limit was exceeded.
        """
        kind = mimetype.strip().lower()
        if kind == _URLENCODED:
            return await self._parse_urlencoded(body, options)
        if kind == _MULTIPART:
            return await _MultipartReader(self, _boundary_from(options)).read(body)
        return self.cls(), self.cls()

    def _finish(self, collected: MultiDict[str, t.Any]) -> MultiDict[str, t.Any]:
        """Return ``collected`` as an instance of the configured multidict class.

        Values are added to a plain :class:`MultiDict` as they are parsed, so
        that no single step has to build a large result at once.

        :param collected: the parsed items.
        """
        if self.cls is MultiDict:
            return collected
        return self.cls(collected)

    def _charset_for(self, declared: str | None) -> str:
        """Return the codec for ``declared`` if it names a text encoding, else the default one.

        :param declared: a charset named by the request or by a part, if any.
        """
        if declared:
            codec = _text_codec_name(declared)
            if codec is not None:
                return codec
        return self._codec

    def _decode(self, raw: bytes, charset: str) -> str:
        """Decode ``raw`` with ``charset``, turning a strict decoding failure into a 400.

        :param raw: the bytes to decode.
        :param charset: a text encoding name.
        """
        try:
            return raw.decode(charset, self.errors)
        except UnicodeError as exc:
            raise BadRequest(f"The form data could not be decoded as {charset}.") from exc

    async def _parse_urlencoded(
        self, body: cabc.AsyncIterable[bytes], options: dict[str, str]
    ) -> _FormResult:
        charset = self._charset_for(options.get("charset"))
        max_size = self.max_form_memory_size
        max_parts = self.max_form_parts
        form: MultiDict[str, str] = MultiDict()
        pending = bytearray()  # the unfinished segment after the last "&"
        segments_seen = 0
        pacer = _Pacer()

        async for chunk in body:
            for start in range(0, len(chunk), _SLICE_SIZE):
                piece = chunk[start : start + _SLICE_SIZE]
                segments = piece.split(b"&")
                if len(segments) > 1:
                    pending += segments[0]
                    finished = [bytes(pending), *segments[1:-1]]
                    pending = bytearray(segments[-1])
                    segments_seen += len(finished)
                    if max_parts is not None and segments_seen > max_parts:
                        raise RequestEntityTooLarge(f"The form has more than {max_parts} fields.")
                    for segment in finished:
                        if max_size is not None and len(segment) > max_size:
                            raise _field_too_large(max_size)
                        if not segment:
                            continue
                        form.add(*self._decode_pair(segment, charset))
                        if pacer.item_done():
                            await asyncio.sleep(0)
                else:
                    pending += piece
                if max_size is not None and len(pending) > max_size:
                    raise _field_too_large(max_size)
                if pacer.data_done(len(piece)):
                    await asyncio.sleep(0)

        if pending:
            segments_seen += 1
            if max_parts is not None and segments_seen > max_parts:
                raise RequestEntityTooLarge(f"The form has more than {max_parts} fields.")
            form.add(*self._decode_pair(bytes(pending), charset))
        return self._finish(form), self.cls()

    def _decode_pair(self, segment: bytes, charset: str) -> tuple[str, str]:
        """Split one urlencoded segment on its first ``=`` and decode both halves.

        :param segment: a non-empty ``name=value`` (or bare ``name``) segment.
        :param charset: the charset applied after %-decoding.
        """
        name, _, value = segment.partition(b"=")
        return (
            self._decode(unquote_to_bytes(name.replace(b"+", b" ")), charset),
            self._decode(unquote_to_bytes(value.replace(b"+", b" ")), charset),
        )

    def parses_at_once(self, data: bytes) -> bool:
        """Whether :meth:`parse_urlencoded_data` parses ``data`` (rather than return ``None``)."""
        return (
            len(data) <= URLENCODED_AT_ONCE_LIMIT and data.count(b"&") < URLENCODED_AT_ONCE_SEGMENTS
        )

    def parse_urlencoded_data(self, data: bytes, options: dict[str, str]) -> _FormResult | None:
        """Parse a complete urlencoded body in one synchronous call, if it is small.

        The result, and the error raised for a body over a limit or that
        cannot be decoded, are those of :meth:`parse` given the same body; only
        the pauses for the event loop are left out, which is why the body must
        be small.

        :param data: the whole body.
        :param options: the content type parameters (``charset``).
        :return: ``(form, files)`` as :meth:`parse` returns them, or ``None``
            when ``data`` has more than :data:`URLENCODED_AT_ONCE_LIMIT` bytes
            or more than :data:`URLENCODED_AT_ONCE_SEGMENTS` segments: parse
            it with :meth:`parse` then.
        :raises werkzeug.exceptions.BadRequest: the body cannot be decoded.
        :raises werkzeug.exceptions.RequestEntityTooLarge: a part limit or the
            field memory limit was exceeded.
        """
        if not self.parses_at_once(data):
            return None
        if not data:
            return self._from_pairs([]), self.cls()
        charset = self._charset_for(options.get("charset"))
        if data.isascii() and _ascii_transparent(charset):
            form = self._parse_ascii(data.decode("ascii"), charset)
            if form is not None:
                return form, self.cls()
        # What _parse_urlencoded does with a body that is a single slice, in
        # the same order: count the finished segments, check and add them one
        # by one, check the last (unfinished) segment, then count and add it.
        segments = data.split(b"&")
        last = segments.pop()
        seen = len(segments)
        max_size = self.max_form_memory_size
        max_parts = self.max_form_parts
        if seen and max_parts is not None and seen > max_parts:
            raise RequestEntityTooLarge(f"The form has more than {max_parts} fields.")
        errors = self.errors
        pairs: list[tuple[str, str]] = []
        add = pairs.append
        try:
            for segment in segments:
                if max_size is not None and len(segment) > max_size:
                    raise _field_too_large(max_size)
                if segment:
                    add(_decode_segment(segment, charset, errors))
            if max_size is not None and len(last) > max_size:
                raise _field_too_large(max_size)
            if last:
                if max_parts is not None and seen + 1 > max_parts:
                    raise RequestEntityTooLarge(f"The form has more than {max_parts} fields.")
                add(_decode_segment(last, charset, errors))
        except UnicodeError as exc:
            raise BadRequest(f"The form data could not be decoded as {charset}.") from exc
        return self._from_pairs(pairs), self.cls()

    def _parse_ascii(self, text: str, charset: str) -> MultiDict[str, t.Any] | None:
        """Parse an ASCII body whose charset decodes ASCII bytes as themselves.

        The fast path of :meth:`parse_urlencoded_data`. Every byte is a
        character, so the body is decoded once, split and partitioned as text:
        no field can fail to decode except through a ``%`` escape, and the
        encoded length of a segment is its length as text.

        :param text: the body, decoded as ASCII.
        :param charset: a charset for which :func:`_ascii_transparent` holds,
            applied to the bytes of ``%`` escapes.
        :return: the form, or ``None`` if a limit is exceeded: the general path
            then raises the error it would raise.
        """
        if "+" in text:
            text = text.replace("+", " ")
        segments = text.split("&")
        max_parts = self.max_form_parts
        if max_parts is not None:
            # A final empty segment (after a trailing "&") is not counted.
            counted = len(segments) if segments[-1] else len(segments) - 1
            if counted > max_parts:
                return None
        max_size = self.max_form_memory_size
        if max_size is not None and max(map(len, segments)) > max_size:
            return None
        if "%" not in text:
            return self._from_items([segment.partition("=") for segment in segments if segment])
        errors = self.errors
        items: list[tuple[str, str, str]] = []
        add = items.append
        try:
            for segment in segments:
                if segment:
                    name, equals, value = segment.partition("=")
                    if "%" in name:
                        name = unquote_to_bytes(name).decode(charset, errors)
                    if "%" in value:
                        value = unquote_to_bytes(value).decode(charset, errors)
                    add((name, equals, value))
        except UnicodeError as exc:
            raise BadRequest(f"The form data could not be decoded as {charset}.") from exc
        return self._from_items(items)

    def _from_pairs(self, pairs: list[tuple[str, str]]) -> MultiDict[str, t.Any]:
        """Return the parsed ``(name, value)`` pairs as the configured multidict class.

        The same result as adding them one by one to a :class:`MultiDict` and
        calling :meth:`_finish`.

        :param pairs: the parsed items, in order.
        """
        return self._from_items([(name, "", value) for name, value in pairs])

    def _from_items(self, items: list[tuple[str, str, str]]) -> MultiDict[str, t.Any]:
        """Return ``(name, _, value)`` items as the configured multidict class.

        The same result as :meth:`_from_pairs` given the ``(name, value)``
        pairs. A :class:`MultiDict` (or :class:`ImmutableMultiDict`) is a dict
        of lists of values, in the order of their keys' first occurrence:
        werkzeug's own classes are filled in directly, without the per-item
        work of their constructor.

        :param items: the parsed items, in order, as :meth:`str.partition`
            gives them (the middle element is ignored).
        """
        lists = {name: [value] for name, _, value in items}
        if len(lists) != len(items):
            # Repeated names: collect their values in order.
            lists = {}
            for name, _, value in items:
                values = lists.get(name)
                if values is None:
                    lists[name] = [value]
                else:
                    values.append(value)
        cls = self.cls
        if cls is MultiDict or cls is ImmutableMultiDict:
            form = cls.__new__(cls)
            dict.__init__(form, lists)
            return form
        return self._finish(MultiDict(lists))


async def parse_form_data(
    body: cabc.AsyncIterable[bytes],
    mimetype: str,
    options: dict[str, str],
    **limits: t.Unpack[FormParserOptions],
) -> _FormResult:
    """Parse a form body with a :class:`FormDataParser` built from ``limits``.

    :param body: the request body as an async iterable of byte chunks.
    :param mimetype: the content type without parameters.
    :param options: the content type parameters.
    :param limits: keyword arguments for :class:`FormDataParser`.
    :return: ``(form, files)``, see :meth:`FormDataParser.parse`.
    """
    return await FormDataParser(**limits).parse(body, mimetype, options)


def _decode_segment(segment: bytes, charset: str, errors: str) -> tuple[str, str]:
    """Split one urlencoded segment on its first ``=`` and decode both halves.

    As :meth:`FormDataParser._decode_pair`, but a decoding error is left to the
    caller; ``%``-decoding is skipped where there is no ``%``, which gives the
    same bytes.

    :param segment: a non-empty ``name=value`` (or bare ``name``) segment.
    :param charset: the charset applied after %-decoding.
    :param errors: the codec error handler.
    """
    name, _, value = segment.partition(b"=")
    name = name.replace(b"+", b" ")
    if b"%" in name:
        name = unquote_to_bytes(name)
    value = value.replace(b"+", b" ")
    if b"%" in value:
        value = unquote_to_bytes(value)
    return name.decode(charset, errors), value.decode(charset, errors)


@functools.cache
def _codec_names() -> frozenset[str]:
    """Return the normalised names that the standard codec search can resolve."""
    names = {module.name for module in pkgutil.iter_modules(encodings.__path__)}
    names.update(encodings.aliases.aliases)
    return frozenset(names)


def _text_codec_name(name: str) -> str | None:
    """Return the normalised name of the text codec ``name`` refers to, if any.

    Charsets come from the client, and the codec registry caches every name it
    is asked about, found or not. So only names from the fixed set of the
    standard library's codecs (after the registry's own normalisation) are
    ever looked up, and always in their normalised form.

    :param name: a charset name, possibly unknown or malformed.
    :return: ``None`` for unknown names, bytes-to-bytes codecs (``base64``,
        ``rot13``) and codecs that refuse ordinary input (``undefined``).
    """
    normalized = encodings.normalize_encoding(name.lower())
    if normalized not in _codec_names():
        return None
    return normalized if _is_text_codec(normalized) else None


@functools.lru_cache(maxsize=16)
def _parser_codec_name(name: str) -> str | None:
    """:func:`_text_codec_name` for the parser's own charset (set by the app, not the client).

    :param name: the ``charset`` given to :class:`FormDataParser`.
    """
    return _text_codec_name(name)


@functools.cache
def _is_text_codec(normalized: str) -> bool:
    """Tell whether the codec named ``normalized`` can decode bytes to text.

    :param normalized: a name from :func:`_codec_names`.
    """
    try:
        # An empty input would not even look the codec up.
        b"\x00\x00\x00\x00".decode(normalized)
    except (LookupError, ValueError):
        return False
    return True


#: The codecs (by their :func:`codecs.lookup` name) that decode each ASCII byte
#: as the same character, whatever comes before or after it: UTF-8 and
#: single-byte ASCII supersets. For these, an ASCII body decodes the same as
#: a whole as segment by segment, and cannot fail to decode.
_ASCII_TRANSPARENT_CODECS = frozenset(
    {"ascii", "utf-8"}
    | {f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))}
    | {f"cp{n}" for n in range(1250, 1259)}
)


@functools.cache
def _ascii_transparent(normalized: str) -> bool:
    """Tell whether the codec named ``normalized`` decodes ASCII bytes as themselves.

    :param normalized: a codec name as :func:`_text_codec_name` returns it.
    """
    return codecs.lookup(normalized).name in _ASCII_TRANSPARENT_CODECS
