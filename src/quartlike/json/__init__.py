"""JSON helpers that follow the active application's settings.

Inside an application context these functions delegate to ``current_app.json``
(a :class:`~quartlike.json.provider.JSONProvider`), so an application's custom
provider is honoured everywhere. Outside one they fall back to the standard
library :mod:`json` module, extended with the same type support as
:class:`~quartlike.json.provider.DefaultJSONProvider` (dates, decimals, UUIDs,
dataclasses and ``__html__`` objects).
"""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app
from ..globals import current_app
from .provider import _default

if t.TYPE_CHECKING:
    from ..wrappers.response import Response
    from .provider import JSONProvider

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]


def _active_provider() -> JSONProvider | None:
    """Return the JSON provider of the active application, if there is one."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    provider: JSONProvider = ctx.app.json
    return provider


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialise ``obj`` to a JSON string.

    :param obj: the value to encode.
    :param kwargs: options for the provider's (or :func:`json.dumps`') encoder.
    """
    provider = _active_provider()
    if provider is not None:
        return provider.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialise ``obj`` as JSON and write it to a text file.

    :param obj: the value to encode.
    :param fp: a text file open for writing.
    :param kwargs: options for the provider's (or :func:`json.dump`'s) encoder.
    """
    provider = _active_provider()
    if provider is not None:
        provider.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Parse a JSON document.

    :param s: the document, as text or as encoded bytes.
    :param kwargs: options for the provider's (or :func:`json.loads`') decoder.
    """
    provider = _active_provider()
    if provider is not None:
        return provider.loads(s, **kwargs)
    return _json.loads(s, **kwargs)


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Read a JSON document from a text or binary file and parse it.

    :param fp: a file open for reading.
    :param kwargs: options for the provider's (or :func:`json.load`'s) decoder.
    """
    provider = _active_provider()
    if provider is not None:
        return provider.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Build a JSON response with the current application's provider.

    ``jsonify(x)`` encodes ``x``, ``jsonify(a, b)`` encodes ``[a, b]`` and
    ``jsonify(k=v)`` encodes ``{"k": v}``. The mimetype is
    ``application/json``; indentation follows the provider's ``compact``
    setting and the application's debug mode.

    :param args: a single value, or several values encoded as a list.
    :param kwargs: keys and values encoded as an object.
    :raises TypeError: if both ``args`` and ``kwargs`` are given.
    :raises RuntimeError: if no application context is active.
    """
    provider: JSONProvider = current_app.json
    return provider.response(*args, **kwargs)
