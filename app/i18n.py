"""Languages: which one a request speaks, its translations, and dates written its way.

Every text a person reads goes through `gettext` (`_` in templates and code). The catalogues
are the `.po` files in `app/locale/<code>/LC_MESSAGES/`; they are compiled in memory the
first time a language is used, so there is no build step and no binary file to keep.

The language of a request is held in a context variable: the middleware sets it from the
visitor's choice (a cookie) or their browser's Accept-Language, and an event's page narrows
it to the languages that event offers. It is a small mutable holder, so a dependency that
runs in a worker thread can still narrow it for the rest of the request.
"""

import contextlib
import io
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from gettext import GNUTranslations, NullTranslations
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy

from app.config import ROOT

LOCALE_DIR = ROOT / "app" / "locale"
DEFAULT = "en"
# The languages the interface is written in, each named in itself (the switcher shows them so).
LANGUAGES: dict[str, str] = {"en": "English", "pl": "Polski", "ur": "اردو"}
CODES = tuple(LANGUAGES)
RTL = frozenset({"ur"})
COOKIE = "openspace_lang"


@dataclass
class Speaking:
    """The language of the request being answered."""

    code: str = DEFAULT


_speaking: ContextVar[Speaking | None] = ContextVar("openspace_language", default=None)


def current() -> str:
    speaking = _speaking.get()
    return speaking.code if speaking is not None else DEFAULT


def begin(code: str) -> Speaking:
    """Start answering a request in `code` (the middleware calls this once per request)."""
    speaking = Speaking(code if code in LANGUAGES else DEFAULT)
    _speaking.set(speaking)
    return speaking


def narrow(offered: Sequence[str], accept_language: str = "") -> str:
    """Keep the request's language if `offered` has it; else the browser's best of `offered`."""
    speaking = _speaking.get()
    if speaking is None:
        speaking = begin(DEFAULT)
    if offered and speaking.code not in offered:
        speaking.code = negotiate(accept_language, offered) or offered[0]
    return speaking.code


@contextlib.contextmanager
def speaking(code: str) -> Iterator[None]:
    """Render something in `code` (live fragments are drawn once per language)."""
    token = _speaking.set(Speaking(code if code in LANGUAGES else DEFAULT))
    try:
        yield
    finally:
        _speaking.reset(token)


def negotiate(accept_language: str, offered: Iterable[str] = CODES) -> str | None:
    """The first language of the browser's Accept-Language header that is offered."""
    wanted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            wanted.append((-quality, position, tag.strip()))
    choices = list(offered)
    for _q, _p, tag in sorted(wanted):
        code = tag.replace("_", "-").split("-")[0].lower()
        if code in choices:
            return code
    return None


@cache
def translations(code: str) -> NullTranslations:
    """The compiled catalogue of a language (English is the source text)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if code == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return GNUTranslations(compiled)


def gettext(message: str, **variables: Any) -> str:
    """`message` in the request's language, with `%(name)s` filled in from `variables`."""
    text = translations(current()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    """The singular or plural form for `n`, as the request's language counts."""
    text = translations(current()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


def lazy(message: str) -> LazyProxy:
    """A text defined once (a label in a table) and translated each time it is shown."""
    return LazyProxy(gettext, message, enable_cache=False)


def lazy_text(message: str) -> str:
    """Marks a text for the catalogues without translating it here (it is stored as is)."""
    return message


def direction(code: str | None = None) -> str:
    return "rtl" if (code or current()) in RTL else "ltr"


# English as written at the events we serve: 24-hour clock, day before month.
_FORMATS = {"en": "en_GB"}


@cache
def _locale(code: str) -> Locale:
    try:
        return Locale.parse(_FORMATS.get(code, code))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


# Named styles for moments at the venue, as Babel patterns. The clock is 24-hour in every
# language: no AM/PM to scramble right-to-left text.
_STYLES = {
    "time": "HH:mm",
    "day_time": "EEE d MMM, HH:mm",
    "date_time": "d MMM, HH:mm",
    "day": "EEE d MMM",
    "date": "d MMMM y",
    "short_date": "d MMM",
    "weekday_year": "EEEE d MMMM y",
    "medium": "d MMM y",
}


def when(moment: datetime | date | None, zone: tzinfo | None = None, style: str = "time") -> str:
    """A moment (or a date) written the way the request's language writes it."""
    if moment is None:
        return ""
    pattern, locale = _STYLES.get(style, style), _locale(current())
    if isinstance(moment, datetime):
        local = moment.astimezone(zone) if zone is not None else moment
        return format_datetime(local, pattern, locale=locale)
    return format_date(moment, pattern, locale=locale)
