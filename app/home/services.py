"""What each role can do next, shown on the home page."""

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.auth.access import Permission, can
from app.models import User


@dataclass(frozen=True)
class Step:
    permission: Permission | None
    endpoint: str
    title: str
    description: str


# In the order a person of each role most often needs them.
STEPS = (
    Step(None, "auth.change_password", _l("Change password"),
         _l("Choose a password only you know.")),
)  # fmt: skip


def next_steps(user: User) -> list[dict]:
    """The home page's links for this user: only what their role may do."""
    return [
        {"url": url_for(step.endpoint), "title": step.title, "description": step.description}
        for step in STEPS
        if step.permission is None or can(user, step.permission)
    ]
