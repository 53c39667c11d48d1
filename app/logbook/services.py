"""Logging training sessions: the one service behind the session form and the JSON API.

Both doors hand over the same plain dict (the API's body):
    {"uuid", "date", "village_id", "topics": [codes],
     "households": [{"id": n} | {"uuid", "head_name", "address", "phone"}],
     "language", "attendees", "notes"}
and get back a saved session, field errors (InvalidSession), a conflict, or a 404.
"""

import hashlib
import json
import re
import uuid as uuid_module
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import abort
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from app.auth.access import (
    Permission,
    can,
    can_change_session,
    get_all_visible_or_404,
    is_visible,
    visible_or_404,
)
from app.clock import local_today, utcnow
from app.extensions import db
from app.households.services import NewHousehold, add_household
from app.models import (
    Attendance,
    Commune,
    Household,
    InstructionLanguage,
    SessionStatus,
    Topic,
    TrainingSession,
    User,
    Village,
    session_topic,
)
from app.models.audit import INSERT_EVENT, AuditEvent, event_values, record
from app.progress import tallies
from app.text import clean_name, normalise_phone

VOLUNTEER_DAYS_BACK = 30
MAX_NAME = 120
MAX_ADDRESS = 200
MAX_NOTES = 2000
MAX_ATTENDEES = 1000
MAX_HOUSEHOLDS = 200
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")


class InvalidSession(ValueError):
    """Bad input: `errors` maps a field ("date", "households.2.phone", …) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


class SessionConflict(Exception):
    """The uuid is already used by a session with other content."""

    def __init__(self, session: TrainingSession):
        super().__init__(session.uuid)
        self.session = session


class ChosenVillage(NamedTuple):
    """The session's village as validation reads it (a row, not an object)."""

    id: int
    commune_id: int
    commune_code: str


class ChosenTopic(NamedTuple):
    """A chosen topic as validation reads it."""

    id: int
    code: str


@dataclass
class SessionData:
    """A session's input after every rule has passed. Validation reads plain rows, not
    objects: the households' are their id, uuid, head_name, commune_id and deleted_at."""

    uuid: str
    held_on: date
    village: ChosenVillage
    topics: list[ChosenTopic]
    households: list[sa.Row]
    new_households: list[NewHousehold]
    language: str | None
    attendees: int | None
    notes: str | None
    fingerprint: str = field(default="")
    # The households were read with tallies.households_locked, and are locked (validate's `lock`).
    households_locked: bool = False


@dataclass(frozen=True)
class SavedSession:
    """A saved session as it is answered (the API's body, the form's message) and audited:
    its row, its commune's code, its topics' codes in list order and its households (id,
    uuid, head_name) by id. A new session is answered from what was just written, without
    reading it back as objects: that bookkeeping cost more than writing it (bench.logging)."""

    id: int | None  # None only while it is being written
    uuid: str
    held_on: date
    commune_id: int
    commune_code: str
    village_id: int
    volunteer_id: int
    team_id: int | None
    topic_codes: list[str]
    households: list[Any]
    language: str | None
    attendees: int | None
    notes: str | None
    status: str
    deleted_at: None = None  # a session is saved, and answered, before anyone can delete it

    @property
    def household_ids(self) -> list[int]:
        return [household.id for household in self.households]

    @classmethod
    def of(cls, session: TrainingSession) -> "SavedSession":
        """A session loaded as an object (the same post again)."""
        return cls(
            id=session.id,
            uuid=session.uuid,
            held_on=session.held_on,
            commune_id=session.commune_id,
            commune_code=session.village.commune.code,
            village_id=session.village_id,
            volunteer_id=session.volunteer_id,
            team_id=session.team_id,
            topic_codes=session.topic_codes,
            households=sorted((a.household for a in session.attendances), key=lambda household: household.id),
            language=session.language,
            attendees=session.attendees,
            notes=session.notes,
            status=session.status,
        )


