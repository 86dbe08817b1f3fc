"""The Flask benchmark app moved to quartlike the way MIGRATION.md teaches: the
source of :mod:`apps.flask_app`, unchanged but for its imports, which name
``quartlike.flask`` instead of ``flask``.

Every view stays a plain ``def``, so every request runs its view in the app's
thread pool, on the request's own thread (``request_thread_affinity``), as a
Flask team's app does on its first day on quartlike. Loading the other file's
source (rather than copying it) keeps the two apps the same by construction.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

_SOURCE = Path(__file__).with_name("flask_app.py")


def _load() -> types.ModuleType:
    source, swapped = re.subn(
        r"^from flask import ",
        "from quartlike.flask import ",
        _SOURCE.read_text(),
        flags=re.MULTILINE,
    )
    if swapped == 0 or re.search(r"^\s*(from|import) flask\b", source, flags=re.MULTILINE):
        raise RuntimeError(
            f"{_SOURCE.name}: its flask imports are no longer all 'from flask import'"
        )
    module = types.ModuleType(f"{__package__}._flaskface_impl")
    module.__file__ = str(_SOURCE)  # templates are found next to it, as for the Flask app
    module.__package__ = __package__
    sys.modules[module.__name__] = module
    exec(compile(source, str(_SOURCE), "exec"), module.__dict__)
    return module


app = _load().app
