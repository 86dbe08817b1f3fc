from __future__ import annotations

import contextlib
import decimal
import types
import typing as t
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from uuid import UUID

import flask
import flask.json.tag
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.wrappers import Response

from quartlike.globals import _cv_app
from quartlike.json import dumps as json_dumps
from quartlike.json import loads as json_loads
from quartlike.json.provider import DefaultJSONProvider
from quartlike.json.tag import JSONTag
from quartlike.json.tag import PassDict
from quartlike.json.tag import TagDict
from quartlike.json.tag import TaggedJSONSerializer

SAMPLE_UUID = UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


def flask_serializer() -> flask.json.tag.TaggedJSONSerializer:
    return flask.json.tag.TaggedJSONSerializer()


# Values whose serialised form must be identical to Flask's, and which load
# back to an equal value.
INTEROP_VALUES: list[t.Any] = [
    None,
    True,
    0,
    -12,
    1.5,
    "",
    "text \u2603",
    [],
    {},
    [1, "a", None],
    {"a": 1, "b": [1, 2]},
    {"outer": {"inner": {"deep": [1, {"x": (1, 2)}]}}},
    (),
    (1, 2, 3),
    ((1, (2, 3)), [4, (5,)]),
    b"",
    b"\x00\xff binary \n",
    {"blob": [b"a", b"bc"]},
    Markup("<strong>safe</strong>"),
    {"m": Markup("&lt;")},
    SAMPLE_UUID,
    [SAMPLE_UUID, UUID(int=0)],
    datetime(2024, 2, 29, 12, 30, 45, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 30, 45, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    {"when": datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC)},
    {" t": "looks like a tuple tag"},
    {" t": [1, 2]},
    {" di": {" t__": 1}},
    {" b": b"bytes under a tag name"},
    {" t": 1, " u": 2},
    {"x": {" u": "not a uuid"}},
    {" nottag": 1},
    {"b": 1, "a": 2, "c": (b"z",)},
    [{" m": Markup("<i>")}, ({" d": None},)],
]


@pytest.mark.parametrize("value", INTEROP_VALUES)
def test_dumps_matches_flask(value: t.Any) -> None:
    assert TaggedJSONSerializer().dumps(value) == flask_serializer().dumps(value)


@pytest.mark.parametrize("value", INTEROP_VALUES)
def test_round_trip_and_cross_loading(value: t.Any) -> None:
    ours = TaggedJSONSerializer()
    theirs = flask_serializer()
    assert ours.loads(ours.dumps(value)) == value
    assert ours.loads(theirs.dumps(value)) == value
    assert theirs.loads(ours.dumps(value)) == value


def test_loads_preserves_types() -> None:
    s = TaggedJSONSerializer()
    value = {
        "t": (1, (2,)),
        "b": b"\x01",
        "m": Markup("<b>"),
        "u": SAMPLE_UUID,
        "d": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
        "l": [(1,)],
    }
    loaded = s.loads(s.dumps(value))
    assert type(loaded["t"]) is tuple
    assert type(loaded["t"][1]) is tuple
    assert type(loaded["b"]) is bytes
    assert type(loaded["m"]) is Markup
    assert type(loaded["u"]) is UUID
    assert type(loaded["d"]) is datetime
    assert loaded["d"].tzinfo is not None
    assert type(loaded["l"]) is list
    assert type(loaded["l"][0]) is tuple