def log_session(raw: dict[str, Any], user: User) -> tuple[SavedSession, bool]:
    """Save a new session, exactly once per uuid. Returns (session, created).

    The same uuid with the same content returns the saved session (created=False); with other
    content it raises SessionConflict. Bad input raises InvalidSession; villages and households
    the user may not see answer 404. Commits.
    """
    try:
        return _log_session_once(raw, user)
    except IntegrityError:
        # Another request saved the same session, or the same new household, between our
        # checks and our write. Once more from the start finds what it saved.
        db.session.rollback()
        return _log_session_once(raw, user)


def _log_session_once(raw: dict[str, Any], user: User) -> tuple[SavedSession, bool]:
    fingerprint = fingerprint_of(raw)
    try:
        # The read that checks the households also locks them for counting, where it can.
        data = validate(raw, user, lock=tallies.locks_on_read())
    except (InvalidSession, NotFound):
        # The same post again answers with what was saved, even when its rules have changed
        # since (the date is now too long ago, a household was removed).
        replay = _replay(raw, fingerprint, user)
        if replay is not None:
            return SavedSession.of(replay), False
        raise
    saved = _insert_new_session(data, fingerprint, user)
    if saved is None:
        # The uuid is taken: the same post again, or another post with the same uuid. Nearly
        # every post is new, so the INSERT finds this out rather than a read before it.
        db.session.rollback()  # the new households this post may have added
        replay = _replay(raw, fingerprint, user)
        if replay is None:  # sessions are never deleted from the table
            raise RuntimeError(f"session {data.uuid}: its uuid is taken, yet no session holds it")
        return SavedSession.of(replay), False
    tallies.session_logged(
        tallies.session_mark(saved),
        saved.household_ids,
        [topic.id for topic in data.topics],
        locked=data.households if data.households_locked else None,
    )
    _commit_keeping_loaded()
    return saved, True


def _insert_new_session(data: SessionData, fingerprint: str, user: User) -> SavedSession | None:
    """Save a new session: its row, then its topics, households (new households first) and
    audit row. None, with nothing of the session written, when its uuid is already taken.

    The unit of work would write the same rows, but its bookkeeping for a session's handful
    of rows costs more than all the rest of logging it (bench.logging): the rows go in
    directly, and the answer is made of what was written."""
    # New households are counted with the session's other households (session_logged), in
    # one pass that locks households before counters: counting each one here would lock its
    # village's counter first, and two writers could then wait on each other (PostgreSQL).
    households = list(data.households)
    households += [add_household(data.village, new, user, count=False) for new in data.new_households]
    db.session.flush()  # the new households' ids
    by_id = {household.id: household for household in households}
    connection = db.session.connection()
    now = utcnow()
    values = {
        "uuid": data.uuid,
        "fingerprint": fingerprint,
        "held_on": data.held_on,
        "commune_id": data.village.commune_id,
        "village_id": data.village.id,
        "volunteer_id": user.id,
        "team_id": user.team_id,
        "status": SessionStatus.PENDING,
        "language": data.language,
        "attendees": data.attendees,
        "notes": data.notes,
        "created_at": now,
        "updated_at": now,
    }
    saved = SavedSession(
        id=None,
        uuid=data.uuid,
        held_on=data.held_on,
        commune_id=data.village.commune_id,
        commune_code=data.village.commune_code,
        village_id=data.village.id,
        volunteer_id=user.id,
        team_id=user.team_id,
        topic_codes=[topic.code for topic in data.topics],
        households=[by_id[household_id] for household_id in sorted(by_id)],
        language=data.language,
        attendees=data.attendees,
        notes=data.notes,
        status=SessionStatus.PENDING,
    )
    event = event_values(
        user.id,
        "session.create",
        object_type=TrainingSession.__tablename__,
        commune_id=saved.commune_id,
        changes=session_fields(saved),
    )
    session_id = _insert_session_rows(connection, values, [topic.id for topic in data.topics], sorted(by_id), event)
    return None if session_id is None else replace(saved, id=session_id)


