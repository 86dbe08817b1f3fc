"""Tests for the incremental form parser (``quartlike.formparser``)."""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import contextlib
import encodings
import io
import os
import random
import tempfile
import threading
import time
import tracemalloc
import typing as t
from urllib.parse import parse_qsl
from urllib.parse import urlencode

import pytest
import werkzeug.formparser
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.test import EnvironBuilder

from quartlike.formparser import FormDataParser
from quartlike.formparser import parse_form_data

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
BOUNDARY = "test-boundary-0123456789"
MP_OPTIONS = {"boundary": BOUNDARY}

# 1 byte and 7 bytes put chunk boundaries everywhere; None sends the body whole.
CHUNK_SIZES = [1, 7, None]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


async def chunked(body: bytes, size: int | None) -> cabc.AsyncIterator[bytes]:
    """Yield ``body`` in chunks of ``size`` bytes (all at once for ``None``)."""
    if size is None:
        if body:
            yield body
        return
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def split_at(body: bytes, cuts: cabc.Iterable[int]) -> cabc.AsyncIterator[bytes]:
    """Yield ``body`` split at the given offsets."""
    previous = 0
    for cut in sorted(set(cuts)):
        if 0 < cut < len(body):
            yield body[previous:cut]
            previous = cut
    yield body[previous:]


async def parse(
    body: bytes | cabc.AsyncIterable[bytes],
    mimetype: str = URLENCODED,
    options: dict[str, str] | None = None,
    chunk_size: int | None = None,
    **limits: t.Any,
) -> tuple[MultiDict[str, str], MultiDict[str, FileStorage]]:
    stream = chunked(body, chunk_size) if isinstance(body, bytes) else body
    return await parse_form_data(stream, mimetype, options or {}, **limits)


def md(pairs: cabc.Iterable[tuple[str, t.Any]]) -> list[tuple[str, t.Any]]:
    """The ``items(multi=True)`` a multidict built from ``pairs`` has.

    A multidict groups the values of a key together, so this is the order to
    compare parse results against.
    """
    return list(MultiDict(list(pairs)).items(multi=True))


def close_files(files: MultiDict[str, FileStorage]) -> None:
    for _key, storage in files.items(multi=True):
        storage.close()


def file_summary(files: MultiDict[str, FileStorage]) -> list[tuple[str, str | None, str, bytes]]:
    """``(field name, filename, content type, content)`` of each file, in order."""
    return [
        (key, storage.filename, storage.content_type, storage.read())
        for key, storage in files.items(multi=True)
    ]


def part(headers: dict[str, str], content: bytes) -> tuple[dict[str, str], bytes]:
    return headers, content


def field_part(
    name: str, value: str | bytes, content_type: str | None = None
) -> tuple[dict[str, str], bytes]:
    headers = {"Content-Disposition": f'form-data; name="{name}"'}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers, value.encode() if isinstance(value, str) else value


def file_part(
    name: str,
    filename: str,
    content: bytes,
    content_type: str = "application/octet-stream",
) -> tuple[dict[str, str], bytes]:
    headers = {
        "Content-Disposition": f'form-data; name="{name}"; filename="{filename}"',
        "Content-Type": content_type,
    }
    return headers, content


def multipart(
    *parts: tuple[dict[str, str], bytes],
    boundary: str = BOUNDARY,
    preamble: bytes = b"",
    epilogue: bytes = b"",
) -> bytes:
    delimiter = b"--" + boundary.encode()
    out = [preamble]
    for headers, content in parts:
        out.append(delimiter + b"\r\n")
        out.extend(f"{key}: {value}\r\n".encode() for key, value in headers.items())
        out.append(b"\r\n" + content + b"\r\n")
    out.append(delimiter + b"--\r\n" + epilogue)
    return b"".join(out)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


needs_proc_fd = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open file descriptors in /proc"
)