def test_exact_wire_format() -> None:
    s = TaggedJSONSerializer()
    assert s.dumps((1, 2)) == '{" t":[1,2]}'
    assert s.dumps(b"hi") == '{" b":"aGk="}'
    assert s.dumps(Markup("<p>")) == '{" m":"<p>"}'
    assert s.dumps(SAMPLE_UUID) == '{" u":"0f8fad5bd9cb469fa16570867728950e"}'
    assert (
        s.dumps(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
        == '{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}'
    )
    assert s.dumps({" t": 1}) == '{" di":{" t__":1}}'
    assert s.dumps({"b": 1, "a": [1]}) == '{"b":1,"a":[1]}'


def test_datetime_precision_and_timezone() -> None:
    s = TaggedJSONSerializer()
    value = datetime(2024, 6, 1, 12, 0, 0, 987654, tzinfo=timezone(timedelta(hours=-4)))
    loaded = s.loads(s.dumps(value))
    assert loaded == value.replace(microsecond=0)
    assert loaded.utcoffset() == timedelta(0)
    naive = datetime(2024, 6, 1, 12, 0, 0)
    assert s.loads(s.dumps(naive)) == naive.replace(tzinfo=UTC)


def test_object_with_html_loads_as_markup() -> None:
    class Widget:
        def __html__(self) -> str:
            return "<widget>"

    s = TaggedJSONSerializer()
    assert s.dumps(Widget()) == '{" m":"<widget>"}'
    assert s.loads(s.dumps(Widget())) == Markup("<widget>")


def test_untag() -> None:
    s = TaggedJSONSerializer()
    assert s.untag({" t": [1]}) == (1,)
    assert s.untag({" u": SAMPLE_UUID.hex}) == SAMPLE_UUID
    plain = {" t": [1], "other": 2}
    assert s.untag(plain) is plain
    unknown = {" zz": 1}
    assert s.untag(unknown) is unknown
    assert s.untag({}) == {}


def test_tag() -> None:
    s = TaggedJSONSerializer()
    assert s.tag((1, b"a")) == {" t": [1, {" b": "YQ=="}]}
    assert s.tag({"k": (1,)}) == {"k": {" t": [1]}}
    assert s.tag([(1,)]) == [{" t": [1]}]
    sentinel = object()
    assert s.tag(sentinel) is sentinel


def test_default_order_and_keys() -> None:
    s = TaggedJSONSerializer()
    assert [type(tag).__name__ for tag in s.order] == [
        "TagDict",
        "PassDict",
        "TagTuple",
        "PassList",
        "TagBytes",
        "TagMarkup",
        "TagUUID",
        "TagDateTime",
    ]
    assert set(s.tags) == {" di", " t", " b", " m", " u", " d"}
    assert set(s.tags) == set(flask_serializer().tags)


def test_dumps_outside_app_does_not_sort() -> None:
    assert _cv_app.get(None) is None
    assert TaggedJSONSerializer().dumps({"b": 1, "a": 2}) == '{"b":1,"a":2}'


@pytest.fixture
def app_context() -> Iterator[None]:
    class App:
        response_class = Response
        debug = False

        def __init__(self) -> None:
            self.json = DefaultJSONProvider(self)

    app = App()
    token = _cv_app.set(types.SimpleNamespace(app=app))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _cv_app.reset(token)


def test_dumps_inside_app_uses_app_provider(app_context: None) -> None:
    value = {"b": 1, "a": ("\u2603", b"x")}
    ours = TaggedJSONSerializer().dumps(value)
    assert ours == '{"a":{" t":["\\u2603",{" b":"eA=="}]},"b":1}'
    with flask.Flask(__name__).app_context():
        assert ours == flask_serializer().dumps(value)
    assert TaggedJSONSerializer().loads(ours) == value


# ---------------------------------------------------------------------------
# Registering tags
# ---------------------------------------------------------------------------


class TagOrderedDict(JSONTag):
    __slots__ = ()
    key = " od"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, OrderedDict)

    def to_json(self, value: t.Any) -> t.Any:
        return [[k, self.serializer.tag(v)] for k, v in value.items()]

    def to_python(self, value: t.Any) -> t.Any:
        return OrderedDict(value)


