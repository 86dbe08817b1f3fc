"""The one-go path for small urlencoded bodies gives what the incremental parser gives.

:meth:`FormDataParser.parse_urlencoded_data` parses a complete body of at most
64 KiB in one synchronous call; ``request.form`` uses it when the body has
arrived whole. These tests compare it with :meth:`FormDataParser.parse` (the
incremental parser) on the same bodies and limits, results and errors alike,
and check that requests take the path they should.
"""

from __future__ import annotations

import asyncio
import collections.abc as cabc
import typing as t
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge

from quartlike import Quart
from quartlike import request
from quartlike.formparser import URLENCODED_AT_ONCE_LIMIT
from quartlike.formparser import URLENCODED_AT_ONCE_SEGMENTS
from quartlike.formparser import FormDataParser
from quartlike.wrappers.request import Request

from .exchange import Exchange
from .exchange import body as body_message
from .exchange import http_scope

URLENCODED = "application/x-www-form-urlencoded"

Outcome: t.TypeAlias = tuple[str, t.Any]


async def _chunks(body: bytes, cuts: cabc.Iterable[int] = ()) -> cabc.AsyncIterator[bytes]:
    previous = 0
    for cut in sorted(set(cuts)):
        if 0 < cut < len(body):
            yield body[previous:cut]
            previous = cut
    if body[previous:]:
        yield body[previous:]


def _outcome(run: t.Callable[[], t.Any]) -> Outcome:
    """``("ok", (class, items))`` or ``("error", (class, description))``."""
    try:
        form, files = run()
    except HTTPException as exc:
        return "error", (type(exc), exc.description)
    assert not files
    return "ok", (type(form), type(files), list(form.items(multi=True)))


def at_once(parser: FormDataParser, body: bytes, options: dict[str, str]) -> Outcome:
    def run() -> t.Any:
        result = parser.parse_urlencoded_data(body, options)
        assert result is not None, "the body should be small enough"
        return result

    return _outcome(run)


def incremental(
    parser: FormDataParser, body: bytes, options: dict[str, str], cuts: cabc.Iterable[int] = ()
) -> Outcome:
    return _outcome(lambda: asyncio.run(parser.parse(_chunks(body, cuts), URLENCODED, options)))


# Bytes that matter to the parser, plus text that needs escaping or decoding.
_pieces = st.one_of(
    st.sampled_from([b"&", b"=", b"+", b"%", b"%2", b"%41", b"%e9", b"%C3%A9", b"%zz", b";"]),
    st.sampled_from([b"\xe9", b"\xff", b"\xc3", b"\xa9", b"\x00", b" "]),
    st.text(max_size=6).map(lambda s: s.encode()),
    st.text(max_size=6).map(lambda s: quote(s).encode()),
)
bodies = st.lists(_pieces, max_size=30).map(b"".join)
limits = st.one_of(st.none(), st.integers(min_value=0, max_value=12))
options = st.sampled_from([{}, {"charset": "latin-1"}, {"charset": "utf-16"}, {"charset": "x-no"}])
errors = st.sampled_from(["replace", "strict", "ignore", "surrogateescape"])
classes = st.sampled_from([MultiDict, ImmutableMultiDict])


@settings(max_examples=400, deadline=None)
@given(
    body=bodies,
    max_parts=limits,
    max_size=limits,
    options=options,
    errors=errors,
    cls=classes,
)
def test_same_outcome_as_the_incremental_parser_property(
    body: bytes,
    max_parts: int | None,
    max_size: int | None,
    options: dict[str, str],
    errors: str,
    cls: type[MultiDict[str, t.Any]],
) -> None:
    parser = FormDataParser(
        max_form_parts=max_parts, max_form_memory_size=max_size, errors=errors, cls=cls
    )
    # The same fields, or the same error with the same message.
    assert at_once(parser, body, options) == incremental(parser, body, options)


@settings(max_examples=300, deadline=None)
@given(
    body=bodies,
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
    max_parts=limits,
    max_size=limits,
)
def test_same_fields_as_the_incremental_parser_on_any_chunking_property(
    body: bytes, cuts: list[int], max_parts: int | None, max_size: int | None
) -> None:
    parser = FormDataParser(max_form_parts=max_parts, max_form_memory_size=max_size)
    ours = at_once(parser, body, {})
    theirs = incremental(parser, body, {}, cuts)
    if ours[0] == "ok" or theirs[0] == "ok":
        assert ours == theirs
    else:
        # Over a limit either way; which check trips first may depend on the chunks.
        assert ours[1][0] is theirs[1][0] is RequestEntityTooLarge


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=12))
def test_fields_round_trip_property(pairs: list[tuple[str, str]]) -> None:
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs).encode()
    parser = FormDataParser()
    result = parser.parse_urlencoded_data(body, {})
    assert result is not None
    form, files = result
    assert list(form.items(multi=True)) == list(MultiDict(pairs).items(multi=True))
    assert not files


