"""The URL map, and tables that match requests without werkzeug's matcher.

werkzeug's state-machine matcher finds rules correctly but generically: it
binds a :class:`~werkzeug.routing.MapAdapter`, splits the path and walks states.
Two tables here answer most requests faster, and only when their answer is
certainly werkzeug's; every other request goes through werkzeug as before, so
redirects, 405s, converter errors and the 404s the tables cannot prove behave
exactly as werkzeug makes them.

* :class:`StaticRoutes` maps the exact path of a rule without arguments
  (``/``, ``/login``) to that rule: one dict lookup.
* :class:`DynamicRoutes` holds every rule, indexed by the static segments it
  starts with, and answers when exactly one rule can match the path (say
  ``/users/<int:id>`` for ``/users/42``), with werkzeug's arguments; and
  answers :data:`NO_RULE` (a 404) when no rule of any method or kind can
  match the path, with or without a trailing slash (``/wp-login.php``).
"""

from __future__ import annotations

import enum
import re
import typing as t

from werkzeug.routing import AnyConverter
from werkzeug.routing import BaseConverter
from werkzeug.routing import FloatConverter
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map as _WerkzeugMap
from werkzeug.routing import PathConverter
from werkzeug.routing import Rule
from werkzeug.routing import UnicodeConverter
from werkzeug.routing import UUIDConverter
from werkzeug.routing.converters import NumberConverter
from werkzeug.routing.matcher import StateMachineMatcher

if t.TYPE_CHECKING:
    from werkzeug.routing import RuleFactory

__all__ = ["NO_RULE", "DynamicRoutes", "Map", "NoRule", "StaticRoutes"]


class Map(_WerkzeugMap):
    """werkzeug's :class:`~werkzeug.routing.Map`, counting the rules added to it.

    The count tells the app when its route tables are out of date.
    """

    #: Bumped by every :meth:`add`.
    changes: int = 0

    def add(self, rulefactory: RuleFactory) -> None:
        super().add(rulefactory)
        self.changes += 1


_SLASHES = re.compile("/{2,}")


class _Miss(enum.Enum):
    NO_RULE = "no rule"


#: The answer of :meth:`DynamicRoutes.match` when no rule of the map can match
#: the path, whatever the method and kind: werkzeug's answer is then
#: :class:`~werkzeug.exceptions.NotFound`.
NO_RULE: t.Final = _Miss.NO_RULE
NoRule = t.Literal[_Miss.NO_RULE]


class StaticRoutes:
    """The rules of a map that have no arguments, by exact path.

    Built for maps without host matching, where the app binds every request
    to the default (empty) subdomain: then a rule's subdomain must be empty
    for it to match, and nothing but the path and method decides.
    """

    __slots__ = ("url_map", "changes", "_rules", "dynamic")

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self.changes = url_map.changes
        #: The table of all the map's rules, for paths this one cannot answer
        #: (built with it, so the two are always of the same map and version).
        self.dynamic = DynamicRoutes(url_map)
        by_key: dict[tuple[str, bool], list[Rule]] = {}
        for rule in url_map.iter_rules():
            path = rule.rule
            if rule.merge_slashes:
                # werkzeug matches "/a//b" as "/a/b": it shares that path.
                path = _SLASHES.sub("/", path)
            key = (path, bool(getattr(rule, "websocket", False)))
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
        and not rule.alias
        and not rule.build_only
        and not rule.host
        and not rule.subdomain
        and rule.rule.startswith("/")
        and "//" not in rule.rule
    )