def test_register_at_index() -> None:
    s = TaggedJSONSerializer()
    s.register(TagOrderedDict, index=0)
    assert isinstance(s.order[0], TagOrderedDict)
    assert s.order[0].serializer is s
    value = OrderedDict([("b", (1,)), ("a", 2)])
    dumped = s.dumps(value)
    assert dumped == '{" od":[["b",{" t":[1]}],["a",2]]}'
    loaded = s.loads(dumped)
    assert type(loaded) is OrderedDict
    assert loaded == value


def test_register_appends_by_default() -> None:
    s = TaggedJSONSerializer()
    s.register(TagOrderedDict)
    assert isinstance(s.order[-1], TagOrderedDict)
    # PassDict comes first and handles OrderedDict as a plain dict.
    assert s.dumps(OrderedDict(a=1)) == '{"a":1}'


def test_register_duplicate_key() -> None:
    s = TaggedJSONSerializer()

    class OtherTuple(JSONTag):
        __slots__ = ()
        key = " t"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, tuple)

        def to_json(self, value: t.Any) -> t.Any:
            return "tuple"

        def to_python(self, value: t.Any) -> t.Any:
            return ("replaced",)

    with pytest.raises(KeyError, match="force=True"):
        s.register(OtherTuple)
    s.register(OtherTuple, force=True, index=0)
    assert s.dumps((1,)) == '{" t":"tuple"}'
    assert s.loads('{" t":[1]}') == ("replaced",)


def test_register_keyless_tag() -> None:
    s = TaggedJSONSerializer()
    before = dict(s.tags)
    s.register(PassDict)
    s.register(PassDict)
    assert s.tags == before
    assert len(s.order) == 10


def test_jsontag_is_abstract() -> None:
    with pytest.raises(TypeError):
        JSONTag(TaggedJSONSerializer())  # type: ignore[abstract]


def test_tagdict_check() -> None:
    s = TaggedJSONSerializer()
    tag = TagDict(s)
    assert tag.check({" t": 1})
    assert not tag.check({" t": 1, "x": 2})
    assert not tag.check({"x": 1})
    assert not tag.check([" t"])


# ---------------------------------------------------------------------------
# Property-based differential test against Flask
# ---------------------------------------------------------------------------

tag_like_keys = st.sampled_from([" t", " u", " b", " m", " d", " di", " t__", "a", "b"])
keys = st.one_of(tag_like_keys, st.text(max_size=5))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.binary(max_size=10),
    st.uuids(),
    st.text(max_size=10).map(Markup),
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    ).map(lambda d: d.replace(microsecond=0)),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)


@settings(database=None, max_examples=200, deadline=None)
@given(values)
def test_differential_against_flask(value: t.Any) -> None:
    ours = TaggedJSONSerializer()
    theirs = flask_serializer()
    dumped = ours.dumps(value)
    assert dumped == theirs.dumps(value)
    assert ours.loads(dumped) == value
    assert theirs.loads(dumped) == value


# ---------------------------------------------------------------------------
# Values that need no tag skip the tagging walk
# ---------------------------------------------------------------------------

plain_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
plain_values = st.recursive(
    plain_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=15,
)


def dumps_through_tag(s: TaggedJSONSerializer, value: t.Any) -> str:
    """What ``dumps`` gives by walking every value with ``tag``."""
    return json_dumps(s.tag(value), separators=(",", ":"))


@settings(database=None, max_examples=300, deadline=None)
@given(plain_values)
def test_plain_values_dump_as_flask_and_as_the_tagging_walk(value: t.Any) -> None:
    ours = TaggedJSONSerializer()
    dumped = ours.dumps(value)
    assert dumped == flask_serializer().dumps(value)
    assert dumped == dumps_through_tag(ours, value)
    assert ours.loads(dumped) == value


@settings(database=None, max_examples=200, deadline=None)
@given(plain_values)
def test_plain_values_dump_as_flask_in_an_app(value: t.Any) -> None:
    with flask.Flask(__name__).app_context():
        expected = flask_serializer().dumps(value)

    class App:
        response_class = Response
        debug = False

        def __init__(self) -> None:
            self.json = DefaultJSONProvider(self)

    token = _cv_app.set(types.SimpleNamespace(app=App()))  # type: ignore[arg-type]
    try:
        assert TaggedJSONSerializer().dumps(value) == expected
    finally:
        _cv_app.reset(token)


