"""What each export holds: named queries and the rows they give, ready for app.exchange.spreadsheets.

- totals: the province dashboard's commune table and its totals row, built by the same
  functions (app.progress.tallies and app.progress.services.totals_of), so no figure of an
  export can differ from the dashboard's.
- sessions: every session of the period that is not deleted, rejected ones included and marked
  as such; the rows whose status is not "Rejected" are the sessions the totals count.
- households: every registered household of the scope (the registry, whatever the period):
  trained or not (all time, like the dashboard's "Trained"), and whether it was trained for the
  first time in the period (the dashboard's "Newly trained").
- attendance: one row per household at each session of the period that is not deleted, with
  the session's status. CSV only; at province scale it is 3,000,000 rows, streamed.

The lists are read on a connection of their own with streamed results, a chunk at a time, so
memory stays flat on SQLite and PostgreSQL. Everything that needs the request (the words of
the user's language, the topics) is read before the first row, so the rows can be produced
after the view has returned.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from vietnam_provinces import Province, ProvinceCode

from app.auth.access import sees_whole_province
from app.clock import utcnow
from app.exchange.spreadsheets import Percent
from app.extensions import db
from app.i18n import day, moment
from app.labels import SESSION_STATUSES, commune_label
from app.models import (
    Attendance,
    Commune,
    Household,
    Team,
    Topic,
    TrainingSession,
    User,
    Village,
    learned_topic,
    session_topic,
)
from app.models.audit import record
from app.progress import services, tallies
from app.progress.forms import DEFAULT_PERIOD_DAYS
from app.progress.tallies import counting_sessions
from app.text import fold

CHUNK_ROWS = 5_000
# Names of the files: ASCII in `filename`, Vietnamese in `filename*` (RFC 5987).
FILE_NAMES = {
    "totals": ("tong-hop", "tổng-hợp"),
    "sessions": ("buoi-huong-dan", "buổi-hướng-dẫn"),
    "households": ("ho-gia-dinh", "hộ-gia-đình"),
    "attendance": ("tham-du", "tham-dự"),
}
PERSONAL = frozenset({"sessions", "households", "attendance"})


@dataclass(frozen=True)
class Scope:
    """What an export covers: a period, and one commune or (None) the whole province."""

    start: date
    end: date
    commune: Commune | None = None

    @property
    def commune_ids(self) -> list[int] | None:
        return None if self.commune is None else [self.commune.id]


@dataclass
class Table:
    name: str  # "totals", "sessions", …: the file name and the audit action
    title: str
    period_line: str
    headers: list[str]
    rows: Iterable[Sequence]
    widths: list[float] = field(default_factory=list)


def default_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The dashboards' period: the dates given, else the 30 days up to `end` (or today)."""
    end = end or today
    return start or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1), end


def commune_by_code(code: str) -> Commune | None:
    return db.session.scalar(sa.select(Commune).where(Commune.code == code))


def scope_commune(user: User, code: str | None) -> Commune | None:
    """The commune an export covers: the one asked for (404 if the user may not see it);
    without one, commune staff get their own commune and province staff the whole province."""
    if code:
        return services.commune_or_404(code, user)
    return None if sees_whole_province(user) else user.commune


def communes_to_choose() -> list[tuple[str, str]]:
    """(code, 'Xã Hòa Phú') for every commune, by name: the filter of the exports page."""
    communes = db.session.scalars(sa.select(Commune)).all()
    return sorted(((c.code, commune_label(c)) for c in communes), key=lambda item: fold(item[1]))


def record_download(user: User, name: str, fmt: str, scope: Scope) -> None:
    """The audit row of a download with personal data, committed before the first byte goes out."""
    record(
        user.id,
        f"export.{name}",
        object_type="export",
        commune_id=scope.commune.id if scope.commune is not None else None,
        changes={
            "format": fmt,
            "from": scope.start.isoformat(),
            "to": scope.end.isoformat(),
            "commune": scope.commune.code if scope.commune is not None else None,
        },
    )
    db.session.commit()


# ---------------------------------------------------------------------------------------------
# The tables


