"""``flask.logging`` for the sync face."""

from __future__ import annotations

from ..logging import create_logger as create_logger
from ..logging import default_handler as default_handler
from ..logging import has_level_handler as has_level_handler

__all__ = ["create_logger", "default_handler", "has_level_handler"]
