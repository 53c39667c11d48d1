"""The audit trail: who did what to which object, and what changed. Rows are never deleted."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.clock import utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.models.users import User
from app.models._columns import created_at_column


class AuditEvent(db.Model):
    __tablename__ = "audit_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = created_at_column()
    # No index on the actor: no page looks the trail up by who acted, and each index is one
    # more write on every change (migration 0009).
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    object_id: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    # The commune the object belongs to, so an officer can read their commune's trail.
    commune_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    changes: so.Mapped[dict[str, Any] | None] = so.mapped_column(sa.JSON)

    actor: so.Mapped["User | None"] = so.relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.object_type}:{self.object_id}>"


def record(
    actor_id: int | None,
    action: str,
    obj: Any = None,
    *,
    changes: dict | None = None,
    object_type: str | None = None,
    commune_id: int | None = None,
) -> None:
    """Add an audit row to the current transaction (the caller commits with its own change).

    A plain INSERT on the session's connection, at once: the trail is only ever added to, and
    the unit of work's bookkeeping for one row would cost more than the row (bench.logging)."""
    if obj is not None and obj.id is None:
        db.session.flush()  # the row needs its id before the trail can name it
    db.session.connection().execute(
        INSERT_EVENT,
        {
            **event_values(
                actor_id,
                action,
                object_type=object_type or (obj.__tablename__ if obj is not None else "app"),
                commune_id=commune_id if commune_id is not None else getattr(obj, "commune_id", None),
                changes=changes,
            ),
            "object_id": str(obj.id) if obj is not None and obj.id is not None else None,
        },
    )


def event_values(actor_id: int | None, action: str, *, object_type: str, commune_id: int | None, changes) -> dict:
    """An audit row's values but its object's id, for a writer that inserts the row itself
    with the object (app/logbook: one statement for a new session and its trail)."""
    return {
        "at": utcnow(),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "commune_id": commune_id,
        "changes": changes,
    }


INSERT_EVENT = sa.insert(AuditEvent.__table__)
