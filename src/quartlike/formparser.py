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
import io
import pkgutil
import tempfile
import threading
import typing as t
from urllib.parse import unquote_to_bytes

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import Headers
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data
from werkzeug.sansio.multipart import Epilogue
from werkzeug.sansio.multipart import Field
from werkzeug.sansio.multipart import File
from werkzeug.sansio.multipart import MultipartDecoder
from werkzeug.sansio.multipart import NeedData
from werkzeug.sansio.multipart import State

__all__ = [
    "URLENCODED_AT_ONCE_LIMIT",
    "URLENCODED_AT_ONCE_SEGMENTS",
    "FormDataParser",
    "FormParserOptions",
    "parse_form_data",
]

#: Largest slice of body data handled between two checks of the event loop.
_SLICE_SIZE = 64 * 1024
#: Largest urlencoded body :meth:`FormDataParser.parse_urlencoded_data` parses
#: in one go (one slice of the incremental parser, so the results are the same).
URLENCODED_AT_ONCE_LIMIT = _SLICE_SIZE
#: Most ``&``-separated segments parsed in one go: more are parsed
#: incrementally, pausing for the event loop (only reached when
#: ``max_form_parts`` is above it or ``None``).
URLENCODED_AT_ONCE_SEGMENTS = 1024
#: Yield to the event loop after this many decoded fields or multipart events.
_YIELD_EVERY_ITEMS = 128
#: Bytes of a spooled upload collected in memory before one write to disk.
_WRITE_BATCH_SIZE = 64 * 1024
#: Longest multipart boundary accepted (RFC 2046 says 70; some clients use more).
_MAX_BOUNDARY_LENGTH = 200
#: Room for the line breaks and the transport padding (spaces and tabs) of a
#: multipart delimiter line, beyond the delimiter itself.
_DELIMITER_LINE_SLACK = 70

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"

_FormResult: t.TypeAlias = tuple[MultiDict[str, str], MultiDict[str, FileStorage]]


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
        if len(data) > URLENCODED_AT_ONCE_LIMIT or data.count(b"&") >= URLENCODED_AT_ONCE_SEGMENTS:
            return None
        if not data:
            return self._from_pairs([]), self.cls()
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
        charset = self._charset_for(options.get("charset"))
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

    def _from_pairs(self, pairs: list[tuple[str, str]]) -> MultiDict[str, t.Any]:
        """Return the parsed ``(name, value)`` pairs as the configured multidict class.

        The same result as adding them one by one to a :class:`MultiDict` and
        calling :meth:`_finish`, built directly for werkzeug's own classes.

        :param pairs: the parsed items, in order.
        """
        if self.cls is MultiDict or self.cls is ImmutableMultiDict:
            return self.cls(pairs)
        return self._finish(MultiDict(pairs))


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


def _field_too_large(limit: int) -> RequestEntityTooLarge:
    """Build the 413 raised for a form field over the memory limit.

    :param limit: the configured ``max_form_memory_size``.
    """
    return RequestEntityTooLarge(f"A form field is larger than {limit} bytes.")


def _boundary_from(options: dict[str, str]) -> bytes:
    """Return the multipart boundary from the content type parameters, or raise a 400.

    :param options: the content type parameters of the request.
    """
    boundary = options.get("boundary", "")
    if not boundary:
        raise BadRequest("The multipart/form-data Content-Type header has no boundary parameter.")
    if (
        len(boundary) > _MAX_BOUNDARY_LENGTH
        or boundary.endswith(" ")
        or any(not " " <= char <= "~" for char in boundary)
    ):
        raise BadRequest("The multipart/form-data boundary is invalid.")
    return boundary.encode("ascii")