# -- the limits, on the one-go path ---------------------------------------------------------


def parse_at_once(body: bytes, **kwargs: t.Any) -> MultiDict[str, str]:
    result = FormDataParser(**kwargs).parse_urlencoded_data(body, {})
    assert result is not None
    return result[0]


def test_every_segment_counts_as_a_part() -> None:
    assert len(parse_at_once(b"a=1&b=2&c=3", max_form_parts=3)) == 3
    # A trailing "&" does not start a counted segment.
    assert len(parse_at_once(b"a=1&b=2&c=3&", max_form_parts=3)) == 3
    with pytest.raises(RequestEntityTooLarge, match="more than 3 fields"):
        parse_at_once(b"a=1&b=2&c=3&d=4", max_form_parts=3)
    # Empty segments count too: "a=1&&&b=2" has four.
    with pytest.raises(RequestEntityTooLarge, match="more than 3 fields"):
        parse_at_once(b"a=1&&&b=2", max_form_parts=3)
    assert not parse_at_once(b"", max_form_parts=0)
    with pytest.raises(RequestEntityTooLarge):
        parse_at_once(b"a=1", max_form_parts=0)


def test_field_memory_limit() -> None:
    ok = b"a=" + b"x" * 8  # exactly 10 bytes
    assert parse_at_once(ok + b"&" + ok, max_form_memory_size=10).getlist("a") == ["x" * 8] * 2
    with pytest.raises(RequestEntityTooLarge, match="larger than 10 bytes"):
        parse_at_once(ok + b"x&b=1", max_form_memory_size=10)
    with pytest.raises(RequestEntityTooLarge, match="larger than 10 bytes"):
        parse_at_once(b"b=1&" + ok + b"x", max_form_memory_size=10)
    # The limit is on the encoded segment, not on the decoded value.
    with pytest.raises(RequestEntityTooLarge):
        parse_at_once(b"a=%41%41%41%41", max_form_memory_size=10)


def test_charset_and_errors() -> None:
    result = FormDataParser().parse_urlencoded_data(b"n=%E9t%E9&raw=\xe9", {"charset": "latin-1"})
    assert result is not None
    assert result[0].to_dict() == {"n": "été", "raw": "é"}
    assert parse_at_once(b"n=%E9")["n"] == "\ufffd"
    with pytest.raises(BadRequest, match="could not be decoded"):
        parse_at_once(b"a=%FF", errors="strict")


def test_large_or_many_segment_bodies_are_left_to_the_incremental_parser() -> None:
    parser = FormDataParser(max_form_parts=None)
    assert parser.parse_urlencoded_data(b"a=" + b"x" * URLENCODED_AT_ONCE_LIMIT, {}) is None
    many = b"&".join([b"k=v"] * (URLENCODED_AT_ONCE_SEGMENTS + 1))
    assert parser.parse_urlencoded_data(many, {}) is None
    most = b"&".join([b"k=v"] * URLENCODED_AT_ONCE_SEGMENTS)
    result = parser.parse_urlencoded_data(most, {})
    assert result is not None
    assert len(result[0].getlist("k")) == URLENCODED_AT_ONCE_SEGMENTS


# -- which path a request takes ---------------------------------------------------------------


