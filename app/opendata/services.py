"""The open data: every commune's target, trained households, share of the target and sessions
per month, as a page, a CSV file and a JSON file, with their data dictionary.

Every figure comes from the tallies module (the counting rule), through the same functions as
the province dashboard, so the open totals equal the dashboard's. Nothing personal is read:
no household, no person, no village, only counts per commune. Small counts are hidden by
app/opendata/suppression.py.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.clock import VIETNAM, local_today, utcnow
from app.exchange.exports import province_name
from app.exchange.spreadsheets import Percent
from app.i18n import select_locale
from app.models import CommuneKind
from app.opendata import suppression
from app.progress import services as dashboards
from app.progress import tallies

MONTHS = 12
PROVINCE_KIND = "tinh"
KIND_WORDS = {CommuneKind.XA: "Xã", CommuneKind.PHUONG: "Phường", PROVINCE_KIND: "Tỉnh"}


@dataclass
class OpenRow:
    """One commune or ward (or the whole province) as published: nothing else is."""

    code: str
    name: str  # without "Xã"/"Phường"; official_name adds it
    kind: str
    target: int
    trained: int
    sessions: list[int]  # one per month of OpenData.months, oldest first
    hidden: str | None = None  # suppression.FEWER_THAN_FIVE or FIVE_OR_MORE: trained is not published

    @property
    def official_name(self) -> str:
        return f"{KIND_WORDS[self.kind]} {self.name}"

    @property
    def published_trained(self) -> int | str:
        return self.hidden or self.trained

    @property
    def share(self) -> float | None:
        """Trained against target; None without a target or when trained is hidden (with the
        target, the share would give the count away)."""
        if self.hidden or not self.target:
            return None
        return self.trained / self.target

    @property
    def share_percent(self) -> float | None:
        return None if self.share is None else round(self.share * 100, 1)


@dataclass
class OpenData:
    as_of: datetime
    months: list[date]  # first day of each month, oldest first; the last one is under way
    communes: list[OpenRow]
    province: OpenRow  # the sum of the communes: the province dashboard's totals row
    province_target: int  # TARGET_HOUSEHOLDS, the dashboard's headline target
    licence: str
    licence_url: str

    @property
    def province_share(self) -> float | None:
        if self.province.hidden or not self.province_target:
            return None
        return self.province.trained / self.province_target


def open_data() -> OpenData:
    """Today's open figures, straight from the counters."""
    today = local_today()
    months = last_months(today)
    # Only the all-time figures (target, trained) of these rows are published: a one-day
    # period keeps the period sums the dashboard also computes as cheap as they can be.
    rows = dashboards.sorted_rows(tallies.commune_rows(today, today))
    totals = dashboards.totals_of(rows)
    sessions = tallies.sessions_by_commune_month(months[0], today)
    hidden = suppression.hidden_counts({row.code: row.trained for row in rows})
    communes = [
        OpenRow(
            code=row.code,
            name=row.name,
            kind=row.kind,
            target=row.target,
            trained=row.trained,
            sessions=[sessions.get(row.code, {}).get(month, 0) for month in months],
            hidden=hidden.get(row.code),
        )
        for row in rows
    ]
    config = current_app.config
    province = OpenRow(
        code=str(config["PROVINCE_CODE"]),
        name=province_name(config["PROVINCE_CODE"]),
        kind=PROVINCE_KIND,
        target=totals["target"],
        trained=totals["trained"],
        sessions=[sum(row.sessions[index] for row in communes) for index in range(len(months))],
        # A province with fewer than five trained households follows the same rule; then
        # every commune is hidden too, and no subtraction is possible.
        hidden=suppression.FEWER_THAN_FIVE if totals["trained"] < suppression.SMALLEST_PUBLISHED else None,
    )
    return OpenData(
        as_of=utcnow(),
        months=months,
        communes=communes,
        province=province,
        province_target=config["TARGET_HOUSEHOLDS"],
        licence=config["OPEN_DATA_LICENCE"],
        licence_url=config["OPEN_DATA_LICENCE_URL"],
    )


