"""The URL map, and a table that matches its static rules without werkzeug's matcher.

Most requests go to rules without arguments (``/``, ``/login``, ``/api/items``).
werkzeug's state-machine matcher finds them correctly but generically: it binds a
:class:`~werkzeug.routing.MapAdapter`, splits the path and walks states. A dict
from path to rule finds the same rule in one lookup. The table answers only when
its answer is certainly werkzeug's (one plain rule for that exact path that
accepts the method); every other request goes through werkzeug as before, so
redirects, 404s, 405s and converters behave exactly as werkzeug makes them.
"""

from __future__ import annotations

import typing as t

from werkzeug.routing import Map as _WerkzeugMap

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule
    from werkzeug.routing import RuleFactory

__all__ = ["Map", "StaticRoutes"]


class Map(_WerkzeugMap):
    """werkzeug's :class:`~werkzeug.routing.Map`, counting the rules added to it.

    The count tells the app when its table of static rules is out of date.
    """

    #: Bumped by every :meth:`add`.
    changes: int = 0

    def add(self, rulefactory: RuleFactory) -> None:
        super().add(rulefactory)
        self.changes += 1


class StaticRoutes:
    """The rules of a map that have no arguments, by exact path.

    Built for maps without host matching, where the app binds every request
    to the default (empty) subdomain: then a rule's subdomain must be empty
    for it to match, and nothing but the path and method decides.
    """

    __slots__ = ("url_map", "changes", "_rules")

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self.changes = url_map.changes
        by_key: dict[tuple[str, bool], list[Rule]] = {}
        for rule in url_map.iter_rules():
            key = (rule.rule, bool(getattr(rule, "websocket", False)))
            by_key.setdefault(key, []).append(rule)
        self._rules: dict[tuple[str, bool], Rule] = {}
        for key, rules in by_key.items():
            # Two rules for one path (different methods, say) are left to
            # werkzeug, which orders them by its own rules.
            if len(rules) == 1 and _is_plain(rules[0]):
                self._rules[key] = rules[0]

    def match(self, path: str, method: str, websocket: bool) -> Rule | None:
        """The rule werkzeug would match for ``path`` and ``method``, or ``None``
        when this table cannot tell (werkzeug must then decide)."""
        rule = self._rules.get((path, websocket))
        if rule is None:
            return None
        methods = rule.methods
        if methods is not None and method not in methods:
            return None  # a 405, or another rule: werkzeug's to say
        return rule


def _is_plain(rule: Rule) -> bool:
    """Whether a path equal to the rule's string matches it and nothing else."""
    return (
        not rule.arguments
        and not rule.defaults
        and rule.redirect_to is None
        and not rule.build_only
        and not rule.host
        and not rule.subdomain
        and rule.rule.startswith("/")
        and "//" not in rule.rule
    )
