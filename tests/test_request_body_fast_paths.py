"""The fast paths of reading a request body, a form and JSON give what the general paths give.

* Receiving a body message that is already there arms no timer; one that has
  to be waited for is still bounded by ``BODY_TIMEOUT`` (408), measured from
  the start of the body, and a cancelled reader cancels the waiting receive.
* A body that arrives in one message is read without an async generator.
* The content type is read without decoding every header, with the result
  werkzeug gives from the full ``headers`` object.
* An ASCII urlencoded body is parsed as text in one go: the same fields,
  limits and errors as the general (byte by byte) path, and the same fields
  as werkzeug's parser and as Flask.
* JSON is parsed with a shared decoder: the same result or error as
  ``json.loads(data, parse_constant=...)``.
"""

from __future__ import annotations

import asyncio
import codecs
import collections.abc as cabc
import copy
import io
import json
import pickle
import typing as t
from urllib.parse import quote
from urllib.parse import quote_plus
from urllib.parse import unquote_to_bytes

import flask
import pytest
import werkzeug.formparser
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestTimeout
from werkzeug.http import parse_options_header

import quartlike.formparser as formparser
from quartlike import Quart
from quartlike import request
from quartlike.formparser import FormDataParser
from quartlike.wrappers import body as body_module
from quartlike.wrappers import request as request_module
from quartlike.wrappers.request import Body

from .exchange import BOUND
from .exchange import Exchange
from .exchange import body as body_message
from .exchange import http_scope

if t.TYPE_CHECKING:
    from quartlike.typing import Message

URLENCODED = "application/x-www-form-urlencoded"


# -- receiving a message: a timer only when the receive has to wait --------------------------


