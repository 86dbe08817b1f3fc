"""The extension shim, checked in fresh interpreters (this process imports real Flask)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_flask_and_its_submodules_resolve_to_the_sync_face() -> None:
    result = run(
        """
        import quartlike.flask_patch
        import flask, flask.globals, flask.signals, flask.json.provider, flask.json.tag
        import flask.sessions, flask.views, flask.cli, flask.ctx, flask.wrappers
        import flask.templating, flask.helpers, flask.testing, flask.typing
        import flask.blueprints, flask.app, flask.config, flask.logging
        import quartlike.flask
        assert flask is quartlike.flask
        for name in ("globals", "signals", "sessions", "views", "cli", "ctx", "wrappers",
                     "templating", "helpers", "testing", "typing", "blueprints", "app",
                     "config", "logging"):
            module = __import__(f"flask.{name}", fromlist=["x"])
            assert module.__name__ == f"quartlike.flask.{name}", module
        assert flask.json.provider.__name__ == "quartlike.flask.json.provider"
        from flask import Flask, request
        import quartlike
        assert issubclass(Flask, quartlike.Quart)
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_uninstall_restores_the_real_flask() -> None:
    result = run(
        """
        from quartlike.flask import shim
        shim.install()
        assert shim.is_installed()
        import flask
        assert flask.__name__ == "quartlike.flask"
        shim.uninstall()
        assert not shim.is_installed()
        import sys
        assert not any(
            getattr(m, "__name__", "").startswith("quartlike.flask")
            for n, m in sys.modules.items() if n == "flask" or n.startswith("flask.")
        )
        import flask
        assert flask.__name__ == "flask" and hasattr(flask, "Flask")
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_is_idempotent() -> None:
    result = run(
        """
        import quartlike.flask_patch
        from quartlike.flask import shim
        shim.install()
        import flask
        assert flask.__name__ == "quartlike.flask"
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr


def test_real_flask_imported_first_is_refused_with_the_fix() -> None:
    result = run(
        """
        import flask
        import quartlike.flask_patch
        """
    )
    assert result.returncode != 0
    assert "import quartlike.flask_patch" in result.stderr
    assert "first import" in result.stderr


def test_an_unknown_flask_submodule_fails_clearly() -> None:
    result = run(
        """
        import quartlike.flask_patch
        try:
            import flask.no_such_module
        except ImportError as e:
            print(type(e).__name__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ModuleNotFoundError"


def test_import_quartlike_does_not_install_the_shim() -> None:
    result = run(
        """
        import sys, quartlike, quartlike.flask
        assert "flask" not in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
