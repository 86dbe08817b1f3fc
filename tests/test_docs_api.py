"""The reference documentation keeps up with the code.

``docs/api.rst`` must document every name of ``quartlike.__all__`` (as
``quartlike.<name>`` in an object directive), and ``docs/config.rst`` must list
every default configuration key. Adding a public name or a config key without
documenting it fails here.
"""

from __future__ import annotations

import pathlib
import re

import quartlike
from quartlike.config import DEFAULT_CONFIG

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"

#: ``.. autoclass:: quartlike.Quart``, ``.. data:: quartlike.g``, ``.. py:function:: ...``
_DIRECTIVE = re.compile(
    r"^\.\.\s+(?:py:)?(?:auto)?(?:class|function|data|exception|attribute|method|decorator)"
    r"::\s+quartlike\.(\w+)\s*$",
    re.MULTILINE,
)


def documented_top_level_names(text: str) -> set[str]:
    return set(_DIRECTIVE.findall(text))


def test_every_public_name_is_in_the_api_reference() -> None:
    documented = documented_top_level_names((DOCS / "api.rst").read_text(encoding="utf-8"))
    missing = sorted(set(quartlike.__all__) - documented)
    assert missing == [], (
        f"docs/api.rst does not document {missing}: add a directive such as"
        f" '.. autofunction:: quartlike.{missing[0]}'."
    )


def test_the_parser_sees_directives() -> None:
    text = (
        ".. autoclass:: quartlike.Quart\n   :members:\n\n"
        ".. data:: quartlike.g\n\n"
        ".. autofunction:: quartlike.sync.dual\n"  # a submodule name, not a top-level one
        "Mentions of quartlike.request in prose do not count.\n"
    )
    assert documented_top_level_names(text) == {"Quart", "g"}


def test_every_default_config_key_is_in_the_config_page() -> None:
    text = (DOCS / "config.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   \* - ``([A-Z][A-Z0-9_]*)``\s*$", text, re.MULTILINE))
    missing = sorted(set(DEFAULT_CONFIG) - listed)
    assert missing == [], f"docs/config.rst has no row for {missing}."