def _insert_session_rows(
    connection, values: dict, topic_ids: list[int], household_ids: list[int], event: dict
) -> int | None:
    """Insert the session's row, its topics, its households and its audit row (`event`, but
    the session's id): the new session's id, or None with nothing written when its uuid is
    taken. One statement, so one round trip, on PostgreSQL; four elsewhere (SQLite runs in
    the process)."""
    statement = _insert_session_unless_taken(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        return connection.scalar(
            statement,
            {
                **values,
                "topic_ids": topic_ids,
                "household_ids": household_ids,
                **{f"event_{name}": value for name, value in event.items()},
            },
        )
    session_id = connection.scalar(statement, values)
    if session_id is not None:
        connection.execute(_INSERT_TOPICS, {"session_id": session_id, "ids": topic_ids})
        connection.execute(_INSERT_ATTENDANCE, {"session_id": session_id, "ids": household_ids})
        connection.execute(INSERT_EVENT, {**event, "object_id": str(session_id)})
    return session_id


# A session's topics and households, each in one statement whatever their number
# (psycopg runs a list of rows as one statement per row).
_INSERT_TOPICS = sa.insert(session_topic).from_select(
    ["session_id", "topic_id"],
    sa.select(sa.bindparam("session_id", type_=sa.Integer), Topic.id).where(
        Topic.id.in_(sa.bindparam("ids", expanding=True))
    ),
)
_INSERT_ATTENDANCE = sa.insert(Attendance.__table__).from_select(
    ["session_id", "household_id"],
    sa.select(sa.bindparam("session_id", type_=sa.Integer), Household.id).where(
        Household.id.in_(sa.bindparam("ids", expanding=True))
    ),
)
_EVENT_COLUMNS = ("at", "actor_id", "action", "object_type", "commune_id", "changes")  # audit.event_values
_SESSION_COLUMNS = (
    "uuid", "fingerprint", "held_on", "commune_id", "village_id", "volunteer_id", "team_id", "status",
    "language", "attendees", "notes", "created_at", "updated_at",
)  # fmt: skip


@cache
def _insert_session_unless_taken(dialect_name: str) -> sa.TextClause:
    """INSERT … ON CONFLICT (uuid) DO NOTHING RETURNING id: the new session's id, or nothing
    when the uuid is taken. Compiled once per database: SQLAlchemy compiles its dialects'
    ON CONFLICT again on every call, which costs more than running it.
    On PostgreSQL, WITH queries on the new row insert its topics and households too
    (`topic_ids`, `household_ids`), and its audit row (`event_…`): none when the uuid is taken."""
    table = TrainingSession.__table__
    dialect, compiler = (
        (sqlite, sqlite.base.SQLiteDialect) if dialect_name == "sqlite" else (postgresql, postgresql.base.PGDialect)
    )
    binds = [sa.bindparam(name, type_=table.c[name].type) for name in _SESSION_COLUMNS]
    statement = (
        dialect.insert(table)
        .values(dict(zip(_SESSION_COLUMNS, binds, strict=True)))
        .on_conflict_do_nothing(index_elements=["uuid"])
        .returning(table.c.id)
    )
    if dialect_name == "postgresql":
        new_session = statement.cte("new_session")
        rows_of_session = []
        for rows, column, ids in (
            (session_topic, Topic.id, "topic_ids"),
            (Attendance.__table__, Household.id, "household_ids"),
        ):
            binds.append(sa.bindparam(ids, type_=postgresql.ARRAY(sa.Integer)))
            chosen = sa.select(new_session.c.id, column).where(column == sa.any_(binds[-1]))
            rows_of_session.append(
                sa.insert(rows).from_select(["session_id", column.table.name + "_id"], chosen).cte(f"new_{rows.name}")
            )
        events = AuditEvent.__table__
        event_binds = [sa.bindparam(f"event_{name}", type_=events.c[name].type) for name in _EVENT_COLUMNS]
        binds += event_binds
        # The changes are cast by the statement: the dialect's own cast (a bind followed by
        # ::JSON) would hide the bind's name from text(), which reads no name before a colon.
        rendered = [
            sa.cast(sa.bindparam(bind.key, type_=sa.Text), bind.type) if isinstance(bind.type, sa.JSON) else bind
            for bind in event_binds
        ]
        event = sa.select(*rendered, sa.cast(new_session.c.id, events.c.object_id.type)).select_from(new_session)
        rows_of_session.append(sa.insert(events).from_select([*_EVENT_COLUMNS, "object_id"], event).cte("new_event"))
        statement = sa.select(new_session.c.id).add_cte(*rows_of_session)
    text = str(statement.compile(dialect=compiler(paramstyle="named")))
    return sa.text(text).bindparams(*(sa.bindparam(bind.key, type_=bind.type) for bind in binds))


def _commit_keeping_loaded() -> None:
    """Commit without expiring the objects in memory: the signed-in user and any household
    this post created hold exactly what was just written, and reading them back after the
    answer is made would cost a query each."""
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire_on_commit


def edit_session(session: TrainingSession, raw: dict[str, Any], user: User) -> TrainingSession:
    """Change a session's content (the uuid stays). A session sent back for checking goes back
    to awaiting verification once fixed. Commits."""
    if not can_change_session(user, session) or session.deleted_at is not None:
        abort(403)
    data = validate({**raw, "uuid": session.uuid}, user, current=session)
    before = session_fields(session)
    mark, households_before = tallies.session_mark(session), tallies.attendee_ids(session)
    _apply(session, data, user)
    if session.status == SessionStatus.NEEDS_REVIEW:
        session.status = SessionStatus.PENDING
    tallies.session_changed(session, mark, households_before)
    after = session_fields(session)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    record(user.id, "session.update", session, changes=changes)
    db.session.commit()
    return session


def delete_session(session: TrainingSession, user: User) -> None:
    """Soft delete: the session stops counting and can be restored. Commits."""
    if not can_change_session(user, session):
        abort(403)
    if session.deleted_at is None:
        mark = tallies.session_mark(session)
        session.deleted_at = utcnow()
        tallies.session_changed(session, mark, tallies.attendee_ids(session))
        record(user.id, "session.delete", session)
        db.session.commit()


def restore_session(session: TrainingSession, user: User) -> None:
    if not can_change_session(user, session):
        abort(403)
    if session.deleted_at is not None:
        mark = tallies.session_mark(session)
        session.deleted_at = None
        tallies.session_changed(session, mark, tallies.attendee_ids(session))
        record(user.id, "session.restore", session)
        db.session.commit()


def validate(
    raw: dict[str, Any], user: User, current: TrainingSession | None = None, *, lock: bool = False
) -> SessionData:
    """Every rule for a session's input, for both doors. Raises InvalidSession or 404.
    lock=True (a new session, where a read takes row locks): when every household is posted
    by id, their read locks them for counting (tallies.households_locked), so counting
    needs no read of its own."""
    if not isinstance(raw, dict):
        raise InvalidSession({"body": [_("Send the session as a JSON object.")]})
    errors: dict[str, list[str]] = {}

    def problem(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    session_uuid = _parse_uuid(raw.get("uuid"))
    if session_uuid is None:
        problem("uuid", _("The form is missing its identifier; reload the page."))

    held_on = _parse_date(raw.get("date"))
    if held_on is None:
        problem("date", _("Enter the date of the session."))
    elif held_on > local_today():
        problem("date", _("The date cannot be in the future."))
    elif (
        not can(user, Permission.EDIT_COMMUNE_SESSIONS)
        and held_on < local_today() - timedelta(days=VOLUNTEER_DAYS_BACK)
        and (current is None or held_on != current.held_on)
    ):
        problem(
            "date",
            _(
                "The session was more than %(days)d days ago. Ask your commune officer to enter it.",
                days=VOLUNTEER_DAYS_BACK,
            ),
        )

    village_id = _parse_int(raw.get("village_id"))
    if village_id is None:
        problem("village_id", _("Choose the village."))
    village, topics = _village_and_topics(village_id, raw.get("topics"), user, problem)
    households, new_households, households_locked = _households(raw.get("households"), village, user, problem, lock)

    language = raw.get("language") or None
    # A list, not a set: a posted language may be a JSON list or object, which cannot be hashed.
    if language is not None and language not in [choice.value for choice in InstructionLanguage]:
        problem("language", _("Choose a language from the list."))

    attendees = None
    if raw.get("attendees") not in (None, ""):
        attendees = _parse_int(raw.get("attendees"))
        if attendees is None or not 0 <= attendees <= MAX_ATTENDEES:
            problem("attendees", _("Enter a whole number from 0 to %(max)s.", max=format_decimal(MAX_ATTENDEES)))

    notes = raw.get("notes")
    if notes is not None and not isinstance(notes, str):
        problem("notes", _("Notes must be text."))
        notes = None
    notes = (notes or "").strip() or None
    if notes and len(notes) > MAX_NOTES:
        problem("notes", _("Notes can be at most %(n)s characters.", n=format_decimal(MAX_NOTES)))

    if errors:
        raise InvalidSession(errors)
    return SessionData(
        uuid=session_uuid,
        held_on=held_on,
        village=village,
        topics=topics,
        households=households,
        new_households=new_households,
        language=language,
        attendees=attendees,
        notes=notes,
        households_locked=households_locked,
    )


def session_fields(session: TrainingSession | SavedSession) -> dict[str, Any]:
    """What the audit trail keeps of a session's content."""
    return {
        "date": session.held_on.isoformat(),
        "village_id": session.village_id,
        "topics": sorted(session.topic_codes),
        "household_ids": sorted(session.household_ids),
        "language": session.language,
        "attendees": session.attendees,
        "notes": session.notes,
    }


def fingerprint_of(raw: Any) -> str:
    """A digest of a posted session that ignores key order, list order and spacing."""
    if not isinstance(raw, dict):
        return ""
    households = raw.get("households") if isinstance(raw.get("households"), list) else []
    topics = raw.get("topics") if isinstance(raw.get("topics"), list) else []
    canonical = {
        "date": str(raw.get("date") or ""),
        "village_id": str(raw.get("village_id") or ""),
        "topics": sorted(str(code) for code in topics if code is not None),
        "households": sorted(_canonical_household(item) for item in households if isinstance(item, dict)),
        "language": str(raw.get("language") or ""),
        "attendees": str(raw.get("attendees") if raw.get("attendees") is not None else ""),
        "notes": (str(raw.get("notes") or "")).strip(),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _canonical_household(item: dict) -> str:
    cleaned = {key: clean_name(str(value)) for key, value in item.items() if value not in (None, "")}
    return json.dumps(cleaned, sort_keys=True)


_SESSION_ID_BY_UUID = sa.select(TrainingSession.id).where(TrainingSession.uuid == sa.bindparam("uuid"))


def _replay(raw: dict, fingerprint: str, user: User) -> TrainingSession | None:
    """The session already saved under this uuid, if the post repeats it; else None."""
    session_uuid = _parse_uuid(raw.get("uuid")) if isinstance(raw, dict) else None
    if session_uuid is None:
        return None
    # The id alone first: nearly every post is a new session, and this asks for nothing to load.
    saved_id = db.session.connection().scalar(_SESSION_ID_BY_UUID, {"uuid": session_uuid})
    if saved_id is None:
        return None
    saved = db.session.get(TrainingSession, saved_id)
    if saved.fingerprint != fingerprint or not is_visible(user, saved):
        raise SessionConflict(saved)
    return saved


def _apply(session: TrainingSession, data: SessionData, user: User) -> None:
    session.held_on = data.held_on
    session.village = db.session.get(Village, data.village.id)
    session.language = data.language
    session.attendees = data.attendees
    session.notes = data.notes
    session.topics = list(db.session.scalars(_TOPICS_BY_ID, {"ids": [topic.id for topic in data.topics]}))
    households = list(data.households)
    # New households are counted with the session's other households (session_changed), in
    # one pass that locks households before counters: counting each one here would lock its
    # village's counter first, and two writers could then wait on each other (PostgreSQL).
    households += [add_household(data.village, new, user, count=False) for new in data.new_households]
    db.session.flush()  # new households get their ids
    wanted = {household.id for household in households}
    session.attendances = [a for a in session.attendances if a.household_id in wanted]
    present = {attendance.household_id for attendance in session.attendances}
    session.attendances += [Attendance(household_id=hid) for hid in sorted(wanted - present)]


def _village_and_topics(village_id: int | None, codes: Any, user: User, problem) -> tuple[ChosenVillage | None, list]:
    """The village (404 unless the user may see it) and the chosen topics that are active,
    read together: one query is a round trip less on every session logged (bench.logging)."""
    wanted = sorted({str(code) for code in codes}) if isinstance(codes, list) else []
    if not wanted:
        problem("topics", _("Choose at least one topic."))
    village, topics = None, []
    connection = db.session.connection()
    if village_id is not None:
        rows = connection.execute(_VILLAGE_AND_TOPICS, {"id": village_id, "codes": wanted}).all()
        village = visible_or_404(ChosenVillage(*rows[0][:3]) if rows else None, user)
        topics = [ChosenTopic(row.topic_id, row.topic_code) for row in rows if row.topic_id is not None]
    elif wanted:
        topics = [ChosenTopic(*row) for row in connection.execute(_ACTIVE_TOPICS, {"codes": wanted})]
    if wanted and len(topics) != len(wanted):
        problem("topics", _("One of the topics is not on the list."))
    return village, topics


_ACTIVE = sa.and_(Topic.code.in_(sa.bindparam("codes", expanding=True)), Topic.is_active)
_ACTIVE_TOPICS = sa.select(Topic.id, Topic.code).where(_ACTIVE).order_by(Topic.sort_order)
_TOPICS_BY_ID = sa.select(Topic).where(Topic.id.in_(sa.bindparam("ids", expanding=True))).order_by(Topic.sort_order)
# A row for each chosen topic that is active, the village on each (one row without a topic
# when none is), with its commune's code: the API's answer names the commune.
_VILLAGE_AND_TOPICS = (
    sa.select(Village.id, Village.commune_id, Commune.code, Topic.id.label("topic_id"), Topic.code.label("topic_code"))
    .join(Commune, Commune.id == Village.commune_id)
    .outerjoin(Topic, _ACTIVE)
    .where(Village.id == sa.bindparam("id"))
    .order_by(Topic.sort_order)
)


# What logging needs of a household, as a plain row (see SessionData).
_HOUSEHOLD_COLUMNS = (Household.id, Household.uuid, Household.head_name, Household.commune_id, Household.deleted_at)
_HOUSEHOLDS_BY_ID = sa.select(*_HOUSEHOLD_COLUMNS).where(Household.id.in_(sa.bindparam("ids", expanding=True)))
_HOUSEHOLDS_LOCKED = tallies.households_locked(Household.uuid, Household.head_name)
_HOUSEHOLDS_BY_UUID = sa.select(*_HOUSEHOLD_COLUMNS).where(Household.uuid.in_(sa.bindparam("uuids", expanding=True)))


def _households(items: Any, village: ChosenVillage | None, user: User, problem, lock: bool) -> tuple[list, list, bool]:
    """Existing households (by id) and new ones (by uuid) from the posted list, and whether
    the existing ones were read locked (`lock`, and every one posted by id: households posted
    by uuid are read by a second query, which would take its locks out of id order)."""
    if not isinstance(items, list) or not items:
        problem("households", _("Add at least one household."))
        return [], [], False
    if len(items) > MAX_HOUSEHOLDS:
        problem("households", _("A session can have at most %(n)d households.", n=MAX_HOUSEHOLDS))
        return [], [], False
    existing: dict[int, sa.Row] = {}
    new: dict[str, NewHousehold] = {}
    chosen: list[int] = []  # existing households by id, loaded below in one query
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problem("households", _("Each household must be an object."))
            continue
        if item.get("id") not in (None, ""):
            household_id = _parse_int(item.get("id"))
            if household_id is None:
                problem("households", _("A household identifier is not valid."))
                continue
            chosen.append(household_id)
        else:
            parsed = _new_household(item, index, problem)
            if parsed is not None:
                new[parsed.uuid] = parsed
    locked = lock and len(chosen) == len(items)
    loaded = get_all_visible_or_404(Household, chosen, user, rows=_HOUSEHOLDS_LOCKED if locked else _HOUSEHOLDS_BY_ID)
    for household_id in chosen:
        household = loaded[household_id]
        if household.deleted_at is not None:
            problem("households", _("%(name)s has been removed from the registry.", name=household.head_name))
        existing[household.id] = household
    # A household typed offline and already created by an earlier post counts as existing.
    if new:
        known = db.session.connection().execute(_HOUSEHOLDS_BY_UUID, {"uuids": list(new)}).all()
        for household in known:
            if not is_visible(user, household):
                abort(404)
            existing[household.id] = household
            del new[household.uuid]
    if village is not None:
        for household in existing.values():
            if household.commune_id != village.commune_id:
                problem("households", _("%(name)s lives in another commune.", name=household.head_name))
    return list(existing.values()), list(new.values()), locked


def _new_household(item: dict, index: int, problem) -> NewHousehold | None:
    head_name = clean_name(item.get("head_name") if isinstance(item.get("head_name"), str) else None)
    address = clean_name(item.get("address") if isinstance(item.get("address"), str) else None)
    phone_raw = item.get("phone") if isinstance(item.get("phone"), str) else None
    household_uuid = _parse_uuid(item.get("uuid"))
    ok = True
    if household_uuid is None:
        problem(f"households.{index}.uuid", _("The new household is missing its identifier."))
        ok = False
    if not head_name:
        problem(f"households.{index}.head_name", _("Enter the head of household's name."))
        ok = False
    elif len(head_name) > MAX_NAME:
        problem(f"households.{index}.head_name", _("The name can be at most %(n)d characters.", n=MAX_NAME))
        ok = False
    if len(address) > MAX_ADDRESS:
        problem(f"households.{index}.address", _("The address can be at most %(n)d characters.", n=MAX_ADDRESS))
        ok = False
    if phone_raw and phone_raw.strip() and normalise_phone(phone_raw) is None:
        problem(f"households.{index}.phone", _("This is not a Vietnamese phone number."))
        ok = False
    if not ok:
        return None
    return NewHousehold(uuid=household_uuid, head_name=head_name, address=address or None, phone=phone_raw)


def _parse_uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid_module.UUID(value.strip()))
    except ValueError:
        return None


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 2**31 else None
    # ASCII digits only: str.isdigit() also accepts '²' and '١', which int() refuses or reads.
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def saved_session(session_uuid: str | None, user: User) -> TrainingSession | None:
    """The session already saved under this uuid and visible to the user, if any."""
    parsed = _parse_uuid(session_uuid)
    if parsed is None:
        return None
    saved = db.session.scalar(sa.select(TrainingSession).where(TrainingSession.uuid == parsed))
    return saved if saved is not None and is_visible(user, saved) else None


def sessions_for(user: User, *, deleted: bool = False) -> sa.Select:
    """The sessions list: a volunteer's own, an officer's whole commune; newest first, and
    sessions sent back for checking before all others so the volunteer sees them first."""
    select = sa.select(TrainingSession).where(
        TrainingSession.deleted_at.is_not(None) if deleted else TrainingSession.deleted_at.is_(None)
    )
    select = select.where(TrainingSession.commune_id == user.commune_id)
    if not can(user, Permission.EDIT_COMMUNE_SESSIONS):
        # Their own, in their commune: those of a commune they have left answer 404 anyway.
        select = select.where(TrainingSession.volunteer_id == user.id)
    needs_review_first = sa.case((TrainingSession.status == SessionStatus.NEEDS_REVIEW, 0), else_=1)
    return select.order_by(needs_review_first, TrainingSession.held_on.desc(), TrainingSession.id.desc())


def new_uuid() -> str:
    return str(uuid_module.uuid4())
