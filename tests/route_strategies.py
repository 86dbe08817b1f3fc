"""Hypothesis pieces shared by the route-table property tests
(``test_dynamic_routes``, ``test_route_misses``): random rule strings, the
options a rule may carry, and paths built from a rule."""

from __future__ import annotations

import collections.abc as cabc
import typing as t

from hypothesis import strategies as st

#: How a segment of a random rule is made: ``{s}`` a static word, ``{c}`` a converter.
SEGMENT_SHAPES = ["{s}", "{s}", "{c}", "{c}", "{c}-{c}", "p{c}", "{c}.html", ""]


@st.composite
def rule_texts(
    draw: st.DrawFn, words: cabc.Sequence[str], converters: cabc.Sequence[str]
) -> tuple[str, list[str]]:
    """A rule string of 1 to 3 segments, and the converter of each of its arguments."""
    kinds: list[str] = []
    segments = []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.sampled_from(SEGMENT_SHAPES))
        text = ""
        for piece in shape.replace("{", "|{").replace("}", "}|").split("|"):
            if piece == "{s}":
                text += draw(st.sampled_from(words))
            elif piece == "{c}":
                kind = draw(st.sampled_from(converters))
                text += f"<{kind}v{len(kinds)}>"
                kinds.append(kind)
            else:
                text += piece
        segments.append(text)
    rule = "/" + "/".join(segments)
    if draw(st.booleans()):
        rule += "/"
    return rule, kinds


#: The options that change how werkzeug treats a rule (most rules get none).
RULE_OPTIONS: list[dict[str, t.Any]] = [
    {},
    {},
    {},
    {},
    {"strict_slashes": False},
    {"merge_slashes": False},
    {"redirect_to": "/elsewhere"},
    {"build_only": True},
    {"subdomain": "api"},
    {"alias": True},
]


def rule_options() -> st.SearchStrategy[dict[str, t.Any]]:
    """Keyword arguments for a ``Rule``: usually none, else one unusual option."""
    return st.sampled_from(RULE_OPTIONS).map(dict)


def fill(rule: str, values: cabc.Iterator[str]) -> str:
    """``rule`` with each ``<converter>`` replaced by the next of ``values``."""
    path = ""
    pos = 0
    while pos < len(rule):
        if rule[pos] == "<":
            pos = rule.index(">", pos) + 1
            path += next(values)
        else:
            path += rule[pos]
            pos += 1
    return path