async def with_max_loop_gap(
    awaitable: cabc.Awaitable[t.Any],
) -> tuple[t.Any, float]:
    """Await ``awaitable`` while a ticker measures the longest time the loop was held."""
    gaps: list[float] = [0.0]

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await awaitable
        # Let the ticker wake once more, so that a parse that never yielded
        # shows up as one long gap.
        await asyncio.sleep(0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return result, max(gaps)


class Boom(Exception):
    """Raised by a test body iterator."""


# ---------------------------------------------------------------------------
# application/x-www-form-urlencoded
# ---------------------------------------------------------------------------

URLENCODED_BODY = b"a=1&b=2+3&c=%41%2B%26&d=&e&a=again&%E2%9C%93=%C3%A9t%C3%A9&=v&k=%zz&p=%"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_fields(chunk_size: int | None) -> None:
    form, files = await parse(URLENCODED_BODY, chunk_size=chunk_size)
    assert list(form.items(multi=True)) == md(
        [
            ("a", "1"),
            ("b", "2 3"),
            ("c", "A+&"),
            ("d", ""),
            ("e", ""),
            ("a", "again"),
            ("✓", "été"),
            ("", "v"),
            ("k", "%zz"),
            ("p", "%"),
        ]
    )
    assert form.getlist("a") == ["1", "again"]
    assert not files


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_matches_parse_qsl(chunk_size: int | None) -> None:
    form, _ = await parse(URLENCODED_BODY, chunk_size=chunk_size)
    expected = parse_qsl(URLENCODED_BODY.decode(), keep_blank_values=True)
    assert list(form.items(multi=True)) == md(expected)


async def test_urlencoded_semicolon_is_not_a_separator() -> None:
    form, _ = await parse(b"a=1;b=2&c=3")
    assert list(form.items(multi=True)) == [("a", "1;b=2"), ("c", "3")]


async def test_urlencoded_raw_utf8_bytes_are_decoded() -> None:
    form, _ = await parse("ключ=значение".encode())
    assert form["ключ"] == "значение"


async def test_urlencoded_blank_segments_are_skipped() -> None:
    form, _ = await parse(b"&&a=1&&&b&")
    assert list(form.items(multi=True)) == [("a", "1"), ("b", "")]


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_charset_option(chunk_size: int | None) -> None:
    body = b"name=%E9t%E9&raw=\xe9"
    form, _ = await parse(body, options={"charset": "latin-1"}, chunk_size=chunk_size)
    assert form["name"] == "été"
    assert form["raw"] == "é"
    # The same bytes under the default UTF-8 are invalid and replaced.
    form, _ = await parse(body, chunk_size=chunk_size)
    assert form["name"] == "\ufffdt\ufffd"


@pytest.mark.parametrize("charset", ["no-such-charset", "base64", "rot13"])
async def test_urlencoded_unusable_charset_falls_back(charset: str) -> None:
    form, _ = await parse(b"a=%C3%A9", options={"charset": charset})
    assert form["a"] == "é"


async def test_client_charsets_do_not_grow_the_codec_cache() -> None:
    # The codec registry caches every name it is asked about, even unknown
    # ones; names chosen by clients must not reach it unnormalised.
    for warm_up in ("utf-8", "latin-1", "x-unknown"):
        await parse(b"a=1", options={"charset": warm_up})
    before = len(encodings._cache)
    for i in range(50):
        form, _ = await parse(b"a=%C3%A9", options={"charset": f"x-unknown-{i}"})
        assert form["a"] == "é"
        form, _ = await parse(b"a=%E9", options={"charset": "LATIN" + "-" * (i + 1) + "1"})
        assert form["a"] == "é"
    assert len(encodings._cache) == before


async def test_urlencoded_parser_charset_is_default() -> None:
    form, _ = await parse(b"a=%E9", charset="latin-1")
    assert form["a"] == "é"


async def test_urlencoded_strict_errors_are_bad_request() -> None:
    with pytest.raises(BadRequest):
        await parse(b"a=%FF", errors="strict")


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_partial_tail_is_kept_across_chunks(chunk_size: int | None) -> None:
    body = b"first=" + b"x" * 300 + b"&second=" + b"%C3%A9" * 50
    form, _ = await parse(body, chunk_size=chunk_size)
    assert form["first"] == "x" * 300
    assert form["second"] == "é" * 50


async def test_urlencoded_tail_split_inside_escape() -> None:
    # A chunk boundary falls between "%C" and "3%A9".
    form, _ = await parse(split_at(b"k=%C3%A9&z=1", [4, 5, 8]))
    assert list(form.items(multi=True)) == [("k", "é"), ("z", "1")]


async def test_urlencoded_empty_body() -> None:
    form, files = await parse(b"")
    assert not form
    assert not files


async def test_urlencoded_uses_cls() -> None:
    form, files = await parse(b"a=1", cls=ImmutableMultiDict)
    assert isinstance(form, ImmutableMultiDict)
    assert isinstance(files, ImmutableMultiDict)
    assert form["a"] == "1"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_part_limit(chunk_size: int | None) -> None:
    form, _ = await parse(b"a=1&b=2&c=3", max_form_parts=3, chunk_size=chunk_size)
    assert len(form) == 3
    # A trailing "&" does not start a counted segment.
    form, _ = await parse(b"a=1&b=2&c=3&", max_form_parts=3, chunk_size=chunk_size)
    assert len(form) == 3
    with pytest.raises(RequestEntityTooLarge):
        await parse(b"a=1&b=2&c=3&d=4", max_form_parts=3, chunk_size=chunk_size)
    # Empty segments count too.
    with pytest.raises(RequestEntityTooLarge):
        await parse(b"a=1&&&b=2", max_form_parts=3, chunk_size=chunk_size)


async def test_urlencoded_no_part_limit() -> None:
    body = b"&".join(b"k%d=%d" % (i, i) for i in range(5000))
    form, _ = await parse(body, max_form_parts=None)
    assert len(form) == 5000
    assert form["k4999"] == "4999"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_urlencoded_field_memory_limit(chunk_size: int | None) -> None:
    ok = b"a=" + b"x" * 8  # exactly 10 bytes
    form, _ = await parse(ok + b"&" + ok, max_form_memory_size=10, chunk_size=chunk_size)
    assert form.getlist("a") == ["x" * 8, "x" * 8]
    with pytest.raises(RequestEntityTooLarge):
        await parse(ok + b"x&b=1", max_form_memory_size=10, chunk_size=chunk_size)
    with pytest.raises(RequestEntityTooLarge):
        await parse(b"b=1&" + ok + b"x", max_form_memory_size=10, chunk_size=chunk_size)


async def test_urlencoded_endless_field_is_refused_early() -> None:
    sent = 0

    async def endless() -> cabc.AsyncIterator[bytes]:
        nonlocal sent
        while True:
            sent += 1
            yield b"x" * 1000

    with pytest.raises(RequestEntityTooLarge):
        await parse(endless(), max_form_memory_size=100_000)
    assert sent <= 101


async def test_urlencoded_millions_of_empty_fields_stop_at_part_limit() -> None:
    sent = 0

    async def ampersands() -> cabc.AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(128):  # 8 MiB
            sent += 1
            yield b"&" * 65536

    started = time.perf_counter()
    with pytest.raises(RequestEntityTooLarge):
        await parse(ampersands())
    assert time.perf_counter() - started < 1.0
    assert sent == 1


async def test_urlencoded_millions_of_empty_fields_without_limit() -> None:
    async def ampersands() -> cabc.AsyncIterator[bytes]:
        for _ in range(128):  # 8 MiB, produced lazily
            yield b"&" * 65536

    tracemalloc.start()
    try:
        (form, files), gap = await with_max_loop_gap(parse(ampersands(), max_form_parts=None))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not form
    assert not files
    assert gap < 0.25
    assert peak < 4 * 1024 * 1024


async def test_urlencoded_huge_single_chunk_does_not_block_loop() -> None:
    body = b"&" * (6 * 1024 * 1024) + b"a=1"
    (form, _), gap = await with_max_loop_gap(parse(body, max_form_parts=None))
    assert list(form.items(multi=True)) == [("a", "1")]
    assert gap < 0.25


async def test_urlencoded_many_fields_do_not_block_loop() -> None:
    body = b"&".join(b"k=%d" % i for i in range(400_000))
    (form, _), gap = await with_max_loop_gap(
        parse(body, max_form_parts=None, max_form_memory_size=None)
    )
    assert len(form.getlist("k")) == 400_000
    assert gap < 0.25


async def test_urlencoded_body_errors_propagate() -> None:
    error = Boom("disconnected")

    async def failing() -> cabc.AsyncIterator[bytes]:
        yield b"a=1&b"
        raise error

    with pytest.raises(Boom) as info:
        await parse(failing())
    assert info.value is error


pair_text = st.text(st.characters(codec="utf-8"), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(pair_text, pair_text), max_size=12),
    as_dict=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=10),
)
def test_urlencoded_roundtrip_property(
    pairs: list[tuple[str, str]], as_dict: bool, cuts: list[int]
) -> None:
    data: dict[str, str] | list[tuple[str, str]] = dict(pairs) if as_dict else pairs
    body = urlencode(data).encode("ascii")
    expected = list(data.items()) if isinstance(data, dict) else pairs

    async def run() -> list[tuple[str, str]]:
        form, _ = await parse(split_at(body, cuts), max_form_parts=None)
        return list(form.items(multi=True))

    assert asyncio.run(run()) == md(expected)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(st.sampled_from("ab=&+%0123456789ACFz;é"), max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=100), max_size=8),
)
def test_urlencoded_agrees_with_parse_qsl_property(text: str, cuts: list[int]) -> None:
    body = text.encode()

    async def run() -> list[tuple[str, str]]:
        form, _ = await parse(split_at(body, cuts), max_form_parts=None)
        return list(form.items(multi=True))

    assert asyncio.run(run()) == md(parse_qsl(text, keep_blank_values=True))


