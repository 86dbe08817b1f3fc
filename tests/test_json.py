from __future__ import annotations

import dataclasses
import decimal
import gc
import io
import json
import types
import typing as t
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import date
from datetime import datetime

import flask
import flask.json
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.wrappers import Response

import quartlike.json as qjson
from quartlike import Quart
from quartlike.globals import _cv_app
from quartlike.json.provider import DefaultJSONProvider
from quartlike.json.provider import JSONProvider


class StandInApp:
    """Just what a JSON provider needs from an application."""

    response_class = Response

    def __init__(
        self, debug: bool = False, provider_class: type[JSONProvider] = DefaultJSONProvider
    ) -> None:
        self.debug = debug
        self.json = provider_class(self)


@pytest.fixture
def app() -> StandInApp:
    return StandInApp()


@pytest.fixture
def app_context(app: StandInApp) -> Iterator[StandInApp]:
    token = _cv_app.set(types.SimpleNamespace(app=app))  # type: ignore[arg-type]
    try:
        yield app
    finally:
        _cv_app.reset(token)


@dataclasses.dataclass
class Point:
    x: int
    y: int
    tags: list[str] = dataclasses.field(default_factory=list)


class HTMLThing:
    def __html__(self) -> str:
        return "<b>thing</b>"


SAMPLE_UUID = uuid.UUID("12345678-1234-5678-1234-567812345678")


# ---------------------------------------------------------------------------
# DefaultJSONProvider.dumps / default
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 2, 29), '"Thu, 29 Feb 2024 00:00:00 GMT"'),
        (datetime(2024, 1, 2, 3, 4, 5), '"Tue, 02 Jan 2024 03:04:05 GMT"'),
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            '"Tue, 02 Jan 2024 03:04:05 GMT"',
        ),
        (decimal.Decimal("0.10"), '"0.10"'),
        (SAMPLE_UUID, '"12345678-1234-5678-1234-567812345678"'),
        (Point(1, 2, ["a"]), '{"tags": ["a"], "x": 1, "y": 2}'),
        (Markup("<em>hi</em>"), '"<em>hi</em>"'),
        (HTMLThing(), '"<b>thing</b>"'),
    ],
)
def test_default_types(app: StandInApp, value: t.Any, expected: str) -> None:
    assert app.json.dumps(value) == expected
    assert app.json.dumps(value) == flask.Flask(__name__).json.dumps(value)


def test_default_unknown_type(app: StandInApp) -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        app.json.dumps(object())
    with pytest.raises(TypeError, match="Object of type type "):
        app.json.dumps(Point)  # a dataclass type is not an instance


def test_default_is_static_and_overridable(app: StandInApp) -> None:
    assert DefaultJSONProvider.default(SAMPLE_UUID) == str(SAMPLE_UUID)

    class SetProvider(DefaultJSONProvider):
        @staticmethod
        def default(o: t.Any) -> t.Any:
            if isinstance(o, set):
                return sorted(o)
            return DefaultJSONProvider.default(o)

    provider = SetProvider(app)
    assert provider.dumps({"s": {3, 1, 2}, "u": SAMPLE_UUID}) == (
        '{"s": [1, 2, 3], "u": "12345678-1234-5678-1234-567812345678"}'
    )


def test_sort_keys(app: StandInApp) -> None:
    assert app.json.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'
    assert app.json.dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b": 1, "a": 2}'

    class Unsorted(DefaultJSONProvider):
        sort_keys = False

    assert Unsorted(app).dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'


def test_ensure_ascii(app: StandInApp) -> None:
    assert app.json.dumps("snowman \u2603") == '"snowman \\u2603"'
    assert app.json.dumps("snowman \u2603", ensure_ascii=False) == '"snowman \u2603"'

    class Unicode(DefaultJSONProvider):
        ensure_ascii = False

    assert Unicode(app).dumps("\u2603") == '"\u2603"'