# -- The table of all rules, for requests the static table cannot answer --------
#
# Why its answers are werkzeug's.
#
# For a map bound to the empty subdomain, werkzeug's matcher walks the path's
# segments through a tree of rule parts, depth first, and stops at the first
# rule that accepts the method and the websocket flag and that (a) matches the
# path exactly, (b) would match it with one more trailing slash (a redirect,
# or a match when the rule is not strict about slashes) or (c) would match it
# without its trailing slash (a rule that is not strict). Rules that refuse
# the method or the flag never stop the walk. Call a rule *near* a path when
# (a), (b) or (c) holds.
#
# If exactly one rule that accepts the method and flag is near the path, and
# it matches the path exactly, the walk can end only at that rule: no other
# rule can stop it, and the rule cannot stop it by (b) or (c) as well, since
# its parts split a given path one way only. The values werkzeug then passes
# to the converters are the groups of the first match of each part's regex;
# one regex for the whole rule, the parts' regexes joined by slashes,
# captures the same groups when no part regex matched one segment at a time
# can match a slash. After the walk, werkzeug's adapter may still redirect
# (``redirect_to``, ``alias``, a rule of the same endpoint with defaults):
# such rules are never answered here. A converter that refuses the value
# (werkzeug's 404) or a path with "//" (which werkzeug may merge) defers too.
#
# Why its 404s are werkzeug's.
#
# Every effect of werkzeug's walk happens at a rule near the path: returning
# it, raising a slash redirect, or noting a method (for a 405) or the other
# kind of connection (for a 400) it would have accepted. Those notes are made
# whatever the method and flag. So when no rule of the matcher, of any
# method and of either kind, is near the path, the walk returns nothing and
# notes nothing; if the path has no "//", werkzeug's second walk with merged
# slashes sees the same path; and its adapter raises NotFound itself (no
# redirect: those follow a match). With "//", the path as werkzeug walks it
# (leading slashes dropped) and the path with merged slashes must both be far
# from every rule. Build-only rules are not in werkzeug's matcher, and a rule
# with a fixed subdomain never matches the empty one: neither is indexed.
# Method, strictness, defaults, redirects and converters' ``to_python`` play
# no part in this, so the test of nearness ignores them (and is thereby
# looser than werkzeug: a path within a slash of a strict rule is a 404 that
# werkzeug still decides).
#
# Only the rules whose leading static segments begin the path plus a slash
# can be near it, so rules are indexed in a tree of those segments, and a
# rule starting with a converter is a candidate for every path. The joined
# regex with which nearness is tested matches at least what werkzeug's parts
# match segment by segment (so a rule it rules out is not near), but not
# always only that: it rules a rule out, never answers with it, unless its
# regexes are all recognised here as exact. A rule with a regex not
# recognised is near every path under its static prefix; a rule whose parsed
# form does not read as expected, near every path.

#: Converter regexes that match within one segment and are the same wherever
#: they stand: werkzeug's default/string (and BaseConverter's), int, float and
#: any() over items without a slash.
_LITERAL = r"(?:[^\\/()\[\]{}|*+?.^$]|\\[^A-Za-z0-9])"
_ONE_SEGMENT_REGEX = re.compile(
    r"\[\^/\](?:\+|\{\d+(?:,\d*)?\})"
    r"|(?:-\?)?\\d\+(?:\\\.\\d\+)?"
    rf"|\(\?:{_LITERAL}*(?:\|{_LITERAL}*)*\)"
)
#: Regexes that are the same wherever they stand but may match a slash: the
#: path converter's, and any() over items with a slash.
_LITERAL_OR_SLASH = r"(?:[^\\()\[\]{}|*+?.^$]|\\[^A-Za-z0-9])"
_MAY_CROSS_REGEX = re.compile(
    r"\[\^/\]\.\*\?" rf"|\(\?:{_LITERAL_OR_SLASH}*(?:\|{_LITERAL_OR_SLASH}*)*\)"
)

#: The converters whose ``to_python`` is werkzeug's own: deterministic and
#: without side effects. Exact classes: a subclass may change anything.
_TRUSTED_CONVERTERS: frozenset[type[BaseConverter]] = frozenset(
    {
        UnicodeConverter,
        PathConverter,
        AnyConverter,
        IntegerConverter,
        FloatConverter,
        UUIDConverter,
    }
)
_PASS_THROUGH = BaseConverter.to_python
_NUMBER_TO_PYTHON = NumberConverter.to_python

#: More candidates than this for one path: werkzeug's matcher is about as quick.
MAX_CANDIDATES = 24

_Convert = t.Callable[[str], t.Any]
_FullMatch = t.Callable[[str], "re.Match[str] | None"]


class _Answer(t.NamedTuple):
    """How the table answers with one rule."""

    rule: Rule
    exact: _FullMatch
    #: The name and conversion of each argument, in the order of the rule's
    #: groups (``None`` where the converter passes the value on unchanged).
    arguments: tuple[tuple[str, _Convert | None], ...]


