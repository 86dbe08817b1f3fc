"""What the urlencoded and multipart parsers share: limits, pacing, errors."""

from __future__ import annotations

import typing as t

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

#: Largest slice of body data handled between two checks of the event loop.
_SLICE_SIZE = 64 * 1024
#: Yield to the event loop after this many decoded fields or multipart events.
_YIELD_EVERY_ITEMS = 128

_FormResult: t.TypeAlias = tuple[MultiDict[str, str], MultiDict[str, FileStorage]]


def _field_too_large(limit: int) -> RequestEntityTooLarge:
    """Build the 413 raised for a form field over the memory limit.

    :param limit: the configured ``max_form_memory_size``.
    """
    return RequestEntityTooLarge(f"A form field is larger than {limit} bytes.")


class _Pacer:
    """Count the work done since the last pause and tell when to yield to the loop."""

    def __init__(self) -> None:
        self._bytes = 0
        self._items = 0

    def data_done(self, size: int) -> bool:
        """Record ``size`` bytes handled; return whether it is time to yield.

        :param size: the number of bytes just handled.
        """
        self._bytes += size
        return self._due()

    def item_done(self) -> bool:
        """Record one field or event handled; return whether it is time to yield."""
        self._items += 1
        return self._due()

    def _due(self) -> bool:
        if self._bytes >= _SLICE_SIZE or self._items >= _YIELD_EVERY_ITEMS:
            self._bytes = self._items = 0
            return True
        return False
