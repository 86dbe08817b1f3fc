"""The session cookie's lean codec against itsdangerous and Flask, byte for byte.

The signed-cookie interface writes and checks cookies with its own code
(``quartlike.session_cookie._CookieCodec``) instead of going through itsdangerous'
generic layers. These tests hold it to itsdangerous' (and Flask's) results:
the same cookies written, the same cookies accepted with the same data, and
the same ones rejected (with the same exception through the public
serializer), including tampered, expired, future-dated, compressed,
malformed and fallback-key cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import typing as t
import unittest.mock
import uuid
import warnings
import zlib
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import flask
import pytest
from flask.json.tag import TaggedJSONSerializer as FlaskTaggedJSON
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from itsdangerous import Signer
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode
from itsdangerous.encoding import base64_encode
from markupsafe import Markup
from werkzeug.http import dump_cookie

from quartlike import Quart
from quartlike import session_cookie
from quartlike.json.tag import TaggedJSONSerializer
from quartlike.sessions import SecureCookieSession
from quartlike.sessions import SecureCookieSessionInterface
from quartlike.wrappers.response import Response

SECRET = "a-long-random-secret-for-the-tests"
NOW = 1_700_000_000.25
SALT = "cookie-session"
SIGNER_KWARGS: dict[str, t.Any] = {"key_derivation": "hmac", "digest_method": hashlib.sha1}


def make_app(key: str = SECRET, fallbacks: list[str] | None = None) -> Quart:
    app = Quart(__name__)
    app.secret_key = key
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks
    return app


def ours(app: Quart) -> URLSafeTimedSerializer:
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return serializer


def codec(app: Quart) -> t.Any:
    serializer = ours(app)
    found = serializer._codec  # type: ignore[attr-defined]
    assert found is not None, "the lean codec is not in use"
    return found


def theirs(keys: list[str], serializer: t.Any = None) -> URLSafeTimedSerializer:
    """itsdangerous' own serializer with the settings of Flask's cookie interface."""
    return URLSafeTimedSerializer(
        keys,  # type: ignore[arg-type]
        salt=SALT,
        serializer=serializer if serializer is not None else TaggedJSONSerializer(),
        signer_kwargs=SIGNER_KWARGS,
    )


def sign_raw(value: bytes, key: str = SECRET) -> bytes:
    """``value.signature``: anything at all, correctly signed (as the last step of a cookie)."""
    return Signer(key, salt=SALT, **SIGNER_KWARGS).sign(value)


def signed_cookie(json: bytes, stamp: str | None = None, *, compress: bool = False) -> str:
    """A cookie around any payload, correctly signed (dated now unless ``stamp`` is given)."""
    if stamp is None:
        stamp = base64_encode(int(NOW).to_bytes(4, "big")).decode()
    payload = base64_encode(zlib.compress(json) if compress else json).decode()
    return sign_raw(f"{'.' if compress else ''}{payload}.{stamp}".encode()).decode()


def outcome(fn: t.Callable[[], t.Any]) -> tuple[str, t.Any]:
    """What a call gives: its value, or the type and message of what it raised."""
    try:
        return ("value", fn())
    except Exception as e:
        return (type(e).__name__, str(e))


@pytest.fixture(autouse=True)
def _frozen_time() -> t.Iterator[None]:
    with unittest.mock.patch("time.time", return_value=NOW):
        yield


# -- writing: the same bytes as itsdangerous and as Flask ------------------------------------

tag_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.text(alphabet="ab", max_size=80),  # compressible
    st.binary(max_size=20),
    st.uuids(),
    st.text(max_size=8).map(Markup),
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    ).map(lambda d: d.replace(microsecond=0)),
)
tag_values = st.recursive(
    tag_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(
            st.sampled_from([" t", " di", "a", "b", "ü"]) | st.text(max_size=4),
            children,
            max_size=4,
        ),
    ),
    max_leaves=10,
)
session_data = st.dictionaries(st.text(max_size=8), tag_values, max_size=5)


@settings(database=None, max_examples=300, deadline=None)
@given(data=session_data, fallbacks=st.lists(st.sampled_from(["old-1", "old-2"]), max_size=2))
@example(data={}, fallbacks=[])
@example(data={"n": 1}, fallbacks=[])
@example(data={"x": "a" * 300}, fallbacks=["old-1"])  # compressed
def test_cookies_are_written_as_itsdangerous_and_flask_write_them(
    data: dict[str, t.Any], fallbacks: list[str]
) -> None:
    app = make_app(fallbacks=fallbacks)
    with app.app_context():
        cookie = ours(app).dumps(data)
        assert cookie == theirs([*fallbacks, SECRET]).dumps(data)
        assert codec(app).dumps(data) == cookie
    # Flask's whole stack, in a Flask app (whose JSON provider sorts keys too).
    fapp = flask.Flask(__name__)
    fapp.secret_key = SECRET
    fapp.config["SECRET_KEY_FALLBACKS"] = fallbacks
    with fapp.app_context():
        fser = flask.sessions.SecureCookieSessionInterface().get_signing_serializer(fapp)
        assert fser is not None
        assert fser.dumps(data) == cookie


def test_the_timestamp_follows_the_clock() -> None:
    serializer = ours(make_app())  # one serializer: its codec keeps the last timestamp
    plain = theirs([SECRET])
    for now in [NOW, NOW + 0.5, NOW + 1, NOW + 3600, 0.5, 1.0, 255.9, 256.0, 2.0**32, NOW]:
        with unittest.mock.patch("time.time", return_value=now):
            assert serializer.dumps({"a": 1}) == plain.dumps({"a": 1}), now


@pytest.mark.parametrize("size", range(40))
def test_compression_is_used_exactly_when_itsdangerous_uses_it(size: int) -> None:
    app = make_app()
    for data in ({"a": "x" * size}, {"a": "xy" * size}, {"k": list(range(size))}):
        assert ours(app).dumps(data) == theirs([SECRET]).dumps(data)


def test_a_payload_that_compresses_well_is_compressed() -> None:
    cookie = ours(make_app()).dumps({"a": "x" * 500})
    assert cookie.startswith(".")  # the mark of a compressed payload
    assert len(cookie) < 100


# -- reading: the same cookies accepted, the same data, the same errors ----------------------


def _valid(data: dict[str, t.Any], key: str = SECRET, age: float = 0) -> str:
    with unittest.mock.patch("time.time", return_value=NOW - age):
        return theirs([key]).dumps(data)


def corpus() -> list[str]:
    """Cookies good and bad: every way itsdangerous can reject one, and some it accepts."""
    good = _valid({"user": "alice", "n": 1})
    big = _valid({"blob": "z" * 400, "t": (1, 2), "b": b"\x00"})
    payload, stamp, signature = good.split(".")
    now_stamp = base64_encode(int(NOW).to_bytes(4, "big")).decode()
    return [
        good,
        big,
        _valid({}),
        _valid({"a": 1}, age=59),
        _valid({"a": 1}, age=61),  # expired for max_age=60
        _valid({"a": 1}, age=-5),  # signed in the future
        _valid({"a": 1}, key="old-1"),
        _valid({"a": 1}, key="unknown"),
        "",
        ".",
        "..",
        "garbage",
        "a.b",
        "a.b.c",
        good + ".",
        good + "x",
        "x" + good,
        good[:-1],
        good.replace(".", "", 1),
        f"{payload}.{stamp}.{signature[:-1]}A",
        f"{payload}X.{stamp}.{signature}",
        f"{payload}.{stamp}X.{signature}",
        f"{payload}.{stamp}.{signature}==",
        f"{payload}.{stamp}.{signature}=",
        f"{payload}.{stamp}.!{signature}",  # junk in the signature: base64 skips it
        f"{payload}.{stamp}.{signature[:5]}*{signature[5:]}",
        f"{payload}.{stamp}.{signature[:5]}\u00e9{signature[5:]}",
        f"{payload}.{stamp}.{signature}\ud800",  # cannot be encoded
        f"{payload}.{stamp}.{base64.urlsafe_b64encode(base64_decode(signature)).decode()}",
        f"{payload}.{stamp}.{signature.replace('-', '+').replace('_', '/')}",
        big.upper(),
        "\u2603" * 10,
        "a" * 10_000,
        "." * 5000,
        good * 50,
        # Correctly signed, but not a good cookie inside.
        sign_raw(b"no-timestamp").decode(),
        sign_raw(b"").decode(),
        sign_raw(b".").decode(),
        sign_raw(b"..").decode(),
        sign_raw(f"{payload}.".encode()).decode(),
        sign_raw(f"{payload}.!!!".encode()).decode(),
        sign_raw(f"{payload}.a".encode()).decode(),  # bad base64 padding in the stamp
        signed_cookie(b"{}", base64_encode(b"123456789").decode()),  # a stamp of 9 bytes
        # ... whose value would be now: itsdangerous reads no more than 8 bytes.
        signed_cookie(b"{}", base64_encode(int(NOW).to_bytes(9, "big")).decode()),
        signed_cookie(b"{}", base64_encode(b"12345678").decode()),  # far in the future
        signed_cookie(b"{}", base64_encode((2**64 - 1).to_bytes(8, "big")).decode()),
        signed_cookie(b"{}", ""),  # timestamp 0
        signed_cookie(b'{"a":1}'),
        sign_raw(f"!{payload}!.{now_stamp}".encode()).decode(),  # junk in the base64
        signed_cookie(b"not json"),
        signed_cookie(b"[1, 2]"),  # not a dict
        signed_cookie(b" {} "),  # whitespace around
        signed_cookie(b"{} x"),  # extra data
        signed_cookie(b'{" u":"zz"}'),  # a bad tagged value
        signed_cookie(b'{" t":[1]}'),  # a tuple
        signed_cookie(b'{"a":{" t":[1]},"b":[{" b":"eA=="}]}'),
        signed_cookie(b"\xff\xfe"),  # not UTF-8
        signed_cookie(b"\xef\xbb\xbf{}"),  # a BOM
        signed_cookie(b'{"z":2}', compress=True),
        signed_cookie(b'{"z":"' + b"y" * 200 + b'"}', compress=True),
        sign_raw(f".{base64_encode(b'not zlib').decode()}.{now_stamp}".encode()).decode(),
        sign_raw(f"..{now_stamp}".encode()).decode(),
        sign_raw(f".{now_stamp}".encode()).decode(),
    ]


@pytest.mark.parametrize("max_age", [None, 60, 0, 10**12])
@pytest.mark.parametrize("cookie", corpus())
def test_reading_matches_itsdangerous(cookie: str, max_age: int | None) -> None:
    app = make_app(fallbacks=["old-1"])
    plain = theirs(["old-1", SECRET])
    expected = outcome(lambda: plain.loads(cookie, max_age=max_age))
    assert outcome(lambda: ours(app).loads(cookie, max_age=max_age)) == expected
    # The codec itself: the same data, or a refusal exactly when itsdangerous refuses
    # (or, for what only itsdangerous can tell, a referral to it).
    got = codec(app).loads(cookie, max_age)
    if got is session_cookie._DEFER:
        return
    if expected[0] == "value":
        assert got == expected[1]
        assert type(got) is type(expected[1])
    else:
        assert got is session_cookie._INVALID


@settings(database=None, max_examples=400, deadline=None)
@given(
    data=st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=30), max_size=3),
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=200),
            st.sampled_from(["delete", "insert", "replace"]),
            st.sampled_from([*"aAzZ09-_.=+/!é", "\x00", "\u2603"]),
        ),
        max_size=3,
    ),
    age=st.integers(min_value=-3, max_value=3),
    key=st.sampled_from([SECRET, "old-1", "unknown"]),
)
def test_mangled_cookies_are_judged_as_itsdangerous_judges_them(
    data: dict[str, t.Any], edits: list[tuple[int, str, str]], age: int, key: str
) -> None:
    cookie = _valid(data, key=key, age=age)
    for position, action, char in edits:
        i = position % (len(cookie) + 1)
        if action == "delete":
            cookie = cookie[:i] + cookie[i + 1 :]
        elif action == "insert":
            cookie = cookie[:i] + char + cookie[i:]
        else:
            cookie = cookie[:i] + char + cookie[i + 1 :]
    app = make_app(fallbacks=["old-1"])
    plain = theirs(["old-1", SECRET])
    for max_age in (None, 1):
        expected = outcome(lambda: plain.loads(cookie, max_age=max_age))  # noqa: B023
        assert outcome(lambda: ours(app).loads(cookie, max_age=max_age)) == expected  # noqa: B023


@settings(database=None, max_examples=300, deadline=None)
@given(raw=st.binary(max_size=60) | st.text(alphabet="ab.-_=!", max_size=40).map(str.encode))
def test_anything_correctly_signed_is_judged_as_itsdangerous_judges_it(raw: bytes) -> None:
    cookie = sign_raw(raw)  # bytes: read as they are, by both
    app = make_app()
    plain = theirs([SECRET])
    for max_age in (None, 10**10):
        expected = outcome(lambda: plain.loads(cookie, max_age=max_age))  # noqa: B023
        assert outcome(lambda: ours(app).loads(cookie, max_age=max_age)) == expected  # noqa: B023


def test_bytes_cookies_and_the_other_options_go_through_itsdangerous() -> None:
    app = make_app()
    cookie = _valid({"a": 1})
    plain = theirs([SECRET])
    serializer = ours(app)
    assert serializer.loads(cookie.encode()) == {"a": 1}
    assert serializer.loads(cookie, return_timestamp=True) == plain.loads(
        cookie, return_timestamp=True
    )
    other_salt = serializer.dumps({"a": 1}, salt="other")
    assert other_salt == plain.dumps({"a": 1}, salt="other")
    assert serializer.loads(other_salt, salt="other") == {"a": 1}
    assert outcome(lambda: serializer.loads(other_salt)) == outcome(lambda: plain.loads(other_salt))


@pytest.mark.parametrize("derivation", ["hmac", "concat", "django-concat", "none"])
@pytest.mark.parametrize("digest", [hashlib.sha1, hashlib.sha256, hashlib.sha512, hashlib.md5])
def test_other_signing_settings_of_a_subclass(derivation: str, digest: t.Any) -> None:
    class Interface(SecureCookieSessionInterface):
        key_derivation = derivation
        digest_method = staticmethod(digest)
        salt = "elsewhere"

    app = make_app(fallbacks=["old-1"])
    serializer = Interface().get_signing_serializer(app)
    assert serializer is not None
    assert serializer._codec is not None  # type: ignore[attr-defined]
    plain = URLSafeTimedSerializer(
        ["old-1", SECRET],
        salt="elsewhere",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": derivation, "digest_method": digest},
    )
    data = {"a": (1, b"2"), "long": "x" * 100}
    cookie = serializer.dumps(data)
    assert cookie == plain.dumps(data)
    assert serializer.loads(cookie, max_age=5) == data
    old = URLSafeTimedSerializer(
        ["old-1"],
        salt="elsewhere",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": derivation, "digest_method": digest},
    ).dumps(data)
    assert serializer.loads(old) == data
    assert outcome(lambda: serializer.loads(cookie[:-2])) == outcome(
        lambda: plain.loads(cookie[:-2])
    )


# -- the pieces: HMAC with pre-hashed pads, base64 ------------------------------------------


@pytest.mark.parametrize(
    "digest",
    [
        hashlib.sha1,
        hashlib.sha256,
        hashlib.sha512,
        hashlib.md5,
        hashlib.sha3_256,  # block size 136
        hashlib.blake2b,  # block size 128
        "sha1",  # not a constructor: plain hmac
    ],
)
@pytest.mark.parametrize("key_size", [0, 1, 20, 63, 64, 65, 128, 136, 137, 300])
def test_keyed_hmac_is_hmac(digest: t.Any, key_size: int) -> None:
    key = bytes(range(256))[:key_size] if key_size <= 256 else b"k" * key_size
    mac = session_cookie._keyed_hmac(key, digest)
    for message in [b"", b"a", b"payload.stamp", bytes(range(256)) * 5]:
        assert mac(message) == hmac.new(key, message, digest).digest()


def test_keyed_hmac_agrees_with_hmac_for_an_odd_digest() -> None:
    class Odd:
        """SHA-1 claiming a block size HMAC does not believe (it uses 64 instead)."""

        digest_size = 20
        block_size = 8

        def __init__(self, data: bytes = b"") -> None:
            self._h = hashlib.sha1(data)

        def update(self, data: bytes) -> None:
            self._h.update(data)

        def digest(self) -> bytes:
            return self._h.digest()

        def copy(self) -> Odd:
            other = Odd()
            other._h = self._h.copy()
            return other

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mac = session_cookie._keyed_hmac(b"key", Odd)
        assert mac(b"message") == hmac.new(b"key", b"message", Odd).digest()
        assert mac(b"message") == hmac.new(b"key", b"message", hashlib.sha1).digest()


@settings(database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_base64_helpers_are_itsdangerous(data: bytes) -> None:
    encoded = session_cookie._b64encode(data)
    assert encoded == base64_encode(data)
    assert session_cookie._b64decode(encoded) == base64_decode(encoded) == data


@settings(database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(alphabet="aZ09-_+/=!.é\n", max_size=40).map(str.encode))
def test_base64_decoding_accepts_what_itsdangerous_accepts(data: bytes) -> None:
    # itsdangerous' base64_decode is urlsafe_b64decode of the padded bytes
    # (wrapping its errors in BadData): the same result or the same error.
    assert outcome(lambda: session_cookie._b64decode(data)) == outcome(
        lambda: base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
    )


# -- through the interface: open_session / save_session -------------------------------------


def plain(session: t.Any) -> dict[str, t.Any]:
    """The session's data, read without marking it accessed."""
    return dict(dict.items(session))