class Spy:
    """Counts the calls of each path of the form parser."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at_once: list[bytes] = []
        self.incremental = 0
        at_once = FormDataParser.parse_urlencoded_data
        parse = FormDataParser.parse

        def spy_at_once(parser: FormDataParser, data: bytes, options: dict[str, str]) -> t.Any:
            self.at_once.append(data)
            return at_once(parser, data, options)

        async def spy_parse(parser: FormDataParser, *args: t.Any) -> t.Any:
            self.incremental += 1
            return await parse(parser, *args)

        monkeypatch.setattr(FormDataParser, "parse_urlencoded_data", spy_at_once)
        monkeypatch.setattr(FormDataParser, "parse", spy_parse)


def form_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config.update(TESTING=True, **config)

    @app.post("/")
    async def index() -> dict[str, t.Any]:
        return (await request.form).to_dict(flat=False)

    return app


FORM_HEADERS = [(b"content-type", URLENCODED.encode())]
FORM = b"a=1&b=%C3%A9t%C3%A9&a=2&c"
EXPECTED = {"a": ["1", "2"], "b": ["été"], "c": [""]}


async def test_a_body_in_one_message_is_parsed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    exchange = await Exchange(body_message(FORM)).run(form_app(), http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert exchange.body == b'{"a":["1","2"],"b":["\\u00e9t\\u00e9"],"c":[""]}\n'
    assert spy.at_once == [FORM]
    assert spy.incremental == 0


async def test_the_test_client_body_is_parsed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    response = await form_app().test_client().post("/", data={"a": ["1", "2"], "b": "x"})
    assert await response.get_json() == {"a": ["1", "2"], "b": ["x"]}
    assert spy.at_once == [b"a=1&a=2&b=x"]
    assert spy.incremental == 0


@pytest.mark.parametrize("cuts", [[1], [3, 4, 10], list(range(1, len(FORM)))])
async def test_a_body_in_several_messages_is_parsed_incrementally(
    monkeypatch: pytest.MonkeyPatch, cuts: list[int]
) -> None:
    spy = Spy(monkeypatch)
    bounds = [0, *cuts, len(FORM)]
    pieces = [FORM[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]
    messages = [body_message(piece, more=True) for piece in pieces[:-1]]
    messages.append(body_message(pieces[-1]))
    exchange = await Exchange(*messages).run(form_app(), http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert exchange.body.startswith(b'{"a":["1","2"]')
    assert spy.at_once == []
    assert spy.incremental == 1


async def test_a_body_whose_end_comes_later_is_parsed_incrementally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = Spy(monkeypatch)
    messages = [body_message(b"", more=True), body_message(FORM, more=True), body_message(b"")]
    exchange = await Exchange(*messages).run(form_app(), http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert exchange.body.startswith(b'{"a":["1","2"]')
    # All the data came in one message, but the end of the body only with a
    # later one: the parser cannot know it has it all, so it goes incrementally.
    assert spy.at_once == []
    assert spy.incremental == 1


async def test_a_large_body_is_parsed_incrementally(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    body = b"a=" + b"x" * URLENCODED_AT_ONCE_LIMIT + b"&b=2"
    app = form_app(MAX_FORM_MEMORY_SIZE=None)
    exchange = await Exchange(body_message(body)).run(app, http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert spy.incremental == 1


@pytest.mark.parametrize(
    ("config", "body", "status"),
    [
        ({"MAX_FORM_PARTS": 3}, b"a=1&&&b=2", 413),
        ({"MAX_FORM_PARTS": 3}, b"a=1&&b=2&", 200),
        ({"MAX_FORM_MEMORY_SIZE": 10}, b"a=xxxxxxxxx&b=1", 413),
        ({"MAX_FORM_MEMORY_SIZE": 10}, b"a=xxxxxxxx&b=1", 200),
    ],
)
async def test_request_limits_on_both_paths(
    config: dict[str, t.Any], body: bytes, status: int
) -> None:
    app = form_app(**config)
    whole = await Exchange(body_message(body)).run(app, http_scope(headers=FORM_HEADERS))
    split = await Exchange(body_message(body[:3], more=True), body_message(body[3:])).run(
        app, http_scope(headers=FORM_HEADERS)
    )
    assert whole.status == split.status == status
    assert whole.body == split.body


async def test_a_subclass_stream_with_more_chunks_is_read_whole() -> None:
    class SplittingRequest(Request):
        """A request whose ``stream`` hands each chunk over in two halves."""

        def stream(self) -> cabc.AsyncIterator[bytes]:
            original = super().stream()

            async def halves() -> cabc.AsyncIterator[bytes]:
                async for chunk in original:
                    middle = len(chunk) // 2
                    yield chunk[:middle]
                    yield chunk[middle:]

            return halves()

    app = form_app()
    app.request_class = SplittingRequest
    exchange = await Exchange(body_message(FORM)).run(app, http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert exchange.body.startswith(b'{"a":["1","2"]')


async def test_the_form_is_the_same_on_both_paths_through_a_request() -> None:
    seen: list[t.Any] = []
    app = Quart(__name__)

    @app.post("/")
    async def index() -> str:
        form = await request.form
        seen.append((type(form), list(form.items(multi=True))))
        return "ok"

    await Exchange(body_message(FORM)).run(app, http_scope(headers=FORM_HEADERS))
    await Exchange(body_message(FORM[:5], more=True), body_message(FORM[5:])).run(
        app, http_scope(headers=FORM_HEADERS)
    )
    assert seen[0] == seen[1]
    assert seen[0][0] is ImmutableMultiDict
    assert dict(MultiDict(seen[0][1]).lists()) == EXPECTED
