"""What each role can do next, shown on the home page."""

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.auth.access import Permission, can
from app.extensions import db
from app.logbook.services import sessions_for
from app.models import User
from app.progress.tallies import village_progress


@dataclass(frozen=True)
class Step:
    permission: Permission | None
    endpoint: str
    title: str
    description: str


# In the order a person of each role most often needs them.
STEPS = (
    Step(Permission.LOG_SESSIONS, "logbook.index", _l("Sessions"),
         _l("Your sessions, newest first; edit or delete them until an officer verifies them.")),
    Step(Permission.READ_HOUSEHOLDS, "households.index", _l("Households"),
         _l("Search the household registry of your commune.")),
    Step(None, "auth.change_password", _l("Change password"),
         _l("Choose a password only you know.")),
)  # fmt: skip


def village_progress_rows(user: User) -> list[dict]:
    """Progress of the villages the user's team serves: trained and registered households."""
    villages = user.team.villages if user.team is not None else []
    progress = village_progress([village.id for village in villages])
    return [
        {"village": village, "trained": progress[village.id][0], "registered": progress[village.id][1]}
        for village in villages
    ]


def recent_sessions(user: User, limit: int = 5) -> list:
    if not can(user, Permission.LOG_SESSIONS):
        return []
    return list(db.session.scalars(sessions_for(user).limit(limit)))


def next_steps(user: User) -> list[dict]:
    """The home page's links for this user: only what their role may do."""
    return [
        {"url": url_for(step.endpoint), "title": step.title, "description": step.description}
        for step in STEPS
        if step.permission is None or can(user, step.permission)
    ]
