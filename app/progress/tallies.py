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
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.clock import local_today, utcnow
from app.extensions import db
from app.models import (
    COUNTER_TABLES,
    ActivityTally,
    Attendance,
    Commune,
    CommuneDay,
    CommuneMonth,
    CommuneTopicTally,
    Household,
    ReachTally,
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
from app.progress import counter_writes

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
    """Where a session stands in the counters: its commune, its day, who held it, whether
    it counts."""

    commune_id: int
    day: date
    volunteer_id: int
    team_id: int | None
    counts: bool

    def actors(self) -> list[tuple[str, int]]:
        """The activity counters the session moves: its volunteer's and its team's."""
        return [("volunteer", self.volunteer_id)] + ([("team", self.team_id)] if self.team_id else [])

    def actor_keys(self) -> list[tuple[int, str, int]]:
        return [(self.commune_id, kind, actor_id) for kind, actor_id in self.actors()]


def session_mark(session: TrainingSession) -> SessionMark | None:
    """Take this before changing a saved session (None for a new one)."""
    if session.id is None:
        return None
    return SessionMark(session.commune_id, session.held_on, session.volunteer_id, session.team_id, counts(session))


def attendee_ids(session: TrainingSession) -> set[int]:
    return {attendance.household_id for attendance in session.attendances}


def session_changed(session: TrainingSession, before: SessionMark | None, households_before: set[int]) -> None:
    """Move the counters after a session was created, edited, verified, rejected, deleted or
    restored. `before` and `households_before` were taken before the change."""
    db.session.flush()
    after = session_mark(session)
    households_after = attendee_ids(session)
    if before is None:
        session_logged(after, households_after, [topic.id for topic in session.topics])
        return
    moves = _Moves()
    if before.counts:
        _move_session(before, households_before, -1, moves)
    if after.counts:
        _move_session(after, households_after, 1, moves)
    # The session's own rows are written with the households' moves, after their locks.
    _recount(households_before | households_after, moves)
    # A new session only moves its actors' last day forward, in their upserts (`later`);
    # any other change may take away someone's last session.
    moves.last_days_of = {*before.actor_keys(), *after.actor_keys()}
    moves.write()


def session_logged(mark: SessionMark, household_ids, topic_ids: list[int], locked: list[sa.Row] | None = None) -> None:
    """Move the counters for a new session: `session_changed` from the session's mark and
    ids alone, for a session written as plain rows rather than as an object (app/logbook).
    `locked`: the rows of all its households, read with `households_locked` in this
    transaction, where that read locks them; else they are locked and read here."""
    ids = sorted(set(household_ids))
    if locked is not None and sorted(household.id for household in locked) != ids:
        raise ValueError(f"the locked households {[h.id for h in locked]} are not the session's {ids}")
    moves = _Moves()
    if mark.counts:
        _move_session(mark, set(ids), 1, moves)
    # The session's own rows are written with the households' moves, after their locks.
    _count_in_new_session(mark, ids, topic_ids, moves, locked)
    moves.write()


# Each given (commune, kind, actor) row's last day, read back from the sessions: one seek
# each along ix_training_session_by_volunteer / _by_team. Built once.
_LAST_DAY_OF = {
    kind: sa.update(ActivityTally)
    .where(
        ActivityTally.commune_id == sa.bindparam("commune"),
        ActivityTally.kind == kind,
        ActivityTally.actor_id == sa.bindparam("actor"),
    )
    .values(
        last_held_on=sa.select(sa.func.max(TrainingSession.held_on))
        .where(
            TrainingSession.commune_id == sa.bindparam("commune"), actor == sa.bindparam("actor"), counting_sessions()
        )
        .scalar_subquery()
    )
    for kind, actor in (("volunteer", TrainingSession.volunteer_id), ("team", TrainingSession.team_id))
}
_LOCK_ACTIVITY = (
    sa.select(ActivityTally.commune_id)
    .where(
        sa.tuple_(ActivityTally.commune_id, ActivityTally.kind, ActivityTally.actor_id).in_(
            sa.bindparam("keys", expanding=True)
        )
    )
    .order_by(ActivityTally.commune_id, ActivityTally.kind, ActivityTally.actor_id)
    .with_for_update()
)


def _refresh_last_days(actor_keys: set[tuple[int, str, int]], connection) -> None:
    """Set the last day of the activity rows a change touched. Read back rather than moved:
    a session that stops counting may have been anyone's last.

    The rows are locked first, in key order like every other writer's, and read back in
    statements of their own: on PostgreSQL a statement that waited for a row still reads the
    sessions as they were when it began, without the session its writer just committed."""
    keys = sorted(actor_keys)
    connection.execute(_LOCK_ACTIVITY, {"keys": keys})
    for kind, statement in _LAST_DAY_OF.items():
        rows = [{"commune": commune, "actor": actor} for commune, of_kind, actor in keys if of_kind == kind]
        if rows:
            connection.execute(statement, rows)


def _move_session(mark: SessionMark, households: set[int], delta: int, moves: "_Moves") -> None:
    """Count a session in (delta 1) or out (delta -1): its day, its volunteer's and team's
    sessions, and the households each of them reached. An edit that changes nothing
    sums to zero and writes nothing."""
    _move_day(moves.add, mark.commune_id, mark.day, sessions=delta)
    later = {"last_held_on": mark.day} if delta > 0 else None
    for kind, actor_id in mark.actors():
        key = {"commune_id": mark.commune_id, "kind": kind, "actor_id": actor_id}
        moves.add(ActivityTally, key, later=later, sessions=delta)
        for household_id in households:
            key = {"commune_id": mark.commune_id, "kind": kind, "actor_id": actor_id, "household_id": household_id}
            moves.add(ReachTally, key, sessions=delta)


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
    households = _locked_households(ids)
    topics_before = _learned_topics(ids)
    # One read for both: each household's first day at a counting session, and the topics
    # of those sessions (an outer join: a session without topics still trains its households).
    first_days: dict[int, date] = {}
    topics_now: dict[int, set[int]] = defaultdict(set)
    for household_id, topic_id, first_day in db.session.execute(
        sa.select(Attendance.household_id, session_topic.c.topic_id, sa.func.min(TrainingSession.held_on))
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .outerjoin(session_topic, session_topic.c.session_id == TrainingSession.id)
        .where(Attendance.household_id.in_(ids), counting_sessions())
        .group_by(Attendance.household_id, session_topic.c.topic_id)
    ):
        if household_id not in first_days or first_day < first_days[household_id]:
            first_days[household_id] = first_day
        if topic_id is not None:
            topics_now[household_id].add(topic_id)
    for household in households:
        registered = household.deleted_at is None
        _move_household(household, registered, first_days.get(household.id) if registered else None, moves)
        topics = topics_now[household.id] if registered else set()
        for topic_id in topics - topics_before[household.id]:
            moves.learn(household, topic_id)
        for topic_id in topics_before[household.id] - topics:
            moves.unlearn(household, topic_id)


def _count_in_new_session(
    mark: SessionMark, ids: list[int], topic_ids: list[int], moves: "_Moves", locked: list[sa.Row] | None
) -> None:
    """Add the moves of a new session's households. A new session only adds: a household it
    counts for is trained from the earlier of its first day and this session's day, and has
    learned this session's topics too. That follows from each household's own counted state,
    read under its lock, without reading all its sessions again as `_recount` does (logging
    is the write done most often). A household whose counted state is not its registered
    state (never the case once the counters are exact) is recounted from the raw rows."""
    households = _locked_households(ids) if locked is None else locked
    if any(household.is_counted != (household.deleted_at is None) for household in households):
        _recount(ids, moves)
        return
    for household in households:
        registered = household.deleted_at is None
        days = [day for day in (household.trained_on, mark.day if mark.counts else None) if day is not None]
        _move_household(household, registered, min(days, default=None) if registered else None, moves)
    if mark.counts:
        registered = [household for household in households if household.deleted_at is None]
        moves.teach(registered, topic_ids)


def households_locked(*columns) -> sa.Select:
    """Households by the list `ids`, locked in id order as every writer locks them (see
    `_recount`), with what counting needs of them and the given columns. A writer that reads
    its households anyway can take their locks with that read, where a read takes row locks
    (`locks_on_read`): app/logbook does, for a new session."""
    return (
        sa.select(Household.id, Household.village_id, Household.commune_id, Household.deleted_at,
                  Household.is_counted, Household.trained_on, *columns)
        .where(Household.id.in_(sa.bindparam("ids", expanding=True)))
        .order_by(Household.id)
        .with_for_update(key_share=True)
    )  # fmt: skip


def locks_on_read() -> bool:
    """Whether `households_locked` locks the rows it reads, whenever it is run: on PostgreSQL
    it does. SQLite has no row locks, and its one writer's lock begins with the first write,
    so rows read before it must be read again after it."""
    return db.session.connection().dialect.name == "postgresql"


_LOCK_HOUSEHOLDS = households_locked()


def _locked_households(ids: list[int]) -> list[sa.Row]:
    """The households' counted state as the database has it, locked in id order. Plain rows,
    not objects: the request may hold these households from before another writer committed
    (validation reads them), and the counted state must come from the locked rows."""
    db.session.flush()
    return db.session.connection().execute(_LOCK_HOUSEHOLDS, {"ids": ids}).all()


_LEARNED_TOPICS = sa.select(learned_topic).where(learned_topic.c.household_id.in_(sa.bindparam("ids", expanding=True)))


def _learned_topics(ids: list[int]) -> dict[int, set[int]]:
    """The topics each household has learned, read in a statement of its own once the
    households are locked. Not joined to the locking read: on PostgreSQL a statement that
    waited for a lock still sees the other tables as they were when it began, before the
    writer it waited for committed the topics it taught."""
    learned: dict[int, set[int]] = defaultdict(set)
    for household_id, topic_id in db.session.connection().execute(_LEARNED_TOPICS, {"ids": ids}):
        learned[household_id].add(topic_id)
    return learned


# The statements every write runs, built once (building one costs more than running it).
_LEARN = sa.insert(learned_topic)
_UNLEARN = sa.delete(learned_topic).where(
    learned_topic.c.household_id == sa.bindparam("household"), learned_topic.c.topic_id == sa.bindparam("topic")
)
_REACH_KEY = sa.tuple_(ReachTally.commune_id, ReachTally.kind, ReachTally.actor_id, ReachTally.household_id)
_REACH_SESSIONS = sa.select(*_REACH_KEY.clauses, ReachTally.sessions).where(
    _REACH_KEY.in_(sa.bindparam("keys", expanding=True))
)
_REACH_GONE = sa.delete(ReachTally).where(_REACH_KEY.in_(sa.bindparam("keys", expanding=True)))


class _Moves:
    """Counter moves of many households summed per counter row, then written once per row:
    an import of thousands of households into a few villages is a few writes, not thousands.
    Rows are written in a fixed order, so two writers lock them in the same order.

    Also what belongs to the locked households alone (their counted state, learned topics
    and reach rows): no other writer can wait on those rows, so their order does not matter."""

    def __init__(self) -> None:
        self._rows: dict[tuple, tuple[type, dict, dict | None, dict[str, int], dict]] = {}
        self.households: list[dict] = []
        self.learned: list[dict[str, int]] = []
        self.unlearned: list[dict[str, int]] = []
        self.taught: list[counter_writes.Teach] = []
        self._commune_of: dict[int, int] = {}  # household id -> commune id, for `taught`
        self.last_days_of: set[tuple[int, str, int]] = set()  # activity rows to read their last day for

    def add(self, model, key: dict, insert_only: dict | None = None, later: dict | None = None, **deltas: int) -> None:
        """Sum `deltas` into the row's moves; `later` holds days (counter_writes.LATEST) the
        row takes if they are later than its own."""
        row_key = (model.__tablename__, *key.values())
        _, _, _, summed, latest = self._rows.setdefault(row_key, (model, key, insert_only, defaultdict(int), {}))
        for name, delta in deltas.items():
            summed[name] += delta
        for name, day in (later or {}).items():
            latest[name] = max(latest.get(name, day), day)

    def learn(self, household: sa.Row, topic_id: int) -> None:
        """The household has learned a topic it had not (known from a read under its lock)."""
        self.add(CommuneTopicTally, {"commune_id": household.commune_id, "topic_id": topic_id}, households=1)
        self.learned.append({"household_id": household.id, "topic_id": topic_id})

    def unlearn(self, household: sa.Row, topic_id: int) -> None:
        self.add(CommuneTopicTally, {"commune_id": household.commune_id, "topic_id": topic_id}, households=-1)
        self.unlearned.append({"household": household.id, "topic": topic_id})

    def teach(self, households: list[sa.Row], topic_ids: list[int]) -> None:
        """The households attended a session of these topics. Each pair they had not learned
        is learned, and moves its commune's topic counter: which pairs those are is found
        when written (`write`), without reading what the households learned before."""
        if households and topic_ids:
            self.taught.append(counter_writes.Teach([household.id for household in households], topic_ids))
            self._commune_of.update((household.id, household.commune_id) for household in households)

    def _teach_and_reach(self, connection) -> None:
        """Write the topics taught and the reach rows, before the shared counters: they belong
        to the locked households alone (only a writer holding a household's lock moves its
        learned topics and reach rows), so they can go in any order, and those that add go in
        one statement (counter_writes.answering). A pair learned now moves its commune's topic
        counter. A reach row that appears adds one to its volunteer's (or team's) households;
        a row whose sessions fall to zero is deleted and takes one away."""
        moved = [row for row in self._rows.values() if row[0] is ReachTally and row[3]["sessions"]]
        self._rows = {row_key: row for row_key, row in self._rows.items() if row[0] is not ReachTally}
        adding, taking = counter_writes.Add(ReachTally), counter_writes.Take(ReachTally)
        for _model, key, _insert_only, summed, _latest in moved:
            (adding if summed["sessions"] > 0 else taking).rows.append((key, {}, summed, {}))
        *learned_now, reached = counter_writes.answering([*self.taught, adding], connection)
        for household_id, topic_id in (pair for pairs in learned_now for pair in pairs):
            key = {"commune_id": self._commune_of[household_id], "topic_id": topic_id}
            self.add(CommuneTopicTally, key, households=1)
        added = {tuple(key.values()): summed["sessions"] for key, _none, summed, _days in adding.rows}
        for *key, sessions in reached:
            if sessions == added[tuple(key)]:  # it holds only what was just added: it is new
                self._count_reached(*key, change=1)
        if not taking.rows:
            return
        keys = [tuple(key.values()) for key, _none, _summed, _days in taking.rows]
        before = {tuple(row[:4]): row[4] for row in connection.execute(_REACH_SESSIONS, {"keys": keys})}
        gone = sorted(key for key, row in zip(keys, taking.rows, strict=True) if before.get(key) == -row[2]["sessions"])
        if gone:
            connection.execute(_REACH_GONE, {"keys": gone})
            for key in gone:
                self._count_reached(*key, change=-1)
        taking.rows = [row for key, row in zip(keys, taking.rows, strict=True) if key not in gone]
        counter_writes.write([taking], connection)

    def _count_reached(self, commune_id: int, kind: str, actor_id: int, _household_id: int, change: int) -> None:
        self.add(ActivityTally, {"commune_id": commune_id, "kind": kind, "actor_id": actor_id}, households=change)

    def write(self) -> None:
        """Write the moves. First what belongs to the locked households alone (learned
        topics, reach rows); then the shared counter rows, table after table (activity first),
        each in key order, so two writers never wait on each other in a circle. Those go in
        few statements (counter_writes): logging a session moves a dozen rows."""
        # The session's own connection: the same transaction, without the session's work on
        # each statement.
        connection = db.session.connection()
        if self.learned:
            connection.execute(_LEARN, self.learned)
        if self.unlearned:
            connection.execute(_UNLEARN, self.unlearned)
        self._teach_and_reach(connection)
        if self.last_days_of:
            _refresh_last_days(self.last_days_of, connection)
        steps: list = [counter_writes.SetCounted(self.households, utcnow())]
        for row_key in sorted(self._rows):
            model, key, insert_only, summed, latest = self._rows[row_key]
            if not any(summed.values()):
                continue
            kind = counter_writes.Take if any(delta < 0 for delta in summed.values()) else counter_writes.Add
            if not (type(steps[-1]) is kind and steps[-1].model is model):
                steps.append(kind(model))
            steps[-1].rows.append((key, insert_only or {}, summed, latest))
        counter_writes.write(steps, connection)


def _move_household(household: sa.Row, registered: bool, trained_on: date | None, moves: _Moves) -> None:
    """Move the counters from a household's counted state (a row of `_LOCK_HOUSEHOLDS`) to the
    given one, and record that state for `_Moves.write`. Its topics are the caller's."""
    bump = moves.add
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
            _move_day(bump, household.commune_id, household.trained_on, newly_trained=-1)
        if trained_on is not None:
            _move_day(bump, household.commune_id, trained_on, newly_trained=1)
    if household.is_counted != registered or household.trained_on != trained_on:
        moves.households.append({"household": household.id, "counted": registered, "first_day": trained_on})
    # Written by `_Moves.write`, in one statement for all the households; a household object
    # the request holds learns the state too, without an UPDATE of its own at the next flush.
    loaded = db.session.identity_map.get(identity_key(Household, household.id))
    if loaded is not None:
        set_committed_value(loaded, "is_counted", registered)
        set_committed_value(loaded, "trained_on", trained_on)


def _move_day(bump, commune_id: int, day: date, **deltas: int) -> None:
    """A move of a commune's day is also a move of its month."""
    bump(CommuneDay, {"commune_id": commune_id, "day": day}, **deltas)
    bump(CommuneMonth, {"commune_id": commune_id, "month": day.replace(day=1)}, **deltas)


def rebuild() -> None:
    """Make every counter again from the raw rows, in bulk. The caller commits."""
    db.session.flush()
    for table in COUNTER_TABLES:
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
    months: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: {"sessions": 0, "newly_trained": 0})
    for (commune_id, day), figures in days.items():
        for name, number in figures.items():
            months[commune_id, day.replace(day=1)][name] += number
    for model, key, rows in ((CommuneDay, "day", days), (CommuneMonth, "month", months)):
        if rows:
            db.session.execute(
                sa.insert(model),
                [{"commune_id": commune_id, key: when, **figures} for (commune_id, when), figures in rows.items()],
            )
    for kind, actor in (("volunteer", TrainingSession.volunteer_id), ("team", TrainingSession.team_id)):
        db.session.execute(
            sa.insert(ActivityTally).from_select(
                ["commune_id", "kind", "actor_id", "sessions", "last_held_on"],
                sa.select(
                    TrainingSession.commune_id,
                    sa.literal(kind),
                    actor,
                    sa.func.count(),
                    sa.func.max(TrainingSession.held_on),
                )
                .where(counting_sessions(), actor.is_not(None))
                .group_by(TrainingSession.commune_id, actor),
            )
        )
        db.session.execute(
            sa.insert(ReachTally).from_select(
                ["commune_id", "kind", "actor_id", "household_id", "sessions"],
                sa.select(TrainingSession.commune_id, sa.literal(kind), actor, Attendance.household_id, sa.func.count())
                .join(Attendance, Attendance.session_id == TrainingSession.id)
                .where(counting_sessions(), actor.is_not(None))
                .group_by(TrainingSession.commune_id, actor, Attendance.household_id),
            )
        )
    reached = (
        sa.select(ReachTally.commune_id, ReachTally.kind, ReachTally.actor_id, sa.func.count().label("households"))
        .group_by(ReachTally.commune_id, ReachTally.kind, ReachTally.actor_id)
        .subquery()
    )
    db.session.execute(
        sa.update(ActivityTally)
        .where(
            ActivityTally.commune_id == reached.c.commune_id,
            ActivityTally.kind == reached.c.kind,
            ActivityTally.actor_id == reached.c.actor_id,
        )
        .values(households=reached.c.households)
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
    """Every commune (or the given ones) with all-time and period figures, by name, in one
    statement whatever their number."""
    select = _commune_rows_statement(commune_ids is not None, db.session.connection().dialect.name)
    parameters = {"start": start, "end": end, "ids": commune_ids or []}
    rows = []
    for code, name, kind, target, *figures, last_session_on in db.session.execute(select, parameters):
        trained, registered, sessions, volunteers, trained_in_period = (int(figure or 0) for figure in figures)
        rows.append(
            CommuneRow(
                code, name, kind, target, trained, registered, sessions, volunteers, trained_in_period, last_session_on
            )
        )
    return rows


@cache
def _commune_rows_statement(some_communes: bool, dialect_name: str) -> sa.Select:
    """commune_rows' statement, built once (building it cost a third of the province
    dashboard's time in the database layer): the period and the communes are parameters.

    PostgreSQL sums each counter table per commune in one grouped read; SQLite walks each
    commune's rows along the table's key, which it does faster than it groups
    (bench.dashboards). The last day with a session is walked back to on both: grouping two
    years of days costs more."""
    start, end = sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
    ids = sa.bindparam("ids", expanding=True)
    grouped: list[sa.Subquery] = []

    def per_commune(model, *figures, where=()) -> list[sa.ColumnElement]:
        """Each figure over one commune's rows of `model` (that meet `where`)."""
        if dialect_name != "postgresql":
            return [
                sa.select(figure).where(model.commune_id == Commune.id, *where).scalar_subquery() for figure in figures
            ]
        select = sa.select(model.commune_id, *(figure.label(f"figure_{n}") for n, figure in enumerate(figures)))
        select = select.where(*where).group_by(model.commune_id)
        grouped.append((select.where(model.commune_id.in_(ids)) if some_communes else select).subquery())
        return [grouped[-1].c[f"figure_{n}"] for n in range(len(figures))]

    trained, registered = per_commune(
        VillageTally, sa.func.sum(VillageTally.trained), sa.func.sum(VillageTally.registered)
    )
    sessions, newly_trained = per_commune(
        CommuneDay, sa.func.sum(CommuneDay.sessions), sa.func.sum(CommuneDay.newly_trained),
        where=[CommuneDay.day.between(start, end)],
    )  # fmt: skip
    held_in_period = (
        sa.select(TrainingSession.id)
        .where(
            TrainingSession.commune_id == ActivityTally.commune_id,
            TrainingSession.volunteer_id == ActivityTally.actor_id,
            TrainingSession.held_on.between(start, end),
            counting_sessions(),
        )
        .exists()
    )
    (volunteers,) = per_commune(
        ActivityTally,
        sa.func.count(),
        where=[
            ActivityTally.kind == "volunteer",
            ActivityTally.sessions > 0,
            ActivityTally.last_held_on >= start,
            # Last seen inside the period: active. Only a period that ended before someone's
            # last session asks their sessions (the usual period ends today).
            sa.case((ActivityTally.last_held_on <= end, sa.true()), else_=held_in_period),
        ],
    )
    last_day = (
        sa.select(sa.func.max(CommuneDay.day))
        .where(CommuneDay.commune_id == Commune.id, CommuneDay.sessions > 0)
        .scalar_subquery()
    )
    select = sa.select(
        Commune.code, Commune.name, Commune.kind, Commune.target_households,
        trained, registered, sessions, volunteers, newly_trained, last_day,
    ).order_by(Commune.name)  # fmt: skip
    for figures in grouped:
        select = select.outerjoin(figures, figures.c.commune_id == Commune.id)
    return select.where(Commune.id.in_(ids)) if some_communes else select


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
    rows = db.session.execute(_topic_rows_statement(commune_id is not None), {"commune_id": commune_id}).all()
    return [(topic, int(count)) for topic, count in rows]


@cache
def _topic_rows_statement(of_one_commune: bool) -> sa.Select:
    """Built once: building it cost more than running it. The counters are summed per topic
    before the join: joined first, SQLite built an index of every commune's topic rows for
    each view of the province dashboard."""
    summed = sa.select(CommuneTopicTally.topic_id, sa.func.sum(CommuneTopicTally.households).label("households"))
    if of_one_commune:
        summed = summed.where(CommuneTopicTally.commune_id == sa.bindparam("commune_id"))
    summed = summed.group_by(CommuneTopicTally.topic_id).subquery()
    return (
        sa.select(Topic, sa.func.coalesce(summed.c.households, 0))
        .outerjoin(summed, summed.c.topic_id == Topic.id)
        .order_by(Topic.is_active.desc(), Topic.sort_order)
    )


def newly_trained_between(start: date, end: date, commune_id: int | None = None) -> int:
    """Households trained for the first time between two dates (inclusive)."""
    statement = _newly_trained_statement(commune_id is not None)
    return int(db.session.scalar(statement, {"start": start, "end": end, "commune_id": commune_id}))


@cache
def _newly_trained_statement(of_one_commune: bool) -> sa.Select:
    """Built once: building it cost more than running it."""
    select = sa.select(sa.func.coalesce(sa.func.sum(CommuneDay.newly_trained), 0))
    select = select.where(
        CommuneDay.day.between(sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date))
    )
    if of_one_commune:
        select = select.where(CommuneDay.commune_id == sa.bindparam("commune_id"))
    return select


