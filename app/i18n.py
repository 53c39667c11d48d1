"""Language and locale formatting: Vietnamese first, English second.

Every number, date and percentage shown to a person goes through these filters, so the
Vietnamese pages read 257.959 and 26/11/2026 and the English ones 257,959 and 26 Nov 2026.
"""

from datetime import date, datetime
from functools import lru_cache

from babel.numbers import format_decimal as babel_format_decimal
from flask import Flask, current_app, has_request_context, session
from flask_babel import format_date, format_datetime, format_percent, get_locale
from flask_login import current_user

from app.clock import as_utc, local_today
from app.extensions import babel

DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DATETIME_PATTERNS = {"vi": "HH:mm dd/MM/yyyy", "en": "d MMM yyyy, HH:mm"}


def select_locale() -> str:
    """The signed-in user's saved language, else the one picked on the sign-in page."""
    if not has_request_context():  # command line: Vietnamese, like the default page
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _language() -> str:
    return str(get_locale() or "vi").split("_")[0]


def number(value: int | float | None) -> str:
    """257959 -> '257.959' (vi) or '257,959' (en). Dashboards show hundreds of figures, many
    alike, so each (figure, language) is formatted by Babel once."""
    return "" if value is None else _formatted_number(value, str(get_locale() or "vi"))


@lru_cache(maxsize=4096)
def _formatted_number(value: int | float, locale: str) -> str:
    return babel_format_decimal(value, locale=locale)


def percent(ratio: float | None) -> str:
    """A share as '45,7%' (one decimal, locale separators)."""
    return "" if ratio is None else format_percent(ratio, "#,##0.0%")


def day(value: date | None) -> str:
    return "" if value is None else format_date(value, DATE_PATTERNS[_language()])


def moment(value: datetime | None) -> str:
    """A stored (UTC) time shown in Vietnam's time zone."""
    return "" if value is None else format_datetime(as_utc(value), DATETIME_PATTERNS[_language()])


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(number=number, percent=percent, day=day, moment=moment)
    app.jinja_env.globals.update(current_language=_language, today=local_today)
