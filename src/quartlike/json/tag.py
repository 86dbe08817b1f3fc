"""A JSON dialect that keeps types plain JSON would lose, used for session cookies.

Values JSON has no type for are wrapped as a one-key object whose key names the
type, e.g. ``{" t": [1, 2]}`` for the tuple ``(1, 2)``. The key starts with a
space so it is unlikely to clash with real data; a real one-key dict whose key
happens to be a tag name is escaped with the ``" di"`` tag. The format is the
same as Flask's, so signed session cookies can be shared between the two.

Built-in tags:

=========  =============================================  =========================
key        Python type                                    JSON form
=========  =============================================  =========================
``" di"``  one-key dict whose key is a tag                ``{"<key>__": value}``
``" t"``   :class:`tuple`                                 list
``" b"``   :class:`bytes`                                 base64 string
``" m"``   objects with ``__html__`` (loaded as Markup)   string
``" u"``   :class:`uuid.UUID`                             hex string
``" d"``   :class:`datetime.datetime`                     HTTP date string
=========  =============================================  =========================

To support another type, subclass :class:`JSONTag` and pass the subclass to
:meth:`TaggedJSONSerializer.register`.
"""

from __future__ import annotations

import abc
import json
import typing as t
from base64 import b64decode
from base64 import b64encode
from datetime import datetime
from json import encoder as _encoder_module
from uuid import UUID

from markupsafe import Markup
from werkzeug.http import http_date
from werkzeug.http import parse_date

from ..globals import _cv_app
from . import dumps as _dumps
from . import loads as _loads
from .provider import DefaultJSONProvider
from .provider import JSONProvider
from .provider import _default

__all__ = [
    "JSONTag",
    "PassDict",
    "PassList",
    "TagBytes",
    "TagDateTime",
    "TagDict",
    "TagMarkup",
    "TagTuple",
    "TagUUID",
    "TaggedJSONSerializer",
]