# ---------------------------------------------------------------------------
# multipart/form-data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_fields_and_files(chunk_size: int | None) -> None:
    body = multipart(
        field_part("name", "Ada"),
        field_part("tag", "one"),
        file_part("upload", "a.txt", b"alpha\r\nbeta\n", "text/plain"),
        field_part("tag", "two"),
        file_part("upload", "b.png", b"\x89PNG\r\n\x1a\n\x00\xff", "image/png"),
        file_part("other", "c.bin", b"--" + BOUNDARY.encode()[:-1] + b"\r\n--"),
        field_part("unicode", "żółw ✓"),
        field_part("empty", ""),
        preamble=b"ignored preamble\r\n",
        epilogue=b"ignored epilogue",
    )
    form, files = await parse(body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size)
    try:
        assert list(form.items(multi=True)) == md(
            [
                ("name", "Ada"),
                ("tag", "one"),
                ("tag", "two"),
                ("unicode", "żółw ✓"),
                ("empty", ""),
            ]
        )
        assert file_summary(files) == [
            ("upload", "a.txt", "text/plain", b"alpha\r\nbeta\n"),
            ("upload", "b.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\xff"),
            (
                "other",
                "c.bin",
                "application/octet-stream",
                b"--" + BOUNDARY.encode()[:-1] + b"\r\n--",
            ),
        ]
        assert files["upload"].name == "upload"
        assert files["upload"].headers["Content-Type"] == "text/plain"
    finally:
        close_files(files)


