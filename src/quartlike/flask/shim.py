"""The extension shim: make ``import flask`` resolve to :mod:`quartlike.flask`.

Flask extensions import ``flask`` (and ``flask.globals``, ``flask.signals``,
``flask.json.provider``, ...). After :func:`install`, those names are the
modules of quartlike's sync face, so an extension's code runs against the
quartlike app, its contexts and its request, unchanged.

Nothing is patched but ``sys.modules`` entries under the ``flask`` name: no
asyncio internals, no nested event loops. The install is explicit (import
:mod:`quartlike.flask_patch` first thing, or call :func:`install`) and
reversible (:func:`uninstall`, for tests). If the real Flask was imported
before the install, the two would be mixed in one process (an extension
holding real Flask's ``request`` would never see quartlike's requests), so
:func:`install` refuses with the fix instead.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import types

_PACKAGE = "quartlike.flask"
_lock = threading.Lock()
#: The ``sys.modules`` entries replaced by :func:`install`, to restore on uninstall.
_saved: dict[str, types.ModuleType | None] | None = None


def _submodules() -> list[str]:
    """Every module of :mod:`quartlike.flask`, dotted below the package (``json.tag``)."""
    package = importlib.import_module(_PACKAGE)
    names = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{_PACKAGE}."):
        name = info.name[len(_PACKAGE) + 1 :]
        if name.split(".")[-1].startswith("_") or name == "shim":
            continue
        names.append(name)
    return sorted(names)


def is_installed() -> bool:
    """Whether ``import flask`` currently gives quartlike's sync face."""
    return _saved is not None


def install() -> None:
    """Make ``flask`` and its submodules resolve to :mod:`quartlike.flask` (idempotent).

    :raises RuntimeError: if the real Flask is already imported.
    """
    global _saved
    with _lock:
        if _saved is not None:
            return
        current = sys.modules.get("flask")
        if current is not None and not getattr(current, "__quartlike__", False):
            raise RuntimeError(
                "The real Flask was imported before quartlike's Flask shim, so an"
                " extension may already hold Flask's own objects. Import the shim"
                " before anything that imports flask: put 'import quartlike.flask_patch'"
                " as the first import of your app (before extensions, and before"
                " 'import flask'), or in tests install it in conftest.py at import time."
            )
        saved: dict[str, types.ModuleType | None] = {}
        aliases = {"flask": importlib.import_module(_PACKAGE)}
        for name in _submodules():
            aliases[f"flask.{name}"] = importlib.import_module(f"{_PACKAGE}.{name}")
        for alias, module in aliases.items():
            saved[alias] = sys.modules.get(alias)
            sys.modules[alias] = module
        _saved = saved


def uninstall() -> None:
    """Undo :func:`install`, restoring whatever ``flask`` modules were there before."""
    global _saved
    with _lock:
        if _saved is None:
            return
        for alias, previous in _saved.items():
            if previous is None:
                sys.modules.pop(alias, None)
            else:
                sys.modules[alias] = previous
        # Modules imported *through* the alias while installed (a submodule
        # quartlike lacks would have failed, so these are ours) go as well.
        for name in [n for n in sys.modules if n == "flask" or n.startswith("flask.")]:
            if getattr(sys.modules[name], "__name__", "").startswith(_PACKAGE):
                del sys.modules[name]
        _saved = None
