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
    "flaskface": "apps.flaskface_app",
}

#: The packages (import names) each framework's app needs; the first is the framework.
#: Starlette and FastAPI parse forms with python-multipart.
REQUIRES: dict[str, tuple[str, ...]] = {
    "raw": (),
    "quartlike": ("quartlike",),
    "quart": ("quart",),
    "starlette": ("starlette", "python_multipart"),
    "fastapi": ("fastapi", "python_multipart"),
    "flask": ("flask",),
    "flaskface": ("quartlike",),
}