@pytest.mark.parametrize(
    "value",
    [
        {" t": 1},  # a one-key dict whose key is a tag name is escaped
        {"a": {" u": [1]}},
        [{"x": [{" di": None}]}],
        {"a": [1, (2,)]},
        {"a": b"x"},
        {"a": Markup("<b>")},
        {"a": OrderedDict(b=1)},
        [True, 1.5, "s", None, SAMPLE_UUID],
    ],
)
def test_values_that_need_tags_are_still_tagged(value: t.Any) -> None:
    ours = TaggedJSONSerializer()
    assert ours.dumps(value) == flask_serializer().dumps(value)
    assert ours.dumps(value) == dumps_through_tag(ours, value)


def test_a_tag_for_plain_values_is_honoured() -> None:
    class TagUpper(JSONTag):
        __slots__ = ()
        key = " up"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, str)

        def to_json(self, value: t.Any) -> t.Any:
            return value.upper()

        def to_python(self, value: t.Any) -> t.Any:
            return value.lower()

    s = TaggedJSONSerializer()
    assert s.dumps({"a": "x"}) == '{"a":"x"}'
    s.register(TagUpper, index=0)
    assert s.dumps({"a": "x"}) == '{"a":{" up":"X"}}'
    assert s.dumps("y") == '{" up":"Y"}'
    # Changing ``order`` directly is seen too.
    s.order.pop(0)
    assert s.dumps({"a": "x"}) == '{"a":"x"}'
    s.order.append(TagUpper(s))
    assert s.dumps({"a": "x"}) == '{"a":{" up":"X"}}'


def test_a_subclass_tag_method_is_honoured() -> None:
    class Counting(TaggedJSONSerializer):
        __slots__ = ("calls",)

        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def tag(self, value: t.Any) -> t.Any:
            self.calls += 1
            return super().tag(value)

    s = Counting()
    assert s.dumps({"a": [1, "b"]}) == '{"a":[1,"b"]}'
    assert s.calls == 4


# ---------------------------------------------------------------------------
# The encoder and scanner shortcuts give what quartlike.json gives
# ---------------------------------------------------------------------------


class _JSONApp:
    response_class = Response
    debug = False

    def __init__(self, provider_class: type[DefaultJSONProvider] = DefaultJSONProvider) -> None:
        self.json = provider_class(self)


@contextlib.contextmanager
def provider_context(app: _JSONApp | None) -> Iterator[None]:
    """Make ``app`` (``None``: no app at all) the active application."""
    if app is None:
        assert _cv_app.get(None) is None
        yield
        return
    token = _cv_app.set(types.SimpleNamespace(app=app))  # type: ignore[arg-type]
    try:
        yield
    finally:
        _cv_app.reset(token)


def outcome(fn: t.Callable[[], t.Any]) -> tuple[str, t.Any]:
    try:
        return ("value", fn())
    except Exception as e:
        return (type(e).__name__, str(e))


class DecimalLoader(DefaultJSONProvider):
    """A provider whose ``loads`` differs from json.loads: floats become Decimals."""

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        kwargs.setdefault("parse_float", decimal.Decimal)
        return super().loads(s, **kwargs)


