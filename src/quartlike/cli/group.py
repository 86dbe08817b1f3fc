"""The ``quartlike`` command group, :class:`QuartlikeGroup`, and its entry point."""

from __future__ import annotations

import collections.abc as cabc
import importlib.metadata
import os
import sys
import traceback
import typing as t

import click

from .appgroup import AppGroup
from .discovery import NoAppException
from .discovery import ScriptInfo
from .envfiles import _ORIGINAL_ENVIRON_KEY
from .envfiles import get_load_dotenv
from .envfiles import load_dotenv
from .options import _app_option
from .options import _debug_option
from .options import _env_file_option
from .options import _show_version
from .routes import routes_command
from .run import run_command
from .shell import shell_command

if t.TYPE_CHECKING:
    from ..app import Quart

#: The entry point group in which installed packages register extra commands.
ENTRY_POINT_GROUP = "quartlike.commands"
#: Flask's entry point group (Flask extensions register commands there), loaded as
#: well once the extension shim is installed (``import quartlike.flask_patch``).
FLASK_ENTRY_POINT_GROUP = "flask.commands"


def _shim_installed() -> bool:
    """Whether the extension shim is installed (without importing the sync face)."""
    shim = sys.modules.get("quartlike.flask.shim")
    return shim is not None and bool(shim.is_installed())


class QuartlikeGroup(AppGroup):
    """The ``quartlike`` command group: loads the app and offers its commands.

    Besides its own commands it lists the built-ins (``run``, ``shell``,
    ``routes``), the commands of ``app.cli``, and commands that installed
    packages register in the ``quartlike.commands`` entry point group. When
    the extension shim is installed (the app imports
    ``quartlike.flask_patch``), the commands of Flask extensions registered
    in the ``flask.commands`` group are offered too (not replacing a command
    of the same name); they are loaded after the app, which installs the
    shim, so that their ``import flask`` gets quartlike's sync face.

    :param add_default_commands: add ``run``, ``shell`` and ``routes``.
    :param create_app: a function returning the app, instead of ``--app``.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load ``.env`` and ``.quartlikeenv`` (with python-dotenv)
        before the options are parsed.
    :param set_debug_flag: set ``app.debug`` from ``--debug``/``QUARTLIKE_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: cabc.Callable[..., Quart] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        params.extend((_env_file_option(), _app_option(), _debug_option()))
        if add_version_option:
            params.append(
                click.Option(
                    ["--version"],
                    help="Show the quartlike version.",
                    expose_value=False,
                    callback=_show_version,
                    is_flag=True,
                    is_eager=True,
                )
            )
        extra["context_settings"] = {
            "auto_envvar_prefix": "QUARTLIKE",
            **(extra.get("context_settings") or {}),
        }
        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False
        self._loaded_flask_commands = False

    def _load_plugin_commands(self) -> None:
        if not self._loaded_plugin_commands:
            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                self.add_command(entry_point.load(), entry_point.name)
            self._loaded_plugin_commands = True
        # Only with the shim: without it, loading them would import the real
        # Flask, which the shim then refuses to replace.
        if not self._loaded_flask_commands and _shim_installed():
            for entry_point in importlib.metadata.entry_points(group=FLASK_ENTRY_POINT_GROUP):
                if entry_point.name not in self.commands:
                    self.add_command(entry_point.load(), entry_point.name)
            self._loaded_flask_commands = True

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_plugin_commands()
        rv = super().get_command(ctx, cmd_name)
        if rv is not None:
            return rv
        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        if not self._loaded_flask_commands and _shim_installed():
            # Loading the app installed the shim: Flask extensions' commands now load.
            self._load_plugin_commands()
            rv = super().get_command(ctx, cmd_name)
            if rv is not None:
                return rv
        return app.cli.get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        info = ctx.ensure_object(ScriptInfo)
        rv: set[str] = set()
        try:
            rv.update(info.load_app().cli.list_commands(ctx))
            self._load_plugin_commands()  # the app may have installed the shim
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            # The app failed to import: show why, and still list the built-ins.
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        rv.update(super().list_commands(ctx))
        return sorted(rv)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        if "obj" not in extra and "obj" not in self.context_settings:
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Before any option is handled (--help lists app.cli's commands, so it
        # needs QUARTLIKE_APP from an env file too): load the default env files,
        # remembering what the environment itself set, which --env-file must
        # not override.
        ctx.meta[_ORIGINAL_ENVIRON_KEY] = set(os.environ)
        info = ctx.ensure_object(ScriptInfo)
        if info.load_dotenv_defaults and get_load_dotenv():
            load_dotenv()
        if info.app_import_path is None:
            info.app_import_path = os.environ.get("QUARTLIKE_APP") or None
        return super().parse_args(ctx, args)


cli = QuartlikeGroup(
    name="quartlike",
    help="""A general utility script for quartlike applications.

    The app to load is given with the '--app' option, the 'QUARTLIKE_APP'
    environment variable, or found in an 'asgi.py', 'wsgi.py' or 'app.py' file
    in the current directory.
    """,
)


def main() -> None:
    """The entry point of the ``quartlike`` console script and ``python -m quartlike``."""
    cli.main()