def monthly(start: date, end: date, commune_id: int | None = None) -> list[tuple[date, int, int]]:
    """(first day of month, households trained for the first time, sessions) for every month
    from start to end, months without activity included."""
    months: dict[date, list[int]] = {}
    cursor = start.replace(day=1)
    while cursor <= end:
        months[cursor] = [0, 0]
        cursor = _next_month(cursor)
    for (_commune, month), (trained, sessions) in _month_figures(start, end, commune_id).items():
        months[month] = [trained, sessions]
    return [(month, trained, sessions) for month, (trained, sessions) in months.items()]


def _month_figures(start: date, end: date, commune_id: int | None = None, per_commune: bool = False) -> dict:
    """{(commune id or None, first day of month): [newly trained, sessions]} from start to end.
    Whole months come from the month counters; the days of a month cut by `start` or `end`
    from the day counters. No session is held after today (logging refuses a later date), so
    a month cut by an `end` of today or later is read whole: the dashboards' trend ends today,
    and the days of its month were a scan of every commune's days (bench.dashboards)."""
    first_whole = start if start.day == 1 else _next_month(start)
    month_ends = _next_month(end) - timedelta(days=1) == end or end >= local_today()
    after_whole = _next_month(end) if month_ends else end.replace(day=1)

    reads, day_ranges = [], [(start, end)]
    if first_whole < after_whole:
        reads.append((CommuneMonth, first_whole, after_whole - timedelta(days=1)))
        day_ranges = [(start, first_whole - timedelta(days=1)), (after_whole, end)]
    reads += [(CommuneDay, low, high) for low, high in day_ranges if low <= high]
    figures: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for model, low, high in reads:
        statement = _summed_by_month(model, per_commune, commune_id is not None)
        for commune, when, newly_trained, sessions in db.session.execute(
            statement, {"low": low, "high": high, "commune_id": commune_id}
        ):
            bucket = figures[commune, when.replace(day=1)]
            bucket[0] += int(newly_trained)
            bucket[1] += int(sessions)
    return dict(figures)


