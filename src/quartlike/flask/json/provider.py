"""``flask.json.provider`` for the sync face."""

from __future__ import annotations

from ...json.provider import DefaultJSONProvider as DefaultJSONProvider
from ...json.provider import JSONProvider as JSONProvider

__all__ = ["DefaultJSONProvider", "JSONProvider"]
