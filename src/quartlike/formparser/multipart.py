"""Multipart bodies: Werkzeug's sans-IO decoder, driven safely, with uploads spooled off the loop.

See :mod:`quartlike.formparser` for the behaviour; this module holds the
machinery: the boundary check, the guard against Werkzeug's decoder being fed
data that stops inside a delimiter line (:func:`_feedable_length`), and the
temporary files of uploads, created and written in the default executor.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import io
import tempfile
import threading
import typing as t

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import Headers
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

from ._shared import _SLICE_SIZE
from ._shared import _field_too_large
from ._shared import _FormResult
from ._shared import _Pacer

if t.TYPE_CHECKING:
    from . import FormDataParser

#: Bytes of a spooled upload collected in memory before one write to disk.
_WRITE_BATCH_SIZE = 64 * 1024
#: Longest multipart boundary accepted (RFC 2046 says 70; some clients use more).
_MAX_BOUNDARY_LENGTH = 200
#: Room for the line breaks and the transport padding (spaces and tabs) of a
#: multipart delimiter line, beyond the delimiter itself.
_DELIMITER_LINE_SLACK = 70


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
