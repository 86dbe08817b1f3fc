"""``flask.config`` for the sync face."""

from __future__ import annotations

from ..config import Config as Config
from ..config import ConfigAttribute as ConfigAttribute

__all__ = ["Config", "ConfigAttribute"]