# Each table's columns: (header, width in XLSX characters). Headers in the user's language.
TOTALS_COLUMNS = (
    (_l("Commune code"), 10), (_l("Commune or ward"), 30), (_l("Target"), 11), (_l("Trained"), 13),
    (_l("Share of target"), 12), (_l("Registered"), 13), (_l("Sessions"), 11), (_l("Active volunteers"), 13),
    (_l("Newly trained"), 13), (_l("Last session"), 13),
)  # fmt: skip
SESSIONS_COLUMNS = (
    (_l("Date"), 12), (_l("Commune code"), 10), (_l("Commune or ward"), 26), (_l("Village"), 22),
    (_l("Team"), 22), (_l("Volunteer"), 24), (_l("Topics taught"), 60), (_l("Number of households"), 12),
    (_l("Status"), 18),
)  # fmt: skip
HOUSEHOLDS_COLUMNS = (
    (_l("Commune code"), 10), (_l("Commune or ward"), 26), (_l("Village"), 22), (_l("Head of household"), 28),
    (_l("Address"), 22), (_l("Phone number"), 14), (_l("Trained"), 12), (_l("First trained on"), 14),
    (_l("Newly trained in the period"), 14), (_l("Topics learned"), 60), (_l("Last session"), 13),
)  # fmt: skip
ATTENDANCE_COLUMNS = (
    (_l("Date of the session"), 12), (_l("Commune code"), 10), (_l("Village"), 22), (_l("Session ID"), 38),
    (_l("Household ID"), 10), (_l("Head of household"), 28), (_l("Topic codes"), 30), (_l("Status"), 18),
)  # fmt: skip


def totals_table(scope: Scope) -> Table:
    """Exactly the province dashboard's table (same rows, same order) and its totals row."""
    rows = services.sorted_rows(tallies.commune_rows(scope.start, scope.end, scope.commune_ids))
    totals = services.totals_of(rows)
    body = [
        (row.code, commune_label(row), row.target, row.trained, _share(row.share), row.registered, row.sessions,
         row.volunteers, row.trained_in_period, row.last_session_on)
        for row in rows
    ]  # fmt: skip
    total = _("Total (%(n)s communes and wards)", n=totals["communes"])
    body.append((None, total, totals["target"], totals["trained"], _share(totals["share"]), totals["registered"],
                 totals["sessions"], totals["volunteers"], totals["trained_in_period"], None))  # fmt: skip
    period = _(
        "Sessions, active volunteers and newly trained households: %(start)s to %(end)s. Trained households and targets: all time.",
        start=day(scope.start),
        end=day(scope.end),
    )
    return _table("totals", _("Totals by commune or ward"), period, TOTALS_COLUMNS, body)


def sessions_table(scope: Scope) -> Table:
    """Sessions of the period: date, place, team, volunteer, topics, households, status."""
    labels, statuses, topics = _commune_labels(), _status_labels(), _topics()

    def finish(connection, chunk):
        taught = _session_topics(connection, [row.id for row in chunk])
        for row in chunk:
            names = "; ".join(topics[topic_id].name for topic_id in taught[row.id])
            yield (row.held_on, row.code, labels[row.code], row.village, row.team, row.volunteer, names,
                   row.households, statuses[row.status])  # fmt: skip

    period = _("Sessions held from %(start)s to %(end)s.", start=day(scope.start), end=day(scope.end))
    rows = streamed(sessions_select(scope), finish)
    return _table("sessions", _("List of training sessions"), period, SESSIONS_COLUMNS, rows)


def households_table(scope: Scope) -> Table:
    """The registry: each household, trained or not, its topics and last session."""
    labels, topics = _commune_labels(), _topics()
    yes, no = _("Yes"), _("No")

    def finish(connection, chunk):
        ids = [row.id for row in chunk]
        learned, last = _learned_topics(connection, ids), _last_sessions(connection, ids)
        for row in chunk:
            trained_on = row.trained_on
            in_period = trained_on is not None and scope.start <= trained_on <= scope.end
            names = "; ".join(topics[topic_id].name for topic_id in learned[row.id])
            yield (row.code, labels[row.code], row.village, row.head_name, row.address, row.phone,
                   yes if trained_on else no, trained_on, yes if in_period else no, names, last.get(row.id))  # fmt: skip

    period = _(
        "Every registered household. Newly trained in the period: %(start)s to %(end)s.",
        start=day(scope.start),
        end=day(scope.end),
    )
    rows = streamed(households_select(scope), finish)
    return _table("households", _("List of households"), period, HOUSEHOLDS_COLUMNS, rows)


