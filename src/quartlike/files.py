"""Serving files: :func:`send_file`, :func:`send_from_directory` and the file bodies.

A file is never read on the event loop. A file on disk becomes a
:class:`FileBody`, which opens it only when the response is sent and reads
it in chunks with :mod:`aiofiles` (in a worker thread). An open binary file
object becomes an :class:`IOBody`: a :class:`io.BytesIO` is read directly
(it is already in memory), any other file object in the loop's thread pool.
Both bodies know their length when it can be found out, so ``Range``
requests get ``206 Partial Content`` and ``HEAD`` gets ``Content-Length``.

This module imports neither :mod:`asyncio` nor :mod:`aiofiles` when it is
imported: both are loaded on first use.
"""

from __future__ import annotations

import collections.abc as cabc
import io
import mimetypes
import os
import stat
import time
import typing as t
import unicodedata
import zlib
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote

from werkzeug.datastructures import Headers
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.security import safe_join as _wz_safe_join

from .globals import current_app
from .globals import request
from .wrappers.response import ResponseBody

if t.TYPE_CHECKING:
    import asyncio

    from aiofiles.threadpool.binary import AsyncBufferedReader

    from .wrappers.response import Response

__all__ = [
    "CHUNK_SIZE",
    "AsyncFile",
    "FileBody",
    "IOBody",
    "safe_join",
    "send_file",
    "send_from_directory",
]

F = t.TypeVar("F")

#: Bytes read from a file per chunk of the response body.
CHUNK_SIZE = 64 * 1024

MaxAge = int | timedelta | cabc.Callable[[str | None], int | timedelta | None] | None

# Characters RFC 5987 allows unencoded in an ``ext-value`` (``attr-char``),
# besides letters and digits.
_ATTR_CHARS = "!#$&+-.^_`|~"