async def test_multipart_file_headers_and_content_length() -> None:
    headers = {
        "Content-Disposition": 'form-data; name="f"; filename="r\u00e9sum\u00e9.txt"',
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": "5",
        "X-Extra": "yes",
    }
    form, files = await parse(multipart(part(headers, b"hello")), MULTIPART, MP_OPTIONS)
    try:
        storage = files["f"]
        assert storage.filename == "résumé.txt"
        assert storage.mimetype == "text/plain"
        assert storage.mimetype_params == {"charset": "utf-8"}
        assert storage.content_length == 5
        assert storage.headers["X-Extra"] == "yes"
        assert storage.read() == b"hello"
    finally:
        close_files(files)


async def test_multipart_empty_filename_is_kept() -> None:
    body = multipart(file_part("f", "", b""), field_part("x", "1"))
    form, files = await parse(body, MULTIPART, MP_OPTIONS)
    try:
        assert form["x"] == "1"
        assert files["f"].filename == ""
        assert files["f"].read() == b""
    finally:
        close_files(files)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_part_charset(chunk_size: int | None) -> None:
    body = multipart(
        field_part("latin", "café".encode("latin-1"), "text/plain; charset=ISO-8859-1"),
        field_part("cyr", "мир".encode("koi8-r"), 'text/plain; charset="koi8-r"'),
        field_part("bogus", "é".encode(), "text/plain; charset=not-a-charset"),
        field_part("default", "é".encode("cp1252")),
    )
    form, _ = await parse(body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, charset="cp1252")
    assert form["latin"] == "café"
    assert form["cyr"] == "мир"
    # An unusable part charset falls back to the parser charset.
    assert form["bogus"] == "é".encode().decode("cp1252")
    assert form["default"] == "é"


async def test_multipart_strict_errors_are_bad_request() -> None:
    body = multipart(field_part("a", b"\xff\xfe"))
    with pytest.raises(BadRequest):
        await parse(body, MULTIPART, MP_OPTIONS, errors="strict")
    form, _ = await parse(body, MULTIPART, MP_OPTIONS)
    assert form["a"] == "\ufffd\ufffd"


async def test_multipart_uses_cls() -> None:
    body = multipart(field_part("a", "1"), file_part("f", "f.txt", b"x"))
    form, files = await parse(body, MULTIPART, MP_OPTIONS, cls=ImmutableMultiDict)
    try:
        assert isinstance(form, ImmutableMultiDict)
        assert isinstance(files, ImmutableMultiDict)
    finally:
        close_files(files)


@pytest.mark.parametrize("chunk_size", [7, 4096, None])
async def test_multipart_spools_large_files_to_disk(chunk_size: int | None) -> None:
    rng = random.Random(1234)
    big = rng.randbytes(300_000) + b"\r\n--" + BOUNDARY.encode()[:5]
    exact = rng.randbytes(1024)
    small = b"tiny"
    body = multipart(
        file_part("big", "big.bin", big),
        file_part("exact", "exact.bin", exact),
        file_part("small", "small.bin", small),
    )
    form, files = await parse(
        body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, spool_threshold=1024
    )
    try:
        big_stream = files["big"].stream
        assert not isinstance(big_stream, io.BytesIO)
        assert isinstance(big_stream.fileno(), int)
        assert big_stream.tell() == 0
        assert files["big"].read() == big
        # At the threshold a file stays in memory.
        assert isinstance(files["exact"].stream, io.BytesIO)
        assert files["exact"].read() == exact
        assert isinstance(files["small"].stream, io.BytesIO)
        assert files["small"].read() == small
    finally:
        close_files(files)


