"""The benchmark apps: one module per framework, each exposing ``app``.

See :mod:`apps.common` for the routes they all implement.
"""

from __future__ import annotations

#: Framework name -> module in this package. Flask is WSGI; the others are ASGI.
MODULES: dict[str, str] = {
    "raw": "apps.raw_asgi",
    "quartlike": "apps.quartlike_app",
    "quart": "apps.quart_app",
    "starlette": "apps.starlette_app",
    "fastapi": "apps.fastapi_app",
    "flask": "apps.flask_app",
}

#: The package each framework needs (None: nothing beyond the standard library and Jinja2).
REQUIRES: dict[str, str | None] = {
    "raw": None,
    "quartlike": "quartlike",
    "quart": "quart",
    "starlette": "starlette",
    "fastapi": "fastapi",
    "flask": "flask",
}