class FileBody(ResponseBody):
    """A body streamed from a file on disk.

    The file is opened (with :mod:`aiofiles`) when the body is first
    iterated, read ``buffer_size`` bytes at a time in a worker thread, and
    closed when the body ends, when iteration stops early (a client that goes
    away) or on :meth:`aclose`, whichever comes first. A body that is never
    iterated (the answer to ``HEAD``, a 304) never opens the file.

    :param path: the file to send.
    :param size: the file's size in bytes; at most this many bytes are sent,
        so a file that grows while it is sent does not overrun
        ``Content-Length``.
    :param buffer_size: the size of each chunk.
    """

    supports_ranges = True

    def __init__(
        self, path: str | os.PathLike[str], size: int, *, buffer_size: int = CHUNK_SIZE
    ) -> None:
        if size < 0:
            raise ValueError("A file's size cannot be negative.")
        if buffer_size < 1:
            raise ValueError("'buffer_size' must be at least 1.")
        self.path = os.fspath(path)
        self.buffer_size = buffer_size
        self.begin = 0
        self.end = size
        self._file: AsyncBufferedReader | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} [{self.begin}:{self.end}]>"

    @property
    def length(self) -> int:  # type: ignore[override]
        return self.end - self.begin

    def make_range(self, begin: int, end: int) -> None:
        """Restrict the body to its bytes ``[begin, end)`` (relative to the current body)."""
        self.begin, self.end = _sub_range(self.begin, self.end, begin, end)

    async def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        if self._file is not None:
            raise RuntimeError("This file body is already being sent.")
        self._file = file = await _open_binary(self.path)
        try:
            if self.begin:
                await file.seek(self.begin)
            remaining = self.length
            while remaining > 0:
                chunk = await file.read(min(self.buffer_size, remaining))
                if not chunk:
                    break  # the file shrank since it was measured
                remaining -= len(chunk)
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the file if it is open."""
        file, self._file = self._file, None
        if file is not None:
            await file.close()


class IOBody(ResponseBody):
    """A body read from an open binary file object (``io.BytesIO``, ``open(..., "rb")``).

    The body starts at the file's position when the body is made. A
    :class:`io.BytesIO` is read directly; any other file object is read (and
    seeked, and closed) in the loop's thread pool. The file object is closed
    when the body ends or on :meth:`aclose`, as Flask does.

    :param file: the file object, opened in binary mode.
    :param size: the number of bytes from the current position to the end,
        if known; byte ranges are served only when it is known and the file
        is seekable.
    :param buffer_size: the size of each chunk.
    """

    def __init__(
        self, file: t.IO[bytes], size: int | None = None, *, buffer_size: int = CHUNK_SIZE
    ) -> None:
        if buffer_size < 1:
            raise ValueError("'buffer_size' must be at least 1.")
        self.file = file
        self.in_memory = isinstance(file, io.BytesIO)
        self.buffer_size = buffer_size
        self.begin = 0
        self.end = size
        self._started = False
        self._sent = 0
        self._closed = False

    @property
    def length(self) -> int | None:  # type: ignore[override]
        if self.end is None:
            return None
        return self.end - self.begin

    @property
    def supports_ranges(self) -> bool:  # type: ignore[override]
        return self.end is not None and _seekable(self.file)

    def make_range(self, begin: int, end: int) -> None:
        """Restrict the body to its bytes ``[begin, end)`` (relative to the current body)."""
        if self.end is None or not _seekable(self.file):
            raise TypeError("This file object's size is unknown or it cannot seek.")
        self.begin, self.end = _sub_range(self.begin, self.end, begin, end)

    async def __aiter__(self) -> cabc.AsyncIterator[bytes]:
        try:
            if self.in_memory:
                read = self._read_step
                while (chunk := read()) is not None:
                    yield chunk
            else:
                import asyncio

                loop = asyncio.get_running_loop()
                while (chunk := await loop.run_in_executor(None, self._read_step)) is not None:
                    yield chunk
        finally:
            await self.aclose()

    def _read_step(self) -> bytes | None:
        """Read the next chunk (blocking); ``None`` at the end of the body."""
        file = self.file
        if not self._started:
            # The first read: skip to the start of the range.
            self._started = True
            if self.begin:
                file.seek(self.begin, io.SEEK_CUR)
        size = self.buffer_size
        if self.end is not None:
            size = min(size, self.end - self.begin - self._sent)
            if size <= 0:
                return None
        chunk = file.read(size)
        if not chunk:
            return None
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(
                f"The file object returned {type(chunk).__name__} from read(); send_file"
                " needs a file opened in binary mode or an io.BytesIO."
            )
        self._sent += len(chunk)
        return bytes(chunk)

    async def aclose(self) -> None:
        """Close the file object (in the thread pool unless it is in memory)."""
        if self._closed:
            return
        self._closed = True
        if self.in_memory:
            self.file.close()
        else:
            import asyncio

            await asyncio.get_running_loop().run_in_executor(None, self.file.close)


class AsyncFile(t.Generic[F]):
    """An open :mod:`aiofiles` file that is also an async context manager.

    What ``open_resource`` and ``open_instance_resource`` return. Attribute
    access goes to the file (``await f.read()``, ``async for line in f``,
    ``await f.close()``); ``async with`` hands out the file and closes it at
    the end of the block.
    """

    __slots__ = ("file",)

    def __init__(self, file: F) -> None:
        self.file = file

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.file, name)

    def __aiter__(self) -> t.Any:
        return aiter(t.cast(t.Any, self.file))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.file!r}>"

    async def __aenter__(self) -> F:
        return self.file

    async def __aexit__(self, *exc_info: object) -> None:
        await self.file.close()  # type: ignore[attr-defined]


async def open_async(path: str, mode: str, encoding: str | None) -> AsyncFile[t.Any]:
    """Open ``path`` with aiofiles (``encoding`` is ignored in binary modes)."""
    import aiofiles

    if "b" in mode:
        file = await aiofiles.open(path, mode)  # type: ignore[call-overload]
    else:
        file = await aiofiles.open(path, mode, encoding=encoding)  # type: ignore[call-overload]
    return AsyncFile(file)


#: Tasks closing files whose opening was abandoned, referenced until they finish.
_closing: set[asyncio.Task[None]] = set()


async def _open_binary(path: str) -> AsyncBufferedReader:
    """Open ``path`` for reading with aiofiles, never leaving the file behind.

    The file is opened in a worker thread, which finishes its work even when
    the awaiting task is cancelled (the client left): the file is then closed
    as soon as it is open, instead of waiting for the garbage collector.
    """
    import asyncio

    import aiofiles

    opening = asyncio.ensure_future(aiofiles.open(path, "rb"))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_abandoned)
        raise


def _close_abandoned(opening: asyncio.Future[AsyncBufferedReader]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    import asyncio

    task = asyncio.ensure_future(opening.result().close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


def _seekable(file: t.IO[bytes]) -> bool:
    seekable = getattr(file, "seekable", None)
    try:
        return bool(seekable()) if seekable is not None else False
    except (OSError, ValueError):
        return False


def _sub_range(current_begin: int, current_end: int, begin: int, end: int) -> tuple[int, int]:
    length = current_end - current_begin
    if not 0 <= begin <= end:
        raise ValueError(f"Invalid byte range [{begin}, {end}).")
    return current_begin + min(begin, length), current_begin + min(end, length)


def _remaining_size(file: t.IO[bytes]) -> int | None:
    """Bytes from the file's position to its end, if that can be known (blocking)."""
    if isinstance(file, io.BytesIO):
        return file.getbuffer().nbytes - file.tell()
    try:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or not _seekable(file):
            return None
        return max(info.st_size - file.tell(), 0)
    except (AttributeError, OSError, ValueError):
        return None  # no real file descriptor behind it (a wrapper, a socket, ...)