class FakeRequest:
    def __init__(self, cookie: str | None) -> None:
        self.cookies = {} if cookie is None else {"session": cookie}


@pytest.mark.parametrize("cookie", corpus())
def test_open_session_never_fails_and_agrees_with_itsdangerous(cookie: str) -> None:
    app = make_app(fallbacks=["old-1"])
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    expected = outcome(lambda: theirs(["old-1", SECRET]).loads(cookie, max_age=60))
    with app.app_context():
        session = SecureCookieSessionInterface().open_session(app, FakeRequest(cookie))  # type: ignore[arg-type]
    assert session is not None
    if expected[0] == "value" and isinstance(expected[1], dict):
        assert plain(session) == expected[1]
        assert not session.new
    else:
        assert plain(session) == {}
        assert session.new
    assert not session.modified
    assert not session.accessed


def test_open_session_of_a_timestamp_only_itsdangerous_can_judge() -> None:
    # With a lifetime longer than the clock, itsdangerous decides (and rejects)
    # a timestamp past the year 9999; the interface gives an empty session.
    app = make_app()
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=10**6)
    stamp = base64_encode((2**40).to_bytes(8, "big")).decode()
    cookie = sign_raw(f"{base64_encode(b'{}').decode()}.{stamp}".encode())
    session = SecureCookieSessionInterface().open_session(app, FakeRequest(cookie))  # type: ignore[arg-type]
    assert session is not None
    assert plain(session) == {}


