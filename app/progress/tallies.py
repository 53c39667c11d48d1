"""The counting rule, in one place. Every page, export and API asks this module.

A household is trained when it attended at least one session that is neither rejected nor
deleted. It counts once, however many sessions it attends. A deleted household is neither
registered nor trained.

At province scale, counting from the raw rows is too slow for a dashboard, so the figures
are also kept in counter tables (app/models/tallies.py). Every write that can change a figure
calls `session_changed()` or `refresh_households()` in its own transaction; `rebuild()` makes
the counters again from the raw rows (after a bulk load, or to repair).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import (
    Attendance,
    Commune,
    CommuneDay,
    CommuneTopicTally,
    Household,
    SessionStatus,
    Team,
    Topic,
    TrainingSession,
    User,
    Village,
    VillageTally,
    learned_topic,
    session_topic,
)

# ---------------------------------------------------------------------------------------------
# The rule on the raw rows


def counting_sessions() -> sa.ColumnElement[bool]:
    """Sessions that count: not rejected, not deleted."""
    return sa.and_(TrainingSession.status != SessionStatus.REJECTED, TrainingSession.deleted_at.is_(None))


def counts(session: TrainingSession) -> bool:
    return session.status != SessionStatus.REJECTED and session.deleted_at is None


def is_trained() -> sa.ColumnElement[bool]:
    """A condition on Household: counted as trained (kept exact by the functions below)."""
    return Household.trained_on.is_not(None)


# ---------------------------------------------------------------------------------------------
# Keeping the counters exact


@dataclass(frozen=True)
class SessionMark:
    """Where a session stands in the counters: its commune, its day, whether it counts."""

    commune_id: int
    day: date
    counts: bool


def session_mark(session: TrainingSession) -> SessionMark | None:
    """Take this before changing a saved session (None for a new one)."""
    if session.id is None:
        return None
    return SessionMark(session.commune_id, session.held_on, counts(session))


def attendee_ids(session: TrainingSession) -> set[int]:
    return {attendance.household_id for attendance in session.attendances}


def session_changed(session: TrainingSession, before: SessionMark | None, households_before: set[int]) -> None:
    """Move the counters after a session was created, edited, verified, rejected, deleted or
    restored. `before` and `households_before` were taken before the change."""
    db.session.flush()
    after = session_mark(session)
    moves = _Moves()
    if before != after:
        if before is not None and before.counts:
            moves.add(CommuneDay, {"commune_id": before.commune_id, "day": before.day}, sessions=-1)
        if after is not None and after.counts:
            moves.add(CommuneDay, {"commune_id": after.commune_id, "day": after.day}, sessions=1)
    # The session's own day is written with the households' moves, after their locks.
    _recount(households_before | attendee_ids(session), moves)
    moves.write()


def refresh_households(household_ids) -> None:
    """Recount these households from the raw rows and move the counters by the difference."""
    moves = _Moves()
    _recount(household_ids, moves)
    moves.write()


def _recount(household_ids, moves: "_Moves") -> None:
    """Lock the households and add their counter moves.

    Every writer locks households first, in id order, and only then writes counter rows, in
    one sorted order (`_Moves.write`), so two writers on PostgreSQL never wait on each other
    in a circle; SQLite writers are serialised by the database itself. FOR NO KEY UPDATE,
    not FOR UPDATE: inserting an attendance row takes a key-share lock on its household,
    which FOR UPDATE would wait for (two sessions with the same household would deadlock).
    """
    ids = sorted(set(household_ids))
    if not ids:
        return
    db.session.flush()
    # populate_existing: the request may have loaded these households before another writer
    # committed (validation reads them); the counted state must come from the locked rows.
    households = db.session.scalars(
        sa.select(Household)
        .where(Household.id.in_(ids))
        .order_by(Household.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    first_days = dict(
        db.session.execute(
            sa.select(Attendance.household_id, sa.func.min(TrainingSession.held_on))
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(Attendance.household_id.in_(ids), counting_sessions())
            .group_by(Attendance.household_id)
        ).all()
    )
    topics_now: dict[int, set[int]] = defaultdict(set)
    for household_id, topic_id in db.session.execute(
        sa.select(Attendance.household_id, session_topic.c.topic_id)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .join(session_topic, session_topic.c.session_id == TrainingSession.id)
        .where(Attendance.household_id.in_(ids), counting_sessions())
        .distinct()
    ):
        topics_now[household_id].add(topic_id)
    topics_before: dict[int, set[int]] = defaultdict(set)
    for household_id, topic_id in db.session.execute(
        sa.select(learned_topic.c.household_id, learned_topic.c.topic_id).where(learned_topic.c.household_id.in_(ids))
    ):
        topics_before[household_id].add(topic_id)

    for household in households:
        registered = household.deleted_at is None
        trained_on = first_days.get(household.id) if registered else None
        topics = topics_now[household.id] if registered else set()
        _move_household(household, registered, trained_on, topics_before[household.id], topics, moves.add)


class _Moves:
    """Counter moves of many households summed per counter row, then written once per row:
    an import of thousands of households into a few villages is a few writes, not thousands.
    Rows are written in a fixed order, so two writers lock them in the same order."""

    def __init__(self) -> None:
        self._rows: dict[tuple, tuple[type, dict, dict | None, dict[str, int]]] = {}

    def add(self, model, key: dict, insert_only: dict | None = None, **deltas: int) -> None:
        row_key = (model.__tablename__, *key.values())
        summed = self._rows.setdefault(row_key, (model, key, insert_only, defaultdict(int)))[3]
        for name, delta in deltas.items():
            summed[name] += delta

    def write(self) -> None:
        for row_key in sorted(self._rows):
            model, key, insert_only, summed = self._rows[row_key]
            _bump(model, key, insert_only, **summed)


def _move_household(household: Household, registered: bool, trained_on: date | None, old_topics, new_topics, bump):
    registered_delta = int(registered) - int(household.is_counted)
    trained_delta = int(trained_on is not None) - int(household.trained_on is not None)
    if registered_delta or trained_delta:
        bump(
            VillageTally,
            {"village_id": household.village_id},
            insert_only={"commune_id": household.commune_id},
            registered=registered_delta,
            trained=trained_delta,
        )
    if household.trained_on != trained_on:
        if household.trained_on is not None:
            bump(CommuneDay, {"commune_id": household.commune_id, "day": household.trained_on}, newly_trained=-1)
        if trained_on is not None:
            bump(CommuneDay, {"commune_id": household.commune_id, "day": trained_on}, newly_trained=1)
    for topic_id in new_topics - old_topics:
        bump(CommuneTopicTally, {"commune_id": household.commune_id, "topic_id": topic_id}, households=1)
        db.session.execute(sa.insert(learned_topic).values(household_id=household.id, topic_id=topic_id))
    for topic_id in old_topics - new_topics:
        bump(CommuneTopicTally, {"commune_id": household.commune_id, "topic_id": topic_id}, households=-1)
        db.session.execute(
            sa.delete(learned_topic).where(
                learned_topic.c.household_id == household.id, learned_topic.c.topic_id == topic_id
            )
        )
    household.is_counted = registered
    household.trained_on = trained_on


def _bump(model, key: dict, insert_only: dict | None = None, **deltas: int) -> None:
    """Add the deltas to one counter row in one atomic statement, creating the row for
    positive deltas. A negative delta needs the row: it was counted before."""
    if not any(deltas.values()):
        return
    table = model.__table__
    if any(delta < 0 for delta in deltas.values()):
        where = [table.c[name] == value for name, value in key.items()]
        result = db.session.execute(
            sa.update(table).where(*where).values({name: table.c[name] + delta for name, delta in deltas.items()})
        )
        if result.rowcount != 1:
            raise RuntimeError(f"{table.name} has no row for {key}: the counters are out of step")
        return
    counters = [
        name for name in ("registered", "trained", "households", "sessions", "newly_trained") if name in table.c
    ]
    values = {**key, **(insert_only or {}), **{name: deltas.get(name, 0) for name in counters}}
    dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in deltas},
    )
    db.session.execute(statement)


def rebuild() -> None:
    """Make every counter again from the raw rows, in bulk. The caller commits."""
    db.session.flush()
    for table in (learned_topic, VillageTally.__table__, CommuneTopicTally.__table__, CommuneDay.__table__):
        db.session.execute(sa.delete(table))
    first_day = (
        sa.select(sa.func.min(TrainingSession.held_on))
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(Attendance.household_id == Household.id, counting_sessions())
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Household).values(
            is_counted=Household.deleted_at.is_(None),
            trained_on=sa.case((Household.deleted_at.is_(None), first_day), else_=None),
        )
    )
    db.session.execute(
        sa.insert(learned_topic).from_select(
            ["household_id", "topic_id"],
            sa.select(Attendance.household_id, session_topic.c.topic_id)
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .join(session_topic, session_topic.c.session_id == TrainingSession.id)
            .join(Household, Household.id == Attendance.household_id)
            .where(counting_sessions(), Household.deleted_at.is_(None))
            .distinct(),
        )
    )
    db.session.execute(
        sa.insert(VillageTally).from_select(
            ["village_id", "commune_id", "registered", "trained"],
            sa.select(Household.village_id, Household.commune_id, sa.func.count(), sa.func.count(Household.trained_on))
            .where(Household.is_counted)
            .group_by(Household.village_id, Household.commune_id),
        )
    )
    db.session.execute(
        sa.insert(CommuneTopicTally).from_select(
            ["commune_id", "topic_id", "households"],
            sa.select(Household.commune_id, learned_topic.c.topic_id, sa.func.count())
            .join(learned_topic, learned_topic.c.household_id == Household.id)
            .group_by(Household.commune_id, learned_topic.c.topic_id),
        )
    )
    days: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: {"sessions": 0, "newly_trained": 0})
    for commune_id, day, number in db.session.execute(
        sa.select(TrainingSession.commune_id, TrainingSession.held_on, sa.func.count())
        .where(counting_sessions())
        .group_by(TrainingSession.commune_id, TrainingSession.held_on)
    ):
        days[commune_id, day]["sessions"] = number
    for commune_id, day, number in db.session.execute(
        sa.select(Household.commune_id, Household.trained_on, sa.func.count())
        .where(Household.trained_on.is_not(None))
        .group_by(Household.commune_id, Household.trained_on)
    ):
        days[commune_id, day]["newly_trained"] = number
    if days:
        db.session.execute(
            sa.insert(CommuneDay),
            [{"commune_id": commune_id, "day": day, **figures} for (commune_id, day), figures in days.items()],
        )


# ---------------------------------------------------------------------------------------------
# Reading the figures


@dataclass
class CommuneRow:
    code: str
    name: str
    kind: str
    target: int
    trained: int
    registered: int
    sessions: int  # in the period
    volunteers: int  # active in the period
    trained_in_period: int
    last_session_on: date | None

    @property
    def share(self) -> float | None:
        """Trained against target (None when no target is set)."""
        return self.trained / self.target if self.target else None


def province_figures() -> tuple[int, int]:
    """(trained, registered) households of the whole province."""
    trained, registered = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(VillageTally.trained), 0),
            sa.func.coalesce(sa.func.sum(VillageTally.registered), 0),
        )
    ).one()
    return int(trained), int(registered)


def commune_figures(commune_id: int) -> tuple[int, int]:
    """(trained, registered) households of one commune."""
    trained, registered = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(VillageTally.trained), 0),
            sa.func.coalesce(sa.func.sum(VillageTally.registered), 0),
        ).where(VillageTally.commune_id == commune_id)
    ).one()
    return int(trained), int(registered)


def commune_rows(start: date, end: date, commune_ids: list[int] | None = None) -> list[CommuneRow]:
    """Every commune (or the given ones) with all-time and period figures, by name."""
    communes = sa.select(Commune).order_by(Commune.name)
    if commune_ids is not None:
        communes = communes.where(Commune.id.in_(commune_ids))

    def only_asked(select: sa.Select, column) -> sa.Select:
        # One commune's page needs one commune's sums, not the province's.
        return select if commune_ids is None else select.where(column.in_(commune_ids))

    households = dict_of(
        only_asked(
            sa.select(VillageTally.commune_id, sa.func.sum(VillageTally.trained), sa.func.sum(VillageTally.registered)),
            VillageTally.commune_id,
        ).group_by(VillageTally.commune_id)
    )
    period = dict_of(
        only_asked(
            sa.select(CommuneDay.commune_id, sa.func.sum(CommuneDay.sessions), sa.func.sum(CommuneDay.newly_trained)),
            CommuneDay.commune_id,
        )
        .where(CommuneDay.day.between(start, end))
        .group_by(CommuneDay.commune_id)
    )
    last = dict_of(
        only_asked(sa.select(CommuneDay.commune_id, sa.func.max(CommuneDay.day)), CommuneDay.commune_id)
        .where(CommuneDay.sessions > 0)
        .group_by(CommuneDay.commune_id)
    )
    volunteers = dict_of(
        only_asked(
            sa.select(TrainingSession.commune_id, sa.func.count(sa.distinct(TrainingSession.volunteer_id))),
            TrainingSession.commune_id,
        )
        .where(TrainingSession.held_on.between(start, end), counting_sessions())
        .group_by(TrainingSession.commune_id)
    )
    rows = []
    for commune in db.session.scalars(communes):
        trained, registered = households.get(commune.id, (0, 0))
        sessions, trained_in_period = period.get(commune.id, (0, 0))
        rows.append(
            CommuneRow(
                code=commune.code,
                name=commune.name,
                kind=commune.kind,
                target=commune.target_households,
                trained=int(trained or 0),
                registered=int(registered or 0),
                sessions=int(sessions or 0),
                volunteers=int(volunteers.get(commune.id, (0,))[0]),
                trained_in_period=int(trained_in_period or 0),
                last_session_on=last.get(commune.id, (None,))[0],
            )
        )
    return rows


def dict_of(select: sa.Select) -> dict:
    """{first column: (the other columns…)} for a grouped select."""
    return {row[0]: tuple(row[1:]) for row in db.session.execute(select)}


def village_rows(commune_id: int) -> list[dict]:
    """Each village of the commune: registered and trained households."""
    rows = db.session.execute(
        sa.select(Village, VillageTally.registered, VillageTally.trained)
        .outerjoin(VillageTally, VillageTally.village_id == Village.id)
        .where(Village.commune_id == commune_id)
        .order_by(Village.name)
    ).all()
    return [
        {"village": village, "registered": registered or 0, "trained": trained or 0}
        for village, registered, trained in rows
    ]


def village_progress(village_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each village: (trained households, registered households)."""
    progress = {village_id: (0, 0) for village_id in village_ids}
    for village_id, trained, registered in db.session.execute(
        sa.select(VillageTally.village_id, VillageTally.trained, VillageTally.registered).where(
            VillageTally.village_id.in_(village_ids)
        )
    ):
        progress[village_id] = (trained, registered)
    return progress