class _Candidate(t.NamedTuple):
    """A rule that may be near the paths under its static prefix."""

    #: The rule's own set of methods (``None``: any method).
    methods: t.AbstractSet[str] | None
    #: Whether the path plus a slash is near the rule (``None``: assume it is).
    near: _FullMatch | None
    #: ``None`` when the table must never answer with this rule.
    answer: _Answer | None


#: A node of the tree of static path prefixes: its children by next segment,
#: and the candidates for paths that reach it (``None``: too many, defer).
_Node = tuple[dict[str, "_Node"], tuple[_Candidate, ...] | None]


class DynamicRoutes:
    """All the rules of a map, for matching a path when exactly one rule can.

    Built, like :class:`StaticRoutes`, for maps without host matching whose
    requests are bound to the empty subdomain. :meth:`match` gives the rule and
    arguments werkzeug's :class:`~werkzeug.routing.MapAdapter` would give,
    :data:`NO_RULE` when it would raise :class:`~werkzeug.exceptions.NotFound`
    because no rule can match, or ``None`` when werkzeug must decide (see the
    comment above this class).
    """

    __slots__ = ("url_map", "changes", "_roots")

    def __init__(self, url_map: Map) -> None:
        self.url_map = url_map
        self.changes = url_map.changes
        trees: tuple[_Tree, _Tree] = (_Tree(), _Tree())
        usable = (
            not url_map.host_matching
            and not url_map.default_subdomain
            and type(getattr(url_map, "_matcher", None)) is StateMachineMatcher
        )
        if usable:
            rules = list(url_map.iter_rules())
            # Rules sharing an endpoint with a rule that has defaults may be
            # redirected to it by werkzeug: never answered here.
            redirecting = {
                rule.endpoint
                for rule in rules
                if rule.defaults
                or type(rule).provides_defaults_for is not Rule.provides_defaults_for
            }
            for rule in rules:
                if rule.build_only:
                    continue  # werkzeug's matcher never sees it
                compiled = _compile(rule, rule.endpoint in redirecting)
                if compiled is not None:
                    prefix, candidate = compiled
                    trees[bool(rule.websocket)].add(prefix, candidate)
        else:
            for tree in trees:
                tree.add([], _Candidate(None, None, None))
        self._roots: tuple[_Node, _Node] = (trees[0].freeze(), trees[1].freeze())

    def match(
        self, path: str, method: str, websocket: bool
    ) -> tuple[Rule, dict[str, t.Any]] | NoRule | None:
        """The rule and arguments werkzeug would match for ``path`` and ``method``
        (an upper-case name), :data:`NO_RULE` when werkzeug would raise
        :class:`~werkzeug.exceptions.NotFound` because no rule is near the path,
        or ``None`` when this table cannot tell."""
        if path[:1] != "/":
            return None
        if "//" in path:
            return self._miss_with_slashes(path)
        candidates = _walk(self._roots[websocket], path)
        if not candidates:
            if candidates is None:
                return None  # too many rules to test
            return self._miss(path, candidates, websocket)
        found: _Answer | None = None
        if not method.isupper():
            pass  # werkzeug upper-cases it: a rule's methods cannot be compared
        elif len(candidates) == 1:
            # Nothing else can be near: the rule matches exactly or werkzeug decides.
            methods, _, found = candidates[0]
            if methods is not None and method not in methods:
                found = None
        else:
            probe = path + "/"
            for methods, near, answer in candidates:
                if methods is not None and method not in methods:
                    continue
                if near is not None and near(probe) is None:
                    continue
                if found is not None or answer is None:
                    return None
                found = answer
        if found is None:
            return self._miss(path, candidates, websocket)
        match = found.exact(path)
        if match is None:
            # Near but not equal (a slash redirect, say), or not near at all.
            return self._miss(path, candidates, websocket)
        values = match.groups()
        view_args: dict[str, t.Any] = {}
        try:
            for index, (name, convert) in enumerate(found.arguments):
                value = values[index]
                view_args[name] = value if convert is None else convert(value)
        except Exception:
            return None  # a value the converter refuses: werkzeug's 404 (or its error)
        return found.rule, view_args

    def _miss(
        self, path: str, candidates: tuple[_Candidate, ...], websocket: bool
    ) -> NoRule | None:
        """:data:`NO_RULE` when no rule is near ``path`` (a path without
        ``//``): neither the ``candidates`` found for the request's kind nor
        the rules for the other kind (HTTP or websocket), which werkzeug
        reports as a mismatch (a 400), not a 404. Else ``None``."""
        probe = path + "/"
        for candidate in candidates:
            near = candidate.near
            if near is None or near(probe) is not None:
                return None
        others = _walk(self._roots[not websocket], path)
        if others is None:
            return None
        for candidate in others:
            near = candidate.near
            if near is None or near(probe) is not None:
                return None
        return NO_RULE

    def _miss_with_slashes(self, path: str) -> NoRule | None:
        """:meth:`_miss` for a path with ``//``: werkzeug tries it as it is
        (without leading slashes), then with its slashes merged, and answers
        404 only when no rule is near either."""
        stripped = "/" + path.lstrip("/")
        merged = _SLASHES.sub("/", stripped)
        for tried in (stripped, merged) if merged != stripped else (stripped,):
            for root in self._roots:
                candidates = _walk(root, tried)
                if candidates is None:
                    return None
                probe = tried + "/"
                for candidate in candidates:
                    near = candidate.near
                    if near is None or near(probe) is not None:
                        return None
        return NO_RULE


