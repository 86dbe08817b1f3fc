"""``flask.blueprints`` for the sync face."""

from __future__ import annotations

import os
import typing as t

from ..blueprints import Blueprint as _Blueprint
from ..blueprints import BlueprintSetupState as BlueprintSetupState

__all__ = ["Blueprint", "BlueprintSetupState"]


class Blueprint(_Blueprint):
    """A blueprint whose ``open_resource`` returns an ordinary file object, as in Flask."""

    def open_resource(  # type: ignore[override]
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.Any]:
        """Open ``resource`` (relative to :attr:`root_path`) for reading.

        :param mode: ``"rb"`` (the default), ``"r"`` or ``"rt"``.
        :param encoding: the encoding of a text mode.
        :raises ValueError: for a mode that writes.
        """
        if mode not in {"r", "rt", "rb"}:
            raise ValueError(f"Resources can only be opened for reading, not with mode {mode!r}.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)
