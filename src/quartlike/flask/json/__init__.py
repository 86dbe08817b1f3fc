"""``flask.json`` for the sync face: the core's JSON helpers (they are already sync)."""

from __future__ import annotations

from ...json import dump as dump
from ...json import dumps as dumps
from ...json import jsonify as jsonify
from ...json import load as load
from ...json import loads as loads

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]
