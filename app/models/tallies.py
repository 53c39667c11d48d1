"""Maintained counters behind the dashboards, kept exact by app.progress.tallies.

Counting from the raw rows (1,000,000 households, 3,000,000 attendance rows) takes seconds;
these tables hold the same figures ready to add up, and every write that changes a figure
moves them in the same transaction.
"""

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db

learned_topic = sa.Table(
    "learned_topic",
    db.metadata,
    sa.Column("household_id", sa.ForeignKey("household.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topic.id"), primary_key=True, index=True),
)


class VillageTally(db.Model):
    """Registered and trained households of one village."""

    __tablename__ = "village_tally"
    __table_args__ = (sa.CheckConstraint("registered >= 0 AND trained >= 0", name="not_negative"),)

    village_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("village.id"), primary_key=True)
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    registered: so.Mapped[int] = so.mapped_column(default=0)
    trained: so.Mapped[int] = so.mapped_column(default=0)


class CommuneTopicTally(db.Model):
    """Trained households of one commune that learned one topic."""

    __tablename__ = "commune_topic_tally"
    __table_args__ = (sa.CheckConstraint("households >= 0", name="not_negative"),)

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    topic_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("topic.id"), primary_key=True)
    households: so.Mapped[int] = so.mapped_column(default=0)


class CommuneDay(db.Model):
    """One commune on one day: sessions that count, and households trained for the first time."""

    __tablename__ = "commune_day"
    __table_args__ = (sa.CheckConstraint("sessions >= 0 AND newly_trained >= 0", name="not_negative"),)

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date, primary_key=True, index=True)
    sessions: so.Mapped[int] = so.mapped_column(default=0)
    newly_trained: so.Mapped[int] = so.mapped_column(default=0)