def _saved(app: Quart, data: dict[str, t.Any], *, permanent: bool = False) -> Response:
    session = SecureCookieSession()
    session.update(data)
    if permanent:
        session.permanent = True
    response = Response("x")
    with app.app_context():
        SecureCookieSessionInterface().save_session(app, session, response)
    return response


def _expected_header(app: Quart, data: dict[str, t.Any], expires: t.Any = None) -> str:
    """What werkzeug's set_cookie writes for this cookie, as Flask's save_session calls it."""
    config = app.config
    with app.app_context():
        value = theirs([SECRET]).dumps(data) if data else ""
    return dump_cookie(
        config["SESSION_COOKIE_NAME"],
        value,
        expires=expires,
        httponly=config["SESSION_COOKIE_HTTPONLY"],
        domain=config["SESSION_COOKIE_DOMAIN"],
        path=config["SESSION_COOKIE_PATH"] or config["APPLICATION_ROOT"],
        secure=config["SESSION_COOKIE_SECURE"],
        partitioned=config["SESSION_COOKIE_PARTITIONED"],
        samesite=config["SESSION_COOKIE_SAMESITE"],
        max_size=0,
    )


COOKIE_CONFIGS: list[dict[str, t.Any]] = [
    {},
    {"SESSION_COOKIE_NAME": "sid"},
    {"SESSION_COOKIE_NAME": "s\u00e9ssion"},  # non-ASCII name, sent as latin-1
    {"SESSION_COOKIE_DOMAIN": "example.com"},
    {"SESSION_COOKIE_DOMAIN": ".b\u00fccher.example:8000"},
    {"SESSION_COOKIE_PATH": "/a path;x"},
    {"APPLICATION_ROOT": "/app"},
    {"SESSION_COOKIE_HTTPONLY": False},
    {"SESSION_COOKIE_SECURE": True},
    {"SESSION_COOKIE_SAMESITE": None},
    {"SESSION_COOKIE_SAMESITE": "strict"},
    {"SESSION_COOKIE_SAMESITE": "None", "SESSION_COOKIE_PARTITIONED": True},
]