def topic_rows(commune_id: int | None = None) -> list[tuple[Topic, int]]:
    """Trained households per topic (all topics, active first), for a commune or the province."""
    households = sa.func.coalesce(sa.func.sum(CommuneTopicTally.households), 0)
    join_on = CommuneTopicTally.topic_id == Topic.id
    if commune_id is not None:
        join_on = sa.and_(join_on, CommuneTopicTally.commune_id == commune_id)
    rows = db.session.execute(
        sa.select(Topic, households)
        .outerjoin(CommuneTopicTally, join_on)
        .group_by(Topic.id)
        .order_by(Topic.is_active.desc(), Topic.sort_order)
    ).all()
    return [(topic, int(count)) for topic, count in rows]


def newly_trained_between(start: date, end: date, commune_id: int | None = None) -> int:
    """Households trained for the first time between two dates (inclusive)."""
    select = sa.select(sa.func.coalesce(sa.func.sum(CommuneDay.newly_trained), 0)).where(
        CommuneDay.day.between(start, end)
    )
    if commune_id is not None:
        select = select.where(CommuneDay.commune_id == commune_id)
    return int(db.session.scalar(select))


def monthly(start: date, end: date, commune_id: int | None = None) -> list[tuple[date, int, int]]:
    """(first day of month, households trained for the first time, sessions) for every month
    from start to end, months without activity included."""
    # Summed per day in the database: a few hundred rows come back, not one per commune and day.
    select = (
        sa.select(CommuneDay.day, sa.func.sum(CommuneDay.newly_trained), sa.func.sum(CommuneDay.sessions))
        .where(CommuneDay.day.between(start, end))
        .group_by(CommuneDay.day)
    )
    if commune_id is not None:
        select = select.where(CommuneDay.commune_id == commune_id)
    months: dict[date, list[int]] = {}
    cursor = start.replace(day=1)
    while cursor <= end:
        months[cursor] = [0, 0]
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    for day, newly_trained, sessions in db.session.execute(select):
        bucket = months[day.replace(day=1)]
        bucket[0] += newly_trained
        bucket[1] += sessions
    return [(month, trained, sessions) for month, (trained, sessions) in months.items()]


