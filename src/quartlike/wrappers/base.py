"""What HTTP requests and websocket handshakes have in common.

Both are built from an ASGI scope, both are routed, and both expose werkzeug's
parsed views of headers, cookies and query arguments. The headers are decoded
only when first touched, so a view that never looks at them never pays for it.
"""

from __future__ import annotations

import re
import typing as t

from werkzeug.datastructures import Headers
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.http import parse_cookie
from werkzeug.sansio.request import Request as SansIORequest
from werkzeug.sansio.utils import get_host
from werkzeug.utils import cached_property

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule

    from ..typing import ConnectionScope

#: Bytes a header value must not hold; RFC 9110 (5.5) lets a recipient replace them by SP.
_BAD_HEADER_BYTES = re.compile(rb"[\r\n\x00]")
#: Bytes that a query string (percent-encoded, per ASGI) cannot hold: controls, space, non-ASCII.
_UNSAFE_QUERY_BYTES = re.compile(rb"[\x00-\x20\x7f-\xff]")


def _without_surrogates(text: str) -> str:
    """Replace lone surrogates (undecodable bytes, as some servers pass them on) with U+FFFD.

    werkzeug decodes a WSGI path the same way, and URLs cannot be built from
    surrogates (``request.url`` would fail).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")  # the bytes a server escaped
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def _parse_plain_cookie(raw: str, cls: type[MultiDict[str, str]]) -> MultiDict[str, str] | None:
    """``parse_cookie(raw, cls)`` for the usual header (``a=1; b=2``), or ``None``.

    Without quotes, tabs, or spaces other than the one after each ``;``, every
    ``name=value`` segment is a cookie exactly as werkzeug's parser reads it
    (a segment without ``=`` is a name with an empty value; one without a name
    is skipped); anything else is left to werkzeug.
    """
    text = raw.replace("; ", ";")
    if '"' in text or " " in text or "\t" in text:
        return None
    pairs = []
    for segment in text.split(";"):
        name, _, value = segment.partition("=")
        if name:
            pairs.append((name, value))
    if cls is not ImmutableMultiDict and cls is not MultiDict:
        return cls(pairs)
    # werkzeug's multidicts are dicts of lists: filled as their __init__ would.
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    rv = cls.__new__(cls)
    dict.__init__(rv, values)
    return rv


def _percent_encode(match: re.Match[bytes]) -> bytes:
    return b"%%%02X" % match[0][0]


class BaseRequestWebsocket(SansIORequest):
    """The routed, sans-IO part of a request or websocket handshake."""

    #: The rule that matched, set by routing. ``None`` before matching or on a 404.
    url_rule: Rule | None = None
    #: The arguments the matched rule extracted from the URL.
    view_args: dict[str, t.Any] | None = None
    #: The routing error (404, 405, redirect) raised instead of a match, if any.
    routing_exception: HTTPException | None = None
    #: The raw ``Host`` header, when the ASGI adapter read it from the scope.
    _raw_host: bytes | None = None
    #: Whether there is a ``Cookie`` header (``None``: not looked at yet).
    _has_cookie_header: bool | None = None

    def __init__(
        self,
        method: str,
        scheme: str,
        path: str,
        query_string: bytes,
        headers: Headers | t.Iterable[tuple[bytes, bytes]],
        root_path: str,
        http_version: str,
        scope: ConnectionScope,
    ) -> None:
        # The sans-IO base __init__ is not called: it needs decoded headers up
        # front, and we decode them lazily from the scope instead.
        self.method = method.upper()
        self.scheme = scheme
        self.root_path = root_path.rstrip("/") if root_path else root_path
        if not path.isascii():
            path = _without_surrogates(path)
        if path[:1] != "/" or path[1:2] == "/":
            path = "/" + path.lstrip("/")
        self.path = path
        if query_string and _UNSAFE_QUERY_BYTES.search(query_string):
            # Some servers pass raw bytes on. werkzeug's parsers expect the
            # percent-encoded form (invalid UTF-8 would fail them), and URLs
            # built from the query string (redirects) must not carry controls.
            query_string = _UNSAFE_QUERY_BYTES.sub(_percent_encode, query_string)
        self.query_string = query_string
        if isinstance(headers, Headers):
            self.__dict__["headers"] = headers
        else:
            self._raw_headers = headers
        self.http_version = http_version
        self.scope = scope
        self.server = scope.get("server")
        client = scope.get("client")
        self.remote_addr = client[0] if client else None

    @cached_property
    def headers(self) -> Headers:
        """The request headers, decoded from the raw ASGI pairs on first access."""
        headers = Headers()
        for name, value in self._raw_headers:
            if _BAD_HEADER_BYTES.search(value):
                # Servers normally refuse these; werkzeug's Headers would raise.
                value = _BAD_HEADER_BYTES.sub(b" ", value)
            # Title-cased, as WSGI (and so Flask) presents header names.
            headers.add(name.decode("latin-1").title(), value.decode("latin-1"))
        return headers

    def _header_values(self, name: bytes) -> list[str]:
        """The values of one header (lower-case ``name``), without decoding them all.

        ``host`` and ``cookies`` are needed by most requests; this spares them
        building the full :attr:`headers` object.
        """
        built = self.__dict__.get("headers")
        if built is not None:
            return t.cast("list[str]", built.getlist(name.decode("latin-1")))
        return [
            _BAD_HEADER_BYTES.sub(b" ", value).decode("latin-1")
            for key, value in self._raw_headers
            if key == name
        ]

    @cached_property
    def host(self) -> str:
        """The host the request was made to (port included if non-standard).

        Validated against :attr:`trusted_hosts`: a 400 ``SecurityError`` otherwise.
        """
        values = self._header_values(b"host")
        return get_host(self.scheme, values[0] if values else None, self.server, self.trusted_hosts)

    @cached_property
    def cookies(self) -> ImmutableMultiDict[str, str]:
        """The cookies the request carries, parsed from its ``Cookie`` headers."""
        raw = ";".join(self._header_values(b"cookie"))
        cls = self.dict_storage_class
        rv = _parse_plain_cookie(raw, cls)
        if rv is None:
            rv = parse_cookie(raw, cls=cls)
        return rv  # type: ignore[return-value]

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        if self.url_rule is not None:
            return t.cast("str | None", self.url_rule.endpoint)
        return None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint that owns the matched endpoint, if any."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first.

        Worked out once per matched rule: the pipeline asks for it several
        times per request (hooks, after-request, teardown, error handlers).
        """
        rule = self.url_rule
        cached = self.__dict__.get("_blueprints")
        if cached is not None and cached[0] is rule:
            return list(cached[1])
        name = self.blueprint
        if name is None:
            chain: tuple[str, ...] = ()
        else:
            parts = name.split(".")
            chain = tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))
        self.__dict__["_blueprints"] = (rule, chain)
        return list(chain)

    @property
    def script_root(self) -> str:
        """An alias for :attr:`root_path`, as Flask names it."""
        return self.root_path

    @property
    def url_root(self) -> str:
        """An alias for :attr:`root_url`, as Flask names it."""
        return self.root_url
