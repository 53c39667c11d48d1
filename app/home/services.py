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
    for_own_commune: bool = False  # the link goes to the user's own commune


# In the order a person of each role most often needs them.
STEPS = (
    Step(Permission.VIEW_PROVINCE_PROGRESS, "progress.province", _l("Province progress"),
         _l("Every commune and ward against its target.")),
    Step(Permission.VIEW_COMMUNE_PROGRESS, "progress.commune", _l("Commune progress"),
         _l("Villages, households not yet reached, teams and volunteers."), for_own_commune=True),
    Step(Permission.LOG_SESSIONS, "logbook.index", _l("Sessions"),
         _l("Your sessions, newest first; edit or delete them until an officer verifies them.")),
    Step(Permission.VERIFY_SESSIONS, "verification.index", _l("Verify sessions"),
         _l("Sessions awaiting your check.")),
    Step(Permission.READ_HOUSEHOLDS, "households.index", _l("Households"),
         _l("Search the household registry of your commune.")),
    Step(Permission.IMPORT_HOUSEHOLDS, "imports.index", _l("Import households"),
         _l("Add villages and households from an Excel or CSV file.")),
    Step(Permission.SET_TARGETS, "targets.index", _l("Commune targets"),
         _l("Set each commune's household target.")),
    Step(Permission.EXPORT_AGGREGATES, "exports.index", _l("Exports"),
         _l("Download totals and lists as Excel or CSV.")),
    Step(Permission.READ_AUDIT, "audit.index", _l("Read the audit trail"), _l("Who changed what, and when.")),
    Step(Permission.MANAGE_API_TOKENS, "api_tokens.index", _l("API tokens"),
         _l("Let other systems read the figures and sessions through the API.")),
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
    steps = []
    for step in STEPS:
        if step.permission is not None and not can(user, step.permission):
            continue
        if step.for_own_commune and user.commune is None:
            continue
        url = url_for(step.endpoint, code=user.commune.code) if step.for_own_commune else url_for(step.endpoint)
        steps.append({"url": url, "title": step.title, "description": step.description})
    return steps
