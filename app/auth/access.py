"""The one access helper: DESIGN.md's access table, and commune scoping for every query.

Views never compare roles themselves. They ask `can()`, guard themselves with
`@require(...)`, and load objects with `get_visible_or_404()` or filter with `in_scope()`,
so an object of another commune answers 404 everywhere and never reveals that it exists.

Two kinds of caller ask: a signed-in User, and a TokenCaller (another system holding an API
token, app/api/tokens.py). Tokens have their own grants below, never a person's role.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum, auto
from functools import cache, wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Role, SessionStatus, TokenScope, User

MAX_ID = 2**31 - 1


class Permission(StrEnum):
    LOG_SESSIONS = auto()
    EDIT_OWN_SESSIONS = auto()
    EDIT_COMMUNE_SESSIONS = auto()
    VERIFY_SESSIONS = auto()
    READ_HOUSEHOLDS = auto()
    ADD_HOUSEHOLDS = auto()
    MANAGE_HOUSEHOLDS = auto()
    IMPORT_HOUSEHOLDS = auto()
    READ_PLACES = auto()
    MANAGE_PLACES = auto()
    VIEW_VILLAGE_PROGRESS = auto()
    VIEW_COMMUNE_PROGRESS = auto()
    VIEW_PROVINCE_PROGRESS = auto()
    EXPORT_PERSONAL_DATA = auto()
    EXPORT_AGGREGATES = auto()
    SET_TARGETS = auto()
    MANAGE_TOPICS = auto()
    MANAGE_USERS = auto()
    READ_AUDIT = auto()
    READ_SESSION_FEED = auto()  # GET /api/v1/sessions: every change to the sessions in scope
    MANAGE_API_TOKENS = auto()


P = Permission
# DESIGN.md, Access. Commune-bound roles get these rights inside their own commune only.
# Importing households from a file is the one household write province staff and admins
# have: the issue on imports lets them load any commune's registry.
GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VOLUNTEER: frozenset({
        P.LOG_SESSIONS, P.EDIT_OWN_SESSIONS, P.READ_HOUSEHOLDS, P.ADD_HOUSEHOLDS,
        P.READ_PLACES, P.VIEW_VILLAGE_PROGRESS,
    }),
    Role.OFFICER: frozenset({
        P.LOG_SESSIONS, P.EDIT_OWN_SESSIONS, P.EDIT_COMMUNE_SESSIONS, P.VERIFY_SESSIONS,
        P.READ_HOUSEHOLDS, P.ADD_HOUSEHOLDS, P.MANAGE_HOUSEHOLDS, P.IMPORT_HOUSEHOLDS, P.READ_PLACES,
        P.MANAGE_PLACES, P.VIEW_VILLAGE_PROGRESS, P.VIEW_COMMUNE_PROGRESS, P.EXPORT_PERSONAL_DATA,
        P.EXPORT_AGGREGATES, P.READ_AUDIT, P.READ_SESSION_FEED,
    }),
    Role.PROVINCE: frozenset({
        P.READ_HOUSEHOLDS, P.IMPORT_HOUSEHOLDS, P.READ_PLACES, P.VIEW_VILLAGE_PROGRESS,
        P.VIEW_COMMUNE_PROGRESS, P.VIEW_PROVINCE_PROGRESS, P.EXPORT_PERSONAL_DATA, P.EXPORT_AGGREGATES, P.SET_TARGETS,
        P.READ_SESSION_FEED,
    }),
    Role.ADMIN: frozenset({
        P.READ_HOUSEHOLDS, P.IMPORT_HOUSEHOLDS, P.READ_PLACES, P.MANAGE_PLACES,
        P.VIEW_VILLAGE_PROGRESS, P.VIEW_COMMUNE_PROGRESS, P.VIEW_PROVINCE_PROGRESS,
        P.EXPORT_PERSONAL_DATA, P.EXPORT_AGGREGATES, P.SET_TARGETS, P.MANAGE_TOPICS, P.MANAGE_USERS, P.READ_AUDIT,
        P.READ_SESSION_FEED, P.MANAGE_API_TOKENS,
    }),
}  # fmt: skip
# API tokens only read, and only figures and the sessions feed (no names, no phone numbers):
# a province token what province staff read through the API, a commune token what the
# commune's officer reads there.
TOKEN_GRANTS: dict[TokenScope, frozenset[Permission]] = {
    TokenScope.PROVINCE: frozenset({
        P.READ_PLACES, P.VIEW_VILLAGE_PROGRESS, P.VIEW_COMMUNE_PROGRESS, P.VIEW_PROVINCE_PROGRESS,
        P.READ_SESSION_FEED,
    }),
    TokenScope.COMMUNE: frozenset({
        P.READ_PLACES, P.VIEW_VILLAGE_PROGRESS, P.VIEW_COMMUNE_PROGRESS, P.READ_SESSION_FEED,
    }),
}  # fmt: skip


@dataclass(frozen=True)
class TokenCaller:
    """Another system, asking with an API token: Flask-Login's current_user for that request."""

    token_id: int
    scope: TokenScope
    commune_id: int | None
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    locale: str = "vi"  # messages in errors, as for people who have not chosen

    def get_id(self) -> None:
        return None  # never kept in a session cookie