@pytest.mark.parametrize("config", COOKIE_CONFIGS)
@pytest.mark.parametrize("permanent", [False, True])
def test_set_cookie_header_is_werkzeugs(config: dict[str, t.Any], permanent: bool) -> None:
    app = make_app()
    app.config.update(config)
    data = {"user": "alice", "when": datetime(2024, 1, 1, tzinfo=UTC)}
    response = _saved(app, data, permanent=permanent)
    (header,) = response.headers.getlist("Set-Cookie")
    expires = None
    if permanent:  # the expiry date is from the real clock
        expires = datetime.now(UTC) + app.permanent_session_lifetime
        data = {**data, "_permanent": True}
    # The real clock moved on between the two: compare with the date of the header.
    expected = _expected_header(app, data, expires)
    if permanent:
        date = header.split("Expires=")[1].split(";")[0]
        expected_date = expected.split("Expires=")[1].split(";")[0]
        assert abs(
            datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT")
            - datetime.strptime(expected_date, "%a, %d %b %Y %H:%M:%S GMT")
        ) <= timedelta(seconds=2)
        expected = expected.replace(expected_date, date)
    assert header == expected
    assert response.headers.getlist("Vary") == ["Cookie"]


def test_expires_dates_within_and_across_seconds() -> None:
    base = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    from werkzeug.http import http_date

    for expires in [
        base,
        base + timedelta(microseconds=999_999),
        base + timedelta(seconds=1),
        base.replace(tzinfo=None),
        base.astimezone(datetime.now().astimezone().tzinfo),
        (base + timedelta(microseconds=700_000)).replace(
            tzinfo=timezone(timedelta(microseconds=500_000))
        ),  # an offset of half a second: not the same second in UTC
        base - timedelta(days=20_000),
        1_700_000_000,
        1_700_000_000.5,
        "Thu, 01 Jan 2099 00:00:00 GMT",
    ]:
        assert session_cookie._expires_date(expires) == (
            expires if isinstance(expires, str) else http_date(expires)
        )


