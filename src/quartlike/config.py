"""Application configuration: the :class:`Config` mapping and its defaults.

:class:`Config` is a plain :class:`dict` with helpers that fill it from Python
files, objects, mappings, data files and environment variables.
:class:`ConfigAttribute` lets the application expose a few keys as attributes.
"""

from __future__ import annotations

import collections.abc as cabc
import errno
import json
import os
import types
import typing as t
from datetime import timedelta

from werkzeug.utils import import_string

T = t.TypeVar("T")

#: The configuration every new application starts from. The keys and values
#: follow Flask 3.1, except where a comment says otherwise.
DEFAULT_CONFIG: dict[str, t.Any] = {
    "DEBUG": None,
    "TESTING": False,
    "PROPAGATE_EXCEPTIONS": None,
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": None,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
    "USE_X_SENDFILE": False,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "APPLICATION_ROOT": "/",
    "SESSION_COOKIE_NAME": "session",
    "SESSION_COOKIE_DOMAIN": None,
    "SESSION_COOKIE_PATH": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_COOKIE_PARTITIONED": False,
    # Flask sends no SameSite (None); Lax stops the session cookie riding on
    # cross-site POSTs while keeping top-level links working.
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_REFRESH_EACH_REQUEST": True,
    # Flask leaves this unlimited (None); an async server holding many bodies at
    # once needs a bound, so 16 MiB is the default here.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # Bytes of non-file form fields kept in memory (413 when exceeded).
    "MAX_FORM_MEMORY_SIZE": 500_000,
    # Number of fields and files a multipart form may contain (413 when exceeded).
    "MAX_FORM_PARTS": 1_000,
    "SEND_FILE_MAX_AGE_DEFAULT": None,
    "TRAP_BAD_REQUEST_ERRORS": None,
    "TRAP_HTTP_EXCEPTIONS": False,
    "EXPLAIN_TEMPLATE_LOADING": False,
    "PREFERRED_URL_SCHEME": "http",
    "TEMPLATES_AUTO_RELOAD": None,
    "MAX_COOKIE_SIZE": 4093,
    "PROVIDE_AUTOMATIC_OPTIONS": True,
    # Not in Flask: seconds allowed to receive a whole request body before the
    # request fails with 408 Request Timeout.
    "BODY_TIMEOUT": 60,
    # Not in Flask: seconds allowed to produce a response (including streamed
    # bodies) before it is abandoned.
    "RESPONSE_TIMEOUT": 60,
    # Not in Flask: seconds to wait for background tasks when the app shuts
    # down before they are cancelled.
    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,
    # Not in Flask: size of the thread pool that runs synchronous views and hooks.
    "SYNC_WORKERS": 32,
    # Not in Flask: largest websocket message, in bytes, accepted from a client.
    "MAX_WEBSOCKET_MESSAGE_SIZE": 1024 * 1024,
    # Not in Flask: incoming websocket messages buffered for a handler that has
    # not received them yet; past this the server is made to wait (back-pressure).
    "WEBSOCKET_RECEIVE_QUEUE_SIZE": 16,
    # Not in Flask: bytes of an uploaded file kept in memory before the upload
    # is spooled to a temporary file on disk.
    "FORM_SPOOL_THRESHOLD": 500 * 1024,
}

# errno values meaning "there is no such file", which ``silent=True`` forgives.
_MISSING_FILE_ERRNOS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENOTDIR})


class _HasConfig(t.Protocol):
    """Anything with a ``config`` mapping, such as the application."""

    @property
    def config(self) -> Config: ...


