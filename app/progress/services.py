"""What the dashboards show, assembled from the tallies module (which owns every figure)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date

from app.auth.access import visible_or_404
from app.clock import local_today, utcnow
from app.extensions import db
from app.models import Commune, Household, SessionStatus, TrainingSession, User, Village
from app.progress import tallies
from app.progress.charts import BarChart, bar_chart
from app.text import fold

QUIET_DAYS = 30
TREND_MONTHS = 12
SORT_KEYS = (
    "name", "target", "trained", "share", "registered", "sessions", "volunteers", "trained_in_period", "last_session_on",
)  # fmt: skip


@dataclass
class Headline:
    """Trained households against a target, with the pace of the last four weeks."""

    trained: int
    target: int
    registered: int
    pace: tallies.Pace

    @property
    def share(self) -> float | None:
        return self.trained / self.target if self.target else None


@dataclass
class ProvinceDashboard:
    computed_at: datetime
    start: date
    end: date
    headline: Headline
    communes: list[tallies.CommuneRow]
    totals: dict
    topics: list
    trend: BarChart
    quiet_since: date
    sort: str
    descending: bool


@dataclass
class CommuneDashboard:
    computed_at: datetime
    commune: Commune
    start: date
    end: date
    headline: Headline
    row: tallies.CommuneRow
    villages: list[dict]
    teams: list[dict]
    volunteers: list[dict]
    topics: list
    trend: BarChart
    quiet_since: date
    awaiting_review: int = field(default=0)


def province_dashboard(start: date, end: date, name: str = "", kind: str = "", sort: str = "name",
                       descending: bool = False) -> ProvinceDashboard:  # fmt: skip
    """The province against its target, and every commune (filtered and sorted)."""
    today = local_today()
    every_commune = tallies.commune_rows(start, end)
    province = totals_of(every_commune)  # the province's figures: its communes' summed
    trained, registered = province["trained"], province["registered"]
    target = current_app.config["TARGET_HOUSEHOLDS"]
    rows = [row for row in every_commune if _matches(row, name, kind)]
    sort = sort if sort in SORT_KEYS else "name"
    rows = sorted_rows(rows, sort, descending)
    return ProvinceDashboard(
        computed_at=utcnow(),
        start=start,
        end=end,
        headline=Headline(trained, target, registered, tallies.pace(trained, target, today)),
        communes=rows,
        totals=totals_of(rows),
        topics=tallies.topic_rows(),
        trend=_trend(end),
        quiet_since=today - timedelta(days=QUIET_DAYS),
        sort=sort,
        descending=descending,
    )


def commune_dashboard(commune: Commune, start: date, end: date) -> CommuneDashboard:
    """One commune: its target, villages, teams and volunteers, topics and trend."""
    today = local_today()
    row = tallies.commune_rows(start, end, [commune.id])[0]
    teams, volunteers = tallies.activity_rows(commune.id)
    awaiting = db.session.scalar(
        sa.select(sa.func.count()).where(
            TrainingSession.commune_id == commune.id,
            TrainingSession.status == SessionStatus.PENDING,
            TrainingSession.deleted_at.is_(None),
        )
    )
    return CommuneDashboard(
        computed_at=utcnow(),
        commune=commune,
        start=start,
        end=end,
        headline=Headline(
            row.trained, row.target, row.registered, tallies.pace(row.trained, row.target, today, commune.id)
        ),
        row=row,
        villages=tallies.village_rows(commune.id),
        teams=teams,
        volunteers=volunteers,
        topics=tallies.topic_rows(commune.id),
        trend=_trend(end, commune.id),
        quiet_since=today - timedelta(days=QUIET_DAYS),
        awaiting_review=awaiting,
    )


def commune_or_404(code: str, user: User) -> Commune:
    return visible_or_404(db.session.scalar(sa.select(Commune).where(Commune.code == code)), user)


def not_reached_households(village: Village) -> list[Household]:
    return list(db.session.scalars(tallies.not_reached(village.id)))


def not_reached_text(village: Village, households: list[Household], heading: str) -> str:
    """The list as plain text, ready to paste into the village's Zalo group."""
    lines = [heading, ""]
    for number, household in enumerate(households, start=1):
        address = f" – {household.address}" if household.address else ""
        lines.append(f"{number}. {household.head_name}{address}")
    return "\n".join(lines) + "\n"


def _matches(row: tallies.CommuneRow, name: str, kind: str) -> bool:
    return (not kind or row.kind == kind) and (not name or fold(name) in fold(row.name))


@lru_cache(maxsize=512)  # the province's commune names, folded on every dashboard view
def _folded_name(name: str) -> str:
    return fold(name)


def _sort_value(row: tallies.CommuneRow, key: str):
    if key == "name":
        return _folded_name(row.name)
    if key == "share":
        return row.share if row.share is not None else -1
    if key == "last_session_on":
        return row.last_session_on or date.min
    return getattr(row, key)


def sorted_rows(rows: list[tallies.CommuneRow], sort: str = "name", descending: bool = False) -> list:
    """The rows in the dashboard's order (by folded name unless another column is asked for)."""
    return sorted(rows, key=lambda row: _sort_value(row, sort), reverse=descending)


def totals_of(rows: list[tallies.CommuneRow]) -> dict:
    """The totals row of a commune table: the dashboard's and every export's."""
    totals = {key: sum(getattr(row, key) for row in rows) for key in
              ("target", "trained", "registered", "sessions", "volunteers", "trained_in_period")}  # fmt: skip
    totals["share"] = totals["trained"] / totals["target"] if totals["target"] else None
    totals["communes"] = len(rows)
    return totals


def _trend(end: date, commune_id: int | None = None) -> BarChart:
    """Households trained for the first time in each of the twelve months up to `end`."""
    months_back = end.year * 12 + end.month - 1 - (TREND_MONTHS - 1)
    start = date(months_back // 12, months_back % 12 + 1, 1)
    months = tallies.monthly(start, end, commune_id)
    return bar_chart([(format_date(month, "MM/yy"), trained) for month, trained, _sessions in months])