def _walk(root: _Node, path: str) -> tuple[_Candidate, ...] | None:
    """The candidates for ``path`` (which starts with a slash): those of the
    deepest node reached along the segments of ``path + "/"``, as werkzeug
    splits it (``None``: too many to test)."""
    children, candidates = root
    start = 1
    while children:
        end = path.find("/", start)
        if end < 0:
            node = children.get(path[start:])
            if node is not None:
                children, candidates = node
                node = children.get("")
                if node is not None:
                    children, candidates = node
            break
        node = children.get(path[start:end])
        if node is None:
            break
        children, candidates = node
        start = end + 1
    return candidates


class _Tree:
    """The tree of static path prefixes, while the table is built."""

    __slots__ = ("children", "own")

    def __init__(self) -> None:
        self.children: dict[str, _Tree] = {}
        self.own: list[_Candidate] = []

    def add(self, prefix: list[str], candidate: _Candidate) -> None:
        tree = self
        for segment in prefix:
            tree = tree.children.setdefault(segment, _Tree())
        tree.own.append(candidate)

    def freeze(self, inherited: tuple[_Candidate, ...] = ()) -> _Node:
        candidates = inherited + tuple(self.own)
        children = {segment: child.freeze(candidates) for segment, child in self.children.items()}
        return children, (candidates if len(candidates) <= MAX_CANDIDATES else None)


def _compile(rule: Rule, redirecting: bool) -> tuple[list[str], _Candidate] | None:
    """The rule's static prefix and candidate entry, or ``None`` for a rule
    that can never match a request bound to the empty subdomain."""
    try:
        return _compile_checked(rule, redirecting)
    except Exception:
        # Something about the rule is not as expected: near every path.
        return [], _Candidate(rule.methods, None, None)