@cache
def _summed_by_month(model, per_commune: bool, of_one_commune: bool) -> sa.Select:
    """Newly trained and sessions of a day or month counter between `low` and `high`, per
    day or month (and per commune): built once, as building it cost more than running it."""
    when = model.month if model is CommuneMonth else model.day
    commune = model.commune_id if per_commune else sa.null()
    select = sa.select(commune, when, sa.func.sum(model.newly_trained), sa.func.sum(model.sessions))
    select = select.where(when.between(sa.bindparam("low", type_=sa.Date), sa.bindparam("high", type_=sa.Date)))
    if of_one_commune:
        select = select.where(model.commune_id == sa.bindparam("commune_id"))
    return select.group_by(*([model.commune_id] if per_commune else []), when)


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


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


def activity_rows(commune_id: int) -> tuple[list[dict], list[dict]]:
    """The commune's teams and its volunteers (and anyone else who logged sessions there),
    each with sessions that count, households reached and last session; quiet people first."""
    activity = _activity(commune_id)
    teams = db.session.scalars(sa.select(Team).where(Team.commune_id == commune_id).order_by(Team.name)).all()
    people = db.session.scalars(
        sa.select(User)
        .where(
            sa.or_(
                User.id.in_(list(activity["volunteer"])),
                sa.and_(User.commune_id == commune_id, User.role == "volunteer"),
            )
        )
        .order_by(User.full_name)
    ).all()
    team_rows = [{"team": team, **activity["team"].get(team.id, NO_ACTIVITY)} for team in teams]
    volunteer_rows = [
        {"user": person, "team": person.team, **activity["volunteer"].get(person.id, NO_ACTIVITY)} for person in people
    ]
    volunteer_rows.sort(key=lambda row: (row["last_session_on"] or date.min, row["user"].full_name))
    return team_rows, volunteer_rows


