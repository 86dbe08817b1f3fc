"""JSON providers: the pluggable object behind ``app.json``.

An application owns one provider. It is used by :func:`quartlike.json.dumps` and
friends while the application's context is active, by ``jsonify`` and by views
returning dicts or lists. Subclass :class:`DefaultJSONProvider` to change the
encoding, or :class:`JSONProvider` to use another JSON library.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import decimal
import json
import typing as t
import uuid
import weakref
from datetime import date

from werkzeug.http import http_date

if t.TYPE_CHECKING:
    from ..wrappers.response import Response


class ResponseFactory(t.Protocol):
    """A response class as seen by a provider: built from a body and a mimetype."""

    def __call__(self, response: str, *, mimetype: str) -> Response: ...


class JSONApp(t.Protocol):
    """The part of an application that a JSON provider relies on."""

    @property
    def debug(self) -> bool: ...

    @property
    def response_class(self) -> ResponseFactory: ...


class JSONProvider:
    """Encode and decode JSON for one application.

    This base class uses the standard library :mod:`json` module with its
    default settings; override :meth:`dumps` and :meth:`loads` to plug in another
    library. :meth:`dump`, :meth:`load` and :meth:`response` are built on those
    two, so they rarely need overriding.

    The provider keeps only a weak reference to its application, so it does not
    keep the application alive.

    :param app: the application this provider serves.
    """

    #: The mimetype given to responses built by :meth:`response`.
    mimetype: str = "application/json"

    def __init__(self, app: JSONApp) -> None:
        self._app_ref: weakref.ref[JSONApp] = weakref.ref(app)

    @property
    def _app(self) -> JSONApp:
        app = self._app_ref()
        if app is None:
            raise RuntimeError(
                "The application that owns this JSON provider has been garbage"
                " collected. Keep a reference to the application for as long as"
                " its provider is used."
            )
        return app

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialise ``obj`` to a JSON string.

        :param obj: the value to encode.
        :param kwargs: options for the underlying encoder.
        """
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse a JSON document.

        :param s: the document, as text or as UTF-8/16/32 encoded bytes.
        :param kwargs: options for the underlying decoder.
        """
        return json.loads(s, **kwargs)

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialise ``obj`` with :meth:`dumps` and write the text to ``fp``.

        :param obj: the value to encode.
        :param fp: a text file open for writing.
        :param kwargs: passed on to :meth:`dumps`.
        """
        fp.write(self.dumps(obj, **kwargs))

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Read all of ``fp`` and parse it with :meth:`loads`.

        :param fp: a text or binary file open for reading.
        :param kwargs: passed on to :meth:`loads`.
        """
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        """Pick the value to encode from the arguments given to :meth:`response`.

        No arguments give ``None``, one positional argument is used as is,
        several become a list and keyword arguments become a dict.

        :raises TypeError: if both positional and keyword arguments are given.
        """
        if args and kwargs:
            raise TypeError(
                "A JSON response takes either positional arguments or keyword"
                " arguments, not both. Pass one dict (or list) positionally, or"
                " only keyword arguments."
            )
        if kwargs:
            return kwargs
        if not args:
            return None
        if len(args) == 1:
            return args[0]
        return list(args)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Build a response whose body is the JSON encoding of the arguments.

        ``response(x)`` encodes ``x``, ``response(a, b)`` encodes ``[a, b]``,
        ``response(k=v)`` encodes ``{"k": v}`` and ``response()`` encodes ``null``.

        :param args: a single value, or several values encoded as a list.
        :param kwargs: keys and values encoded as an object.
        :raises TypeError: if both ``args`` and ``kwargs`` are given.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype=self.mimetype)


def _default(o: t.Any) -> t.Any:
    """Turn a value the :mod:`json` module cannot encode into one it can.

    :raises TypeError: if the type is not supported.
    """
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, decimal.Decimal | uuid.UUID):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    html = getattr(o, "__html__", None)
    if html is not None and callable(html):
        return str(html())
    raise TypeError(
        f"Object of type {type(o).__name__} is not JSON serializable. Convert it to"
        " a supported type first, or subclass DefaultJSONProvider and extend its"
        " 'default' function."
    )


class DefaultJSONProvider(JSONProvider):
    """The standard provider, based on :mod:`json`, with extra type support.

    Besides what :mod:`json` handles, it encodes :class:`~datetime.date` and
    :class:`~datetime.datetime` as HTTP date strings, :class:`~decimal.Decimal`
    and :class:`~uuid.UUID` as strings, dataclass instances as dicts, and
    objects with an ``__html__`` method (such as :class:`~markupsafe.Markup`)
    as the string that method returns.
    """

    #: Called by the encoder for values it cannot handle; returns an encodable
    #: value or raises :class:`TypeError`.
    default: t.ClassVar[cabc.Callable[[t.Any], t.Any]] = staticmethod(_default)

    #: Escape non-ASCII characters as ``\\uXXXX`` sequences.
    ensure_ascii: bool = True

    #: Sort the keys of objects, which keeps output stable across runs.
    sort_keys: bool = True

    #: How :meth:`response` formats its body: ``True`` for compact output,
    #: ``False`` for indented output, ``None`` for indented output only while
    #: the application is in debug mode.
    compact: bool | None = None

    #: The mimetype given to responses built by :meth:`response`.
    mimetype: str = "application/json"

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialise ``obj`` to a JSON string.

        The :attr:`default`, :attr:`ensure_ascii` and :attr:`sort_keys`
        settings apply unless overridden by keyword arguments.

        :param obj: the value to encode.
        :param kwargs: options for :func:`json.dumps`.
        """
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Parse a JSON document with :func:`json.loads`.

        :param s: the document, as text or as UTF-8/16/32 encoded bytes.
        :param kwargs: options for :func:`json.loads`.
        """
        return json.loads(s, **kwargs)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Build a JSON response, indented or compact according to :attr:`compact`.

        The body ends with a newline, which keeps terminal output tidy.

        :param args: a single value, or several values encoded as a list.
        :param kwargs: keys and values encoded as an object.
        :raises TypeError: if both ``args`` and ``kwargs`` are given.
        """
        obj = self._prepare_response_obj(args, kwargs)
        app = self._app
        compact = self.compact
        indent = compact is False or (compact is None and app.debug)
        if type(self).dumps is DefaultJSONProvider.dumps:
            # What ``dumps`` does, with an encoder kept for the current settings
            # (json.dumps builds a new one per call when given options).
            key = (self.default, self.ensure_ascii, self.sort_keys, indent)
            encoders = self.__dict__.get("_encoders")
            if encoders is None:
                encoders = self.__dict__["_encoders"] = {}
            encoder = encoders.get(key)
            if encoder is None:
                if len(encoders) >= 8:
                    encoders.clear()
                encoder = encoders[key] = _Encoder(
                    default=self.default,
                    ensure_ascii=self.ensure_ascii,
                    sort_keys=self.sort_keys,
                    indent=2 if indent else None,
                    separators=None if indent else (",", ":"),
                )
            body = f"{encoder.encode(obj)}\n"
        else:
            dump_args: dict[str, t.Any] = {"indent": 2} if indent else {"separators": (",", ":")}
            body = f"{self.dumps(obj, **dump_args)}\n"
        return app.response_class(body, mimetype=self.mimetype)


#: The C accelerator of :mod:`json` (``None`` on interpreters without it).
_c_make_encoder: t.Any = getattr(json.encoder, "c_make_encoder", None)


class _Encoder(json.JSONEncoder):
    """A :class:`json.JSONEncoder` whose compact :meth:`encode` calls the C
    encoder directly.

    ``JSONEncoder.encode`` reaches the C encoder through ``iterencode``, which
    defines a float formatter and picks the string escaper on every call; for
    compact output (no indent) the C encoder gets the same arguments every time
    but a fresh dict of the containers being encoded (the circular reference
    check), so the output and the errors are the same.
    """

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._c_args: tuple[t.Any, ...] | None = None
        if _c_make_encoder is not None and self.indent is None:
            escape = (
                json.encoder.encode_basestring_ascii
                if self.ensure_ascii
                else json.encoder.encode_basestring
            )
            self._c_args = (
                self.default,
                escape,
                None,
                self.key_separator,
                self.item_separator,
                self.sort_keys,
                self.skipkeys,
                self.allow_nan,
            )

    def encode(self, o: t.Any) -> str:
        c_args = self._c_args
        if c_args is None or not self.check_circular:
            return super().encode(o)
        return "".join(_c_make_encoder({}, *c_args)(o, 0))
