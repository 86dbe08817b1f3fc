"""Flask-Babel on quartlike: locale selection, gettext in views and templates, dates.

A German catalog is compiled into ``tmp_path`` with :mod:`babel.messages`
for each test; the locale comes from ``?lang=`` or ``Accept-Language``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from flask import Flask
from flask import render_template
from flask import request
from flask_babel import Babel
from flask_babel import _
from flask_babel import force_locale
from flask_babel import format_datetime
from flask_babel import get_locale
from flask_babel import get_timezone
from flask_babel import gettext
from flask_babel import lazy_gettext
from flask_babel import ngettext

from quartlike.testing import QuartClient

#: 17 May 2024, 13:45 UTC (naive datetimes are UTC for Flask-Babel).
WHEN = datetime(2024, 5, 17, 13, 45)
GREETING = lazy_gettext("Hello")

TEMPLATE = (
    "{{ _('Hello') }}|{{ ngettext('%(num)d apple', '%(num)d apples', n) }}"
    "|{{ when|datetimeformat('short') }}"
)


def compile_catalog(directory: Path) -> None:
    catalog = Catalog(locale="de", domain="messages")
    catalog.add("Hello", "Hallo")
    catalog.add("Goodbye", "Auf Wiedersehen")
    catalog.add(("%(num)d apple", "%(num)d apples"), ("%(num)d Apfel", "%(num)d Äpfel"))
    target = directory / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as f:
        write_mo(f, catalog)


def select_locale() -> str | None:
    return request.args.get("lang") or request.accept_languages.best_match(["en", "de"])


def select_timezone() -> str | None:
    return request.args.get("tz")


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    translations = tmp_path / "translations"
    compile_catalog(translations)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text(TEMPLATE, encoding="utf-8")

    app = Flask(__name__, template_folder=str(templates))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.route("/sync")
    def sync_view() -> str:
        return f"{gettext('Hello')}|{_('Goodbye')}|{get_locale()}"

    @app.route("/async")
    async def async_view() -> str:
        await asyncio.sleep(0)
        return f"{gettext('Hello')}|{_('Goodbye')}|{get_locale()}"

    @app.route("/date")
    def sync_date() -> str:
        return f"{format_datetime(WHEN, 'long')}|{get_timezone()}"

    @app.route("/adate")
    async def async_date() -> str:
        return f"{format_datetime(WHEN, 'long')}|{get_timezone()}"

    @app.route("/page/<int:n>")
    def sync_page(n: int) -> str:
        return render_template("page.html", n=n, when=WHEN)

    @app.route("/apage/<int:n>")
    async def async_page(n: int) -> str:
        return await render_template("page.html", n=n, when=WHEN)  # type: ignore[misc]

    @app.route("/plural/<int:n>")
    async def plural(n: int) -> str:
        return ngettext("%(num)d apple", "%(num)d apples", n)

    @app.route("/lazy")
    def lazy() -> str:
        return str(GREETING)

    @app.route("/forced")
    def forced() -> str:
        with force_locale("en"):
            inner = gettext("Hello")
        return f"{inner}|{gettext('Hello')}"

    return app


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_locale_from_the_query_string(app: Flask, path: str) -> None:
    client = app.test_client()
    assert client.get(f"{path}?lang=de").get_data(as_text=True) == "Hallo|Auf Wiedersehen|de"
    # The locale is chosen per request: the next one falls back to the default.
    assert client.get(path).get_data(as_text=True) == "Hello|Goodbye|en"


@pytest.mark.parametrize("path", ["/sync", "/async"])
def test_locale_from_accept_language(app: Flask, path: str) -> None:
    client = app.test_client()
    rv = client.get(path, headers={"Accept-Language": "fr;q=0.5, de-DE;q=0.9"})
    assert rv.get_data(as_text=True) == "Hallo|Auf Wiedersehen|de"
    rv = client.get(path, headers={"Accept-Language": "fr"})
    assert rv.get_data(as_text=True) == "Hello|Goodbye|en"


@pytest.mark.parametrize("path", ["/date", "/adate"])
def test_format_datetime_follows_locale_and_timezone(app: Flask, path: str) -> None:
    client = app.test_client()
    assert client.get(path).get_data(as_text=True) == "May 17, 2024, 1:45:00\u202fPM UTC|UTC"
    rv = client.get(f"{path}?lang=de&tz=Europe/Berlin")
    assert rv.get_data(as_text=True) == "17. Mai 2024, 15:45:00 MESZ|Europe/Berlin"


@pytest.mark.parametrize("prefix", ["/page", "/apage"])
def test_gettext_and_filters_in_templates(app: Flask, prefix: str) -> None:
    client = app.test_client()
    assert (
        client.get(f"{prefix}/1?lang=de").get_data(as_text=True) == "Hallo|1 Apfel|17.05.24, 13:45"
    )
    assert (
        client.get(f"{prefix}/3?lang=de").get_data(as_text=True) == "Hallo|3 Äpfel|17.05.24, 13:45"
    )
    rv = client.get(f"{prefix}/3?tz=America/New_York")
    assert rv.get_data(as_text=True) == "Hello|3 apples|5/17/24, 9:45\u202fAM"


def test_ngettext_lazy_gettext_and_force_locale(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/plural/1?lang=de").get_data(as_text=True) == "1 Apfel"
    assert client.get("/plural/2?lang=de").get_data(as_text=True) == "2 Äpfel"
    assert client.get("/plural/2").get_data(as_text=True) == "2 apples"
    # A module-level lazy string is translated when used, in each request's locale.
    assert client.get("/lazy?lang=de").get_data(as_text=True) == "Hallo"
    assert client.get("/lazy").get_data(as_text=True) == "Hello"
    assert client.get("/forced?lang=de").get_data(as_text=True) == "Hello|Hallo"


def test_outside_requests(app: Flask) -> None:
    with app.test_request_context("/?lang=de"):
        assert gettext("Hello") == "Hallo"
        assert str(get_locale()) == "de"
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert gettext("Hello") == "Hallo"
    # An app context without a request: Flask-Babel still calls the
    # selector, which reads ``request``, so it fails as it does on Flask.
    with app.app_context(), pytest.raises(RuntimeError, match="request"):
        gettext("Hello")
    # No context at all: untranslated (Flask-Babel's NullTranslations).
    assert gettext("Hello") == "Hello"


async def test_concurrent_requests_keep_their_own_locale(app: Flask) -> None:
    client = QuartClient(app)
    paths = [f"/{kind}?lang={lang}" for kind in ("sync", "async") for lang in ("de", "en")] * 10
    responses = await asyncio.wait_for(
        asyncio.gather(*(client.get(path) for path in paths)), timeout=30
    )
    for path, rv in zip(paths, responses, strict=True):
        text = await rv.get_data(as_text=True)
        expected = "Hallo|Auf Wiedersehen|de" if "lang=de" in path else "Hello|Goodbye|en"
        assert text == expected, path
