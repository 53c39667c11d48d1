"""Training sessions (buổi hướng dẫn), the topics they taught and the households that came."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.clock import utcnow
from app.extensions import db
from app.models._columns import created_at_column, one_of, updated_at_column
from app.models.households import Household
from app.models.places import Team, Village
from app.models.topics import Topic
from app.models.users import User


class SessionStatus(StrEnum):
    PENDING = "pending"  # chờ xác nhận
    VERIFIED = "verified"  # đã xác nhận
    NEEDS_REVIEW = "needs_review"  # cần xác minh
    REJECTED = "rejected"  # từ chối


class InstructionLanguage(StrEnum):
    VIETNAMESE = "vi"
    EDE = "ede"
    MNONG = "mnong"
    JRAI = "jrai"
    OTHER = "other"


session_topic = sa.Table(
    "session_topic",
    db.metadata,
    sa.Column("session_id", sa.ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True),
    # No index of its own on the topic: a session's topics are always found from the session
    # (the primary key's first column), and topics are never deleted (migration 0009).
    sa.Column("topic_id", sa.ForeignKey("topic.id"), primary_key=True),
)


class TrainingSession(db.Model):
    __tablename__ = "training_session"
    __table_args__ = (
        one_of("status", SessionStatus, "status"),
        one_of("language", InstructionLanguage, "language"),
        sa.CheckConstraint("attendees IS NULL OR attendees >= 0", name="attendees_not_negative"),
        sa.Index("ix_training_session_commune_held_on", "commune_id", "held_on"),
        # Who held what and when, answered from the index alone: the dashboards' active
        # volunteers and last sessions, per volunteer and per team.
        sa.Index("ix_training_session_by_volunteer", "commune_id", "volunteer_id", "held_on", "status", "deleted_at"),
        sa.Index("ix_training_session_by_team", "commune_id", "team_id", "held_on", "status", "deleted_at"),
        # The API's sessions feed pages through every change in this order.
        sa.Index("ix_training_session_updated_at_id", "updated_at", "id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Made when the form is first shown (or by the offline phone): posting it again never
    # creates a second session.
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True)
    # A digest of what was first posted with this uuid: the same post again is a replay
    # (answered with the saved session), different content under the same uuid is a conflict.
    fingerprint: so.Mapped[str] = so.mapped_column(sa.String(64))
    # Every index is one more write on each session logged (migrations 0008 and 0009 dropped
    # those no query needs). held_on: exports of the whole province by dates; the sessions of a
    # commune, of a volunteer or of a team are found by the composite indexes above.
    held_on: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"))
    village_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("village.id"))
    team_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("team.id"))
    volunteer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"))
    language: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    attendees: so.Mapped[int | None] = so.mapped_column()
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=SessionStatus.PENDING)
    review_note: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    reviewed_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    created_at: so.Mapped[datetime] = created_at_column()
    updated_at: so.Mapped[datetime] = updated_at_column()
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))

    village: so.Mapped[Village] = so.relationship()
    team: so.Mapped[Team | None] = so.relationship()
    volunteer: so.Mapped[User] = so.relationship(foreign_keys=[volunteer_id])
    reviewed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[reviewed_by_id])
    topics: so.Mapped[list[Topic]] = so.relationship(secondary=session_topic, order_by=Topic.sort_order)
    attendances: so.Mapped[list["Attendance"]] = so.relationship(back_populates="session", cascade="all, delete-orphan")

    @property
    def topic_codes(self) -> list[str]:
        return [topic.code for topic in self.topics]

    @property
    def household_ids(self) -> list[int]:
        return sorted(attendance.household_id for attendance in self.attendances)

    def __repr__(self) -> str:
        return f"<TrainingSession {self.id} {self.held_on}>"


@sa.event.listens_for(so.Session, "before_flush")
def _touch_changed_sessions(db_session: so.Session, _context, _instances) -> None:
    """Every change to a session moves its updated_at, also when only its topics or households
    changed (no UPDATE of the session's own row, so the column's onupdate would not fire):
    systems that mirror the sessions feed (GET /api/v1/sessions) must see every edit."""
    for item in db_session.dirty:
        if (
            isinstance(item, TrainingSession)
            and db_session.is_modified(item)
            and not so.attributes.get_history(item, "updated_at").has_changes()  # set on purpose
        ):
            item.updated_at = utcnow()


class Attendance(db.Model):
    """One household at one session; the pair is the primary key, so it exists once."""

    session_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("training_session.id", ondelete="CASCADE"), primary_key=True
    )
    household_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("household.id"), primary_key=True, index=True)

    session: so.Mapped[TrainingSession] = so.relationship(back_populates="attendances")
    household: so.Mapped[Household] = so.relationship(back_populates="attendances")
