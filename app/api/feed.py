"""The sessions feed (GET /api/v1/sessions): every change to the sessions a caller may see, in
the order they changed, for systems that keep a mirror.

Sessions come ordered by (updated_at, id). Every change to a session moves its updated_at
(app/models/training.py), deleting and rejecting included, so a session comes back each time
it changes; a deleted one comes back with `deleted: true`. A page ends with a cursor naming
the last (updated_at, id) it gave: the next page starts strictly after it, so paging is stable
even when many sessions share one updated_at. Changes younger than API_FEED_SETTLE_SECONDS
wait for a later call: a write whose updated_at is taken but whose commit is not done yet
must not be paged past.

No names, addresses or phone numbers: households are given by id and uuid only.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from app.auth.access import MAX_ID, in_scope
from app.clock import as_utc, utcnow
from app.extensions import db
from app.models import Attendance, Commune, Household, Topic, TrainingSession, session_topic
from app.progress import tallies

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 200
START = (datetime(1970, 1, 1, tzinfo=UTC), 0)  # before every session


class InvalidFeedQuery(ValueError):
    """Bad query parameters: `errors` maps a parameter to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class FeedQuery:
    after: tuple[datetime, int]  # (updated_at, id) the page starts after
    limit: int


def parse_query(args) -> FeedQuery:
    """`cursor` or `updated_since` (not both), and `limit`, from the query string."""
    errors: dict[str, list[str]] = {}
    after = START
    cursor, since = args.get("cursor"), args.get("updated_since")
    if cursor is not None and since is not None:
        errors["cursor"] = [_("Send either cursor or updated_since, not both.")]
    elif cursor is not None:
        after = decode_cursor(cursor)
        if after is None:
            errors["cursor"] = [_("This cursor is not valid. Start again without a cursor.")]
    elif since is not None:
        moment = _parse_moment(since)
        if moment is None:
            errors["updated_since"] = [_("Give a date and time such as 2026-11-26T08:00:00+07:00.")]
        else:
            after = (moment, 0)  # ids start at 1, so sessions updated at that very moment come too
    limit = DEFAULT_LIMIT
    if args.get("limit") is not None:
        raw = args["limit"].strip()
        limit = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else 0
        if not 1 <= limit <= MAX_LIMIT:
            errors["limit"] = [_("Give a whole number from 1 to %(max)d.", max=MAX_LIMIT)]
    if errors:
        raise InvalidFeedQuery(errors)
    return FeedQuery(after, limit)


def encode_cursor(position: tuple[datetime, int]) -> str:
    moment, session_id = position
    text = json.dumps([as_utc(moment).isoformat(), session_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position a cursor names, or None for anything this module did not make."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        moment, session_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(moment)
        moment = moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        return None
    if moment is None or type(session_id) is not int or not 0 <= session_id <= MAX_ID:
        return None
    return moment, session_id


def _parse_moment(text: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 date and time; without a time zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().upper())
        return as_utc(moment).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def feed_page(query: FeedQuery, caller) -> dict:
    """One page of the feed for this caller: sessions, next_cursor, has_more."""
    settled = utcnow() - timedelta(seconds=current_app.config["API_FEED_SETTLE_SECONDS"])
    position = sa.tuple_(TrainingSession.updated_at, TrainingSession.id)
    select = (
        in_scope(sa.select(TrainingSession), TrainingSession, caller)
        .where(position > sa.tuple_(_moment(query.after[0]), sa.literal(query.after[1])))
        .where(TrainingSession.updated_at <= _moment(settled))
        .order_by(TrainingSession.updated_at, TrainingSession.id)
        .limit(query.limit + 1)
    )
    sessions = list(db.session.scalars(select))
    has_more = len(sessions) > query.limit
    sessions = sessions[: query.limit]
    last = (sessions[-1].updated_at, sessions[-1].id) if sessions else query.after
    return {"sessions": sessions_json(sessions), "next_cursor": encode_cursor(last), "has_more": has_more}


def _moment(value: datetime) -> sa.BindParameter:
    return sa.bindparam(None, value, type_=TrainingSession.updated_at.type)


def sessions_json(sessions: list[TrainingSession]) -> list[dict]:
    """The sessions as the feed gives them: three queries for the whole page."""
    ids = [session.id for session in sessions]
    codes = dict(db.session.execute(sa.select(Commune.id, Commune.code)).all()) if sessions else {}
    topics: dict[int, list[str]] = {session_id: [] for session_id in ids}
    for session_id, code in db.session.execute(
        sa.select(session_topic.c.session_id, Topic.code)
        .join(Topic, Topic.id == session_topic.c.topic_id)
        .where(session_topic.c.session_id.in_(ids))
        .order_by(session_topic.c.session_id, Topic.sort_order, Topic.code)
    ):
        topics[session_id].append(code)
    households: dict[int, list[dict]] = {session_id: [] for session_id in ids}
    for session_id, household_id, household_uuid in db.session.execute(
        sa.select(Attendance.session_id, Household.id, Household.uuid)
        .join(Household, Household.id == Attendance.household_id)
        .where(Attendance.session_id.in_(ids))
        .order_by(Attendance.session_id, Household.id)
    ):
        households[session_id].append({"id": household_id, "uuid": household_uuid})
    return [
        {
            "id": session.id,
            "uuid": session.uuid,
            "date": session.held_on.isoformat(),
            "commune_code": codes[session.commune_id],
            "village_id": session.village_id,
            "team_id": session.team_id,
            "topics": topics[session.id],
            "households": households[session.id],
            "status": session.status,
            "counts": tallies.counts(session),
            "language": session.language,
            "attendees": session.attendees,
            "created_at": _iso(session.created_at),
            "updated_at": _iso(session.updated_at),
            "deleted": session.deleted_at is not None,
            "deleted_at": _iso(session.deleted_at) if session.deleted_at else None,
        }
        for session in sessions
    ]


def _iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).isoformat()