class TimerSpy:
    """Counts the timers :func:`asyncio.timeout_at` arms."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = 0
        original = asyncio.timeout_at

        def counting(when: float | None) -> asyncio.Timeout:
            self.armed += 1
            return original(when)

        monkeypatch.setattr(asyncio, "timeout_at", counting)


def ready(*messages: Message) -> cabc.Callable[[], cabc.Coroutine[t.Any, t.Any, Message]]:
    """A receive whose messages are all there already: it never suspends."""
    queue = list(messages)

    async def receive() -> Message:
        return queue.pop(0)

    return receive


async def test_messages_already_there_arm_no_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = TimerSpy(monkeypatch)
    body = Body(ready(body_message(b"one message")), 11)
    assert await body.read(None, 10.0) == b"one message"
    assert body.is_complete
    parts = [body_message(b"a", more=True), body_message(b"b", more=True), body_message(b"c")]
    streamed = Body(ready(*parts), None)
    assert [chunk async for chunk in streamed.stream(None, 10.0)] == [b"a", b"b", b"c"]
    assert spy.armed == 0


async def test_a_receive_that_waits_is_awaited_under_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = TimerSpy(monkeypatch)
    loop = asyncio.get_running_loop()
    suspensions = 0

    async def receive() -> Message:
        nonlocal suspensions
        for _ in range(3):
            suspensions += 1
            await asyncio.sleep(0)
        arrived = loop.create_future()
        loop.call_later(0.01, arrived.set_result, b"late")
        return body_message(await arrived)

    body = Body(receive, None)
    assert await body.read(None, 10.0) == b"late"
    assert suspensions == 3
    assert spy.armed == 1


async def test_a_receive_that_waits_past_the_deadline_is_408() -> None:
    outcome: list[str] = []

    async def receive() -> Message:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        raise AssertionError("unreachable")

    async with asyncio.timeout(BOUND):
        with pytest.raises(RequestTimeout):
            await Body(receive, 100).read(None, 0.05)
    # The waiting receive was cancelled, not left suspended.
    assert outcome == ["cancelled"]


async def test_the_deadline_covers_the_whole_body() -> None:
    # Every message alone comes well within the limit; the body as a whole does not.
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.sleep(0.03)
        sent += 1
        return body_message(b"x", more=True)

    async with asyncio.timeout(BOUND):
        with pytest.raises(RequestTimeout):
            await Body(receive, None).read(None, 0.2)
    # A deadline per message would let it go on until the bound.
    assert 2 <= sent < 20


async def test_a_timeout_error_from_the_receive_itself_is_408() -> None:
    async def at_once() -> Message:
        raise TimeoutError

    async def after_waiting() -> Message:
        await asyncio.sleep(0)
        raise TimeoutError

    for receive in (at_once, after_waiting):
        with pytest.raises(RequestTimeout):
            await Body(receive, None).read(None, 10.0)
    # Without a deadline, it is the receive's own error.
    with pytest.raises(TimeoutError):
        await Body(at_once, None).read(None, None)


class Awaitable:
    """A receive result that is not a coroutine."""

    def __init__(self, message: Message | None, suspensions: int = 1) -> None:
        self.message = message
        self.suspensions = suspensions

    def __await__(self) -> cabc.Generator[t.Any, t.Any, Message]:
        for _ in range(self.suspensions):
            yield None  # a bare yield: the task runs again at once
        while self.message is None:
            yield from asyncio.sleep(3600).__await__()
        return self.message


async def test_a_receive_that_is_not_a_coroutine(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = TimerSpy(monkeypatch)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Message] = loop.create_future()
    done.set_result(body_message(b"from a future"))
    assert await Body(lambda: done, None).read(None, 10.0) == b"from a future"
    message = body_message(b"from an awaitable")
    assert await Body(lambda: Awaitable(message, 2), None).read(None, 10.0) == message["body"]
    # Not a coroutine, so not run a step ahead: awaited under a timer, as before.
    assert spy.armed == 2
    async with asyncio.timeout(BOUND):
        with pytest.raises(RequestTimeout):
            await Body(lambda: Awaitable(None), None).read(None, 0.05)
        with pytest.raises(RequestTimeout):
            await Body(loop.create_future, None).read(None, 0.05)


async def test_cancelling_the_reader_cancels_the_waiting_receive() -> None:
    seen: list[str] = []
    waiting = asyncio.Event()

    async def receive() -> Message:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        raise AssertionError("unreachable")

    reader = asyncio.create_task(Body(receive, None).read(None, 10.0))
    await waiting.wait()
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert seen == ["cancelled"]
    assert reader.cancelled()


async def test_a_receive_may_absorb_an_exception_and_go_on() -> None:
    # What is thrown into the task reaches the receive, which may handle it.
    waiting = asyncio.Event()

    async def receive() -> Message:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            await asyncio.sleep(0)
            return body_message(b"after the cancellation")
        raise AssertionError("unreachable")

    reader = asyncio.create_task(Body(receive, None).read(None, 10.0))
    await waiting.wait()
    reader.cancel()
    assert await reader == b"after the cancellation"


# -- the resumed coroutine behaves as if awaited directly ---------------------------------------


class Step:
    """Yields ``value`` to whoever drives the coroutine, and returns what it is sent."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __await__(self) -> cabc.Generator[t.Any, t.Any, t.Any]:
        return (yield self.value)


def scripted(trace: list[object], steps: int) -> cabc.Coroutine[t.Any, t.Any, Message]:
    async def run() -> Message:
        try:
            for n in range(steps):
                try:
                    trace.append(("got", await Step(f"step{n}")))
                except ValueError as exc:
                    trace.append(("caught", str(exc)))
            return {"type": "http.request", "body": b"done"}
        finally:
            trace.append("finally")

    return run()


def drive(
    generator: cabc.Generator[t.Any, t.Any, t.Any], actions: list[t.Any], trace: list[object]
) -> None:
    """Feed ``actions`` (values to send, exceptions to throw, "close") to a started generator."""
    for action in actions:
        try:
            if action == "close":
                generator.close()
                trace.append("closed")
                return
            if isinstance(action, BaseException):
                trace.append(("yielded", generator.throw(action)))
            else:
                trace.append(("yielded", generator.send(action)))
        except StopIteration as stop:
            trace.append(("returned", stop.value))
            return
        except BaseException as exc:  # recorded for the comparison
            trace.append(("raised", type(exc).__name__, str(exc)))
            return


