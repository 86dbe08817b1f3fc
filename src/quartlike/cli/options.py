"""The options of the ``quartlike`` group: ``--env-file``, ``--app``, ``--debug`` and
``--version`` (``--debug`` is accepted by ``run`` too).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform

import click
from click.core import ParameterSource

from .discovery import ScriptInfo
from .envfiles import _env_file_callback


def _app_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    info = ctx.ensure_object(ScriptInfo)
    info.app_import_path = value
    return value


def _debug_callback(ctx: click.Context, param: click.Parameter, value: bool | None) -> bool | None:
    source = ctx.get_parameter_source(param.name or "debug")
    if value is None or source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return None
    # The app reads the flag when it is created; set it before the app is loaded.
    os.environ["QUARTLIKE_DEBUG"] = "1" if value else "0"
    return value


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug/--no-debug"],
        default=None,
        help="Set debug mode (QUARTLIKE_DEBUG).",
        expose_value=False,
        callback=_debug_callback,
    )


def _show_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    lines = [f"Python {platform.python_version()}"]
    for dist in ("quartlike", "Werkzeug", "Hypercorn"):
        try:
            lines.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            lines.append(f"{dist} (not installed)")
    click.echo("\n".join(lines), color=ctx.color)
    ctx.exit()


def _env_file_option() -> click.Option:
    return click.Option(
        ["-e", "--env-file"],
        type=click.Path(exists=True, dir_okay=False),
        help="Load environment variables from this file, over those from '.env' and"
        " '.quartlikeenv'; variables set in the environment still win."
        " Needs python-dotenv.",
        is_eager=True,
        expose_value=False,
        callback=_env_file_callback,
    )


def _app_option() -> click.Option:
    return click.Option(
        ["-A", "--app"],
        metavar="IMPORT",
        help="The app or app factory to load, as 'module:name'. The module can be a dotted"
        " import or a file path. The name may be left out when it is 'app',"
        " 'application', 'create_app' or 'make_app', and can be 'name(args)' to call a"
        " factory with literal arguments.",
        is_eager=True,
        expose_value=False,
        callback=_app_callback,
    )
