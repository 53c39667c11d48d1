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
    __table_args__ = (
        sa.CheckConstraint("sessions >= 0 AND newly_trained >= 0", name="not_negative"),
        # The trend sums the days of a part of a month from this index alone (one commune's
        # days are found through the key).
        sa.Index("ix_commune_day_day_figures", "day", "newly_trained", "sessions"),
    )

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    day: so.Mapped[date] = so.mapped_column(sa.Date, primary_key=True)
    sessions: so.Mapped[int] = so.mapped_column(default=0)
    newly_trained: so.Mapped[int] = so.mapped_column(default=0)


class CommuneMonth(db.Model):
    """CommuneDay summed by month (`month` is its first day): a year of trend is about
    1,200 rows for the whole province instead of 37,000."""

    __tablename__ = "commune_month"
    __table_args__ = (sa.CheckConstraint("sessions >= 0 AND newly_trained >= 0", name="not_negative"),)

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    month: so.Mapped[date] = so.mapped_column(sa.Date, primary_key=True)
    sessions: so.Mapped[int] = so.mapped_column(default=0)
    newly_trained: so.Mapped[int] = so.mapped_column(default=0)


class ActivityTally(db.Model):
    """Sessions that count, of one commune, by one volunteer or one team, and the households
    they reached: the commune dashboard's "who is active" tables without reading the
    commune's attendance rows."""

    __tablename__ = "activity_tally"
    __table_args__ = (
        sa.CheckConstraint("sessions >= 0 AND households >= 0", name="not_negative"),
        sa.CheckConstraint("kind IN ('volunteer', 'team')", name="kind"),
    )

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)  # "volunteer" or "team"
    actor_id: so.Mapped[int] = so.mapped_column(primary_key=True)  # a user id or a team id
    sessions: so.Mapped[int] = so.mapped_column(default=0)
    # Households they reached: their rows in ReachTally, counted as those rows come and go
    # (counting the rows on each view read a whole commune's reach).
    households: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # The day of their last session that counts: who has gone quiet, and who was active in a
    # dashboard's period, without a look at their sessions.
    last_held_on: so.Mapped[date | None] = so.mapped_column(sa.Date)


class ReachTally(db.Model):
    """How many sessions that count one volunteer (or team) held with one household of the
    commune. A row exists while the number is above zero, so a volunteer's households
    reached are the rows under their key."""

    __tablename__ = "reach_tally"
    __table_args__ = (
        sa.CheckConstraint("sessions > 0", name="positive"),
        sa.CheckConstraint("kind IN ('volunteer', 'team')", name="kind"),
    )

    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(10), primary_key=True)
    actor_id: so.Mapped[int] = so.mapped_column(primary_key=True)
    household_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("household.id"), primary_key=True)
    sessions: so.Mapped[int] = so.mapped_column(default=0)


# Every counter table, in the order `tallies.rebuild()` empties and fills them.
COUNTER_TABLES = (
    learned_topic,
    VillageTally.__table__,
    CommuneTopicTally.__table__,
    CommuneDay.__table__,
    CommuneMonth.__table__,
    ActivityTally.__table__,
    ReachTally.__table__,
)
