"""The ``routes`` command: a table of the app's URL rules."""

from __future__ import annotations

import collections.abc as cabc
import typing as t
from operator import itemgetter

import click

from .appgroup import with_appcontext

if t.TYPE_CHECKING:
    from werkzeug.routing import Rule


def _rule_methods(rule: Rule, ignored: cabc.Container[str]) -> str:
    if getattr(rule, "websocket", False):
        return "WEBSOCKET"
    return ", ".join(sorted(m for m in (rule.methods or ()) if m not in ignored))


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help="How to sort the routes. 'match' is the order in which the rules were added.",
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods too.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all the app's routes: endpoints, methods and rules.

    A Host or Subdomain column is added when a rule has one. Websocket rules
    show WEBSOCKET as their method.
    """
    from ..globals import current_app

    rules = list(current_app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return
    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = current_app.url_map.host_matching

    def domain(rule: Rule) -> str:
        return (rule.host if host_matching else rule.subdomain) or ""

    rows = [
        (rule.endpoint, _rule_methods(rule, ignored), domain(rule), rule.rule) for rule in rules
    ]
    sort_column = {"endpoint": 0, "methods": 1, "domain": 2, "rule": 3}.get(sort)
    if sort_column is not None:
        rows.sort(key=itemgetter(sort_column))

    headers: tuple[str, ...] = (
        "Endpoint",
        "Methods",
        "Host" if host_matching else "Subdomain",
        "Rule",
    )
    show_domain = any(row[2] for row in rows)
    table: list[tuple[str, ...]] = [headers, *rows]
    if not show_domain:
        table = [(row[0], row[1], row[3]) for row in table]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    click.echo("\n".join(line.rstrip() for line in lines))
