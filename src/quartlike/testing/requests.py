"""Turning Flask-style test arguments into what an ASGI server would hand the app.

:func:`_build` feeds ``path``, ``method``, ``data``, ``json``, ``form``,
``files``, ``query_string``, ``headers``, ``auth`` and friends to werkzeug's
``EnvironBuilder``, the way Flask's test client does, and translates the
resulting WSGI environ into an ASGI HTTP scope plus the request body bytes.
:func:`make_test_request` wraps that in a request object, for
``app.test_request_context()``.
"""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from io import BytesIO
from urllib.parse import quote
from urllib.parse import urlsplit

from werkzeug.test import EnvironBuilder

from ..wrappers.request import Body

if t.TYPE_CHECKING:
    from ..app import Quart
    from ..typing import HTTPScope
    from ..wrappers.request import Request

_missing: t.Any = object()


def _build(
    app: Quart,
    path: str = "/",
    *,
    method: str = "GET",
    headers: t.Any = None,
    query_string: cabc.Mapping[str, t.Any] | str | bytes | None = None,
    data: t.Any = None,
    form: cabc.Mapping[str, t.Any] | None = None,
    files: cabc.Mapping[str, t.Any] | None = None,
    json: t.Any = _missing,
    scheme: str | None = None,
    root_path: str | None = None,
    http_version: str = "1.1",
    subdomain: str | None = None,
    base_url: str | None = None,
    auth: t.Any = None,
    content_type: str | None = None,
    remote_addr: str = "127.0.0.1",
) -> tuple[HTTPScope, bytes]:
    """Build an ASGI HTTP scope and body from Flask-style test arguments."""
    if base_url is None:
        host = app.config["SERVER_NAME"] or "localhost"
        if subdomain:
            host = f"{subdomain}.{host}"
        app_root = root_path if root_path is not None else app.config["APPLICATION_ROOT"]
        url = urlsplit(path)
        base_scheme = url.scheme or scheme or app.config["PREFERRED_URL_SCHEME"]
        base_url = f"{base_scheme}://{url.netloc or host}/{app_root.lstrip('/')}"
        path = url.path
        if url.query:
            path = f"{path}?{url.query}"
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    if form is not None or files is not None:
        if data is not None:
            raise TypeError("Pass the body as 'data' or as 'form'/'files', not both.")
        data = {**(form or {}), **(files or {})}
    builder_kwargs: dict[str, t.Any] = {}
    if json is not _missing:
        if data is not None:
            raise TypeError("Pass the body as 'data' or as 'json', not both.")
        data = app.json.dumps(json)
        content_type = content_type or "application/json"
    if isinstance(data, cabc.Mapping):
        data = {key: _file_tuple(value) for key, value in data.items()}
    builder = EnvironBuilder(
        path=path,
        base_url=base_url,
        query_string=query_string,
        method=method,
        headers=headers,
        data=data,
        auth=auth,
        content_type=content_type,
        **builder_kwargs,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    body = environ["wsgi.input"].read()
    raw_headers: list[tuple[bytes, bytes]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if not value:
                continue
            name = key.replace("_", "-").lower()
        else:
            continue
        raw_headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    script_name = environ.get("SCRIPT_NAME", "").encode("latin-1").decode("utf-8", "replace")
    path_info = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    full_path = script_name + path_info
    port = environ.get("SERVER_PORT")
    scope: HTTPScope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": http_version,
        "method": environ["REQUEST_METHOD"],
        "scheme": environ["wsgi.url_scheme"],
        "path": full_path,
        "raw_path": quote(full_path).encode("ascii"),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": script_name,
        "headers": raw_headers,
        "client": (remote_addr, 50000),
        "server": (environ["SERVER_NAME"], int(port) if port else None),
        "extensions": {},
    }
    return scope, body


def _file_tuple(value: t.Any) -> t.Any:
    # Flask's test client accepts (bytes, filename) too; EnvironBuilder wants a stream.
    if isinstance(value, list):
        return [_file_tuple(item) for item in value]
    if isinstance(value, tuple) and value and isinstance(value[0], bytes | bytearray):
        return (BytesIO(bytes(value[0])), *value[1:])
    return value


def make_test_request(app: Quart, path: str = "/", **kwargs: t.Any) -> Request:
    """A request object built from test arguments, with its body already received."""
    scope, body = _build(app, path, **kwargs)
    root_path = scope["root_path"]
    route_path = scope["path"][len(root_path) :] if root_path else scope["path"]
    return app.request_class(
        scope["method"],
        scope["scheme"],
        route_path,
        scope["query_string"],
        scope["headers"],
        root_path,
        scope["http_version"],
        scope,
        body=Body(None, len(body), data=body),
    )
