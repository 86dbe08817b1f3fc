"""A small notes app written for Flask, running on quartlike's sync face.

Everything here is plain Flask code: sync views, a SQLite connection kept in
``g``, a login kept in the session, forms, ``flash``, templates, a JSON API,
a file download and an error handler. ``compat.py`` picks the framework
(quartlike by default, or real Flask), so the same app and the same tests run
on both.

Run it with quartlike (Hypercorn)::

    quartlike --app flask_port init-db
    quartlike --app flask_port run

or on Flask: ``FLASK_PORT_BACKEND=flask flask --app flask_port run``.
"""

from __future__ import annotations

import os
import typing as t

from .compat import BACKEND
from .compat import Flask
from .compat import render_template


def create_app(test_config: dict[str, t.Any] | None = None) -> t.Any:
    """Create the app (the application factory Flask's CLI and tests call)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "notes.sqlite"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import auth
    from . import db
    from . import notes

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(notes.bp)
    app.add_url_rule("/", endpoint="index")

    @app.context_processor
    def inject_backend() -> dict[str, str]:
        return {"backend": BACKEND}

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[str, int]:
        return render_template("errors/404.html"), 404

    @app.route("/health")
    def health() -> dict[str, t.Any]:
        return {"ok": True, "backend": BACKEND}

    if BACKEND == "quartlike":
        from .live import register_async_views

        register_async_views(app)

    return app