PROJECTION_YEARS = 20  # beyond this a projected date means nothing to anyone


@dataclass
class Pace:
    per_week: float
    remaining: int
    reached_on: date | None  # None: target met, no progress, or more than 20 years away


def pace(trained: int, target: int, today: date, commune_id: int | None = None, weeks: int = 4) -> Pace:
    """Households trained per week over the last `weeks` weeks, and the date the target
    would be reached at that pace."""
    start = today - timedelta(days=7 * weeks - 1)
    per_week = newly_trained_between(start, today, commune_id) / weeks
    return projection(trained, target, today, per_week)


def projection(trained: int, target: int, today: date, per_week: float) -> Pace:
    remaining = max(target - trained, 0)
    if remaining == 0 or per_week <= 0:
        return Pace(per_week, remaining, None)
    days_needed = -(-remaining * 7 // per_week)  # ceiling, in whole days
    if days_needed > PROJECTION_YEARS * 365:
        return Pace(per_week, remaining, None)
    return Pace(per_week, remaining, today + timedelta(days=int(days_needed)))


def not_reached(village_id: int) -> sa.Select:
    """Registered households of a village that no counting session has reached yet."""
    return (
        sa.select(Household)
        .where(Household.village_id == village_id, Household.deleted_at.is_(None), Household.trained_on.is_(None))
        .order_by(Household.head_name_folded, Household.id)
    )


def volunteer_rows(commune_id: int) -> list[dict]:
    """Each volunteer of the commune, and anyone else who logged sessions there: sessions
    that count, households reached, last session; quiet people first."""
    activity = _activity(TrainingSession.volunteer_id, commune_id)
    people = db.session.scalars(
        sa.select(User)
        .where(sa.or_(User.id.in_(list(activity)), sa.and_(User.commune_id == commune_id, User.role == "volunteer")))
        .order_by(User.full_name)
    ).all()
    rows = [{"user": person, "team": person.team, **activity.get(person.id, NO_ACTIVITY)} for person in people]
    return sorted(rows, key=lambda row: (row["last_session_on"] or date.min, row["user"].full_name))


def team_rows(commune_id: int) -> list[dict]:
    """Each team of the commune: sessions that count, households reached, last session."""
    activity = _activity(TrainingSession.team_id, commune_id)
    teams = db.session.scalars(sa.select(Team).where(Team.commune_id == commune_id).order_by(Team.name)).all()
    return [{"team": team, **activity.get(team.id, NO_ACTIVITY)} for team in teams]


NO_ACTIVITY = {"sessions": 0, "households": 0, "last_session_on": None}


def _activity(group_by: sa.Column, commune_id: int) -> dict[int, dict]:
    """Counting sessions of a commune grouped by volunteer or team: how many, how many
    households they reached, and the last one."""
    rows = db.session.execute(
        sa.select(
            group_by,
            sa.func.count(sa.distinct(TrainingSession.id)),
            sa.func.count(sa.distinct(Attendance.household_id)),
            sa.func.max(TrainingSession.held_on),
        )
        .join(Attendance, Attendance.session_id == TrainingSession.id)
        .where(TrainingSession.commune_id == commune_id, counting_sessions(), group_by.is_not(None))
        .group_by(group_by)
    )
    return {key: {"sessions": s, "households": h, "last_session_on": last} for key, s, h, last in rows}