def test_loads_and_load(app: StandInApp) -> None:
    assert app.json.loads('{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}
    assert app.json.loads(b'{"a": "\\u2603"}') == {"a": "\u2603"}
    assert app.json.loads("1.5", parse_float=decimal.Decimal) == decimal.Decimal("1.5")
    assert app.json.load(io.StringIO('[1, "x"]')) == [1, "x"]
    assert app.json.load(io.BytesIO(b'{"k": true}')) == {"k": True}


def test_dump(app: StandInApp) -> None:
    out = io.StringIO()
    app.json.dump({"b": SAMPLE_UUID, "a": 1}, out)
    assert out.getvalue() == '{"a": 1, "b": "12345678-1234-5678-1234-567812345678"}'
    out = io.StringIO()
    app.json.dump([1], out, indent=1)
    assert out.getvalue() == "[\n 1\n]"


# ---------------------------------------------------------------------------
# response()
# ---------------------------------------------------------------------------


def test_response_compact_outside_debug(app: StandInApp) -> None:
    response = app.json.response({"b": [1, 2], "a": None})
    assert isinstance(response, Response)
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == '{"a":null,"b":[1,2]}\n'


def test_response_indented_in_debug() -> None:
    app = StandInApp(debug=True)
    body = app.json.response({"b": [1], "a": "x"}).get_data(as_text=True)
    assert body == '{\n  "a": "x",\n  "b": [\n    1\n  ]\n}\n'


@pytest.mark.parametrize(
    ("compact", "debug", "indented"),
    [
        (None, False, False),
        (None, True, True),
        (True, True, False),
        (True, False, False),
        (False, False, True),
        (False, True, True),
    ],
)
def test_response_compact_setting(compact: bool | None, debug: bool, indented: bool) -> None:
    class Provider(DefaultJSONProvider):
        pass

    Provider.compact = compact
    app = StandInApp(debug=debug, provider_class=Provider)
    body = app.json.response(a=1, b=2).get_data(as_text=True)
    expected = '{\n  "a": 1,\n  "b": 2\n}\n' if indented else '{"a":1,"b":2}\n'
    assert body == expected


@pytest.mark.parametrize("debug", [False, True])
def test_response_matches_flask(debug: bool) -> None:
    value = {"when": datetime(2020, 5, 6, 7, 8, 9), "id": SAMPLE_UUID, "list": [1, "\u2603"]}
    app = StandInApp(debug=debug)
    ours = app.json.response(value)
    flask_app = flask.Flask(__name__)
    flask_app.debug = debug
    theirs = flask_app.json.response(value)
    assert ours.get_data() == theirs.get_data()
    assert ours.mimetype == theirs.mimetype


def test_response_custom_mimetype(app: StandInApp) -> None:
    class Problem(DefaultJSONProvider):
        mimetype = "application/problem+json"

    response = Problem(app).response({"title": "x"})
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("args", "kwargs", "body"),
    [
        ((), {}, "null\n"),
        ((1,), {}, "1\n"),
        (([1, 2],), {}, "[1,2]\n"),
        ((1, "a", None), {}, '[1,"a",null]\n'),
        ((), {"b": 1, "a": 2}, '{"a":2,"b":1}\n'),
    ],
)
def test_response_arguments(
    app: StandInApp, args: tuple[t.Any, ...], kwargs: dict[str, t.Any], body: str
) -> None:
    assert app.json.response(*args, **kwargs).get_data(as_text=True) == body


def test_response_args_and_kwargs(app: StandInApp) -> None:
    with pytest.raises(TypeError, match="not both"):
        app.json.response(1, a=2)


# ---------------------------------------------------------------------------
# JSONProvider base
# ---------------------------------------------------------------------------


def test_base_provider_uses_plain_json(app: StandInApp) -> None:
    provider = JSONProvider(app)
    assert provider.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    with pytest.raises(TypeError):
        provider.dumps(SAMPLE_UUID)
    assert provider.loads("[1]") == [1]
    out = io.StringIO()
    provider.dump([1, 2], out)
    assert out.getvalue() == "[1, 2]"
    assert provider.load(io.StringIO("{}")) == {}
    response = provider.response(1, 2)
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == "[1, 2]"
    with pytest.raises(TypeError):
        provider.response(1, x=2)