actions = st.lists(
    st.one_of(
        st.integers(),
        st.sampled_from(["close"]),
        st.builds(ValueError, st.sampled_from(["v1", "v2"])),
        st.builds(KeyError, st.just("k")),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(steps=st.integers(min_value=1, max_value=5), script=actions)
def test_resumed_is_await_property(steps: int, script: list[t.Any]) -> None:
    # Direct: a generator that awaits the coroutine from its start.
    direct_trace: list[object] = []

    def direct() -> cabc.Generator[t.Any, t.Any, Message]:
        return (yield from scripted(direct_trace, steps).__await__())

    plain = direct()
    direct_trace.append(("yielded", plain.send(None)))
    drive(plain, script, direct_trace)

    # Resumed: the coroutine's first step run by hand, the rest through _Resumed.
    resumed_trace: list[object] = []
    coro = scripted(resumed_trace, steps)
    first = coro.send(None)
    resumed = body_module._Resumed(coro, first).__await__()
    resumed_trace.append(("yielded", resumed.send(None)))
    drive(resumed, script, resumed_trace)

    assert resumed_trace == direct_trace
    plain.close()
    resumed.close()
    coro.close()


# -- a one-message body is read without an async generator ------------------------------------


FORM = b"a=1&b=%C3%A9t%C3%A9&a=2&c&d=x+y"
FORM_HEADERS = [(b"content-type", URLENCODED.encode())]


def form_app(**config: t.Any) -> Quart:
    app = Quart(__name__)
    app.config.update(TESTING=True, **config)

    @app.post("/")
    async def index() -> dict[str, t.Any]:
        form = await request.form
        return {"items": list(form.items(multi=True)), "data": (await request.get_data()).decode()}

    @app.post("/data")
    async def data() -> bytes:
        return t.cast(bytes, await request.get_data())

    return app


class GeneratorSpy:
    """Counts the async generators the body starts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[str] = []
        for name in ("_chunks", "_rest"):
            original = getattr(Body, name)

            def spy(
                body: Body, *args: t.Any, _name: str = name, _original: t.Any = original
            ) -> t.Any:
                self.started.append(_name)
                return _original(body, *args)

            monkeypatch.setattr(Body, name, spy)


async def test_a_one_message_body_starts_no_async_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = GeneratorSpy(monkeypatch)
    app = form_app(BODY_TIMEOUT=30)
    exchange = await Exchange(body_message(FORM)).run(app, http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert json.loads(exchange.body) == {
        "items": [["a", "1"], ["a", "2"], ["b", "été"], ["c", ""], ["d", "x y"]],
        # As in Flask: the form parser took the body.
        "data": "",
    }
    data = await Exchange(body_message(b"raw bytes")).run(app, http_scope("/data"))
    assert data.body == b"raw bytes"
    assert spy.started == []


async def test_a_body_in_several_messages_is_still_streamed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spy = GeneratorSpy(monkeypatch)
    app = form_app(BODY_TIMEOUT=30)
    messages = [body_message(FORM[:5], more=True), body_message(FORM[5:])]
    exchange = await Exchange(*messages).run(app, http_scope(headers=FORM_HEADERS))
    assert exchange.status == 200
    assert json.loads(exchange.body)["items"][0] == ["a", "1"]
    assert spy.started == ["_rest"]
    data = await Exchange(*messages).run(app, http_scope("/data"))
    assert data.body == FORM


async def test_slow_form_bodies_are_408() -> None:
    app = form_app(BODY_TIMEOUT=0.05)
    for messages in ([], [body_message(b"a=1", more=True)]):
        exchange = Exchange(*messages, then="stall")
        await exchange.run(app, http_scope(headers=[*FORM_HEADERS, (b"content-length", b"9")]))
        assert exchange.status == 408


# -- the content type, without decoding every header -----------------------------------------


CONTENT_TYPES: list[list[bytes]] = [
    [b"application/x-www-form-urlencoded"],
    [b"Application/X-WWW-Form-URLEncoded ; Charset=Latin-1"],
    [b"application/json; charset=utf-8"],
    [b"application/vnd.api+json"],
    [b'multipart/form-data; boundary="a b"'],
    [b"text/plain", b"application/json"],
    [b"application/json\x00; x=\ry"],
    [b""],
    [b"; charset=utf-8"],
    [],
]


@pytest.mark.parametrize("values", CONTENT_TYPES)
async def test_the_content_type_is_werkzeugs(values: list[bytes]) -> None:
    app = Quart(__name__)
    seen: dict[str, t.Any] = {}

    @app.post("/")
    async def index() -> str:
        seen["mimetype"] = request.mimetype
        seen["params"] = request.mimetype_params
        seen["is_json"] = request.is_json
        seen["want_form"] = request.want_form_data_parsed
        await request.get_json(silent=True)
        await request.form
        seen["decoded every header"] = "headers" in request.__dict__
        header = request.headers.get("Content-Type", "")
        mimetype, params = parse_options_header(header)
        seen["expected"] = (mimetype.lower(), params)
        return "ok"

    headers = [(b"content-type", value) for value in values]
    exchange = await Exchange(body_message(b"")).run(app, http_scope(headers=headers))
    assert exchange.status == 200
    assert seen["decoded every header"] is False
    assert (seen["mimetype"], seen["params"]) == seen["expected"]
    mimetype = seen["expected"][0]
    assert seen["is_json"] == (
        mimetype == "application/json"
        or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    )
    assert seen["want_form"] == (mimetype in {URLENCODED, "multipart/form-data"})


async def test_json_body_through_the_fast_paths() -> None:
    app = Quart(__name__)

    @app.post("/")
    async def index() -> dict[str, t.Any]:
        value = await request.get_json()
        return {"value": value, "decoded every header": "headers" in request.__dict__}

    headers = [(b"content-type", b"application/json")]
    document = json.dumps({"a": [1, 2.5, None, "é"]}).encode("utf-16")
    exchange = await Exchange(body_message(document)).run(app, http_scope(headers=headers))
    assert json.loads(exchange.body) == {
        "value": {"a": [1, 2.5, None, "é"]},
        "decoded every header": False,
    }
    for raw in (b"NaN", b"[Infinity]", b"{"):
        refused = await Exchange(body_message(raw)).run(app, http_scope(headers=headers))
        assert refused.status == 400


# -- the urlencoded fast path ----------------------------------------------------------------


def outcome(run: cabc.Callable[[], t.Any]) -> tuple[str, t.Any]:
    """``("ok", (form class, items))`` or ``("error", (class, description))``."""
    try:
        result = run()
    except HTTPException as exc:
        return "error", (type(exc), exc.description)
    assert result is not None
    form, files = result
    assert not files
    return "ok", (type(form), type(files), list(form.items(multi=True)))


class OwnMultiDict(MultiDict[str, t.Any]):
    """A multidict class of the app's own."""


_ascii_pieces = st.one_of(
    st.sampled_from(
        [b"&", b"=", b"+", b"%", b"%2", b"%zz", b"%%", b"%41", b"%2B", b"%26", b"%3D", b"%3d"]
    ),
    st.sampled_from([b"%C3%A9", b"%c3%a9", b"%E9", b"%FF", b"%e2%82", b"%00", b";", b" ", b"\t"]),
    st.text(st.characters(max_codepoint=127), max_size=6).map(lambda s: s.encode()),
    st.text(max_size=4).map(lambda s: quote(s).encode()),
)
ascii_bodies = st.lists(_ascii_pieces, max_size=25).map(b"".join)
small_limits = st.one_of(st.none(), st.integers(min_value=0, max_value=12))
TRANSPARENT_CHARSETS = [{}, {"charset": "latin-1"}, {"charset": "cp1252"}, {"charset": "ascii"}]
CHARSETS = [*TRANSPARENT_CHARSETS, {"charset": "ISO-8859-15"}, {"charset": "utf-16"}]


@settings(max_examples=500, deadline=None)
@given(
    body=ascii_bodies,
    max_parts=small_limits,
    max_size=small_limits,
    options=st.sampled_from(CHARSETS),
    errors=st.sampled_from(["replace", "strict", "ignore", "surrogateescape"]),
    cls=st.sampled_from([MultiDict, ImmutableMultiDict, OwnMultiDict]),
)
def test_fast_path_matches_the_general_path_property(
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
    fast = outcome(lambda: parser.parse_urlencoded_data(body, options))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formparser, "_ascii_transparent", lambda name: False)
        general = outcome(lambda: parser.parse_urlencoded_data(body, options))
    # The same fields, or the same error with the same message.
    assert fast == general


def test_the_fast_path_is_taken_for_ascii_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []
    original = FormDataParser._parse_ascii

    def spy(parser: FormDataParser, text: str, charset: str) -> t.Any:
        taken.append(text)
        return original(parser, text, charset)

    monkeypatch.setattr(FormDataParser, "_parse_ascii", spy)
    parser = FormDataParser()
    for options in TRANSPARENT_CHARSETS:
        assert parser.parse_urlencoded_data(b"a=1&b=%41+", options) is not None
    assert taken == ["a=1&b=%41+"] * len(TRANSPARENT_CHARSETS)
    # Not for raw non-ASCII bytes, nor for a charset that is not ASCII-transparent.
    assert parser.parse_urlencoded_data("a=é".encode(), {}) is not None
    assert parser.parse_urlencoded_data(b"a=1", {"charset": "utf-16"}) is not None
    assert parser.parse_urlencoded_data(b"a=1", {"charset": "utf-7"}) is not None
    assert len(taken) == len(TRANSPARENT_CHARSETS)


def test_ascii_transparent_codecs() -> None:
    ascii_text = "".join(map(chr, range(128)))
    for name in formparser._ASCII_TRANSPARENT_CODECS:
        assert codecs.lookup(name).name == name
        assert bytes(range(128)).decode(name) == ascii_text
        for byte in range(128):
            assert bytes([byte]).decode(name) == chr(byte)
    for alias in ("utf-8", "UTF8", "latin-1", "ISO-8859-1", "windows-1252", "us-ascii", "l9"):
        normalized = formparser._text_codec_name(alias)
        assert normalized is not None
        assert formparser._ascii_transparent(normalized), alias
    # Multi-byte, stateful or not ASCII-based: their ASCII bytes are not plain text.
    for other in ("utf-16", "utf-32", "utf-7", "utf-8-sig", "hz", "iso2022_jp", "cp037", "idna"):
        normalized = formparser._text_codec_name(other)
        assert normalized is None or not formparser._ascii_transparent(normalized), other


@pytest.mark.parametrize("cls", [MultiDict, ImmutableMultiDict, OwnMultiDict])
def test_the_form_is_a_genuine_multidict(cls: type[MultiDict[str, t.Any]]) -> None:
    body = b"b=1&a=2&b=3&c&a=4&b=5"
    pairs = [("b", "1"), ("a", "2"), ("b", "3"), ("c", ""), ("a", "4"), ("b", "5")]
    result = FormDataParser(cls=cls).parse_urlencoded_data(body, {})
    assert result is not None
    form, files = result
    expected = cls(pairs)
    assert type(form) is cls
    assert type(files) is cls  # type: ignore[comparison-overlap]
    assert not files
    assert form == expected
    assert repr(form) == repr(expected)
    assert list(form.items(multi=True)) == list(expected.items(multi=True))
    assert list(form.lists()) == list(expected.lists())
    assert form.to_dict(flat=False) == expected.to_dict(flat=False)
    assert form["b"] == "1"
    assert form.getlist("a") == ["2", "4"]
    assert pickle.loads(pickle.dumps(form)) == expected
    assert copy.deepcopy(form) == expected
    if cls is ImmutableMultiDict:
        assert hash(form) == hash(expected)
        with pytest.raises(TypeError):
            form["x"] = "y"
    else:
        form.add("x", "y")
        assert form.getlist("x") == ["y"]


# -- the same fields as werkzeug's parser, and as Flask -------------------------------------


def _quoted(text: str, plus: bool) -> bytes:
    return (quote_plus(text, safe="") if plus else quote(text, safe="")).encode()


# Bodies werkzeug parses as quartlike does: valid UTF-8 once decoded (werkzeug
# refuses undecodable bodies, and quotes back undecodable escapes).
_utf8_pieces = st.one_of(
    st.sampled_from([b"&", b"=", b"+", b"%zz", b"%", b"%4", b"%%", b";", b"&&", b"=="]),
    st.builds(_quoted, st.text(max_size=6), st.booleans()),
    st.text(st.characters(max_codepoint=127, exclude_characters="%"), max_size=6).map(str.encode),
    st.text(max_size=4).map(lambda s: s.replace("%", "").encode()),
)


def _decodable(body: bytes) -> bool:
    """Whether every name and value of ``body`` is UTF-8 once %-decoded.

    Pieces can join into an escape that is not (``%`` then ``80``): werkzeug
    quotes such escapes back (``%80``) where quartlike replaces them (U+FFFD).
    """
    for segment in body.split(b"&"):
        for half in segment.split(b"=", 1):
            try:
                unquote_to_bytes(half).decode("utf-8")
            except UnicodeDecodeError:
                return False
    return True


utf8_bodies = st.lists(_utf8_pieces, max_size=20).map(b"".join).filter(_decodable)


def werkzeug_fields(body: bytes) -> list[tuple[str, str]]:
    parser = werkzeug.formparser.FormDataParser(max_form_parts=None)
    _, form, _ = parser.parse(io.BytesIO(body), URLENCODED, len(body), {})
    return list(form.items(multi=True))


@settings(max_examples=400, deadline=None)
@given(body=utf8_bodies)
def test_same_fields_as_werkzeug_property(body: bytes) -> None:
    result = FormDataParser(max_form_parts=None).parse_urlencoded_data(body, {})
    assert result is not None
    assert list(result[0].items(multi=True)) == werkzeug_fields(body)


def _flask_app() -> flask.Flask:
    app = flask.Flask(__name__)

    @app.post("/")
    def index() -> t.Any:
        return {"form": list(flask.request.form.items(multi=True)), "values": values_of(flask)}

    return app


def values_of(module: t.Any) -> list[tuple[str, str]]:
    return list(module.request.values.items(multi=True))


def _quartlike_app() -> Quart:
    app = Quart(__name__)

    @app.post("/")
    async def index() -> t.Any:
        form = await request.form
        values = await request.values
        return {"form": list(form.items(multi=True)), "values": list(values.items(multi=True))}

    return app


FLASK_APP = _flask_app()
QUARTLIKE_APP = _quartlike_app()


@settings(max_examples=150, deadline=None)
@given(body=utf8_bodies, query=st.sampled_from([b"", b"a=q&z=%C3%A9"]))
def test_same_form_as_flask_property(body: bytes, query: bytes) -> None:
    expected = FLASK_APP.test_client().post(
        "/?" + query.decode(), data=body, content_type=URLENCODED
    )
    assert expected.status_code == 200

    async def run() -> Exchange:
        headers = [*FORM_HEADERS, (b"content-length", str(len(body)).encode())]
        scope = http_scope(headers=headers, query_string=query)
        return await Exchange(body_message(body)).run(QUARTLIKE_APP, scope)

    ours = asyncio.run(run())
    assert ours.status == 200
    assert json.loads(ours.body) == expected.get_json()


# -- JSON: a shared decoder, the same results -------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
json_documents = st.one_of(
    st.builds(
        lambda value, encoding: json.dumps(value).encode(encoding),
        json_values,
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "utf-32-be"]),
    ),
    st.sampled_from([b"NaN", b"[-Infinity]", b'{"a": Infinity}', b"", b"{", b"\xff\xfe", b"[1,]"]),
    st.binary(max_size=12),
)


def _json_outcome(run: cabc.Callable[[], t.Any]) -> tuple[str, t.Any]:
    try:
        return "ok", run()
    except (ValueError, RecursionError) as exc:
        return "error", (type(exc), str(exc))


@settings(max_examples=300, deadline=None)
@given(document=json_documents)
def test_shared_decoder_matches_json_loads_property(document: bytes) -> None:
    reject = request_module._reject_constant
    expected = _json_outcome(lambda: json.loads(document, parse_constant=reject))
    assert _json_outcome(lambda: request_module._strict_loads(document)) == expected