def test_a_value_werkzeug_would_quote_goes_through_set_cookie() -> None:
    class Quoting(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: Quart) -> t.Any:
            class Raw:
                def dumps(self, obj: t.Any) -> str:
                    return 'needs "quotes"; and spaces'

            return Raw()

    app = make_app()
    session = SecureCookieSession()
    session["a"] = 1
    response = Response("x")
    Quoting().save_session(app, session, response)
    (header,) = response.headers.getlist("Set-Cookie")
    assert header == dump_cookie(
        "session", 'needs "quotes"; and spaces', httponly=True, path="/", samesite="Lax"
    )


def test_an_overridden_set_cookie_is_called() -> None:
    calls: list[tuple[str, str]] = []

    class MyResponse(Response):
        def set_cookie(self, key: str, value: str = "", **kwargs: t.Any) -> None:
            calls.append((key, value))
            super().set_cookie(key, value, **kwargs)

    app = make_app()
    session = SecureCookieSession()
    session["a"] = 1
    response = MyResponse("x")
    SecureCookieSessionInterface().save_session(app, session, response)
    assert len(calls) == 1
    assert calls[0][0] == "session"
    assert response.headers["Set-Cookie"].startswith(f"session={calls[0][1]};")


@pytest.mark.parametrize("limit", [0, 50, 4093])
def test_a_cookie_too_large_warns_as_werkzeug_does(limit: int) -> None:
    app = make_app()
    app.config["MAX_COOKIE_SIZE"] = limit
    data = {"k": uuid.uuid4().hex}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = _saved(app, data)
    header = response.headers["Set-Cookie"]
    assert header == _expected_header(app, data)
    too_large = bool(limit) and len(header) > limit
    warned = [w for w in caught if "cookie is too large" in str(w.message)]
    assert len(warned) == (1 if too_large else 0)


