"""Environment files: ``.quartlikeenv``, ``.env`` and ``--env-file``, read with python-dotenv."""

from __future__ import annotations

import collections.abc as cabc
import os

import click

#: The env files loaded (when python-dotenv is installed), lowest precedence first.
DEFAULT_ENV_FILES = (".quartlikeenv", ".env")

_ORIGINAL_ENVIRON_KEY = "quartlike.original_environ"


def get_load_dotenv(default: bool = True) -> bool:
    """Whether to load the default env files: false when ``QUARTLIKE_SKIP_DOTENV`` is set
    (to anything but ``0``, ``false`` or ``no``).
    """
    value = os.environ.get("QUARTLIKE_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in ("0", "false", "no")


def _read_env_files(
    path: str | os.PathLike[str] | None, load_defaults: bool
) -> tuple[dict[str, str | None], bool]:
    import dotenv

    data: dict[str, str | None] = {}
    found = False
    if load_defaults:
        for name in DEFAULT_ENV_FILES:
            default_path = dotenv.find_dotenv(name, usecwd=True)
            if default_path:
                data.update(dotenv.dotenv_values(default_path, encoding="utf-8"))
                found = True
    if path is not None and os.path.isfile(path):
        data.update(dotenv.dotenv_values(path, encoding="utf-8"))
        found = True
    return data, found


def _apply_env(data: dict[str, str | None], protected: cabc.Container[str]) -> None:
    for key, value in data.items():
        if value is None or key in protected:
            continue
        os.environ[key] = value


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load environment variables from env files, with python-dotenv.

    ``.quartlikeenv`` then ``.env`` are found from the current directory
    upwards (when ``load_defaults``), then ``path`` is read; later files take
    precedence over earlier ones, and variables already in the environment
    are never changed.

    Without python-dotenv nothing is loaded (a tip is printed when such files
    exist). Returns whether a file was loaded.
    """
    try:
        import dotenv  # noqa: F401
    except ImportError:
        present = [name for name in DEFAULT_ENV_FILES if os.path.isfile(name)]
        if path is not None or present:
            click.secho(
                " * Tip: there are .env or .quartlikeenv files present. Install"
                " python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False
    data, found = _read_env_files(path, load_defaults)
    _apply_env(data, os.environ)
    return found


def _env_file_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        import dotenv  # noqa: F401
    except ImportError:
        raise click.BadParameter(
            "python-dotenv must be installed to load an env file: pip install python-dotenv"
            " (or quartlike[dotenv]).",
            ctx=ctx,
            param=param,
        ) from None
    # The default files were loaded before the options were parsed; this file
    # wins over them, but not over variables that were set in the environment.
    protected = ctx.meta.get(_ORIGINAL_ENVIRON_KEY)
    if protected is None:
        protected = set(os.environ)
    data, _ = _read_env_files(value, load_defaults=False)
    _apply_env(data, protected)
    return value
