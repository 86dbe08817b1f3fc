"""Sessions: the ``session`` object and the interfaces that load and store it.

The default, :class:`SecureCookieSessionInterface`, keeps the session in a
cookie signed with ``SECRET_KEY``, in itsdangerous' format as Flask does, so
an app moving from Flask keeps its users logged in (and cookies written by
either can be read by the other with the same key). The cookies are written
and checked by a lean implementation of that format (``_CookieCodec``) that
gives the same bytes and accepts the same cookies as itsdangerous, with the
per-key work done once instead of on every request.

Safer than Flask by default in two ways:

* the session is marked *accessed* by any read — ``in``, ``len()``,
  iteration, ``keys()`` — not only by ``session[key]``/``get``, so
  ``Vary: Cookie`` is never missing from a response that depended on it;
* ``SECRET_KEY_FALLBACKS`` must be a list: a single string is rejected
  instead of being used one character at a time.
"""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import typing as t
from datetime import UTC
from datetime import datetime

from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from .json.tag import TaggedJSONSerializer
from .session_cookie import _DEFER
from .session_cookie import _SET_COOKIE
from .session_cookie import _SessionSerializer
from .session_cookie import _SessionSigner
from .session_cookie import _set_cookie_header

if t.TYPE_CHECKING:
    from .app import Quart
    from .wrappers.request import Request
    from .wrappers.response import Response


class SessionMixin(cabc.MutableMapping[str, t.Any]):
    """What every session object offers besides being a mapping."""

    @property
    def permanent(self) -> bool:
        """Whether the cookie outlives the browser session (``PERMANENT_SESSION_LIFETIME``)."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was created by this request (no valid cookie came in).
    new = False
    #: Whether the session was changed. Set it yourself after mutating a
    #: nested value (``session["cart"].append(x)``), which cannot be detected.
    modified = True
    #: Whether the session was read or written; adds ``Vary: Cookie``.
    accessed = True


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """The session of the signed-cookie interface: a dict that tracks reads and writes."""

    modified = False
    accessed = False

    def __init__(self, initial: cabc.Mapping[str, t.Any] | None = None) -> None:
        # CallbackDict.__init__(initial, _on_update), without its layers: one
        # session is made per request that uses it.
        if initial is None:
            dict.__init__(self)
        else:
            dict.__init__(self, initial)
        self.on_update = _on_update

    # The reads and writes views make most, without the layers of super() and
    # of CallbackDict's update wrapper (dict does the work either way).

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return dict.__getitem__(self, key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return dict.get(self, key, default)

    def __setitem__(self, key: str, value: t.Any) -> None:
        dict.__setitem__(self, key, value)
        on_update: cabc.Callable[[t.Any], None] | None = self.on_update
        if on_update is not None:
            on_update(self)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        self.accessed = True
        return super().setdefault(key, default)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return super().__contains__(key)

    def __len__(self) -> int:
        self.accessed = True
        return super().__len__()

    def __iter__(self) -> cabc.Iterator[str]:
        self.accessed = True
        return super().__iter__()

    def keys(self) -> t.Any:
        self.accessed = True
        return super().keys()

    def values(self) -> t.Any:
        self.accessed = True
        return super().values()

    def items(self) -> t.Any:
        self.accessed = True
        return super().items()

    def copy(self) -> dict[str, t.Any]:
        self.accessed = True
        return dict(super().items())

    def __reversed__(self) -> cabc.Iterator[str]:
        self.accessed = True
        return super().__reversed__()

    def __eq__(self, other: object) -> bool:
        self.accessed = True
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self.accessed = True
        return super().__ne__(other)

    def __repr__(self) -> str:
        self.accessed = True
        return super().__repr__()


def _on_update(session: SecureCookieSession) -> None:
    """Called by :class:`SecureCookieSession` on every change."""
    session.modified = True
    session.accessed = True


class NullSession(SecureCookieSession):
    """The session when none can be loaded (no ``SECRET_KEY``): readable, never writable."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        raise RuntimeError(
            "The session is unavailable because no secret key was set. Set"
            " app.secret_key (or the SECRET_KEY config) to a long random value."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = _fail