def test_custom_provider_dumps_used_by_everything(app: StandInApp) -> None:
    class Upper(JSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            return json.dumps(obj, **kwargs).upper()

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            return json.loads(s, **kwargs)

    provider = Upper(app)
    out = io.StringIO()
    provider.dump("abc", out)
    assert out.getvalue() == '"ABC"'
    assert provider.response("abc").get_data(as_text=True) == '"ABC"'


def test_provider_does_not_keep_app_alive() -> None:
    app = StandInApp()
    provider = app.json
    del app
    gc.collect()
    with pytest.raises(RuntimeError, match="garbage collected"):
        provider.response(1)
    # Encoding and decoding do not need the application.
    assert provider.dumps([1]) == "[1]"


# ---------------------------------------------------------------------------
# Module-level functions
# ---------------------------------------------------------------------------


def test_module_functions_without_app() -> None:
    assert _cv_app.get(None) is None
    value = {"b": SAMPLE_UUID, "a": date(2024, 1, 1), "c": "\u2603"}
    assert qjson.dumps(value) == flask.json.dumps(value)
    # Outside an application keys keep their order, as with the json module.
    assert qjson.dumps({"b": 1, "a": 2}) == '{"b": 1, "a": 2}'
    assert qjson.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert qjson.loads('{"a": 1}') == {"a": 1}
    assert qjson.loads(b"[true]") == [True]
    out = io.StringIO()
    qjson.dump({"d": decimal.Decimal("1.5")}, out)
    assert out.getvalue() == '{"d": "1.5"}'
    assert qjson.load(io.StringIO("[null]")) == [None]
    with pytest.raises(TypeError):
        qjson.dumps(object())


def test_module_functions_use_app_provider(app_context: StandInApp) -> None:
    assert qjson.dumps({"b": 1, "a": 2}) == '{"a": 2, "b": 1}'

    calls: list[str] = []

    class Recording(DefaultJSONProvider):
        def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
            calls.append("dumps")
            return super().dumps(obj, **kwargs)

        def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
            calls.append("loads")
            return super().loads(s, **kwargs)

    app_context.json = Recording(app_context)
    assert qjson.dumps([1]) == "[1]"
    assert qjson.loads("[2]") == [2]
    out = io.StringIO()
    qjson.dump({"x": 1}, out)
    assert out.getvalue() == '{"x": 1}'
    assert qjson.load(io.StringIO("3")) == 3
    assert calls == ["dumps", "loads", "dumps", "loads"]


def test_jsonify(app_context: StandInApp) -> None:
    response = qjson.jsonify({"b": 1}, "x")
    assert response.mimetype == "application/json"
    assert response.get_data(as_text=True) == '[{"b":1},"x"]\n'
    assert qjson.jsonify(a=1).get_data(as_text=True) == '{"a":1}\n'
    assert qjson.jsonify().get_data(as_text=True) == "null\n"
    with pytest.raises(TypeError):
        qjson.jsonify(1, a=2)


def test_jsonify_debug(app_context: StandInApp) -> None:
    app_context.debug = True
    assert qjson.jsonify(a=[1]).get_data(as_text=True) == '{\n  "a": [\n    1\n  ]\n}\n'


def test_jsonify_without_app() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        qjson.jsonify(1)


async def test_json_responses_follow_provider_settings_changed_between_requests() -> None:
    # The encoder of JSON responses is kept per settings: changing a setting
    # (as Flask's docs suggest, on app.json) must change the next response.
    app = Quart(__name__)

    @app.route("/")
    async def index() -> dict[str, t.Any]:
        return {"b": 1, "a": "\u00e9"}

    @app.route("/obj")
    async def obj() -> dict[str, t.Any]:
        return {"x": object()}

    client = app.test_client()
    assert await (await client.get("/")).get_data() == b'{"a":"\\u00e9","b":1}\n'
    app.json.sort_keys = False  # type: ignore[attr-defined]
    assert await (await client.get("/")).get_data() == b'{"b":1,"a":"\\u00e9"}\n'
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    assert await (await client.get("/")).get_data() == '{"b":1,"a":"\u00e9"}\n'.encode()
    app.json.compact = False  # type: ignore[attr-defined]
    assert await (await client.get("/")).get_data() == '{\n  "b": 1,\n  "a": "\u00e9"\n}\n'.encode()
    app.json.default = lambda o: "custom"  # type: ignore[attr-defined]
    assert await (await client.get("/obj")).get_data() == b'{\n  "x": "custom"\n}\n'


# -- the compact response encoder calls the C encoder directly: same text, same errors --


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, ensure_ascii=st.booleans(), sort_keys=st.booleans())
def test_response_encoder_gives_json_encoders_text(
    value: t.Any, ensure_ascii: bool, sort_keys: bool
) -> None:
    from quartlike.json.provider import _Encoder

    options: dict[str, t.Any] = {
        "default": qjson.provider._default,
        "ensure_ascii": ensure_ascii,
        "sort_keys": sort_keys,
        "separators": (",", ":"),
    }
    assert _Encoder(**options).encode(value) == json.JSONEncoder(**options).encode(value)


def test_response_encoder_errors_and_defaults_are_json_encoders() -> None:
    from quartlike.json.provider import _Encoder

    options: dict[str, t.Any] = {"default": qjson.provider._default, "separators": (",", ":")}
    ours, theirs = _Encoder(**options), json.JSONEncoder(**options)
    loop: list[t.Any] = []
    loop.append(loop)
    for bad in (loop, {"k": object()}, [1, {2, 3}]):
        errors = []
        for encoder in (ours, theirs):
            with pytest.raises((ValueError, TypeError)) as info:
                encoder.encode(bad)
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]
    # An error leaves nothing behind: the next value with the same containers encodes.
    shared = [1, 2]
    assert ours.encode([shared, shared]) == "[[1,2],[1,2]]"
    value = {"d": date(2026, 1, 2), "u": uuid.UUID(int=5), "m": Markup("<b>"), "n": "é"}
    assert ours.encode(value) == theirs.encode(value)
    assert ours.encode("just a string") == theirs.encode("just a string")