async def test_multipart_disk_io_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    create_threads: list[int] = []
    write_threads: set[int] = set()
    real_temporary_file = tempfile.TemporaryFile

    class RecordingFile:
        def __init__(self, raw: t.IO[bytes]) -> None:
            self.raw = raw

        def write(self, data: bytes) -> int:
            write_threads.add(threading.get_ident())
            return self.raw.write(data)

        def flush(self) -> None:
            write_threads.add(threading.get_ident())
            self.raw.flush()

        def seek(self, offset: int, whence: int = 0) -> int:
            write_threads.add(threading.get_ident())
            return self.raw.seek(offset, whence)

        def __getattr__(self, name: str) -> t.Any:
            return getattr(self.raw, name)

    def recording_temporary_file(mode: str = "w+b") -> RecordingFile:
        create_threads.append(threading.get_ident())
        return RecordingFile(real_temporary_file(mode))

    monkeypatch.setattr(tempfile, "TemporaryFile", recording_temporary_file)
    content = os.urandom(200_000)
    body = multipart(file_part("a", "a.bin", content), file_part("b", "b.bin", content[:5000]))
    form, files = await parse(body, MULTIPART, MP_OPTIONS, chunk_size=1000, spool_threshold=100)
    try:
        assert len(create_threads) == 2
        assert loop_thread not in create_threads
        assert write_threads
        assert loop_thread not in write_threads
        assert files["a"].read() == content
        assert files["b"].read() == content[:5000]
    finally:
        close_files(files)


async def test_multipart_large_file_does_not_block_loop() -> None:
    content = b"\r\n".join([b"x" * 1000] * 8000)  # ~8 MB with many line breaks
    body = multipart(file_part("f", "f.bin", content))
    (form, files), gap = await with_max_loop_gap(
        parse(body, MULTIPART, MP_OPTIONS, spool_threshold=1024)
    )
    try:
        assert gap < 0.25
        assert files["f"].read() == content
    finally:
        close_files(files)


async def test_multipart_many_fields_do_not_block_loop() -> None:
    body = multipart(*(field_part(f"k{i}", str(i)) for i in range(30_000)))
    (form, files), gap = await with_max_loop_gap(
        parse(body, MULTIPART, MP_OPTIONS, max_form_parts=None)
    )
    assert len(form) == 30_000
    assert form["k29999"] == "29999"
    assert gap < 0.25


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_file_may_exceed_field_memory_limit(chunk_size: int | None) -> None:
    content = os.urandom(5000)
    body = multipart(file_part("f", "f.bin", content), field_part("a", "x" * 100))
    form, files = await parse(
        body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, max_form_memory_size=1000
    )
    try:
        assert files["f"].read() == content
        assert form["a"] == "x" * 100
    finally:
        close_files(files)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_field_memory_limit(chunk_size: int | None) -> None:
    ok = multipart(field_part("a", "x" * 1000))
    form, _ = await parse(
        ok, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, max_form_memory_size=1000
    )
    assert form["a"] == "x" * 1000
    too_big = multipart(field_part("a", "x" * 1001))
    with pytest.raises(RequestEntityTooLarge):
        await parse(
            too_big, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, max_form_memory_size=1000
        )


async def test_multipart_endless_part_headers_are_refused() -> None:
    async def endless() -> cabc.AsyncIterator[bytes]:
        yield b"--" + BOUNDARY.encode() + b"\r\nX-Long: "
        while True:
            yield b"x" * 1000

    with pytest.raises(RequestEntityTooLarge):
        await parse(endless(), MULTIPART, MP_OPTIONS, max_form_memory_size=50_000)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_part_limit(chunk_size: int | None) -> None:
    parts = [field_part("a", "1"), file_part("f", "f.txt", b"x"), field_part("b", "2")]
    form, files = await parse(
        multipart(*parts), MULTIPART, MP_OPTIONS, chunk_size=chunk_size, max_form_parts=3
    )
    close_files(files)
    assert len(form) == 2
    with pytest.raises(RequestEntityTooLarge):
        await parse(
            multipart(*parts, field_part("c", "3")),
            MULTIPART,
            MP_OPTIONS,
            chunk_size=chunk_size,
            max_form_parts=3,
        )


