"""The ``quartlike`` command: finding the app, and the ``run``, ``routes`` and ``shell`` commands.

``quartlike --app hello run --debug`` does what ``flask --app hello run --debug``
does, on Hypercorn. The pieces mirror Flask's so that code written for
``flask.cli`` ports over:

- :class:`ScriptInfo` knows how to find and load the app (once) from an import
  path, a factory, or the conventional files in the current directory.
- :func:`with_appcontext` runs a command callback inside an app context. The
  callback may be a coroutine function: it is run on an event loop, and the app
  context is popped (running the teardown callbacks) on that same loop.
- :class:`AppGroup` is the group behind ``app.cli``; its commands get an app
  context unless ``with_appcontext=False`` is passed.
- :class:`QuartlikeGroup` adds ``--app``, ``--debug``, ``--env-file``, the
  built-in commands, the commands of ``app.cli`` and those that installed
  packages register under the ``quartlike.commands`` entry point group.

The package's modules: :mod:`~quartlike.cli.discovery` (finding the app),
:mod:`~quartlike.cli.callbacks` (running possibly async callbacks),
:mod:`~quartlike.cli.appgroup` (app contexts for commands),
:mod:`~quartlike.cli.envfiles`, :mod:`~quartlike.cli.options`,
:mod:`~quartlike.cli.group` (the ``quartlike`` group), and one module per
built-in command: :mod:`~quartlike.cli.run`, :mod:`~quartlike.cli.routes`,
:mod:`~quartlike.cli.shell`. Import from ``quartlike.cli``.
"""

from __future__ import annotations

from .appgroup import AppGroup as AppGroup
from .appgroup import with_appcontext as with_appcontext
from .discovery import DEFAULT_APP_FILES as DEFAULT_APP_FILES
from .discovery import NoAppException as NoAppException
from .discovery import ScriptInfo as ScriptInfo
from .discovery import find_app_by_string as find_app_by_string
from .discovery import find_best_app as find_best_app
from .discovery import locate_app as locate_app
from .discovery import pass_script_info as pass_script_info
from .discovery import prepare_import as prepare_import
from .envfiles import DEFAULT_ENV_FILES as DEFAULT_ENV_FILES
from .envfiles import get_load_dotenv as get_load_dotenv
from .envfiles import load_dotenv as load_dotenv
from .group import ENTRY_POINT_GROUP as ENTRY_POINT_GROUP
from .group import QuartlikeGroup as QuartlikeGroup
from .group import cli as cli
from .group import main as main
from .routes import routes_command as routes_command
from .run import _serve_with_workers as _serve_with_workers
from .run import run_command as run_command
from .shell import shell_command as shell_command

__all__ = [
    "AppGroup",
    "NoAppException",
    "QuartlikeGroup",
    "ScriptInfo",
    "cli",
    "find_app_by_string",
    "find_best_app",
    "get_load_dotenv",
    "load_dotenv",
    "locate_app",
    "main",
    "pass_script_info",
    "prepare_import",
    "with_appcontext",
]