class JSONTag(abc.ABC):
    """Base class for one tagged type of a :class:`TaggedJSONSerializer`.

    :param serializer: the serializer the tag belongs to; tags for containers
        use it to tag their items.
    """

    __slots__ = ("serializer",)

    #: The marker key used in JSON. An empty key means the tag only rewrites
    #: values (as :class:`PassDict` does) and is never looked up when loading.
    key: str = ""

    def __init__(self, serializer: TaggedJSONSerializer) -> None:
        self.serializer = serializer

    @abc.abstractmethod
    def check(self, value: t.Any) -> bool:
        """Tell whether this tag handles ``value``.

        :param value: a value about to be serialised.
        """

    @abc.abstractmethod
    def to_json(self, value: t.Any) -> t.Any:
        """Convert ``value`` to something JSON can encode (before wrapping).

        :param value: a value for which :meth:`check` returned true.
        """

    @abc.abstractmethod
    def to_python(self, value: t.Any) -> t.Any:
        """Rebuild the original Python value from its JSON form.

        :param value: what :meth:`to_json` produced, after a JSON round trip.
        """

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` and wrap it in a one-key object named by :attr:`key`.

        :param value: a value for which :meth:`check` returned true.
        """
        return {self.key: self.to_json(value)}


class TagDict(JSONTag):
    """Escape a one-key dict whose key is a registered tag name.

    The key gets a ``__`` suffix so loading does not mistake the dict for a
    tagged value; the suffix is removed again when loading.
    """

    __slots__ = ()
    key = " di"

    def check(self, value: t.Any) -> bool:
        return (
            isinstance(value, dict)
            and len(value) == 1
            and next(iter(value)) in self.serializer.tags
        )

    def to_json(self, value: t.Any) -> t.Any:
        (key,) = value
        return {f"{key}__": self.serializer.tag(value[key])}

    def to_python(self, value: t.Any) -> t.Any:
        (key,) = value
        return {key[:-2]: value[key]}


class PassDict(JSONTag):
    """Tag the values of an ordinary dict, leaving the dict itself unwrapped."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, dict)

    def to_json(self, value: t.Any) -> t.Any:
        return {k: self.serializer.tag(v) for k, v in value.items()}

    def to_python(self, value: t.Any) -> t.Any:
        return value

    def tag(self, value: t.Any) -> t.Any:
        return self.to_json(value)


class TagTuple(JSONTag):
    """Keep tuples apart from lists."""

    __slots__ = ()
    key = " t"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, tuple)

    def to_json(self, value: t.Any) -> t.Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return tuple(value)


class PassList(JSONTag):
    """Tag the items of a list, leaving the list itself unwrapped."""

    __slots__ = ()

    def check(self, value: t.Any) -> bool:
        return isinstance(value, list)

    def to_json(self, value: t.Any) -> t.Any:
        return [self.serializer.tag(item) for item in value]

    def to_python(self, value: t.Any) -> t.Any:
        return value

    def tag(self, value: t.Any) -> t.Any:
        return self.to_json(value)


class TagBytes(JSONTag):
    """Store bytes as base64 text."""

    __slots__ = ()
    key = " b"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, bytes)

    def to_json(self, value: t.Any) -> t.Any:
        return b64encode(value).decode("ascii")

    def to_python(self, value: t.Any) -> t.Any:
        return b64decode(value)


class TagMarkup(JSONTag):
    """Store HTML-safe strings (anything with ``__html__``), loaded back as Markup."""

    __slots__ = ()
    key = " m"

    def check(self, value: t.Any) -> bool:
        return callable(getattr(value, "__html__", None))

    def to_json(self, value: t.Any) -> t.Any:
        return str(value.__html__())

    def to_python(self, value: t.Any) -> t.Any:
        return Markup(value)


class TagUUID(JSONTag):
    """Store UUIDs as 32 hex digits."""

    __slots__ = ()
    key = " u"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, UUID)

    def to_json(self, value: t.Any) -> t.Any:
        return value.hex

    def to_python(self, value: t.Any) -> t.Any:
        return UUID(value)


class TagDateTime(JSONTag):
    """Store datetimes as HTTP date strings (second precision, UTC).

    Naive datetimes are taken to be UTC; loading gives an aware UTC datetime.
    """

    __slots__ = ()
    key = " d"

    def check(self, value: t.Any) -> bool:
        return isinstance(value, datetime)

    def to_json(self, value: t.Any) -> t.Any:
        return http_date(value)

    def to_python(self, value: t.Any) -> t.Any:
        return parse_date(value)


class TaggedJSONSerializer:
    """Serialise values to tagged JSON and back.

    Tags are tried in :attr:`order` and the first whose ``check`` accepts a
    value handles it. Dicts and lists are walked so nested values are tagged
    too.
    """

    __slots__ = ("order", "tags", "_vetted_order", "_scanner")

    #: Tag classes registered on every new serializer, in this order.
    default_tags: t.ClassVar[list[type[JSONTag]]] = [
        TagDict,
        PassDict,
        TagTuple,
        PassList,
        TagBytes,
        TagMarkup,
        TagUUID,
        TagDateTime,
    ]

    def __init__(self) -> None:
        #: Tags with a key, by key, used when loading.
        self.tags: dict[str, JSONTag] = {}
        #: All tags, in the order they are tried when dumping.
        self.order: list[JSONTag] = []
        # A copy of ``order`` once it was found to hold only built-in tags, see
        # ``_plain_values_pass``.
        self._vetted_order: list[JSONTag] | None = None
        # A JSON scanner that untags objects as it reads them, see ``loads``.
        self._scanner: t.Any = None
        for tag_class in self.default_tags:
            self.register(tag_class)

    def register(
        self,
        tag_class: type[JSONTag],
        force: bool = False,
        index: int | None = None,
    ) -> None:
        """Add a tag to this serializer.

        :param tag_class: the :class:`JSONTag` subclass; it is instantiated
            with this serializer.
        :param force: replace a tag already registered under the same key
            instead of raising.
        :param index: position in :attr:`order` to insert the tag at; by
            default it is tried after all existing tags. Put a tag for a
            subclass of a handled type (e.g. an ``OrderedDict`` tag) in front.
        :raises KeyError: if the key is already registered and ``force`` is false.
        """
        tag = tag_class(self)
        key = tag.key
        if key:
            if not force and key in self.tags:
                raise KeyError(
                    f"A tag with the key {key!r} is already registered. Pass"
                    " force=True to replace it."
                )
            self.tags[key] = tag
        if index is None:
            self.order.append(tag)
        else:
            self.order.insert(index, tag)

    def tag(self, value: t.Any) -> t.Any:
        """Convert ``value`` into its tagged, JSON-encodable form.

        :param value: the value to convert; values no tag accepts are returned
            unchanged.
        """
        for tag in self.order:
            if tag.check(value):
                return tag.tag(value)
        return value

    def untag(self, value: dict[str, t.Any]) -> t.Any:
        """Rebuild a value from a tagged object, if it is one.

        :param value: a dict loaded from JSON; when it has exactly one key and
            that key is a registered tag, the tag converts its content back.
            Otherwise the dict is returned unchanged.
        """
        if len(value) != 1:
            return value
        (key,) = value
        tag = self.tags.get(key)
        if tag is None:
            return value
        return tag.to_python(value[key])

    def _untag_scan(self, value: t.Any) -> t.Any:
        """Untag a loaded JSON value, innermost values first."""
        if isinstance(value, dict):
            return self.untag(
                {
                    k: self._untag_scan(v) if isinstance(v, dict | list) else v
                    for k, v in value.items()
                }
            )
        if isinstance(value, list):
            return [
                self._untag_scan(item) if isinstance(item, dict | list) else item for item in value
            ]
        return value

    def _plain_values_pass(self) -> bool:
        """Tell whether values that need no tag may skip :meth:`tag` when dumping.

        True when :meth:`tag` is this class's own and every tag in
        :attr:`order` is a built-in one: none of those changes a ``str``,
        ``int``, ``float``, ``bool`` or ``None``, and the dict and list tags
        only copy their container (or escape a one-key dict whose key is a
        tag name, which :meth:`_needs_tags` looks for).
        """
        order = self.order
        if self._vetted_order == order:
            return True
        if type(self).tag is not TaggedJSONSerializer.tag or not all(
            type(tag) in _BUILTIN_TAGS for tag in order
        ):
            return False
        self._vetted_order = list(order)
        return True

    def _needs_tags(self, value: t.Any) -> bool:
        """Tell whether tagging ``value`` could give anything but an equal copy of it.

        False only for ``str``, ``int``, ``float``, ``bool`` and ``None``, and
        for plain dicts and lists of them (nested to any depth), except a
        one-key dict whose key is a registered tag name.

        :param value: a value about to be serialised.
        """
        kind = type(value)
        if kind in _PLAIN_TYPES:
            return False
        if kind is dict:
            if len(value) == 1 and next(iter(value)) in self.tags:
                return True
            items = value.values()
        elif kind is list:
            items = value
        else:
            return True
        for item in items:
            if type(item) in _PLAIN_TYPES:
                continue  # the common case, without a call
            if self._needs_tags(item):
                return True
        return False

    def dumps(self, value: t.Any) -> str:
        """Tag ``value`` and encode it as compact JSON.

        Values that need no tag (strings, numbers, booleans, ``None``, and
        plain dicts and lists of them) are encoded as they are: tagging would
        only copy them.

        :param value: the value to serialise.
        """
        if self._plain_values_pass() and not self._needs_tags(value):
            return _compact_dumps(value, plain=True)
        return _compact_dumps(self.tag(value), plain=False)

    def loads(self, value: str | bytes) -> t.Any:
        """Decode tagged JSON and rebuild the tagged values.

        :param value: a document produced by :meth:`dumps`.
        """
        if type(value) is str:
            scanner = self._untagging_scanner()
            if scanner is not None:
                # The scanner calls ``untag`` on each object as soon as it is
                # read, innermost first: what ``_untag_scan`` does afterwards.
                # Anything unusual (surrounding whitespace, an error) is left
                # to the general path, which then says what is wrong.
                try:
                    data, end = scanner(value, 0)
                except Exception:  # the general path reports it
                    pass
                else:
                    if end == len(value):
                        return data
        return self._untag_scan(_loads(value))

    def _untagging_scanner(self) -> t.Any:
        """``scan_once`` of a JSON decoder whose ``object_hook`` is :meth:`untag`.

        ``None`` when it does not apply: when the app's JSON provider decodes
        differently from :func:`json.loads`, or a subclass changes how loaded
        values are untagged.
        """
        ctx = _cv_app.get(None)
        if ctx is not None and type(ctx.app.json).loads not in _PLAIN_LOADS:
            return None
        cls = type(self)
        if cls.untag is not _UNTAG or cls._untag_scan is not _UNTAG_SCAN:
            return None
        scanner = self._scanner
        if scanner is None:
            decoder: t.Any = json.JSONDecoder(object_hook=self.untag)
            scanner = self._scanner = decoder.scan_once
        return scanner


_SEPARATORS = (",", ":")
#: ``json.encoder``, whose C accelerator typeshed does not describe.
_json_encoder: t.Any = _encoder_module
_DEFAULT_DUMPS = DefaultJSONProvider.dumps
#: Provider methods that are ``json.loads(s)`` without options.
_PLAIN_LOADS = frozenset({DefaultJSONProvider.loads, JSONProvider.loads})
_UNTAG = TaggedJSONSerializer.untag
_UNTAG_SCAN = TaggedJSONSerializer._untag_scan


def _compact_dumps(value: t.Any, *, plain: bool) -> str:
    """``quartlike.json.dumps(value, separators=(",", ":"))``, cheaper with the default provider.

    :func:`json.dumps` with options builds a :class:`json.JSONEncoder`,
    which (without indentation) hands the work to the C encoder; this
    builds that C encoder directly, with the same options, for the default
    provider's settings (or those of :func:`json.dumps` outside an app).
    Any other provider is used as it is.

    :param plain: whether ``value`` holds only ``dict``, ``list``, ``str``,
        ``int``, ``float``, ``bool`` and ``None`` (exact types), with no
        cycles: ``_needs_tags`` walked all of it. Such a value never reaches
        the encoder's ``default`` nor its check for cycles, so one encoder
        per set of options is kept and reused for it.
    """
    ctx = _cv_app.get(None)
    if ctx is None:
        options: tuple[t.Any, t.Any, t.Any] = (_default, True, False)
    else:
        provider: t.Any = ctx.app.json
        if type(provider).dumps is not _DEFAULT_DUMPS:
            return _dumps(value, separators=_SEPARATORS)
        options = (provider.default, provider.ensure_ascii, provider.sort_keys)
    if plain:
        try:
            encoder = _PLAIN_ENCODERS.get(options)
        except TypeError:  # an unhashable option
            encoder = None
        if encoder is None:
            encoder = _c_encoder(options, None)
            if encoder is not None and len(_PLAIN_ENCODERS) < _MAX_PLAIN_ENCODERS:
                try:
                    _PLAIN_ENCODERS[options] = encoder
                except TypeError:
                    pass
    else:
        # A new encoder each time, with its own markers: the containers being
        # encoded, to detect cycles (left in place when encoding fails).
        encoder = _c_encoder(options, {})
    if encoder is None:
        return _dumps(value, separators=_SEPARATORS)
    return "".join(encoder(value, 0))


def _c_encoder(options: tuple[t.Any, t.Any, t.Any], markers: dict[int, t.Any] | None) -> t.Any:
    """What ``json.dumps(o, separators=(",", ":"), ...)`` encodes with.

    That is ``JSONEncoder.iterencode(o, _one_shot=True)``'s C encoder;
    ``None`` without the C accelerator, or when ``default`` is ``None``
    (JSONEncoder's own method would then be used).

    :param options: ``default``, ``ensure_ascii`` and ``sort_keys``.
    :param markers: a dict to detect cycles with, or ``None`` not to.
    """
    make_encoder = getattr(_json_encoder, "c_make_encoder", None)
    default, ensure_ascii, sort_keys = options
    if make_encoder is None or default is None:
        return None
    if ensure_ascii:
        encode_string = _json_encoder.encode_basestring_ascii
    else:
        encode_string = _json_encoder.encode_basestring
    try:
        return make_encoder(
            markers,
            default,
            encode_string,
            None,  # indent
            _SEPARATORS[1],
            _SEPARATORS[0],
            sort_keys,
            False,  # skipkeys
            True,  # allow_nan
        )
    except TypeError:  # another Python's signature: json.dumps will do
        return None


#: Encoders for plain values, by options (see ``_compact_dumps``); bounded.
_PLAIN_ENCODERS: dict[tuple[t.Any, t.Any, t.Any], t.Any] = {}
_MAX_PLAIN_ENCODERS = 8


#: The tag classes :meth:`TaggedJSONSerializer._plain_values_pass` knows.
_BUILTIN_TAGS = frozenset(TaggedJSONSerializer.default_tags)
#: The types of the values that no built-in tag changes (exact types only).
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