class ConfigAttribute(t.Generic[T]):
    """A descriptor that reads and writes one configuration key.

    Declared on the application class, ``testing = ConfigAttribute("TESTING")``
    makes ``app.testing`` an alias of ``app.config["TESTING"]``.

    :param name: the configuration key to forward to.
    :param get_converter: optional callable applied to the stored value each
        time the attribute is read (for example ``timedelta`` normalisation).
        Writes store the value unchanged.
    """

    def __init__(self, name: str, get_converter: cabc.Callable[[t.Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: type[t.Any] | None = None) -> ConfigAttribute[T]: ...

    @t.overload
    def __get__(self, obj: _HasConfig, owner: type[t.Any] | None = None) -> T: ...

    def __get__(
        self, obj: _HasConfig | None, owner: type[t.Any] | None = None
    ) -> ConfigAttribute[T] | T:
        if obj is None:
            return self
        value = obj.config[self.__name__]
        if self.get_converter is not None:
            return self.get_converter(value)
        return t.cast(T, value)

    def __set__(self, obj: _HasConfig, value: t.Any) -> None:
        obj.config[self.__name__] = value


class Config(dict[str, t.Any]):
    """The configuration of an application: a :class:`dict` with loaders.

    Only upper-case keys are taken by :meth:`from_object`, :meth:`from_pyfile`
    and :meth:`from_mapping`, so helper names and imports in a settings module
    do not leak into the configuration.

    :param root_path: directory that relative file names given to
        :meth:`from_pyfile` and :meth:`from_file` are resolved against.
    :param defaults: initial keys and values, copied into the new mapping.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: cabc.Mapping[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load a Python settings file whose path is held in an environment variable.

        :param variable_name: name of the environment variable holding the path.
        :param silent: when true, return ``False`` instead of raising if the
            variable is unset or empty, or if the file does not exist.
        :return: ``True`` if a file was loaded.
        :raises RuntimeError: if the variable is unset and ``silent`` is false.
        """
        path = os.environ.get(variable_name)
        if not path:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set (or is empty),"
                " so no configuration file could be loaded from it. Set it to the"
                " path of a Python configuration file, for example"
                f" 'export {variable_name}=/path/to/settings.cfg', or pass"
                " silent=True to skip loading when it is missing."
            )
        return self.from_pyfile(path, silent=silent)

    def from_prefixed_env(
        self,
        prefix: str = "QUARTLIKE",
        *,
        loads: cabc.Callable[[str], t.Any] = json.loads,
    ) -> bool:
        """Load every environment variable that starts with ``prefix`` and ``_``.

        The prefix and underscore are removed to form the key. Each value is
        passed through ``loads``; if that fails the raw string is kept, so
        ``QUARTLIKE_PORT=8000`` gives an int while ``QUARTLIKE_NAME=demo`` stays a
        string. A double underscore nests into dictionaries:
        ``QUARTLIKE_DB__HOST=x`` sets ``config["DB"]["HOST"]``, creating the
        intermediate dictionaries when they are missing. Variables are applied
        in sorted name order.

        :param prefix: variable name prefix, without the trailing underscore.
        :param loads: callable turning each raw value into a Python value.
        :return: always ``True``.
        :raises TypeError: if a ``__`` path runs through an existing value that
            is not a mapping.
        """
        start = f"{prefix}_"
        for name in sorted(os.environ):
            if not name.startswith(start):
                continue
            raw = os.environ[name]
            value: t.Any
            try:
                value = loads(raw)
            except Exception:
                value = raw

            key = name[len(start) :]
            *parents, leaf = key.split("__")
            target: t.Any = self
            for part in parents:
                if part not in target:
                    target[part] = {}
                target = target[part]
                if not isinstance(target, cabc.MutableMapping):
                    raise TypeError(
                        f"Cannot apply environment variable {name!r}: the key {part!r}"
                        f" already holds a {type(target).__name__}, not a dict, so"
                        " nothing can be nested under it."
                    )
            target[leaf] = value
        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its upper-case names.

        :param filename: path of the file; a relative path is resolved against
            :attr:`root_path`.
        :param silent: when true, return ``False`` if the file does not exist
            instead of raising.
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read (the message names the file
            and the operating system's reason).
        """
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, mode="rb") as fp:
                source = fp.read()
        except OSError as exc:
            if silent and exc.errno in _MISSING_FILE_ERRNOS:
                return False
            exc.strerror = f"Unable to load configuration file ({exc.strerror})"
            raise
        exec(compile(source, path, "exec"), module.__dict__)
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Copy the upper-case attributes of an object, class or module.

        :param obj: the object to read, or an import string such as
            ``"myapp.settings.Production"`` naming it.
        :raises ImportError: if an import string cannot be imported.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for name in dir(obj):
            if name.isupper():
                self[name] = getattr(obj, name)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: cabc.Callable[[t.IO[t.Any]], cabc.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a data file (JSON, TOML, ...) and pass its mapping to :meth:`from_mapping`.

        For example ``config.from_file("settings.toml", tomllib.load, text=False)``.

        :param filename: path of the file; a relative path is resolved against
            :attr:`root_path`.
        :param load: callable taking the open file and returning a mapping.
        :param silent: when true, return ``False`` if the file does not exist
            instead of raising.
        :param text: open the file in text mode when true, binary mode when false.
        :return: ``True`` if the file was loaded.
        :raises OSError: if the file cannot be read.
        """
        path = os.path.join(self.root_path, filename)
        try:
            with open(path, "r" if text else "rb") as fp:
                data = load(fp)
        except OSError as exc:
            if silent and exc.errno in _MISSING_FILE_ERRNOS:
                return False
            exc.strerror = f"Unable to load configuration file ({exc.strerror})"
            raise
        return self.from_mapping(data)

    def from_mapping(
        self, mapping: cabc.Mapping[str, t.Any] | None = None, **kwargs: t.Any
    ) -> bool:
        """Copy the upper-case keys of a mapping and of keyword arguments.

        Keyword arguments win over keys of ``mapping`` with the same name.

        :param mapping: keys and values to copy.
        :param kwargs: more keys and values to copy.
        :return: always ``True``.
        """
        merged: dict[str, t.Any] = {}
        if mapping is not None:
            merged.update(mapping)
        merged.update(kwargs)
        for key, value in merged.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """Collect the keys that start with ``namespace`` into a new dict.

        ``config.get_namespace("IMAGE_STORE_")`` turns ``IMAGE_STORE_PATH`` into
        ``{"path": ...}``, handy as keyword arguments for a constructor.

        :param namespace: the key prefix to select, matched case-sensitively.
        :param lowercase: lower-case the resulting keys.
        :param trim_namespace: remove the prefix from the resulting keys.
        :return: a new dictionary; the configuration is not changed.
        """
        selected: dict[str, t.Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            new_key = key[len(namespace) :] if trim_namespace else key
            if lowercase:
                new_key = new_key.lower()
            selected[new_key] = value
        return selected

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