def attendance_table(scope: Scope) -> Table:
    """One row per household at each session of the period, with the session's status."""
    statuses, topics = _status_labels(), _topics()

    codes = {topic_id: topic.code for topic_id, topic in topics.items()}

    def finish(connection, chunk):
        # Rows are unpacked rather than read by name: this runs 3,000,000 times at province scale.
        taught = _session_topics(connection, list({row[4] for row in chunk}))
        joined = {session_id: " ".join(codes[topic_id] for topic_id in ids) for session_id, ids in taught.items()}
        for held_on, code, village, uuid, session_id, household_id, head_name, status in chunk:
            yield held_on, code, village, uuid, household_id, head_name, joined.get(session_id, ""), statuses[status]

    period = _("Sessions held from %(start)s to %(end)s.", start=day(scope.start), end=day(scope.end))
    rows = streamed(attendance_select(scope), finish)
    return _table("attendance", _("Attendance at training sessions"), period, ATTENDANCE_COLUMNS, rows)


def _table(name: str, title: str, period_line: str, columns, rows: Iterable[Sequence]) -> Table:
    return Table(
        name=name,
        title=title,
        period_line=period_line,
        headers=[str(header) for header, _width in columns],
        rows=rows,
        widths=[width for _header, width in columns],
    )


TABLES: dict[str, Callable[[Scope], Table]] = {
    "totals": totals_table,
    "sessions": sessions_table,
    "households": households_table,
    "attendance": attendance_table,
}


def title_lines(table: Table, scope: Scope) -> list[str]:
    """The rows above the header of an XLSX: what, where; the period; when it was exported."""
    province = _("Province %(name)s", name=province_name(current_app.config["PROVINCE_CODE"]))
    place = province if scope.commune is None else f"{commune_label(scope.commune)}, {province}"
    return [f"{table.title} – {place}", table.period_line, _("Exported at %(time)s", time=moment(utcnow()))]


def file_names(name: str, scope: Scope, fmt: str) -> tuple[str, str]:
    """(ASCII name, Vietnamese name) such as tong-hop-24133-2026-11-01_2026-11-28.xlsx."""
    commune = f"-{scope.commune.code}" if scope.commune is not None else ""
    tail = f"{commune}-{scope.start.isoformat()}_{scope.end.isoformat()}.{fmt}"
    ascii_name, vietnamese = FILE_NAMES[name]
    return ascii_name + tail, vietnamese + tail


def content_disposition(name: str, scope: Scope, fmt: str) -> str:
    ascii_name, vietnamese = file_names(name, scope, fmt)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(vietnamese, safe='')}"


@cache
def province_name(code: int) -> str:
    return Province.from_code(ProvinceCode(code)).name


# ---------------------------------------------------------------------------------------------
# The queries


def sessions_select(scope: Scope) -> sa.Select:
    """Sessions of the period that are not deleted, oldest first, with their number of households."""
    households = (
        sa.select(sa.func.count())
        .where(Attendance.session_id == TrainingSession.id)
        .scalar_subquery()
        .label("households")
    )
    select = (
        sa.select(
            TrainingSession.id,
            TrainingSession.held_on,
            Commune.code,
            Village.name.label("village"),
            Team.name.label("team"),
            User.full_name.label("volunteer"),
            households,
            TrainingSession.status,
        )
        .join(Commune, Commune.id == TrainingSession.commune_id)
        .join(Village, Village.id == TrainingSession.village_id)
        .outerjoin(Team, Team.id == TrainingSession.team_id)
        .join(User, User.id == TrainingSession.volunteer_id)
        .where(TrainingSession.held_on.between(scope.start, scope.end), TrainingSession.deleted_at.is_(None))
        .order_by(TrainingSession.held_on, TrainingSession.id)
    )
    return _in_commune(select, TrainingSession.commune_id, scope)