def test_invalid_cookie_attributes_fail_as_in_werkzeug() -> None:
    app = make_app()
    app.config["SESSION_COOKIE_SAMESITE"] = "sometimes"
    with pytest.raises(ValueError, match="SameSite"):
        _saved(app, {"a": 1})


def test_the_interface_still_reads_cookies_when_the_codec_is_off() -> None:
    """A serializer the codec does not implement (other signer) goes through itsdangerous."""

    class Interface(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
            return theirs([SECRET])

    app = make_app()
    cookie = _valid({"a": (1,)})
    session = Interface().open_session(app, FakeRequest(cookie))  # type: ignore[arg-type]
    assert session is not None
    assert plain(session) == {"a": (1,)}
    session = Interface().open_session(app, FakeRequest(cookie + "x"))  # type: ignore[arg-type]
    assert session is not None
    assert plain(session) == {}


def test_flask_reads_a_cookie_quartlike_wrote_and_vice_versa() -> None:
    data = {"a": (1, b"x"), "m": Markup("<b>"), "d": datetime(2020, 1, 1, tzinfo=UTC), "n": 1}
    app = make_app()
    with app.app_context():
        cookie = ours(app).dumps(data)
    fapp = flask.Flask(__name__)
    fapp.secret_key = SECRET
    with fapp.app_context():
        fser = flask.sessions.SecureCookieSessionInterface().get_signing_serializer(fapp)
        assert fser is not None
        assert fser.loads(cookie) == data
        flask_cookie = fser.dumps(data)
    assert flask_cookie == cookie
    with app.app_context():
        assert ours(app).loads(flask_cookie, max_age=10) == data
    assert FlaskTaggedJSON().loads(TaggedJSONSerializer().dumps(data)) == data
