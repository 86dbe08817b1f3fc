"""Import this first to run Flask extensions on quartlike: ``import quartlike.flask_patch``.

Importing it installs the extension shim (:func:`quartlike.flask.shim.install`):
from then on ``import flask`` anywhere in the process gives quartlike's sync
face. Undo it with :func:`quartlike.flask.shim.uninstall`.
"""

from __future__ import annotations

from .flask.shim import install as install
from .flask.shim import is_installed as is_installed
from .flask.shim import uninstall as uninstall

install()
