"""The application logger and its default handler."""

from __future__ import annotations

import logging
import sys
import typing as t

__all__ = ["create_logger", "default_handler", "has_level_handler"]


class _LoggingApp(t.Protocol):
    """The part of an application that :func:`create_logger` relies on."""

    @property
    def name(self) -> str: ...

    @property
    def debug(self) -> bool: ...


class _StderrHandler(logging.StreamHandler[t.TextIO]):
    """A stream handler that writes to whatever :data:`sys.stderr` is at emit time.

    Resolving the stream late means redirecting ``sys.stderr`` (as test runners
    and some servers do) also redirects the log output. Calling
    :meth:`setStream` pins an explicit stream instead.
    """

    def __init__(self) -> None:
        self._pinned: t.TextIO | None = None
        super().__init__()
        self._pinned = None

    @property
    def stream(self) -> t.TextIO:
        return sys.stderr if self._pinned is None else self._pinned

    @stream.setter
    def stream(self, value: t.TextIO) -> None:
        self._pinned = value


#: The handler :func:`create_logger` adds when nothing else would show the
#: application's messages. It writes to :data:`sys.stderr` as
#: ``[time] LEVEL in module: message``. Remove it with
#: ``app.logger.removeHandler(default_handler)`` to configure logging yourself.
default_handler: logging.Handler = _StderrHandler()
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def has_level_handler(logger: logging.Logger) -> bool:
    """Tell whether some handler would emit records at ``logger``'s effective level.

    The logger's own handlers are checked, then its ancestors' for as long as
    records propagate upwards.

    :param logger: the logger to check.
    """
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def create_logger(app: _LoggingApp) -> logging.Logger:
    """Return the logger named after ``app``, set up so its messages are seen.

    When the application is in debug mode and the logger has no level of its
    own, the level becomes :data:`logging.DEBUG`. When no handler in the
    logger's hierarchy handles its effective level, :data:`default_handler`
    is added. Existing logging configuration is otherwise left alone.

    :param app: the application; only its ``name`` and ``debug`` are used.
    """
    logger = logging.getLogger(app.name)
    if app.debug and logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