def households_select(scope: Scope) -> sa.Select:
    """Registered (not deleted) households, by commune, village and name."""
    select = (
        sa.select(
            Household.id,
            Commune.code,
            Village.name.label("village"),
            Household.head_name,
            Household.address,
            Household.phone,
            Household.trained_on,
        )
        .join(Village, Village.id == Household.village_id)
        .join(Commune, Commune.id == Household.commune_id)
        .where(Household.deleted_at.is_(None))
        .order_by(Commune.name, Village.name, Household.head_name_folded, Household.id)
    )
    return _in_commune(select, Household.commune_id, scope)


def attendance_select(scope: Scope) -> sa.Select:
    """Each household at each session of the period that is not deleted, in the order of the
    sessions (the index on the session date gives this order without sorting)."""
    select = (
        sa.select(
            TrainingSession.held_on,
            Commune.code,
            Village.name.label("village"),
            TrainingSession.uuid,
            Attendance.session_id,
            Attendance.household_id,
            Household.head_name,
            TrainingSession.status,
        )
        .select_from(Attendance)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .join(Household, Household.id == Attendance.household_id)
        .join(Village, Village.id == TrainingSession.village_id)
        .join(Commune, Commune.id == TrainingSession.commune_id)
        .where(TrainingSession.held_on.between(scope.start, scope.end), TrainingSession.deleted_at.is_(None))
        .order_by(TrainingSession.held_on, TrainingSession.id, Attendance.household_id)
    )
    return _in_commune(select, TrainingSession.commune_id, scope)


def streamed(select: sa.Select, finish: Callable) -> Iterator[tuple]:
    """The rows of `select`, read in chunks on a connection of its own (a server-side cursor
    on PostgreSQL); `finish(connection, chunk)` looks up what each chunk needs and yields rows."""
    engine = db.engine  # looked up now: the rows may be read after the request has ended

    def rows() -> Iterator[tuple]:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(select)
            for chunk in result.partitions():
                yield from finish(connection, chunk)

    return rows()


def _in_commune(select: sa.Select, column, scope: Scope) -> sa.Select:
    return select if scope.commune is None else select.where(column == scope.commune.id)


def _session_topics(connection, session_ids: list[int]) -> dict[int, list[int]]:
    """Topic ids of each session, in the topics' order."""
    taught: dict[int, list[int]] = defaultdict(list)
    for session_id, topic_id in connection.execute(
        sa.select(session_topic.c.session_id, session_topic.c.topic_id)
        .join(Topic, Topic.id == session_topic.c.topic_id)
        .where(session_topic.c.session_id.in_(session_ids))
        .order_by(Topic.sort_order, Topic.id)
    ):
        taught[session_id].append(topic_id)
    return taught


def _learned_topics(connection, household_ids: list[int]) -> dict[int, list[int]]:
    """Topics each household learned at sessions that count (the counters' own table)."""
    learned: dict[int, list[int]] = defaultdict(list)
    for household_id, topic_id in connection.execute(
        sa.select(learned_topic.c.household_id, learned_topic.c.topic_id)
        .join(Topic, Topic.id == learned_topic.c.topic_id)
        .where(learned_topic.c.household_id.in_(household_ids))
        .order_by(Topic.sort_order, Topic.id)
    ):
        learned[household_id].append(topic_id)
    return learned


def _last_sessions(connection, household_ids: list[int]) -> dict[int, date]:
    """The date of each household's last session that counts."""
    return dict(
        connection.execute(
            sa.select(Attendance.household_id, sa.func.max(TrainingSession.held_on))
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(Attendance.household_id.in_(household_ids), counting_sessions())
            .group_by(Attendance.household_id)
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# Words read before the first row


@dataclass(frozen=True)
class _Topic:
    code: str
    name: str


def _topics() -> dict[int, _Topic]:
    language = get_locale().language if get_locale() is not None else "vi"
    return {topic.id: _Topic(topic.code, topic.name_for(language)) for topic in db.session.scalars(sa.select(Topic))}


def _commune_labels() -> dict[str, str]:
    return {commune.code: commune_label(commune) for commune in db.session.scalars(sa.select(Commune))}


def _status_labels() -> dict[str, str]:
    return {status: str(label) for status, label in SESSION_STATUSES.items()}


def _share(share: float | None) -> Percent | None:
    return None if share is None else Percent(share)
