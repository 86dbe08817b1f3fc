"""Type aliases shared across quartlike, including the ASGI message shapes.

The ASGI types are our own TypedDicts so that nothing outside :mod:`quartlike.asgi`
needs Hypercorn at runtime, and so that the scope is not an untyped mapping.
"""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
from datetime import datetime
from datetime import timedelta

from werkzeug.datastructures import Headers
from werkzeug.sansio.response import Response as SansIOResponse

# ---------------------------------------------------------------------------
# ASGI
# ---------------------------------------------------------------------------


class ASGIVersions(t.TypedDict, total=False):
    spec_version: str
    version: t.Literal["2.0", "3.0"]


class HTTPScope(t.TypedDict):
    type: t.Literal["http"]
    asgi: ASGIVersions
    http_version: str
    method: str
    scheme: str
    path: str
    raw_path: t.NotRequired[bytes]
    query_string: bytes
    root_path: str
    headers: cabc.Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    extensions: t.NotRequired[dict[str, dict[object, object]]]
    state: t.NotRequired[dict[str, t.Any]]


class WebsocketScope(t.TypedDict):
    type: t.Literal["websocket"]
    asgi: ASGIVersions
    http_version: str
    scheme: str
    path: str
    raw_path: t.NotRequired[bytes]
    query_string: bytes
    root_path: str
    headers: cabc.Iterable[tuple[bytes, bytes]]
    client: tuple[str, int] | None
    server: tuple[str, int | None] | None
    subprotocols: cabc.Iterable[str]
    extensions: t.NotRequired[dict[str, dict[object, object]]]
    state: t.NotRequired[dict[str, t.Any]]


class LifespanScope(t.TypedDict):
    type: t.Literal["lifespan"]
    asgi: ASGIVersions
    state: t.NotRequired[dict[str, t.Any]]


Scope = HTTPScope | WebsocketScope | LifespanScope
ConnectionScope = HTTPScope | WebsocketScope

# Messages are kept as plain mappings: servers add keys freely and we only read
# the few we need, always through ``.get``.
Message = cabc.MutableMapping[str, t.Any]
ASGIReceiveCallable = cabc.Callable[[], cabc.Awaitable[Message]]
ASGISendCallable = cabc.Callable[[Message], cabc.Awaitable[None]]

# ---------------------------------------------------------------------------
# Views and responses
# ---------------------------------------------------------------------------

ResponseValue = (
    SansIOResponse
    | str
    | bytes
    | list[t.Any]
    | cabc.Mapping[str, t.Any]
    | cabc.Iterator[str]
    | cabc.Iterator[bytes]
    | cabc.AsyncIterator[str]
    | cabc.AsyncIterator[bytes]
)

HeaderValue = str | list[str] | tuple[str, ...]
HeadersValue = Headers | cabc.Mapping[str, HeaderValue] | cabc.Sequence[tuple[str, HeaderValue]]

ResponseReturnValue = (
    ResponseValue
    | tuple[ResponseValue, HeadersValue]
    | tuple[ResponseValue, int]
    | tuple[ResponseValue, int, HeadersValue]
)

# A callable that is either sync or async. Registration accepts both; the
# framework classifies it once and runs sync ones in the thread pool.
T = t.TypeVar("T")

RouteCallable = cabc.Callable[..., t.Any]
BeforeRequestCallable = cabc.Callable[[], t.Any]
AfterRequestCallable = cabc.Callable[[t.Any], t.Any]
TeardownCallable = cabc.Callable[[BaseException | None], t.Any]
ErrorHandlerCallable = cabc.Callable[[t.Any], t.Any]
URLDefaultCallable = cabc.Callable[[str, dict[str, t.Any]], None]
URLValuePreprocessorCallable = cabc.Callable[[str | None, dict[str, t.Any] | None], None]
LifespanCallable = cabc.Callable[[], t.Any]
WhileServingCallable = cabc.Callable[[], cabc.AsyncGenerator[None, None]]

AppOrBlueprintKey = str | None

FilePath = str | os.PathLike[str]
Expires = datetime | int | float | str | None
MaxAge = timedelta | int | None