def _feedable_length(data: bytes | bytearray, delimiter: bytes) -> int:
    """Return how much of ``data`` can be handed to the multipart decoder now.

    Werkzeug's :class:`~werkzeug.sansio.multipart.MultipartDecoder` (3.1.x)
    mis-parses data that stops inside a delimiter line: given
    ``"\\r\\n--boundary-"`` or ``"\\r\\n--boundary "`` it emits the line
    break as part data, and right after a part's headers it consumes the line
    break of ``"\\r\\n--bou"`` (or of a complete ``"\\r\\n--boundary"``)
    and then never recognises that delimiter. On a network, chunks end
    anywhere, so the reader never lets the decoder's data end inside a
    delimiter line (from its leading line break to the line break after it).
    What is held back is at most one delimiter line; it is handed over once
    more data arrives, or at the end of the body.

    :param data: body bytes not yet given to the decoder.
    :param delimiter: ``b"--" + boundary``.
    """
    window = len(delimiter) + _DELIMITER_LINE_SLACK
    end = len(data)
    while True:
        position = max(0, end - window)
        cut = end
        while position < end:
            line_break = _find_line_break(data, position, end)
            if line_break < 0:
                break
            if line_break < end < _delimiter_line_end(data, line_break, delimiter):
                cut = line_break
                break
            position = line_break + 1
        if cut == end:
            break
        if len(data) - cut > 2 * window:
            # Only a malformed body chains delimiter lines this far; do not
            # buffer it without bound, let the decoder reject it.
            return len(data)
        end = cut
    return end


def _find_line_break(data: bytes | bytearray, start: int, end: int) -> int:
    """Return the offset of the first CR or LF in ``data[start:end]``, or -1.

    :param data: the bytes to search.
    :param start: where the search starts.
    :param end: where the search stops.
    """
    found = [i for i in (data.find(b"\r", start, end), data.find(b"\n", start, end)) if i >= 0]
    return min(found, default=-1)


def _delimiter_line_end(data: bytes | bytearray, line_break: int, delimiter: bytes) -> int:
    """Return where the delimiter line starting at ``line_break`` ends.

    :param data: the body bytes at hand.
    :param line_break: the offset of a CR or LF in ``data``.
    :param delimiter: ``b"--" + boundary``.
    :return: the offset after the line (after ``--`` for the closing one),
        ``len(data) + 1`` if the data at hand cannot tell yet, or -1 if this
        is not a delimiter line.
    """
    undecided = len(data) + 1
    start = line_break + (2 if data.startswith(b"\r\n", line_break) else 1)
    seen = bytes(data[start : start + len(delimiter)])
    if seen != delimiter:
        return undecided if delimiter.startswith(seen) and len(seen) == len(data) - start else -1
    index = start + len(delimiter)
    if index == len(data):
        return undecided
    if data[index] == 0x2D:  # "-": the closing delimiter needs "--"
        if index + 1 == len(data):
            return undecided
        return index + 2 if data[index + 1] == 0x2D else -1
    padding_end = index
    while padding_end < len(data) and data[padding_end] in b" \t":
        padding_end += 1
        if padding_end - index > _DELIMITER_LINE_SLACK:
            return -1
    if padding_end == len(data):
        return undecided
    if data[padding_end] == 0x0A:
        return padding_end + 1
    if data[padding_end] == 0x0D:
        if padding_end + 1 == len(data):
            return undecided
        return padding_end + (2 if data[padding_end + 1] == 0x0A else 1)
    return -1


class _Pacer:
    """Count the work done since the last pause and tell when to yield to the loop."""

    def __init__(self) -> None:
        self._bytes = 0
        self._items = 0

    def data_done(self, size: int) -> bool:
        """Record ``size`` bytes handled; return whether it is time to yield.

        :param size: the number of bytes just handled.
        """
        self._bytes += size
        return self._due()

    def item_done(self) -> bool:
        """Record one field or event handled; return whether it is time to yield."""
        self._items += 1
        return self._due()

    def _due(self) -> bool:
        if self._bytes >= _SLICE_SIZE or self._items >= _YIELD_EVERY_ITEMS:
            self._bytes = self._items = 0
            return True
        return False