class SessionInterface:
    """How sessions are loaded from a request and saved on the response.

    Subclass it and set ``app.session_interface``. :meth:`open_session`,
    :meth:`save_session` and :meth:`make_null_session` may be plain methods or
    coroutines; plain ones of a subclass run in the app's thread pool, so a
    sync interface that talks to a database does not block the event loop.
    """

    #: The class of the session returned when loading fails.
    null_session_class: type[SessionMixin] = NullSession
    #: Whether the app already pickles its values (used by some extensions).
    pickle_based = False

    def make_null_session(self, app: Quart) -> SessionMixin:
        """The session used when :meth:`open_session` returns ``None``."""
        return self.null_session_class()

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is the null session (saving is then skipped)."""
        null_session_class = self.null_session_class
        if type(obj) is SecureCookieSession and null_session_class is NullSession:
            return False  # the usual answer, without an ABC instance check
        return isinstance(obj, null_session_class)

    def get_cookie_name(self, app: Quart) -> str:
        """``SESSION_COOKIE_NAME``."""
        name: str = app.config["SESSION_COOKIE_NAME"]  # (no t.cast: a call per request)
        return name

    def get_cookie_domain(self, app: Quart) -> str | None:
        """``SESSION_COOKIE_DOMAIN``: ``None`` limits the cookie to the exact host."""
        domain: str | None = app.config["SESSION_COOKIE_DOMAIN"]
        return domain

    def get_cookie_path(self, app: Quart) -> str:
        """``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``."""
        config = app.config
        path: str = config["SESSION_COOKIE_PATH"] or config["APPLICATION_ROOT"]
        return path

    def get_cookie_httponly(self, app: Quart) -> bool:
        """``SESSION_COOKIE_HTTPONLY``."""
        return bool(app.config["SESSION_COOKIE_HTTPONLY"])

    def get_cookie_secure(self, app: Quart) -> bool:
        """``SESSION_COOKIE_SECURE``."""
        return bool(app.config["SESSION_COOKIE_SECURE"])

    def get_cookie_samesite(self, app: Quart) -> str | None:
        """``SESSION_COOKIE_SAMESITE``."""
        samesite: str | None = app.config["SESSION_COOKIE_SAMESITE"]
        return samesite

    def get_cookie_partitioned(self, app: Quart) -> bool:
        """``SESSION_COOKIE_PARTITIONED``."""
        return bool(app.config["SESSION_COOKIE_PARTITIONED"])

    def get_expiration_time(self, app: Quart, session: SessionMixin) -> datetime | None:
        """When a permanent session's cookie expires; ``None`` for a browser-session cookie."""
        if session.permanent:
            return datetime.now(UTC) + app.permanent_session_lifetime
        return None

    def should_set_cookie(self, app: Quart, session: SessionMixin) -> bool:
        """Whether to send the cookie: when modified, or permanent with refresh on."""
        return session.modified or (
            session.permanent and bool(app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(
        self, app: Quart, request: Request
    ) -> SessionMixin | None | cabc.Awaitable[SessionMixin | None]:
        """Load the session for ``request``; ``None`` means use the null session."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'open_session' (sync or async)."
        )

    def save_session(
        self, app: Quart, session: SessionMixin, response: Response
    ) -> None | cabc.Awaitable[None]:
        """Store ``session`` (usually as a cookie on ``response``)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'save_session' (sync or async)."
        )


def _check_fallbacks(value: t.Any) -> list[str | bytes]:
    if value is None:
        return []
    if isinstance(value, str | bytes):
        raise TypeError(
            "SECRET_KEY_FALLBACKS must be a list of old keys, not a single string: a"
            " string would be read one character at a time. Write"
            " SECRET_KEY_FALLBACKS = [old_key]."
        )
    return list(value)


class SecureCookieSessionInterface(SessionInterface):
    """Sessions in a cookie signed with ``SECRET_KEY`` (Flask-compatible format).

    ``SECRET_KEY_FALLBACKS`` lists older keys that are still accepted when
    reading; new cookies are always signed with the current key.
    """

    #: Mixed into the signing key, so these signatures differ from other uses of the key.
    salt = "cookie-session"
    #: The digest of the HMAC signature.
    digest_method = staticmethod(hashlib.sha1)
    #: How itsdangerous derives the signing key.
    key_derivation = "hmac"
    #: How the session dict becomes a string (supports tuples, bytes, datetimes, ...).
    serializer = TaggedJSONSerializer()
    session_class = SecureCookieSession

    # The keys and the serializer built for them, in one attribute so that a
    # thread never sees one updated without the other. A class-level default
    # keeps subclasses whose __init__ does not call ours working.
    _cache: tuple[t.Any, tuple[t.Any, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Quart) -> URLSafeTimedSerializer | None:
        """The itsdangerous serializer for the app's keys, or ``None`` without a key.

        Built once per set of keys, not per request.
        """
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        old_keys = () if fallbacks is None else tuple(_check_fallbacks(fallbacks))
        cached = self._cache
        if cached is not None and cached[0] == secret_key and cached[1] == old_keys:
            return cached[2]
        keys: list[str | bytes] = [*old_keys, secret_key]  # the last key signs
        serializer = _SessionSerializer(
            keys,
            salt=self.salt,
            serializer=self.serializer,
            signer=_SessionSigner,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
        self._cache = (secret_key, old_keys, serializer)
        return serializer

    def open_session(self, app: Quart, request: Request) -> SecureCookieSession | None:
        """Read and verify the cookie; a missing, tampered or expired one gives an empty session."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            session = self.session_class()
            session.new = True
            return session
        max_age = int(app.permanent_session_lifetime.total_seconds())
        codec = serializer._codec if type(serializer) is _SessionSerializer else None
        data = _DEFER if codec is None else codec.loads(value, max_age)
        if data is _DEFER:
            try:
                data = serializer.loads(value, max_age=max_age)
            # BadData covers bad signatures and expired cookies, and also payloads
            # that are correctly signed but cannot be decoded (another serializer).
            except (BadData, ValueError, TypeError, UnicodeDecodeError):
                data = None
        if not isinstance(data, dict):
            session = self.session_class()
            session.new = True
            return session
        return self.session_class(data)

    def save_session(self, app: Quart, session: SessionMixin, response: Response) -> None:
        """Set, refresh or delete the cookie as the session requires; add ``Vary: Cookie``."""
        # "Cookie" is added to Vary at most once: adding it again changes nothing.
        varied = session.accessed
        if varied:
            _vary_on_cookie(response)
        # Bypass the accessed-tracking of the session for our own reads.
        empty = not dict.__len__(session) if isinstance(session, dict) else not session
        if empty:
            if session.modified:
                response.delete_cookie(
                    self.get_cookie_name(app),
                    domain=self.get_cookie_domain(app),
                    path=self.get_cookie_path(app),
                    secure=self.get_cookie_secure(app),
                    partitioned=self.get_cookie_partitioned(app),
                    samesite=self.get_cookie_samesite(app),
                    httponly=self.get_cookie_httponly(app),
                )
                if not varied:
                    _vary_on_cookie(response)
            return
        if not self.should_set_cookie(app, session):
            return
        name = self.get_cookie_name(app)
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        secure = self.get_cookie_secure(app)
        partitioned = self.get_cookie_partitioned(app)
        samesite = self.get_cookie_samesite(app)
        httponly = self.get_cookie_httponly(app)
        expires = self.get_expiration_time(app, session)
        serializer = self.get_signing_serializer(app)
        assert serializer is not None
        # A plain dict, copied without the session's access tracking.
        data = dict(dict.items(session)) if isinstance(session, dict) else dict(session)
        codec = serializer._codec if type(serializer) is _SessionSerializer else None
        value = serializer.dumps(data) if codec is None else codec.dumps(data)
        header = None
        if type(response).set_cookie is _SET_COOKIE:
            header = _set_cookie_header(
                name,
                value,
                expires,
                domain,
                path,
                secure,
                httponly,
                samesite,
                partitioned,
                # The codec's cookies are base64 and dots, never quoted.
                checked=codec is not None and codec.text,
            )
            if header is not None:
                max_size = response.max_cookie_size
                if max_size and len(header) > max_size:
                    header = None  # werkzeug's set_cookie warns about it
        if header is not None:
            response.headers.add("Set-Cookie", header)
        else:
            response.set_cookie(
                name,
                value,
                expires=expires,
                httponly=httponly,
                domain=domain,
                path=path,
                secure=secure,
                partitioned=partitioned,
                samesite=samesite,
            )
        if not varied:
            _vary_on_cookie(response)


def _vary_on_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``, without parsing a ``Vary`` header that is not there.

    :param response: the response the session is saved on.
    """
    headers = response.headers
    for key, _ in headers:
        if key.lower() == "vary":
            response.vary.add("Cookie")
            return
    # What the header set writes back once "Cookie" is added to it (at the end
    # of the headers, where ``headers.set`` puts a new one).
    headers.add("Vary", "Cookie")