def safe_join(directory: str | os.PathLike[str], path: str | os.PathLike[str]) -> str | None:
    """Join the untrusted ``path`` to the trusted ``directory``, or ``None`` if unsafe.

    The check is on the name only, as :func:`werkzeug.security.safe_join`
    makes it (no ``..`` segment, no absolute path, no Windows device
    names), plus two more refusals on every platform: null bytes and
    backslashes. Symbolic links inside ``directory`` are followed, as in Flask:
    whoever can create a link in the served folder already decides what it
    serves.
    """
    untrusted = os.fspath(path)
    if "\x00" in untrusted or "\\" in untrusted:
        return None
    return _wz_safe_join(os.fspath(directory), untrusted)


def _content_disposition(headers: Headers, name: str, as_attachment: bool) -> None:
    kind = "attachment" if as_attachment else "inline"
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        # Old clients read ``filename`` (an ASCII approximation), current ones
        # the RFC 5987 ``filename*``.
        fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        encoded = quote(name, safe=_ATTR_CHARS)
        headers.set(
            "Content-Disposition", kind, **{"filename": fallback, "filename*": f"UTF-8''{encoded}"}
        )
    else:
        headers.set("Content-Disposition", kind, filename=name)


def _generate_etag(path: str, info: os.stat_result) -> str:
    """An ETag that changes when the file is modified, resized or moved."""
    checksum = zlib.crc32(os.fsencode(path)) & 0xFFFFFFFF
    return f"{info.st_mtime_ns:x}-{info.st_size:x}-{checksum:08x}"


def _max_age_seconds(max_age: MaxAge, path: str | None) -> int | None:
    value = max_age(path) if callable(max_age) else max_age
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