def _compile_checked(rule: Rule, redirecting: bool) -> tuple[list[str], _Candidate] | None:
    """:func:`_compile`, reading werkzeug's parsed form of the rule (``_trace``
    and ``_converters``) and checking it against the parts its matcher uses
    (``_parts``): a rule that does not read as expected is near every path
    under its static prefix."""
    unknown = _Candidate(rule.methods, None, None)
    trace: list[tuple[bool, str]] = list(rule._trace)
    parts = list(rule._parts)
    domain = parts[0]
    if not (domain.static and domain.content == ""):
        if (
            rule.subdomain
            and domain.static
            and trace[:2] == [(False, rule.subdomain), (False, "|")]
        ):
            return None  # a fixed subdomain never equals the empty one
        return [], unknown
    if trace[:2] != [(False, "|"), (False, "/")]:
        return [], unknown

    # The path's segments as werkzeug splits it (the first is the empty text
    # before the leading slash), as lists of (is a variable, text or name).
    segments: list[list[tuple[bool, str]]] = [[]]
    for is_variable, text in trace[1:]:
        if not is_variable and text == "/":
            segments.append([])
        else:
            segments[-1].append((is_variable, text))
    # The static segments the rule starts with: only paths that start with
    # them (plus a slash) can be near the rule.
    prefix: list[str] = []
    for segment in segments[1:]:
        if any(is_variable for is_variable, _ in segment):
            break
        prefix.append("".join(text for _, text in segment))

    names = [text for is_variable, text in trace if is_variable]
    converters = rule._converters
    if len(set(names)) != len(names) or set(names) != set(converters):
        return [], unknown  # the prefix is not checked against the parts: near any path

    # Where werkzeug's last part starts: the segment of the first converter
    # that matches across slashes.
    final = len(segments)
    for index, segment in enumerate(segments):
        if any(v and not converters[name].part_isolating for v, name in segment):
            final = index
            break
    suffixed = final < len(segments) and trace[-1] == (False, "/")
    expected: list[tuple[bool, bool, bool, str | None]] = []
    for segment in segments[:final]:
        static = not any(v for v, _ in segment)
        content = "".join(text for _, text in segment) if static else None
        expected.append((static, False, False, content))
    if final < len(segments):
        expected.append((False, True, suffixed, None))
        if suffixed:
            expected.append((True, False, False, ""))
    seen = [
        (part.static, part.final, part.suffixed, part.content if part.static else None)
        for part in parts[1:]
    ]
    if seen != expected:
        # Parts other than the segments say: the prefix may not be what
        # werkzeug's matcher walks either.
        return [], unknown

    pattern: list[str] = []
    # The same without the look-behind werkzeug puts before a trailing slash
    # after a converter matching across slashes: werkzeug applies it to the
    # text of its last part alone, where the slash before that part is out of
    # sight; here it would see that slash. Without it, the pattern matches at
    # least what werkzeug does (the test of nearness must not miss a rule);
    # with it, no more (an answer must be werkzeug's).
    loose: list[str] = []
    exact = True
    known = True
    convert: list[_Convert | None] = []
    index = 0
    last = len(trace) - 1
    for position, (is_variable, text) in enumerate(trace[1:], start=1):
        if not is_variable:
            if text == "/":
                index += 1
                pattern.append("(?<!/)/" if suffixed and position == last else "/")
                loose.append("/")
            else:
                pattern.append(re.escape(text))
                loose.append(pattern[-1])
            continue
        converter = converters[text]
        regex = converter.regex
        if not isinstance(regex, str):
            return prefix, unknown
        if regex == UUIDConverter.regex or _ONE_SEGMENT_REGEX.fullmatch(regex):
            pass
        elif _MAY_CROSS_REGEX.fullmatch(regex):
            # Exact in werkzeug's last part, which spans segments anyway.
            exact = exact and index >= final
        else:
            known = False
        pattern.append(f"({regex})")
        loose.append(pattern[-1])
        cls = type(converter)
        if cls not in _TRUSTED_CONVERTERS or "to_python" in getattr(converter, "__dict__", {}):
            exact = False  # a converter of the app's: werkzeug must call it
            convert.append(None)
        elif cls.to_python is _PASS_THROUGH:
            convert.append(None)
        else:
            convert.append(_number_conversion(converter) or converter.to_python)
    if not known:
        return prefix, unknown
    source = "".join(pattern)
    compiled = re.compile(source)
    if compiled.groups != len(names):
        return prefix, unknown
    near = re.compile(f"(?:{''.join(loose)})/{{0,2}}").fullmatch
    plain = (
        exact
        and not redirecting
        and not rule.defaults
        and rule.redirect_to is None
        and not rule.alias
        and not rule.host
    )
    arguments = tuple(zip(names, convert, strict=True))
    answer = _Answer(rule, compiled.fullmatch, arguments) if plain else None
    return prefix, _Candidate(rule.methods, near, answer)


def _number_conversion(converter: BaseConverter) -> _Convert | None:
    """``int`` or ``float`` for a number converter without digit count or
    bounds: werkzeug's ``to_python`` then returns just that of the value."""
    if (
        isinstance(converter, NumberConverter)
        and type(converter).to_python is _NUMBER_TO_PYTHON
        and not converter.fixed_digits
        and converter.min is None
        and converter.max is None
    ):
        number = converter.num_convert
        if number is int:
            return int
        if number is float:
            return float
    return None
