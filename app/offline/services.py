"""What a phone keeps so the session form works with no connection.

The outbox of unsent sessions lives on the phone (IndexedDB, app/static/outbox.js); the
server only hands out the registry the form searches offline and receives sessions through
POST /api/v1/sessions, which saves each uuid exactly once.
"""

import sqlalchemy as sa

from app.auth.access import in_scope
from app.extensions import db
from app.models import Household, Topic, User, Village


def household_village_ids(user: User, villages: list[Village]) -> list[int]:
    """The villages whose households the phone keeps: the team's villages, or every village
    of the commune for someone without a team (an officer). Never outside the commune."""
    visible = [village.id for village in villages]
    team = user.team
    if team is not None and team.villages:
        return [village.id for village in team.villages if village.id in visible]
    return visible


def offline_pack(user: User, language: str) -> dict:
    """Topics, the commune's villages and the registered households of the user's villages,
    for the session form's offline search. Phone numbers stay on the server: the phone does
    not need them to find a household."""
    villages = list(db.session.scalars(in_scope(sa.select(Village), Village, user).order_by(Village.name, Village.id)))
    households = db.session.execute(
        sa.select(
            Household.id,
            Household.uuid,
            Household.village_id,
            Household.head_name,
            Household.head_name_folded,
            Household.address,
        )
        .where(Household.village_id.in_(household_village_ids(user, villages)), Household.deleted_at.is_(None))
        .order_by(Household.head_name_folded, Household.id)
    )
    topics = db.session.scalars(sa.select(Topic).where(Topic.is_active).order_by(Topic.sort_order))
    return {
        "topics": [{"code": topic.code, "name": topic.name_for(language)} for topic in topics],
        "villages": [{"id": village.id, "name": village.name} for village in villages],
        "households": [
            {
                "id": row.id,
                "uuid": row.uuid,
                "village_id": row.village_id,
                "head_name": row.head_name,
                "folded": row.head_name_folded,
                "address": row.address or "",
            }
            for row in households
        ],
    }
