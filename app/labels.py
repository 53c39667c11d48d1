"""Words shown for stored codes (roles, kinds, statuses), in the user's language."""

from functools import lru_cache

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import current_language
from app.models import CommuneKind, InstructionLanguage, Role, SessionStatus, VillageKind

ROLES = {
    Role.VOLUNTEER: _l("Volunteer"),
    Role.OFFICER: _l("Commune officer"),
    Role.PROVINCE: _l("Province staff"),
    Role.ADMIN: _l("Administrator"),
}
VILLAGE_KINDS = {
    VillageKind.THON: _l("Village (thôn)"),
    VillageKind.BUON: _l("Hamlet (buôn)"),
    VillageKind.TO_DAN_PHO: _l("Residential group (tổ dân phố)"),
    VillageKind.BON: _l("Hamlet (bon)"),
}
SESSION_STATUSES = {
    SessionStatus.PENDING: _l("Awaiting verification"),
    SessionStatus.VERIFIED: _l("Verified"),
    SessionStatus.NEEDS_REVIEW: _l("Needs checking"),
    SessionStatus.REJECTED: _l("Rejected"),
}
LANGUAGES = {
    InstructionLanguage.VIETNAMESE: _l("Vietnamese"),
    InstructionLanguage.EDE: _l("Ê Đê"),
    InstructionLanguage.MNONG: _l("M'nông"),
    InstructionLanguage.JRAI: _l("J'rai"),
    InstructionLanguage.OTHER: _l("Other"),
}


AUDIT_ACTIONS = {
    "session.create": _l("Created a session"),
    "session.update": _l("Edited a session"),
    "session.delete": _l("Deleted a session"),
    "session.restore": _l("Restored a session"),
    "session.verify": _l("Verified a session"),
    "session.reject": _l("Rejected a session"),
    "session.send_back": _l("Sent a session back for checking"),
    "household.create": _l("Added a household"),
    "household.update": _l("Edited a household"),
    "household.delete": _l("Deleted a household"),
    "household.restore": _l("Restored a household"),
    "import.households": _l("Imported households"),
    "commune.set_target": _l("Set a commune target"),
    "user.create": _l("Created a user"),
    "user.change_password": _l("Changed a password"),
    "demo.load": _l("Loaded demo data"),
    "api_token.create": _l("Created an API token"),
    "api_token.revoke": _l("Revoked an API token"),
    "api_token.use": _l("Read data through the API with a token"),
}


def audit_action_label(code: str) -> str:
    if code.startswith("export."):
        return f"{_('Downloaded an export')} ({code.removeprefix('export.')})"
    return str(AUDIT_ACTIONS.get(code, code))


def commune_label(commune) -> str:
    """'Xã Hòa Phú' / 'Phường Tân An' in Vietnamese; 'Hòa Phú commune' in English."""
    return _commune_label(commune.kind, commune.name, current_language())


@lru_cache(maxsize=1024)  # the province dashboard names all 102 communes on every view
def _commune_label(kind: str, name: str, language: str) -> str:
    if kind == CommuneKind.PHUONG:
        return _("Ward %(name)s", name=name)
    return _("Commune %(name)s", name=name)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        commune=commune_label,
        audit_action=audit_action_label,
        role=lambda code: ROLES[Role(code)],
        village_kind=lambda code: VILLAGE_KINDS[VillageKind(code)],
        session_status=lambda code: SESSION_STATUSES[SessionStatus(code)],
        instruction_language=lambda code: LANGUAGES[InstructionLanguage(code)],
    )