class SpacedDumper(DefaultJSONProvider):
    """A provider whose ``dumps`` differs from json.dumps: it ignores the separators."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        kwargs.pop("separators", None)
        return super().dumps(obj, **kwargs)


def _provider_setups() -> list[tuple[str, _JSONApp | None]]:
    unsorted = _JSONApp()
    unsorted.json.sort_keys = False  # type: ignore[attr-defined]
    unicode = _JSONApp()
    unicode.json.ensure_ascii = False  # type: ignore[attr-defined]
    strict = _JSONApp()
    strict.json.default = lambda o: f"<{type(o).__name__}>"  # type: ignore[attr-defined]
    no_default = _JSONApp()
    no_default.json.default = None  # type: ignore[attr-defined]
    return [
        ("no app", None),
        ("default provider", _JSONApp()),
        ("sort_keys off", unsorted),
        ("ensure_ascii off", unicode),
        ("own default", strict),
        ("default None", no_default),
        ("provider with its own dumps", _JSONApp(SpacedDumper)),
        ("provider with its own loads", _JSONApp(DecimalLoader)),
    ]


PROVIDER_SETUPS = _provider_setups()


class Circular:
    pass


def _circular() -> dict[str, t.Any]:
    loop: dict[str, t.Any] = {}
    loop["self"] = [loop]
    return loop


ODD_VALUES: list[t.Any] = [
    {"z": 1, "a": "\u00e9\u2603", "m": [1.5, None, True]},
    {"nan": float("nan"), "inf": float("-inf")},
    {1: "int key", "b": 2},
    {None: 1, "a": 2},  # mixed keys: sorting fails, as json's does
    {(1, 2): "tuple key"},
    {"x": Circular()},  # not serialisable (unless the provider's default says so)
    {"t": (1, Circular())},
    {"big": 10**30, "neg": -(2**63)},
    "top-level string \u2603",
    [1, [2, [3, {"a": b"x"}]]],
    {"decimal": decimal.Decimal("1.5")},
    {"date": datetime(2020, 1, 2, 3, 4, 5)},
]


@pytest.mark.parametrize("setup", PROVIDER_SETUPS, ids=[name for name, _ in PROVIDER_SETUPS])
@pytest.mark.parametrize("value", ODD_VALUES)
def test_dumps_is_quartlike_json_dumps_of_the_tagged_value(
    setup: tuple[str, _JSONApp | None], value: t.Any
) -> None:
    _, app = setup
    s = TaggedJSONSerializer()
    with provider_context(app):
        expected = outcome(lambda: json_dumps(s.tag(value), separators=(",", ":")))
        assert outcome(lambda: s.dumps(value)) == expected
        assert outcome(lambda: s.dumps(value)) == expected  # from the kept encoder


def test_cycles_are_reported_as_json_reports_them() -> None:
    s = TaggedJSONSerializer()

    class Loop(JSONTag):
        """A tag whose JSON form contains itself: only the encoder can see the cycle."""

        __slots__ = ()
        key = " loop"

        def check(self, value: t.Any) -> bool:
            return isinstance(value, Circular)

        def to_json(self, value: t.Any) -> t.Any:
            return _circular()

        def to_python(self, value: t.Any) -> t.Any:
            return value

    s.register(Loop, index=0)
    for app in (None, _JSONApp()):
        with provider_context(app):
            expected = outcome(lambda: json_dumps(s.tag({"a": Circular()}), separators=(",", ":")))
            assert expected[0] == "ValueError"
            for _ in range(2):
                assert outcome(lambda: s.dumps({"a": Circular()})) == expected
            # A failed encoding leaves nothing behind for the next one.
            assert s.dumps({"a": [1]}) == json_dumps({"a": [1]}, separators=(",", ":"))


@settings(database=None, max_examples=200, deadline=None)
@given(value=values, setup=st.sampled_from(PROVIDER_SETUPS))
def test_dumps_matches_the_general_path_with_any_provider(
    value: t.Any, setup: tuple[str, _JSONApp | None]
) -> None:
    _, app = setup
    s = TaggedJSONSerializer()
    with provider_context(app):
        assert outcome(lambda: s.dumps(value)) == outcome(
            lambda: json_dumps(s.tag(value), separators=(",", ":"))
        )


def _general_loads(s: TaggedJSONSerializer, document: str | bytes) -> t.Any:
    """What ``loads`` gives without the untagging scanner."""
    return s._untag_scan(json_loads(document))


DOCUMENTS = [
    '{"n":1}',
    '{"a":{" t":[1,{" b":"eA=="}]},"b":[{" u":"0f8fad5bd9cb469fa16570867728950e"}]}',
    '{" di":{" t__":[1]}}',
    '{" t":[1,[2,{" t":[3]}]]}',
    '{" m":"<b>"}',
    '{" d":"Tue, 02 Jan 2024 03:04:05 GMT"}',
    '[{" t":[]},{" zz":1}]',
    '{"f":1.5,"e":1e400,"n":NaN}',
    ' {"a":1}',  # whitespace before
    '{"a":1} ',  # and after
    '{"a":1}\n',
    '{"a":1} x',  # extra data
    '{"a":1}{"b":2}',
    '\ufeff{"a":1}',  # a BOM
    "",
    "{",
    '{"a":}',
    '{" u":"not-a-uuid"}',  # a tag that fails
    '{" u":"not-a-uuid"} x',  # ... in a document that is not JSON either
    '{" b":"!!"}',
    '{" d":"not a date"}',
    '"just a string"',
    "12",
    "null",
    '{"a":"\\ud800"}',
]


@pytest.mark.parametrize("setup", PROVIDER_SETUPS, ids=[name for name, _ in PROVIDER_SETUPS])
@pytest.mark.parametrize("document", DOCUMENTS)
def test_loads_is_the_general_path(setup: tuple[str, _JSONApp | None], document: str) -> None:
    _, app = setup
    s = TaggedJSONSerializer()
    with provider_context(app):
        for given_value in (document, document.encode("utf-8", "surrogatepass")):
            expected = outcome(lambda: _general_loads(s, given_value))  # noqa: B023
            got = outcome(lambda: s.loads(given_value))  # noqa: B023
            assert got == expected or (
                # NaN != NaN: compare the documents they dump to.
                got[0] == expected[0] == "value" and repr(got[1]) == repr(expected[1])
            )
            if got[0] == "value":
                assert _types(got[1]) == _types(expected[1])


def _types(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return (type(value), {k: _types(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return (type(value), [_types(v) for v in value])
    return type(value)


@settings(database=None, max_examples=300, deadline=None)
@given(
    st.text(alphabet='{}[]":, tbdu01aeE.-\\', max_size=30)
    | values.map(lambda v: TaggedJSONSerializer().dumps(v))
)
def test_loads_of_any_text_is_the_general_path(document: str) -> None:
    s = TaggedJSONSerializer()
    for app in (None, _JSONApp()):
        with provider_context(app):
            got = outcome(lambda: s.loads(document))
            expected = outcome(lambda: _general_loads(s, document))
            assert got == expected or repr(got) == repr(expected)


def test_a_subclass_untag_is_honoured_when_loading() -> None:
    class Counting(TaggedJSONSerializer):
        __slots__ = ("seen",)

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[t.Any] = []

        def untag(self, value: dict[str, t.Any]) -> t.Any:
            self.seen.append(dict(value))
            return super().untag(value)

    s = Counting()
    assert s.loads('{"a":{" t":[1]},"b":{}}') == {"a": (1,), "b": {}}
    assert s.seen == [{" t": [1]}, {}, {"a": (1,), "b": {}}]


def test_a_subclass_untag_scan_is_honoured_when_loading() -> None:
    class Untouched(TaggedJSONSerializer):
        __slots__ = ()

        def _untag_scan(self, value: t.Any) -> t.Any:
            return value

    assert Untouched().loads('{"a":{" t":[1]}}') == {"a": {" t": [1]}}


def test_a_provider_loads_is_honoured() -> None:
    s = TaggedJSONSerializer()
    with provider_context(_JSONApp(DecimalLoader)):
        assert s.loads('{"a":[1.5]}') == {"a": [decimal.Decimal("1.5")]}
    assert s.loads('{"a":[1.5]}') == {"a": [1.5]}
