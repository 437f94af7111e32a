"""Every message the console shows has a Simplified-Chinese translation with the same placeholders.

The msgids are extracted from the source the way ``pybabel extract`` would (Python ``_``/``gettext``/
``lazy_gettext``/``ngettext`` and the ``N_`` marker; Jinja ``_()``/``ngettext()``), then looked up in the
merged catalogue of ``translations/zh/*.po``. A failure lists every missing or broken msgid at once, with
where it is used, so whoever added it knows what to write into their area's ``.po`` part.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from services.console.i18n import TRANSLATIONS, load_catalogue

CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

METHOD_MAP = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
#: ``_l`` is how modules alias ``lazy_gettext``; ``N_`` marks strings translated later by the reader.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "N_": None}


def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (a tuple for plurals) → the places that use it."""
    found: dict[str | tuple[str, ...], list[str]] = defaultdict(list)
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(CONSOLE), METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if "migrations" in filename.split("/") or not message:
            continue
        key = tuple(message) if isinstance(message, (list, tuple)) else message
        if isinstance(key, tuple):
            key = tuple(part for part in key if part)  # plural forms; drops empty context slots
        found[key].append(f"{filename}:{lineno}")
    return found


def indirect() -> dict[str | tuple[str, ...], list[str]]:
    """Msgids kept in tables and translated where they are shown (``_(table[key])``): no extractor sees
    them, so they are listed here from the tables themselves."""
    from services.console import web

    found: dict[str | tuple[str, ...], list[str]] = defaultdict(list)
    for message in web._STATUS_MESSAGES.values():
        found[message].append("web.py:_STATUS_MESSAGES")
    for _needle, message in web._KNOWN_DETAILS:
        found[message].append("web.py:_KNOWN_DETAILS")
    return found


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_extraction_finds_the_console_messages() -> None:
    # Guards the test itself: an extractor that finds nothing would make the next test pass vacuously.
    messages = extracted()
    assert "Sign in" in messages
    assert "Too many failed attempts: the account is locked for %(minutes)s more minutes." in messages
    assert "Administrator" in messages  # lazy_gettext in labels.py
    assert ("%(num)s user", "%(num)s users") in messages  # ngettext in a template


def test_every_msgid_has_a_chinese_translation_with_the_same_placeholders() -> None:
    catalogue = load_catalogue("zh", TRANSLATIONS)
    missing: list[str] = []
    broken: list[str] = []
    messages = extracted()
    for msgid, places in indirect().items():
        messages.setdefault(msgid, []).extend(places)
    for msgid, places in sorted(messages.items(), key=lambda item: str(item[0])):
        where = ", ".join(sorted(set(places))[:3])
        lookup = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalogue.get(lookup)
        strings = (
            [s for s in message.string]
            if message and isinstance(message.string, (list, tuple))
            else [message.string]
            if message
            else []
        )
        if not strings or not all(s and s.strip() for s in strings):
            missing.append(f"  msgid {lookup!r}  ({where})")
            continue
        wanted = set().union(
            *(placeholders(part) for part in (msgid if isinstance(msgid, tuple) else (msgid,)))
        )
        for translated in strings:
            if placeholders(translated) != wanted:
                broken.append(
                    f"  msgid {lookup!r}: placeholders {sorted(wanted)} but msgstr {translated!r} has "
                    f"{sorted(placeholders(translated))}  ({where})"
                )
    report = []
    if missing:
        report.append(f"{len(missing)} msgid(s) without a Chinese translation in translations/zh/*.po:")
        report.extend(missing)
    if broken:
        report.append(f"{len(broken)} translation(s) whose placeholders differ from the msgid:")
        report.extend(broken)
    assert not report, "\n".join(report)