async def send_file(
    path_or_file: str | os.PathLike[str] | t.IO[bytes],
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> Response:
    """Send a file's contents to the client, streamed in chunks.

    Use :func:`send_from_directory` when any part of the path comes from the
    client: this function does not check paths.

    :param path_or_file: a path (relative paths are relative to the app's
        ``root_path``), or a file object opened in binary mode (an
        :class:`io.BytesIO`, ``open(name, "rb")``), which is closed once
        sent.
    :param mimetype: the Content-Type; guessed from ``download_name`` (or
        the path's file name) when not given, ``application/octet-stream``
        when the name's extension is unknown.
    :param as_attachment: ``Content-Disposition: attachment`` (the browser
        offers to save the file) instead of ``inline``.
    :param download_name: the file name in ``Content-Disposition``; defaults
        to the path's file name. Non-ASCII names are sent as RFC 5987
        ``filename*`` with an ASCII ``filename`` fallback.
    :param conditional: answer ``Range``, ``If-Range``, ``If-None-Match``,
        ``If-Modified-Since`` and ``If-Match`` (206, 416, 304, 412).
    :param etag: ``True`` makes an ETag from the file's mtime, size and path
        (paths only); a string is used as the ETag; ``False`` sends none.
    :param last_modified: the ``Last-Modified`` time; defaults to a path's
        modification time.
    :param max_age: seconds clients may cache the file (``Cache-Control:
        public, max-age=N``), a :class:`~datetime.timedelta`, or a callable
        taking the path (``None`` for file objects) and returning one.
        ``None`` asks the app's ``get_send_file_max_age``, which reads
        ``SEND_FILE_MAX_AGE_DEFAULT``; when that is ``None`` too, the response
        is ``Cache-Control: no-cache``.
    :raises TypeError: if no mimetype is given and there is no name to guess
        it from (a file object without ``download_name``), or if
        ``as_attachment`` is set without a name.
    :raises ValueError: for a file object opened in text mode.
    :raises FileNotFoundError: if the path does not exist (a 500, not a
        404: it is the app's path, see :func:`send_from_directory`).

    ``USE_X_SENDFILE`` is not supported: the file is always sent by the app.
    """
    import aiofiles.os

    options: dict[str, t.Any] = {
        "mimetype": mimetype,
        "as_attachment": as_attachment,
        "download_name": download_name,
        "conditional": conditional,
        "etag": etag,
        "last_modified": last_modified,
        "max_age": max_age,
    }
    if isinstance(path_or_file, str | os.PathLike):
        path = os.path.join(current_app.root_path, os.fspath(path_or_file))
        info = await aiofiles.os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(f"Cannot send a directory: {path!r}.")
        return await _send(path, info, None, **options)
    return await _send(None, None, path_or_file, **options)


async def send_from_directory(
    directory: str | os.PathLike[str], path: str | os.PathLike[str], **kwargs: t.Any
) -> Response:
    """Send the file at ``path`` inside ``directory``; 404 for anything else.

    ``path`` may come from the client (a URL segment): a path that is not
    safe to join (``..``, an absolute path, a null byte, a backslash), that
    does not exist, or that is not a regular file (a directory, a FIFO) raises
    :class:`~werkzeug.exceptions.NotFound`. Symbolic links inside
    ``directory`` are followed. A relative ``directory`` is relative to the
    app's ``root_path``.

    :param directory: the folder files are served from (trusted).
    :param path: the file's path within ``directory`` (untrusted).
    :param kwargs: the keyword arguments of :func:`send_file`.
    """
    import aiofiles.os

    joined = safe_join(directory, path)
    if joined is None:
        raise NotFound()
    joined = os.path.join(current_app.root_path, joined)
    try:
        info = await aiofiles.os.stat(joined)
    except (OSError, ValueError):
        raise NotFound() from None
    if not stat.S_ISREG(info.st_mode):
        raise NotFound()
    return await _send(joined, info, None, **kwargs)


async def _send(
    path: str | None,
    info: os.stat_result | None,
    file: t.IO[bytes] | None,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: MaxAge = None,
) -> Response:
    app = current_app
    headers = Headers()
    if download_name is None and path is not None:
        download_name = os.path.basename(path)
    if mimetype is None:
        if download_name is None:
            raise TypeError(
                "Cannot guess the mimetype of a file object without a name: pass"
                " 'mimetype', or 'download_name', or send a path instead."
            )
        mimetype, encoding = mimetypes.guess_type(download_name)
        if mimetype is None:
            mimetype = "application/octet-stream"
        # A browser saving an attachment would otherwise decompress a .tar.gz.
        if encoding is not None and not as_attachment:
            headers["Content-Encoding"] = encoding
    if download_name is not None:
        _content_disposition(headers, download_name, as_attachment)
    elif as_attachment:
        raise TypeError("An attachment needs a file name: pass 'download_name' or send a path.")

    body: ResponseBody
    size: int | None
    if path is not None:
        assert info is not None
        size = info.st_size
        body = FileBody(path, size)
    else:
        assert file is not None
        if isinstance(file, io.TextIOBase):
            raise ValueError("send_file needs a file opened in binary mode, or an io.BytesIO.")
        if isinstance(file, io.BytesIO):
            size = _remaining_size(file)
        else:
            import asyncio

            size = await asyncio.get_running_loop().run_in_executor(None, _remaining_size, file)
        body = IOBody(file, size)

    rv = app.response_class(body, mimetype=mimetype, headers=headers)
    if size is not None:
        rv.content_length = size
    if last_modified is not None:
        rv.last_modified = last_modified  # type: ignore[assignment]
    elif info is not None:
        rv.last_modified = info.st_mtime  # type: ignore[assignment]

    if max_age is None:
        max_age = app.get_send_file_max_age
    seconds = _max_age_seconds(max_age, path)
    rv.cache_control.no_cache = True
    if seconds is not None:
        if seconds > 0:
            rv.cache_control.no_cache = None
            rv.cache_control.public = True
        rv.cache_control.max_age = seconds
        rv.expires = int(time.time() + seconds)  # type: ignore[assignment]

    if isinstance(etag, str):
        rv.set_etag(etag)
    elif etag and path is not None:
        assert info is not None
        rv.set_etag(_generate_etag(path, info))

    if conditional:
        try:
            rv = await rv.make_conditional(request, accept_ranges=True, complete_length=size)
        except RequestedRangeNotSatisfiable:
            await body.aclose()
            raise
    return rv
