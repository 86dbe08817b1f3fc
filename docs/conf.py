"""Sphinx configuration for the quartlike documentation.

Build with ``.venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html``.
Everything here works offline: no intersphinx, no theme or extension packages
beyond Sphinx itself.
"""

from __future__ import annotations

import importlib.metadata

project = "quartlike"
author = "the quartlike authors"
copyright = "the quartlike authors"
release = importlib.metadata.version("quartlike")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

# The package is installed (editable) in the venv that runs the build, so
# autodoc imports it from there; nothing is added to sys.path.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {
    "show-inheritance": True,
}

nitpicky = False
default_role = "code"
highlight_language = "python"
pygments_style = "sphinx"

exclude_patterns = ["_build"]
templates_path: list[str] = []

html_theme = "alabaster"
html_title = f"quartlike {release}"
html_theme_options = {
    "description": "An async web framework that speaks the Flask API over ASGI.",
    "fixed_sidebar": True,
    "show_relbars": True,
}
html_static_path: list[str] = []