@pytest.mark.parametrize("options", [{}, {"boundary": ""}, {"charset": "utf-8"}])
async def test_multipart_missing_boundary(options: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as info:
        await parse(multipart(field_part("a", "1")), MULTIPART, options)
    assert "boundary" in str(info.value.description)


@pytest.mark.parametrize("boundary", ["é", "a" * 201, "trailing ", "bad\nline", "nul\x00"])
async def test_multipart_invalid_boundary(boundary: str) -> None:
    with pytest.raises(BadRequest) as info:
        await parse(b"--x\r\n", MULTIPART, {"boundary": boundary})
    assert "boundary" in str(info.value.description)


async def test_multipart_unusual_valid_boundary() -> None:
    boundary = "(weird) +_,-./:=? chars'"
    body = multipart(field_part("a", "1"), boundary=boundary)
    form, _ = await parse(body, MULTIPART, {"boundary": boundary}, chunk_size=3)
    assert form["a"] == "1"


async def test_multipart_empty_body_is_empty_form() -> None:
    form, files = await parse(b"", MULTIPART, MP_OPTIONS)
    assert not form
    assert not files


async def test_multipart_only_closing_boundary() -> None:
    form, files = await parse(b"--" + BOUNDARY.encode() + b"--\r\n", MULTIPART, MP_OPTIONS)
    assert not form
    assert not files


async def test_multipart_truncated_body_is_bad_request() -> None:
    body = multipart(field_part("a", "1"), file_part("f", "f.txt", b"content\r\nmore"))
    closing = body.rindex(b"--" + BOUNDARY.encode() + b"--")
    end_of_closing = closing + len(BOUNDARY) + 4
    for cut in range(1, end_of_closing):
        with pytest.raises(BadRequest):
            await parse(body[:cut], MULTIPART, MP_OPTIONS, chunk_size=5)


@pytest.mark.parametrize(
    "body",
    [
        b"hello world",
        b"--other-boundary\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--other--\r\n",
        multipart(part({"Content-Type": "text/plain"}, b"no disposition")),
        multipart(part({"Content-Disposition": "form-data; filename=x"}, b"no name")),
        multipart(part({"Content-Disposition": 'form-data; name="\xff"'}, b"x")).replace(
            "\xff".encode(), b"\xff"
        ),
        b"--" + BOUNDARY.encode() + b"\r\n\r\n\r\n--" + BOUNDARY.encode() + b"--\r\n",
    ],
)
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_multipart_garbage_is_bad_request(body: bytes, chunk_size: int | None) -> None:
    with pytest.raises(BadRequest) as info:
        await parse(body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size)
    assert type(info.value) is BadRequest
    assert info.value.description


@pytest.mark.parametrize("chunk_size", [1000, None])
async def test_multipart_large_epilogue_is_ignored(chunk_size: int | None) -> None:
    body = multipart(field_part("a", "1"), epilogue=b"e" * 50_000)
    form, _ = await parse(
        body, MULTIPART, MP_OPTIONS, chunk_size=chunk_size, max_form_memory_size=1000
    )
    assert form["a"] == "1"


async def test_multipart_body_is_consumed_to_the_end() -> None:
    consumed = False

    async def body() -> cabc.AsyncIterator[bytes]:
        nonlocal consumed
        yield multipart(field_part("a", "1"))
        yield b"trailing epilogue"
        consumed = True

    form, _ = await parse(body(), MULTIPART, MP_OPTIONS)
    assert form["a"] == "1"
    assert consumed


def big_files_body(count: int = 3) -> bytes:
    return multipart(*(file_part(f"f{i}", f"{i}.bin", b"z" * 100_000) for i in range(count)))


@needs_proc_fd
@pytest.mark.parametrize(
    ("tail", "limits", "error"),
    [
        (b"--" + BOUNDARY.encode() + b"\r\ngarbage without blank line", {}, BadRequest),
        (b"", {"max_form_parts": 2}, RequestEntityTooLarge),
        (b"--" + BOUNDARY.encode() + b"\r\n", {}, BadRequest),
    ],
)
async def test_multipart_failure_closes_temp_files(
    tail: bytes, limits: dict[str, t.Any], error: type[Exception]
) -> None:
    body = big_files_body()
    body = body[: body.rindex(b"--" + BOUNDARY.encode() + b"--")] + tail
    before = open_fds()
    with pytest.raises(error):
        await parse(body, MULTIPART, MP_OPTIONS, chunk_size=4096, spool_threshold=1000, **limits)
    assert open_fds() == before


@needs_proc_fd
async def test_multipart_body_error_propagates_and_closes_temp_files() -> None:
    error = Boom("timeout")
    body = big_files_body()

    async def failing() -> cabc.AsyncIterator[bytes]:
        yield body[: len(body) - 50]
        raise error

    before = open_fds()
    with pytest.raises(Boom) as info:
        await parse(failing(), MULTIPART, MP_OPTIONS, spool_threshold=1000)
    assert info.value is error
    assert open_fds() == before


@needs_proc_fd
async def test_multipart_cancellation_closes_temp_files() -> None:
    body = big_files_body()
    reached = asyncio.Event()

    async def stalled() -> cabc.AsyncIterator[bytes]:
        yield body[: len(body) - 50]
        reached.set()
        await asyncio.Event().wait()
        yield b""  # pragma: no cover

    before = open_fds()
    task = asyncio.create_task(parse(stalled(), MULTIPART, MP_OPTIONS, spool_threshold=1000))
    await reached.wait()
    assert open_fds() > before  # the spooled files are open meanwhile
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert open_fds() == before


@needs_proc_fd
async def test_multipart_success_keeps_files_open_for_the_caller() -> None:
    before = open_fds()
    form, files = await parse(big_files_body(), MULTIPART, MP_OPTIONS, spool_threshold=1000)
    assert open_fds() == before + 3
    close_files(files)
    assert open_fds() == before


@pytest.mark.parametrize("mimetype", ["text/plain", "application/json", "", "multipart/mixed"])
async def test_other_mimetypes_do_not_read_the_body(mimetype: str) -> None:
    async def untouchable() -> cabc.AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    form, files = await parse(untouchable(), mimetype, {"boundary": BOUNDARY})
    assert not form
    assert not files


async def test_mimetype_match_ignores_case() -> None:
    form, _ = await parse(b"a=1", "Application/X-WWW-Form-URLEncoded")
    assert form["a"] == "1"


def test_parser_rejects_unknown_charset_or_error_handler() -> None:
    with pytest.raises(LookupError):
        FormDataParser(charset="no-such-charset")
    with pytest.raises(LookupError):
        FormDataParser(errors="no-such-handler")


async def test_parser_instance_is_reusable() -> None:
    parser = FormDataParser(max_form_parts=2)
    for _ in range(2):
        form, _files = await parser.parse(chunked(b"a=1&b=2", 1), URLENCODED, {})
        assert len(form) == 2
        form, files = await parser.parse(
            chunked(multipart(field_part("a", "1")), 3), MULTIPART, MP_OPTIONS
        )
        assert form["a"] == "1"


# ---------------------------------------------------------------------------
# differential: compare with werkzeug's own parser
# ---------------------------------------------------------------------------


DIFFERENTIAL_CASES: list[cabc.Callable[[], dict[str, t.Any]]] = [
    lambda: {"data": {"a": "1", "b": "two words", "c": "ü & = +"}},
    lambda: {"data": MultiDict([("a", "1"), ("a", "2"), ("ключ", "значение"), ("e", "")])},
    lambda: {
        "data": {
            "f": (io.BytesIO(b"text\r\ncontent"), "a.txt", "text/plain"),
            "g": "x",
            "h": (io.BytesIO(b""), ""),
        }
    },
    lambda: {"data": {"big": (io.BytesIO(random.Random(7).randbytes(700_000)), "big.bin")}},
    lambda: {
        "data": MultiDict(
            [
                ("up", (io.BytesIO(b"\r\n\r\n--"), "one.bin")),
                ("up", (io.BytesIO(b"\n\r\r\n"), "two.bin")),
                ("name", "ñ"),
            ]
        )
    },
    lambda: {"data": b"a=1&b=%C3%BC&c&d=&&e=%2B+", "content_type": URLENCODED},
    lambda: {"data": {"x": "1", "y": "2"}, "content_type": URLENCODED},
]


@pytest.mark.parametrize("case", DIFFERENTIAL_CASES)
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_matches_werkzeug(
    case: cabc.Callable[[], dict[str, t.Any]], chunk_size: int | None
) -> None:
    builder = EnvironBuilder(method="POST", **case())
    environ = builder.get_environ()
    with environ["wsgi.input"] as original_input:  # a temp file for large bodies
        body = original_input.read()
    builder.close()
    environ["wsgi.input"] = io.BytesIO(body)
    _, expected_form, expected_files = werkzeug.formparser.parse_form_data(environ)
    if chunk_size == 1 and len(body) > 100_000:
        chunk_size = 997  # byte-by-byte over 700 kB is slow and adds nothing
    try:
        mimetype, options = parse_options_header(environ["CONTENT_TYPE"])
        form, files = await parse(body, mimetype, options, chunk_size=chunk_size)
        try:
            assert list(form.items(multi=True)) == list(expected_form.items(multi=True))
            assert file_summary(files) == file_summary(expected_files)
            assert list(form.items(multi=True)) or list(files.items(multi=True))
        finally:
            close_files(files)
    finally:
        close_files(expected_files)


# ---------------------------------------------------------------------------
# properties: chunking never changes the result; broken bodies give HTTP errors
# ---------------------------------------------------------------------------

SAMPLE_BODY = multipart(
    field_part("a", "1"),
    file_part("f", "f.txt", b"line\r\n--" + BOUNDARY.encode()[:4] + b"\r\n", "text/plain"),
    field_part("b", "zwei\r\n"),
    file_part("g", "g.bin", bytes(range(256))),
)


async def parse_summary(
    body: cabc.AsyncIterable[bytes], **limits: t.Any
) -> tuple[list[tuple[str, str]], list[tuple[str, str | None, str, bytes]]]:
    form, files = await parse(body, MULTIPART, MP_OPTIONS, **limits)
    try:
        return list(form.items(multi=True)), file_summary(files)
    finally:
        close_files(files)


def werkzeug_style_body() -> bytes:
    """A body as werkzeug's test client writes it: no CRLF between an empty part and the next."""
    delimiter = b"--" + BOUNDARY.encode()
    return (
        b"\r\n" + delimiter + b"\r\n"
        b'Content-Disposition: form-data; name="empty"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + delimiter + b"\r\n"
        b'Content-Disposition: form-data; name="blank"\r\n\r\n' + delimiter + b"\r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n' + delimiter + b"--\r\n"
    )


SPLIT_BODIES = {
    "crlf": SAMPLE_BODY,
    "werkzeug-style": werkzeug_style_body(),
    "lf-only": SAMPLE_BODY.replace(b"\r\n", b"\n"),
    "padded": SAMPLE_BODY.replace(
        BOUNDARY.encode() + b"\r\n", BOUNDARY.encode() + b" \t \r\n"
    ).replace(BOUNDARY.encode() + b"--", BOUNDARY.encode() + b"-- "),
}


@pytest.mark.parametrize("name", list(SPLIT_BODIES))
async def test_multipart_every_split_point_gives_the_same_result(name: str) -> None:
    body = SPLIT_BODIES[name]
    whole = await parse_summary(chunked(body, None))
    assert whole[0] or whole[1]
    for cut in range(1, len(body)):
        assert await parse_summary(split_at(body, [cut])) == whole, cut
    assert await parse_summary(chunked(body, 1)) == whole


async def test_werkzeug_style_body_contents() -> None:
    form, files = await parse(werkzeug_style_body(), MULTIPART, MP_OPTIONS, chunk_size=1)
    try:
        assert list(form.items(multi=True)) == [("blank", ""), ("a", "1")]
        assert file_summary(files) == [("empty", "", "application/octet-stream", b"")]
    finally:
        close_files(files)


async def test_multipart_padded_and_lf_only_contents() -> None:
    expected = (
        [("a", "1"), ("b", "zwei\r\n")],
        [
            ("f", "f.txt", "text/plain", b"line\r\n--" + BOUNDARY.encode()[:4] + b"\r\n"),
            ("g", "g.bin", "application/octet-stream", bytes(range(256))),
        ],
    )
    assert await parse_summary(chunked(SPLIT_BODIES["padded"], 3)) == expected
    form, files = await parse_summary(chunked(SPLIT_BODIES["lf-only"], 3))
    assert form == [("a", "1"), ("b", "zwei\n")]
    assert [name for name, *_ in files] == ["f", "g"]


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=len(SAMPLE_BODY)), max_size=30))
def test_multipart_chunking_does_not_matter_property(cuts: list[int]) -> None:
    whole = asyncio.run(parse_summary(chunked(SAMPLE_BODY, None)))
    assert asyncio.run(parse_summary(split_at(SAMPLE_BODY, cuts), spool_threshold=64)) == whole


@needs_proc_fd
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SAMPLE_BODY)),
            st.sampled_from(["delete", "insert", "replace"]),
            st.binary(min_size=1, max_size=4)
            | st.sampled_from([b"\r", b"\n", b"\r\n", b"--", BOUNDARY.encode(), b'"', b";"]),
        ),
        min_size=1,
        max_size=4,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=len(SAMPLE_BODY)), max_size=8),
)
def test_multipart_mutated_bodies_only_raise_http_errors_property(
    edits: list[tuple[int, str, bytes]], cuts: list[int]
) -> None:
    body = bytearray(SAMPLE_BODY)
    for position, action, data in edits:
        position = min(position, len(body))
        if action == "delete":
            del body[position : position + len(data)]
        elif action == "insert":
            body[position:position] = data
        else:
            body[position : position + len(data)] = data
    before = open_fds()
    try:
        asyncio.run(
            parse_summary(
                split_at(bytes(body), cuts),
                spool_threshold=64,
                max_form_memory_size=1000,
                max_form_parts=10,
            )
        )
    except (BadRequest, RequestEntityTooLarge):
        pass
    assert open_fds() == before