NO_ACTIVITY = {"sessions": 0, "households": 0, "last_session_on": None}


def _activity(commune_id: int) -> dict[str, dict[int, dict]]:
    """{"volunteer"/"team": {id: sessions that count, households reached, last session}}."""
    activity: dict[str, dict[int, dict]] = {"volunteer": {}, "team": {}}
    for kind, actor_id, sessions, households, last in db.session.execute(
        sa.select(
            ActivityTally.kind,
            ActivityTally.actor_id,
            ActivityTally.sessions,
            ActivityTally.households,
            ActivityTally.last_held_on,
        ).where(ActivityTally.commune_id == commune_id, ActivityTally.sessions > 0)
    ):
        activity[kind][actor_id] = {"sessions": sessions, "households": households, "last_session_on": last}
    return activity


# ---------------------------------------------------------------------------------------------
# Open data


def sessions_by_commune_month(start: date, end: date) -> dict[str, dict[date, int]]:
    """Sessions that count, per commune (by official code) and month, from start to end:
    {code: {first day of month: sessions}}; communes and months without sessions are left out."""
    codes = dict(db.session.execute(sa.select(Commune.id, Commune.code)).tuples().all())
    sessions: dict[str, dict[date, int]] = defaultdict(dict)
    for (commune_id, month), (_trained, number) in _month_figures(start, end, per_commune=True).items():
        if number:
            sessions[codes[commune_id]][month] = number
    return dict(sessions)
