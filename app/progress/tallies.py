"""The counting rule, in one place. Every page, export and API asks this module.

A household is trained when it attended at least one session that is neither rejected nor
deleted. It counts once, however many sessions it attends.
"""

import sqlalchemy as sa

from app.extensions import db
from app.models import Attendance, Household, SessionStatus, TrainingSession


def counting_sessions() -> sa.ColumnElement[bool]:
    """Sessions that count: not rejected, not deleted."""
    return sa.and_(TrainingSession.status != SessionStatus.REJECTED, TrainingSession.deleted_at.is_(None))


def trained_household_ids() -> sa.Select:
    """Ids of trained households (each once)."""
    return (
        sa.select(Attendance.household_id)
        .join(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(counting_sessions())
        .distinct()
    )


def is_trained() -> sa.ColumnElement[bool]:
    """A condition on Household: it attended a counting session."""
    return Household.id.in_(trained_household_ids())


def village_progress(village_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each village: (trained households, registered households). Deleted households
    are not registered and do not count."""
    rows = db.session.execute(
        sa.select(
            Household.village_id,
            sa.func.count(Household.id).filter(is_trained()),
            sa.func.count(Household.id),
        )
        .where(Household.village_id.in_(village_ids), Household.deleted_at.is_(None))
        .group_by(Household.village_id)
    ).all()
    progress = {village_id: (0, 0) for village_id in village_ids}
    progress.update({village_id: (trained, registered) for village_id, trained, registered in rows})
    return progress