class _TempFiles:
    """The temporary files of one parse, so that a failure can close them all.

    :meth:`create` and :meth:`write` run in executor threads; a lock keeps
    :meth:`close_all` from racing a write in progress, and a file created
    after :meth:`close_all` (its task was cancelled meanwhile) is closed at
    once instead of leaking.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: list[t.IO[bytes]] = []
        self._closed = False

    def create(self) -> t.IO[bytes]:
        """Create an anonymous temporary file (blocking; call from a worker thread)."""
        file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 (outlives this call)
        with self._lock:
            if not self._closed:
                self._files.append(file)
                return file
        file.close()
        return file

    def write(self, file: t.IO[bytes], data: bytes, rewind: bool) -> None:
        """Append ``data`` to ``file`` (blocking; call from a worker thread).

        :param file: a file returned by :meth:`create`.
        :param data: the bytes to append.
        :param rewind: flush and seek back to the start afterwards.
        """
        with self._lock:
            if self._closed:
                return
            file.write(data)
            if rewind:
                file.flush()
                file.seek(0)

    def close_all(self) -> None:
        """Close every file created so far and any created later."""
        with self._lock:
            self._closed = True
            files, self._files = self._files, []
        for file in files:
            file.close()


class _Upload:
    """The content of one uploaded file, in memory until it outgrows the threshold.

    :param threshold: the largest size kept in memory.
    :param temp_files: where the temporary file is created, if one is needed.
    """

    def __init__(self, threshold: int, temp_files: _TempFiles) -> None:
        self._threshold = threshold
        self._temp_files = temp_files
        self._memory = io.BytesIO()
        self._disk: t.IO[bytes] | None = None
        self._unwritten = bytearray()
        self._size = 0

    async def write(self, data: bytes) -> None:
        """Append ``data``, moving the content to disk once past the threshold.

        :param data: the next bytes of the file.
        """
        if not data:
            return
        self._size += len(data)
        if self._disk is None:
            if self._size <= self._threshold:
                self._memory.write(data)
                return
            loop = asyncio.get_running_loop()
            self._disk = await loop.run_in_executor(None, self._temp_files.create)
            self._unwritten += self._memory.getbuffer()
            self._memory = io.BytesIO()
        self._unwritten += data
        if len(self._unwritten) >= _WRITE_BATCH_SIZE:
            await self._flush(rewind=False)

    async def finish(self) -> t.IO[bytes]:
        """Write what is left, rewind, and return the stream holding the content."""
        if self._disk is None:
            self._memory.seek(0)
            return self._memory
        await self._flush(rewind=True)
        return self._disk

    async def _flush(self, rewind: bool) -> None:
        """Write the collected bytes to the temporary file in the executor.

        :param rewind: seek the file back to the start afterwards.
        """
        assert self._disk is not None
        data = bytes(self._unwritten)
        self._unwritten.clear()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._temp_files.write, self._disk, data, rewind)


class _MultipartReader:
    """The state of one multipart parse: the decoder, the current part and the results.

    :param parser: the parser whose limits and settings apply.
    :param boundary: the validated boundary.
    """

    def __init__(self, parser: FormDataParser, boundary: bytes) -> None:
        self._parser = parser
        self._decoder = MultipartDecoder(boundary, parser.max_form_memory_size)
        self._delimiter = b"--" + boundary
        self._held = bytearray()  # body data not yet safe to hand to the decoder
        self._temp_files = _TempFiles()
        self._fields: MultiDict[str, str] = MultiDict()
        self._files: MultiDict[str, FileStorage] = MultiDict()
        self._part: Field | File | None = None
        self._field_data = bytearray()
        self._upload: _Upload | None = None
        self._parts_seen = 0
        self._pacer = _Pacer()
        self._complete = False
        limit = parser.max_form_memory_size
        # The decoder refuses data once its buffer would exceed the limit, and
        # the buffer holds what it is given plus the unfinished tail of the
        # previous data (a partial delimiter, a held-back delimiter line): keep
        # slices small enough that ordinary file data never trips it.
        if limit is None:
            self._slice_size = _SLICE_SIZE
        else:
            slack = len(self._delimiter) + _DELIMITER_LINE_SLACK
            self._slice_size = max(1, min(_SLICE_SIZE, limit // 2 - 2 * slack))

    async def read(self, body: cabc.AsyncIterable[bytes]) -> _FormResult:
        """Consume ``body`` and return ``(form, files)``.

        :param body: the request body as an async iterable of byte chunks.
        """
        try:
            received = 0
            async for chunk in body:
                received += len(chunk)
                for start in range(0, len(chunk), self._slice_size):
                    if self._decoder.state is State.EPILOGUE:
                        # After the closing delimiter: drain the body, keep nothing.
                        self._held.clear()
                        break
                    piece = chunk[start : start + self._slice_size]
                    self._held += piece
                    ready = _feedable_length(self._held, self._delimiter)
                    if ready:
                        self._receive(bytes(self._held[:ready]))
                        del self._held[:ready]
                        await self._process_events(final=False)
                    if self._pacer.data_done(len(piece)):
                        await asyncio.sleep(0)
            if received == 0:
                # A body-less request with a multipart content type: no form.
                return self._parser.cls(), self._parser.cls()
            if self._held:
                self._receive(bytes(self._held))
                self._held.clear()
                await self._process_events(final=False)
            self._receive(None)
            await self._process_events(final=True)
        except BaseException:
            self._temp_files.close_all()
            raise
        return self._parser._finish(self._fields), self._parser._finish(self._files)

    def _receive(self, data: bytes | None) -> None:
        """Hand data (or the end of the stream) to the decoder.

        :param data: the next slice of the body, or ``None`` at its end.
        """
        try:
            self._decoder.receive_data(data)
        except RequestEntityTooLarge:
            # Part headers (or a preamble) that never end also fill the buffer.
            limit = self._parser.max_form_memory_size
            raise RequestEntityTooLarge(
                f"A form field or part header is larger than {limit} bytes."
            ) from None

    async def _process_events(self, final: bool) -> None:
        """Handle the decoder's events until it needs more data.

        :param final: the whole body has been given to the decoder.
        """
        while not self._complete:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:
                if final:
                    raise BadRequest(
                        "The multipart/form-data body is malformed or ends before its"
                        " closing boundary."
                    ) from exc
                raise BadRequest("The multipart/form-data body is malformed.") from exc
            if isinstance(event, NeedData):
                return
            if isinstance(event, Epilogue):
                self._complete = True
                return
            if isinstance(event, Field | File):
                self._start_part(event)
            elif isinstance(event, Data):
                await self._part_data(event)
            if self._pacer.item_done():
                await asyncio.sleep(0)

    def _start_part(self, event: Field | File) -> None:
        """Begin collecting a new field or file.

        :param event: the decoder's event announcing the part.
        """
        self._parts_seen += 1
        max_parts = self._parser.max_form_parts
        if max_parts is not None and self._parts_seen > max_parts:
            raise RequestEntityTooLarge(f"The form has more than {max_parts} parts.")
        if event.name is None:
            # The decoder reports a Content-Disposition without a name as None.
            raise BadRequest("A multipart/form-data part has no name.")
        self._part = event
        if isinstance(event, File):
            self._upload = _Upload(self._parser.spool_threshold, self._temp_files)
        else:
            self._field_data = bytearray()

    async def _part_data(self, event: Data) -> None:
        """Add data to the current part and store the part once it is complete.

        :param event: the decoder's data event.
        """
        part = self._part
        if isinstance(part, File):
            assert self._upload is not None
            await self._upload.write(event.data)
            if not event.more_data:
                stream = await self._upload.finish()
                self._upload = None
                self._files.add(part.name, _file_storage(stream, part))
        elif isinstance(part, Field):
            limit = self._parser.max_form_memory_size
            if limit is not None and len(self._field_data) + len(event.data) > limit:
                raise _field_too_large(limit)
            self._field_data += event.data
            if not event.more_data:
                content_type = part.headers.get("content-type")
                declared = None
                if content_type:
                    declared = parse_options_header(content_type)[1].get("charset")
                charset = self._parser._charset_for(declared)
                value = self._parser._decode(bytes(self._field_data), charset)
                self._field_data = bytearray()
                self._fields.add(part.name, value)
        else:
            raise BadRequest("The multipart/form-data body is malformed.")


def _file_storage(stream: t.IO[bytes], part: File) -> FileStorage:
    """Wrap an upload's content and headers in a :class:`FileStorage`.

    :param stream: the rewound stream holding the content.
    :param part: the decoder's event for the file part.
    """
    headers: Headers = part.headers
    declared_length = headers.get("content-length", "").strip()
    return FileStorage(
        stream,
        part.filename,
        part.name,
        headers.get("content-type"),
        int(declared_length) if declared_length.isascii() and declared_length.isdigit() else None,
        headers,
    )