def grants_of(caller) -> frozenset[Permission]:
    if isinstance(caller, TokenCaller):
        return TOKEN_GRANTS[caller.scope]
    return GRANTS[caller.role_enum]


def can(user: User, permission: Permission) -> bool:
    """Whether the user's role (or the token) holds the permission (scoping to a commune
    comes on top)."""
    if user is None or not user.is_authenticated:
        return False
    return permission in grants_of(user)


def require(permission: Permission) -> Callable:
    """View decorator: sign-in first, then 403 for roles without the permission."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def guarded(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorator


def sees_whole_province(user: User | TokenCaller) -> bool:
    if isinstance(user, TokenCaller):
        return user.scope == TokenScope.PROVINCE
    return not user.role_enum.belongs_to_commune


def is_visible(user: User, obj) -> bool:
    """Commune staff see their own commune's objects; province staff and admins see all."""
    return sees_whole_province(user) or obj.commune_id == user.commune_id


def in_scope(query: sa.Select, model, user: User | None = None) -> sa.Select:
    """Narrow a select over `model` to what the user may see."""
    user = user or current_user
    if sees_whole_province(user):
        return query
    return query.where(model.commune_id == user.commune_id)


def get_visible_or_404(model, object_id: int, user: User | None = None, options=()):
    """Load one object, or 404 when it is missing or belongs to another commune. `options`
    (loader options) load what the caller will need of it in the same query."""
    if not 0 < object_id <= MAX_ID:  # ids past the integer column's range are simply unknown
        abort(404)
    return visible_or_404(db.session.get(model, object_id, options=options), user)


def visible_or_404(obj, user: User | None = None):
    """The object a caller loaded itself (e.g. with a statement built once), or 404 when it
    is missing (None) or belongs to another commune, as `get_visible_or_404` answers."""
    if obj is None or not is_visible(user or current_user, obj):
        abort(404)
    return obj


def get_all_visible_or_404(model, object_ids, user: User | None = None, rows: sa.Select | None = None) -> dict:
    """Several objects by id in one query ({id: object}), or 404 when any of them is missing
    or belongs to another commune, as `get_visible_or_404` would for each. `rows`: a select
    of plain columns (id and commune_id among them) by the list `ids`, to read rows instead
    of objects."""
    user = user or current_user
    wanted = set(object_ids)
    if not all(0 < object_id <= MAX_ID for object_id in wanted):
        abort(404)
    found = {}
    if wanted:
        parameters = {"ids": list(wanted)}
        if rows is None:
            read = db.session.scalars(_by_ids(model), parameters)
        else:
            read = db.session.connection().execute(rows, parameters)
        found = {obj.id: obj for obj in read}
    if len(found) != len(wanted) or not all(is_visible(user, obj) for obj in found.values()):
        abort(404)
    return found


@cache
def _by_ids(model) -> sa.Select:
    """Objects of a model by a list of ids, built once per model (building it costs more
    than running it for a handful of ids)."""
    return sa.select(model).where(model.id.in_(sa.bindparam("ids", expanding=True)))


def can_change_session(user: User, session) -> bool:
    """Edit, delete or restore: officers in their commune; volunteers their own sessions
    until an officer has verified or rejected them."""
    if not is_visible(user, session):
        return False
    if can(user, Permission.EDIT_COMMUNE_SESSIONS):
        return True
    return (
        can(user, Permission.EDIT_OWN_SESSIONS)
        and session.volunteer_id == user.id
        and session.status not in (SessionStatus.VERIFIED, SessionStatus.REJECTED)
    )


def init_app(app) -> None:
    """Templates ask `may('verify_sessions')` instead of comparing roles."""
    app.jinja_env.globals["may"] = lambda permission: can(current_user, Permission(permission))
