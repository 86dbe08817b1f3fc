"""The signed session cookie: its value in itsdangerous' format, and its header.

:class:`_CookieCodec` writes and checks the value of the session cookie exactly
as itsdangerous' ``URLSafeTimedSerializer`` does for Flask (same bytes out, same
cookies accepted), with the per-key work (key derivation, keying the HMAC) done
once instead of on every request. ``_set_cookie_header`` builds the
``Set-Cookie`` header from a per-configuration template. Both are used by
:class:`quartlike.sessions.SecureCookieSessionInterface`; the tests compare
them with itsdangerous, werkzeug and Flask.
"""

from __future__ import annotations

import binascii
import collections.abc as cabc
import hmac
import re
import time
import typing as t
import zlib
from datetime import UTC
from datetime import datetime

from itsdangerous import Signer
from itsdangerous import TimestampSigner
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.encoding import int_to_bytes
from itsdangerous.signer import HMACAlgorithm
from itsdangerous.url_safe import URLSafeSerializerMixin
from werkzeug.http import dump_cookie
from werkzeug.http import http_date
from werkzeug.sansio.response import Response as SansIOResponse

if t.TYPE_CHECKING:
    pass


# -- the cookie format, without itsdangerous' generic layers -----------------------------------

#: ``bytes.translate`` tables between standard and URL-safe base64 (``-_`` for ``+/``).
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64encode(data: bytes) -> bytes:
    """itsdangerous' ``base64_encode``: URL-safe base64 without the ``=`` padding."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    """itsdangerous' ``base64_decode`` of bytes: padded, then decoded leniently.

    The same steps as :func:`base64.urlsafe_b64decode` (characters outside
    the alphabet are skipped), so exactly the same values are accepted.

    :raises binascii.Error: (a :class:`ValueError`) when the padding is wrong.
    """
    return binascii.a2b_base64((data + b"=" * (-len(data) % 4)).translate(_FROM_URLSAFE))


_a2b_base64 = binascii.a2b_base64
_compare_digest = hmac.compare_digest


def _keyed_hmac(key: bytes, digest_method: t.Any) -> cabc.Callable[[bytes], bytes]:
    """``hmac.new(key, message, digest_method).digest()``, as a function of ``message``.

    The HMAC is keyed once, here; signing a message copies the keyed state
    (the standard library's :meth:`hmac.HMAC.copy`) instead of keying anew.
    """
    keyed = hmac.new(key, digestmod=digest_method)

    def sign(message: bytes) -> bytes:
        mac = keyed.copy()
        mac.update(message)
        return mac.digest()

    return sign


#: What :meth:`_CookieCodec.loads` returns for a cookie itsdangerous rejects.
_INVALID: t.Final = object()
#: What it returns when only itsdangerous' own code can tell what happens.
_DEFER: t.Final = object()
#: The largest timestamp :meth:`~itsdangerous.TimestampSigner.timestamp_to_datetime`
#: converts (9999-12-31 23:59:59 UTC); it raises for larger ones.
_MAX_TIMESTAMP = 253_402_300_799
#: JSON payloads this short are never compressed by itsdangerous: zlib's output
#: for non-empty input is at least 9 bytes (2 of header, 3 of deflate data for
#: one literal and the end of the block, 4 of checksum), and compression is
#: only used when it saves at least 2 bytes.
_NEVER_COMPRESSED = 10


class _CookieCodec:
    """Writes and checks session cookies with the least work per cookie.

    A cookie is ``payload.timestamp.signature``: the serializer's output in
    URL-safe base64 (zlib-compressed and prefixed with ``.`` when that
    saves at least 2 bytes), the signing second as a big-endian integer in
    base64, and the HMAC of those two with the derived key, in base64.
    That is what :class:`~itsdangerous.URLSafeTimedSerializer` writes, byte
    for byte, and :meth:`loads` accepts exactly the cookies it accepts.

    What itsdangerous does on every call but depends only on the keys —
    deriving each key from the secret and salt, keying HMAC — is done once,
    when the codec is built; and the checks are plain comparisons, not
    exceptions raised through several layers.

    :param keys: the derived signing keys, oldest first; the last one signs.
    :param digest_method: the hash of the HMAC (e.g. :func:`hashlib.sha1`).
    :param serializer: turns the session into a string and back (``dumps`` and ``loads``).
    :param text: whether ``serializer.dumps`` gives text (then cookies are ``str``).
    """

    __slots__ = ("_serializer", "_sign", "_stamp", "_verifiers", "text")

    def __init__(
        self, keys: list[bytes], digest_method: t.Any, serializer: t.Any, text: bool
    ) -> None:
        macs = [_keyed_hmac(key, digest_method) for key in keys]
        self._sign = macs[-1]
        self._verifiers = macs[::-1]  # newest first, as itsdangerous tries them
        self._serializer = serializer
        #: Whether cookies are ``str`` (else ``bytes``).
        self.text = text
        # The current second and its encoding, replaced (never mutated) once a second.
        self._stamp: tuple[int, bytes] = (-1, b"")

    def _timestamp(self) -> bytes:
        """``TimestampSigner.get_timestamp()``, base64-encoded as in a cookie."""
        now = int(time.time())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, _b64encode(int_to_bytes(now)))
        return stamp[1]

    def dumps(self, obj: t.Any) -> t.Any:
        """The signed cookie for ``obj``, dated now (``str``; ``bytes`` if not :attr:`text`)."""
        json = self._serializer.dumps(obj)
        if isinstance(json, str):
            json = json.encode()
        payload = _b64encode(json)
        if len(json) > _NEVER_COMPRESSED:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                payload = b"." + _b64encode(compressed)
        signed = payload + b"." + self._timestamp()
        cookie = signed + b"." + _b64encode(self._sign(signed))
        return cookie.decode() if self.text else cookie

    def loads(self, value: str | bytes, max_age: int | None) -> t.Any:
        """The data of a cookie, :data:`_INVALID` if it is rejected, or :data:`_DEFER`.

        :param value: the cookie value.
        :param max_age: the age in seconds past which the cookie has expired.
        """
        if isinstance(value, str):
            try:
                cookie = value.encode()
            except UnicodeEncodeError:  # itsdangerous lets this propagate
                return _DEFER
        elif isinstance(value, bytes):
            cookie = value
        else:
            return _DEFER
        signed, dot, signature = cookie.rpartition(b".")
        if not dot:
            return _INVALID
        try:  # _b64decode, inline
            signature = _a2b_base64(
                (signature + b"=" * (-len(signature) % 4)).translate(_FROM_URLSAFE)
            )
        except ValueError:
            return _INVALID
        for mac in self._verifiers:
            if _compare_digest(signature, mac(signed)):
                break
        else:
            return _INVALID
        payload, dot, stamp = signed.rpartition(b".")
        if not dot:
            return _INVALID
        try:
            stamp = _a2b_base64((stamp + b"=" * (-len(stamp) % 4)).translate(_FROM_URLSAFE))
        except ValueError:
            return _INVALID
        if len(stamp) > 8:  # itsdangerous' bytes_to_int reads at most 8 bytes
            return _INVALID
        timestamp = int.from_bytes(stamp, "big")
        if max_age is not None:
            age = int(time.time()) - timestamp
            if age > max_age or age < 0:
                return _INVALID
        elif timestamp > _MAX_TIMESTAMP:
            return _DEFER
        try:
            if payload.startswith(b"."):
                json = zlib.decompress(_b64decode(payload[1:]))
            else:
                json = _b64decode(payload)
            return self._serializer.loads(json.decode() if self.text else json)
        except Exception:  # what itsdangerous turns into BadPayload
            return _INVALID


class _SessionSigner(TimestampSigner):
    """The cookie signer: derives each signing key once instead of on every call.

    A signer's settings (keys, salt, derivation, digest) are fixed when it is
    built, so the derived keys are too. Signatures are the same as those of a
    plain :class:`~itsdangerous.TimestampSigner`.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived_keys: dict[str | bytes | None, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        derived = self._derived_keys.get(secret_key)
        if derived is None:
            derived = self._derived_keys[secret_key] = super().derive_key(secret_key)
        return derived


class _SessionSerializer(URLSafeTimedSerializer):
    """The serializer of the cookie interface: Flask's format, less work per cookie.

    ``dumps`` and ``loads`` (with the serializer's own salt) go through a
    :class:`_CookieCodec`, which writes the same cookies as a plain
    :class:`~itsdangerous.URLSafeTimedSerializer` with the same settings and
    accepts the same ones. A cookie the codec rejects is handed to
    itsdangerous' own ``loads``, so callers get its exceptions unchanged.
    Signers are kept (one per salt) instead of being rebuilt for every call.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[str | bytes | None, Signer] = {}
        self._codec = self._make_codec()

    def _make_codec(self) -> _CookieCodec | None:
        """The codec for these settings, if they are those it implements."""
        if self.fallback_signers or self.serializer_kwargs:
            return None
        signer = self.make_signer()
        algorithm = signer.algorithm
        if (
            type(signer) is not _SessionSigner
            or type(algorithm) is not HMACAlgorithm
            or signer.sep != b"."
        ):
            return None
        keys = [signer.derive_key(key) for key in signer.secret_keys]
        return _CookieCodec(keys, algorithm.digest_method, self.serializer, self.is_text_serializer)

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None:
            salt = self.salt
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

    def dump_payload(self, obj: t.Any) -> bytes:
        # itsdangerous' URLSafeSerializerMixin.dump_payload, minus the zlib
        # attempt on payloads it cannot shorten.
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)
        if len(json) > _NEVER_COMPRESSED:
            compressed = zlib.compress(json)
            if len(compressed) < len(json) - 1:
                return b"." + base64_encode(compressed)
        return base64_encode(json)

    def dumps(self, obj: t.Any, salt: str | bytes | None = None) -> str:
        codec = self._codec
        if codec is not None and salt is None:
            return t.cast(str, codec.dumps(obj))
        return super().dumps(obj, salt)

    def loads(  # type: ignore[override]  # as TimedSerializer.loads
        self,
        s: str | bytes,
        max_age: int | None = None,
        return_timestamp: bool = False,
        salt: str | bytes | None = None,
    ) -> t.Any:
        codec = self._codec
        if codec is not None and salt is None and not return_timestamp:
            data = codec.loads(s, max_age)
            if data is not _INVALID and data is not _DEFER:
                return data
        # Rejected: itsdangerous raises the exception that says why.
        return super().loads(s, max_age, return_timestamp, salt)


# -- the Set-Cookie header ------------------------------------------------------------------

#: werkzeug's ``Response.set_cookie``; a response class that overrides it is left to do so.
_SET_COOKIE = SansIOResponse.set_cookie
#: Cookie values that werkzeug's ``dump_cookie`` writes as they are (a subset of
#: what it leaves unquoted): those of the signed cookies.
_UNQUOTED_VALUE = re.compile(r"[A-Za-z0-9_.\-]*")
#: Stands for the date in a cached header with an ``Expires`` attribute.
_EXPIRES_SLOT = "\x00expires\x00"
#: ``dump_cookie`` output for an empty value, split around the value and the
#: date, by cookie name and attributes. Bounded: configurations are few.
_COOKIE_TEMPLATES: dict[tuple[t.Any, ...], tuple[str, str, str]] = {}
_MAX_TEMPLATES = 64
#: The time zones of the datetimes ``http_date`` writes as they are (naive is UTC).
_UTC_OR_NAIVE = (None, UTC)
#: The last expiry date formatted, by its second.
_last_expires: tuple[t.Any, str] = (None, "")


def _cookie_template(
    name: str,
    dated: bool,
    domain: str | None,
    path: str,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> tuple[str, str, str] | None:
    """What ``dump_cookie`` writes before the value, between the value and the date, after it.

    ``None`` if werkzeug refuses these attributes (it will say why itself).
    """
    key = (name, dated, domain, path, secure, httponly, samesite, partitioned)
    try:
        template = _COOKIE_TEMPLATES.get(key)
    except TypeError:  # an unhashable setting
        return None
    if template is not None:
        return template
    try:
        header = dump_cookie(
            name,
            "",
            expires=_EXPIRES_SLOT if dated else None,
            path=path,
            domain=domain,
            secure=secure,
            httponly=httponly,
            max_size=0,
            samesite=samesite,
            partitioned=partitioned,
        )
        prefix = f"{name.encode().decode('latin1')}="
    except Exception:  # set_cookie will raise it again, and say why
        return None
    if not header.startswith(prefix):
        return None
    rest = header[len(prefix) :]
    if dated:
        before, slot, after = rest.partition(_EXPIRES_SLOT)
        if not slot or _EXPIRES_SLOT in after:
            return None
    else:
        before, after = rest, ""
    template = (prefix, before, after)
    if len(_COOKIE_TEMPLATES) < _MAX_TEMPLATES:
        _COOKIE_TEMPLATES[key] = template
    return template


def _expires_date(expires: t.Any) -> str:
    """``dump_cookie``'s ``Expires`` value: :func:`~werkzeug.http.http_date` of ``expires``."""
    global _last_expires
    if isinstance(expires, str):
        return expires
    if type(expires) is not datetime or expires.tzinfo not in _UTC_OR_NAIVE:
        return http_date(expires)
    # The date has a resolution of one second: reuse it within the second (a
    # UTC or naive datetime, whose second is the UTC second written).
    second = expires.replace(microsecond=0)
    last = _last_expires
    if last[0] == second:
        return last[1]
    date = http_date(second)
    _last_expires = (second, date)
    return date


def _set_cookie_header(
    name: str,
    value: t.Any,
    expires: t.Any,
    domain: str | None,
    path: str,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
    *,
    checked: bool = False,
) -> str | None:
    """The ``Set-Cookie`` value ``response.set_cookie`` would write, from a cached template.

    ``None`` when the template does not apply (a value werkzeug would quote,
    attributes it rejects).

    :param checked: ``value`` is known to be text that werkzeug does not quote.
    """
    if not checked and (type(value) is not str or not _UNQUOTED_VALUE.fullmatch(value)):
        return None
    template = _cookie_template(
        name, expires is not None, domain, path, secure, httponly, samesite, partitioned
    )
    if template is None:
        return None
    prefix, before, after = template
    if expires is None:
        return f"{prefix}{value}{before}"
    return f"{prefix}{value}{before}{_expires_date(expires)}{after}"