def last_months(today: date) -> list[date]:
    """The first days of the last twelve months, this one last."""
    first = today.year * 12 + today.month - MONTHS
    return [date((first + step) // 12, (first + step) % 12 + 1, 1) for step in range(MONTHS)]


def title(data: OpenData) -> str:
    return _(
        "Digital skills training of households by commune and ward, %(province)s province", province=data.province.name
    )


def source(data: OpenData) -> str:
    return _(
        "Training sessions logged by the Community Digital Technology Teams of %(province)s province "
        "in the Kỹ năng số cộng đồng app",
        province=data.province.name,
    )


def page_language(asked: str | None) -> str:
    """The page's language: ?lang= when it names one we have (a link that can be shared),
    else the visitor's own."""
    return asked if asked in current_app.config["LANGUAGES"] else select_locale()


# ---------------------------------------------------------------------------------------------
# The data dictionary: one entry per column of the CSV, which are also the keys of each row of
# the JSON. Shown on the page in the reader's language and carried in the JSON in both.


@dataclass(frozen=True)
class Field:
    name: str
    json_types: tuple[str, ...]  # JSON Schema type names
    type: LazyString
    unit: LazyString
    meaning: LazyString
    counting: LazyString
    marks: tuple[str, ...] = ()  # the only strings an integer field may hold instead


MONTH_COLUMN = "sessions_YYYY_MM"
DICTIONARY = (
    Field(
        "code", ("string",), _l("text"), _l("none"),
        _l("Official code of the commune or ward in the 2025 list of administrative units; the province's code on the province row."),
        _l("From the official list (package vietnam-provinces), never typed by hand."),
    ),
    Field(
        "name", ("string",), _l("text"), _l("none"),
        _l("Official name of the commune or ward in Vietnamese, with “Xã” or “Phường”; the province's name on the province row."),
        _l("From the official list."),
    ),
    Field(
        "kind", ("string",), _l("text: xa, phuong or tinh"), _l("none"),
        _l("xa: a commune (xã); phuong: a ward (phường); tinh: the whole province (the last row of the CSV, “province” in the JSON)."),
        _l("The province row adds up every row above it: leave it out when you add up rows yourself."),
    ),
    Field(
        "target", ("integer",), _l("integer"), _l("households"),
        _l("Households the commune or ward is to train, set by the province; 0 while no target is set."),
        _l("Set by province staff. On the province row, the sum of the communes' targets."),
    ),
    Field(
        "trained", ("integer", "string"), _l("integer, or the text “<5” or “>=5”"), _l("households"),
        _l("Households trained so far, from the first session up to the time of the figures."),
        _l("A household is trained when it attended at least one training session that was neither rejected nor deleted. It counts once, however many sessions it attended. Deleted households are not counted. “<5”: fewer than five, hidden to protect those households. “>=5”: five or more, hidden so that a “<5” cannot be worked out by subtracting the other communes from the province total."),
        (suppression.FEWER_THAN_FIVE, suppression.FIVE_OR_MORE),
    ),
    Field(
        "share_percent", ("number", "null"), _l("decimal number, or empty (null in JSON)"), _l("percent"),
        _l("Trained households as a percentage of the target."),
        _l("trained ÷ target × 100, with one decimal. Empty when the target is 0, and when trained is hidden: with the target, the percentage would give the count away."),
    ),
    Field(
        MONTH_COLUMN, ("integer",), _l("integer"), _l("sessions"),
        _l("Training sessions held in that month (YYYY: year, MM: month). One column for each of the last 12 months, oldest first; the last month is not over yet."),
        _l("Sessions that count (neither rejected nor deleted), by the day they were held. A session is one visit or gathering, whatever the number of households; it is not a household count and is never hidden, since it does not tell how many households were trained."),
    ),
)  # fmt: skip


def month_column(month: date) -> str:
    return f"sessions_{month:%Y_%m}"


def columns(months: list[date]) -> list[str]:
    """The CSV header: the dictionary's names, the month pattern spelled out for each month."""
    names = [entry.name for entry in DICTIONARY if entry.name != MONTH_COLUMN]
    return names + [month_column(month) for month in months]


# ---------------------------------------------------------------------------------------------
# The files


def csv_rows(data: OpenData) -> list[list]:
    """One row per commune or ward, then the province row; hidden figures as their marks."""
    return [_csv_row(row) for row in [*data.communes, data.province]]


def _csv_row(row: OpenRow) -> list:
    share = None if row.share is None else Percent(row.share)  # written as 45.7
    return [row.code, row.official_name, row.kind, row.target, row.published_trained, share, *row.sessions]


def json_document(data: OpenData) -> dict:
    """The same rows as the CSV, with what a program needs to read them. The words are in
    Vietnamese, the dictionary in every language of the app."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        words = {"title": title(data), "source": source(data)}
    return {
        **words,
        "as_of": data.as_of.astimezone(VIETNAM).isoformat(timespec="seconds"),
        "licence": {"name": data.licence, "url": data.licence_url},
        "province_target": data.province_target,
        "months": [f"{month:%Y-%m}" for month in data.months],
        "dictionary": [_dictionary_entry(entry) for entry in DICTIONARY],
        "province": _json_row(data.province, data.months),
        "communes": [_json_row(row, data.months) for row in data.communes],
    }


def _json_row(row: OpenRow, months: list[date]) -> dict:
    sessions = {month_column(month): number for month, number in zip(months, row.sessions, strict=True)}
    return {
        "code": row.code,
        "name": row.official_name,
        "kind": row.kind,
        "target": row.target,
        "trained": row.published_trained,
        "share_percent": row.share_percent,
        **sessions,
    }


def _dictionary_entry(entry: Field) -> dict:
    described = {}
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            described[language] = {
                "type": str(entry.type),
                "unit": str(entry.unit),
                "meaning": str(entry.meaning),
                "counting": str(entry.counting),
            }
    return {"name": entry.name, "json_types": list(entry.json_types), "marks": list(entry.marks), **described}
