"""Messages in Simplified Chinese (default) and English, dates and money in the reader's locale.

Msgids are English; each area of the console keeps its Chinese translations in its own catalogue part,
``translations/zh/<area>.po`` (so several people can add pages without touching one file). At start the
parts are merged into one catalogue in memory; English is the msgids themselves. The locale of a request
is the ``lang`` cookie (set by the language switch), else the console's default (``zh``).
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext as _gettext
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import LazyProxy
from flask import current_app, g, has_request_context, request
from markupsafe import Markup

TRANSLATIONS = Path(__file__).parent / "translations"
LOCALES: dict[str, str] = {"zh": "简体中文", "en": "English"}
#: Babel locale identifiers and the HTML ``lang`` attribute of each console locale
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
LANG_COOKIE = "lang"


def load_catalogue(locale: str, directory: Path = TRANSLATIONS) -> Catalog:
    """All parts of one locale merged (a msgid translated in two parts keeps the first translation)."""
    merged = Catalog(locale=BABEL_LOCALES.get(locale, locale))
    for part in sorted((directory / locale).glob("*.po")):
        with part.open("rb") as handle:
            catalogue = read_po(handle, locale=BABEL_LOCALES.get(locale, locale))
        for message in catalogue:
            if not message.id or not message.string:
                continue
            if message.id not in merged:
                merged.add(message.id, message.string, context=message.context)
    return merged


@functools.cache
def translations(locale: str) -> _gettext.NullTranslations:
    if locale == "en" or not (TRANSLATIONS / locale).is_dir():
        return _gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, load_catalogue(locale))
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def current_locale() -> str:
    if not has_request_context():
        return "zh"
    cached = g.get("_console_locale")
    if cached:
        return cached
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen not in LOCALES:
        chosen = current_app.config.get("CONSOLE_DEFAULT_LOCALE", "zh")
    g._console_locale = chosen
    return chosen


def gettext(message: str, **variables: Any) -> str:
    text = translations(current_locale()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(current_locale()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """For module-level strings (labels of choices, form fields): translated when rendered."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


# --- formatting -----------------------------------------------------------------------------------------


def _babel_locale() -> Locale:
    return Locale.parse(BABEL_LOCALES[current_locale()])


def parse_instant(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def format_instant(value: Any, format: str = "medium") -> str:
    """An ISO instant from an API shown in Beijing time (every user works in China)."""
    instant = parse_instant(value)
    if instant is None:
        return str(value or "")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return format_datetime(instant, format=format, tzinfo=SHANGHAI, locale=_babel_locale())


def format_day(value: Any, format: str = "medium") -> str:
    if not value:
        return ""
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(day, format=format, locale=_babel_locale())


def format_money(value: Any) -> str:
    """A decimal string in CNY from an API (``"4000.00"``) as ``¥4,000.00`` (a deduction as ``-¥200.00``)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥" + format_decimal(abs(amount), format="#,##0.00", locale=_babel_locale())


def format_number(value: Any) -> str:
    if value is None or value == "":
        return ""
    try:
        return format_decimal(Decimal(str(value)), locale=_babel_locale())
    except InvalidOperation:
        return str(value)


def install(app: Any) -> None:
    """Jinja: ``_()``/``ngettext()`` (new style, autoescaped), the formatting filters and the locale."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)
    app.jinja_env.filters.update(
        instant=format_instant, day=format_day, money=format_money, number=format_number
    )

    @app.context_processor
    def _locale_context() -> dict[str, Any]:
        locale = current_locale()
        return {
            "locale": locale,
            "html_lang": HTML_LANG[locale],
            "locales": LOCALES,
            "Markup": Markup,
        }
