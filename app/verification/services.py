"""An officer's check of a session: verify it, send it back with a note, or reject it.

Every decision moves the counters (a rejected session stops counting at once, a verified or
re-opened one counts again) and leaves a row in the audit trail. A decision can be changed
later: a rejected session can be verified, a verified one rejected.
"""

from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort
from flask_babel import format_decimal
from flask_babel import gettext as _

from app.auth.access import Permission, can, is_visible
from app.clock import utcnow
from app.extensions import db
from app.models import Attendance, SessionStatus, TrainingSession, User
from app.models.audit import record
from app.progress import tallies

MAX_NOTE = 500


class Decision(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    SEND_BACK = "send_back"


OUTCOMES = {
    Decision.VERIFY: SessionStatus.VERIFIED,
    Decision.REJECT: SessionStatus.REJECTED,
    Decision.SEND_BACK: SessionStatus.NEEDS_REVIEW,
}


class ReviewRefused(ValueError):
    """The decision cannot be saved as posted; `message` is shown next to the note field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def review_session(session: TrainingSession, decision: str, note: str | None, officer: User) -> TrainingSession:
    """Record an officer's decision on a session and move the counters. Commits.

    Only officers of the session's commune may decide (403 for other roles, 404 for another
    commune or a deleted session). Rejecting needs a reason and sending back needs a note
    (ReviewRefused, nothing written); verifying takes an optional note.
    """
    if not can(officer, Permission.VERIFY_SESSIONS):
        abort(403)
    if not is_visible(officer, session) or session.deleted_at is not None:
        abort(404)
    try:
        decision = Decision(decision)
    except ValueError:
        abort(400)
    note = _checked_note(decision, note)

    # Two officers may decide at once: read the row again under a lock so the counters move
    # from what is really stored, not from what this request loaded earlier.
    db.session.refresh(session, with_for_update=True)
    if session.deleted_at is not None:
        abort(404)
    old, new = session.status, OUTCOMES[decision]
    if old == new and session.review_note == note:
        return session  # the same decision again (a double tap): nothing changes
    mark, households = tallies.session_mark(session), tallies.attendee_ids(session)
    session.status = new
    session.review_note = note
    session.reviewed_by_id = officer.id
    session.reviewed_at = utcnow()
    tallies.session_changed(session, mark, households)
    record(officer.id, f"session.{decision}", session, changes={"status": [old, new], "note": note})
    db.session.commit()
    return session


def _checked_note(decision: Decision, note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is None and decision == Decision.REJECT:
        raise ReviewRefused(_("Write the reason for rejecting this session."))
    if note is None and decision == Decision.SEND_BACK:
        raise ReviewRefused(_("Write a note telling the volunteer what to check."))
    if note is not None and len(note) > MAX_NOTE:
        raise ReviewRefused(_("The note can be at most %(n)s characters.", n=format_decimal(MAX_NOTE)))
    return note


def awaiting_review(commune_id: int) -> sa.Select:
    """The commune's sessions awaiting an officer's check, oldest first."""
    return (
        sa.select(TrainingSession)
        .where(
            TrainingSession.commune_id == commune_id,
            TrainingSession.status == SessionStatus.PENDING,
            TrainingSession.deleted_at.is_(None),
        )
        .options(*_shown_with_session())
        .order_by(TrainingSession.held_on, TrainingSession.id)
    )


def recently_reviewed(commune_id: int, limit: int = 20) -> sa.Select:
    """The commune's sessions an officer decided on most recently (and that still stand)."""
    return (
        sa.select(TrainingSession)
        .where(
            TrainingSession.commune_id == commune_id,
            TrainingSession.status != SessionStatus.PENDING,
            TrainingSession.reviewed_at.is_not(None),
            TrainingSession.deleted_at.is_(None),
        )
        .options(*_shown_with_session())
        .order_by(TrainingSession.reviewed_at.desc(), TrainingSession.id.desc())
        .limit(limit)
    )


def _shown_with_session() -> list:
    """Load what the list shows in a few queries instead of several per session."""
    return [
        so.joinedload(TrainingSession.village),
        so.joinedload(TrainingSession.volunteer),
        so.joinedload(TrainingSession.reviewed_by),
        so.selectinload(TrainingSession.topics),
        so.selectinload(TrainingSession.attendances).joinedload(Attendance.household),
    ]
