"""Reading the audit trail. Nothing in the app updates or deletes audit rows."""

import sqlalchemy as sa

from app.auth.access import sees_whole_province
from app.extensions import db
from app.models import AuditEvent, User


def _scoped(select: sa.Select, user: User) -> sa.Select:
    """Officers read their own commune's trail; admins all of it."""
    return select if sees_whole_province(user) else select.where(AuditEvent.commune_id == user.commune_id)


def trail_for(user: User, action: str | None = None) -> sa.Select:
    """Events newest first, with who did them; optionally one kind of action."""
    select = sa.select(AuditEvent)
    if action:
        select = select.where(AuditEvent.action == action)
    return _scoped(select, user).order_by(AuditEvent.id.desc())


def actions_in_trail(user: User) -> list[str]:
    """The kinds of action the user's trail holds, for the filter."""
    select = sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    return list(db.session.scalars(_scoped(select, user)))


# Actions whose changes are stored as {field: [before, after]}.
BEFORE_AFTER = {"session.update", "household.update", "commune.set_target", "session.verify", "session.reject",
                "session.send_back"}  # fmt: skip


def changes_shown(action: str, changes: dict | None) -> list[tuple[str, str]]:
    """Each changed field as text: 'before → after' where the trail keeps both."""
    shown = []
    for field, value in (changes or {}).items():
        if action in BEFORE_AFTER and isinstance(value, list) and len(value) == 2:
            shown.append((field, f"{_text(value[0])} → {_text(value[1])}"))
        else:
            shown.append((field, _text(value)))
    return shown


def _text(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "–"
    return str(value)
