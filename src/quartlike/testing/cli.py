"""Invoking an app's command line commands from tests.

:class:`QuartlikeCliRunner` (what ``app.test_cli_runner()`` returns) is a
click ``CliRunner`` preset for the app. This is the only module of
:mod:`quartlike.testing` that imports ``click.testing``.
"""

from __future__ import annotations

import typing as t

from click.testing import CliRunner
from click.testing import Result

if t.TYPE_CHECKING:
    from ..app import Quart


class QuartlikeCliRunner(CliRunner):
    """A :class:`click.testing.CliRunner` for an app's commands; see ``app.test_cli_runner()``.

    :meth:`invoke` runs ``app.cli`` unless another command is given, and passes
    a :class:`~quartlike.cli.ScriptInfo` that loads this app (and leaves its
    ``debug`` alone).
    """

    def __init__(self, app: Quart, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Invoke ``cli`` (default: ``app.cli``) with ``args``; other keyword arguments are
        those of :meth:`click.testing.CliRunner.invoke`.
        """
        from ..cli import ScriptInfo

        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app, set_debug_flag=False)
        return super().invoke(cli, args, **kwargs)
