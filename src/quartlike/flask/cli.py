"""``flask.cli`` for the sync face: the core's command-line pieces.

Commands of ``app.cli`` (and those decorated with :func:`with_appcontext`)
run in an app context; a sync command's sync teardown callbacks run in its
thread. ``FlaskGroup`` is the ``quartlike`` command's group class.
"""

from __future__ import annotations

from ..cli import AppGroup as AppGroup
from ..cli import NoAppException as NoAppException
from ..cli import QuartlikeGroup as FlaskGroup
from ..cli import ScriptInfo as ScriptInfo
from ..cli import cli as cli
from ..cli import find_app_by_string as find_app_by_string
from ..cli import find_best_app as find_best_app
from ..cli import get_load_dotenv as get_load_dotenv
from ..cli import load_dotenv as load_dotenv
from ..cli import locate_app as locate_app
from ..cli import main as main
from ..cli import pass_script_info as pass_script_info
from ..cli import prepare_import as prepare_import
from ..cli import routes_command as routes_command
from ..cli import run_command as run_command
from ..cli import shell_command as shell_command
from ..cli import with_appcontext as with_appcontext

__all__ = [
    "AppGroup",
    "FlaskGroup",
    "NoAppException",
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
    "routes_command",
    "run_command",
    "shell_command",
    "with_appcontext",
]
