"""JSON API v1. Browser callers send the session cookie and the CSRF token as X-CSRFToken."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, get_visible_or_404, require
from app.extensions import db
from app.households.services import search_households
from app.logbook import services
from app.models import Village
from app.text import mask_phone

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.post("/sessions")
@require(Permission.LOG_SESSIONS)
def create_session():
    """Log a session: 201 the first time, 200 for the same uuid and content, 409 for the same
    uuid with other content, 422 with field errors for bad input."""
    payload = request.get_json(silent=True)
    try:
        session, created = services.log_session(payload, current_user)
    except services.InvalidSession as invalid:
        return jsonify(errors=invalid.errors), 422
    except services.SessionConflict as conflict:
        message = _("A different session was already saved with this identifier.")
        return jsonify(errors={"uuid": [message]}, session_id=conflict.session.id), 409
    return jsonify(session_json(session)), 201 if created else 200


@bp.get("/households")
@require(Permission.READ_HOUSEHOLDS)
def households():
    """Households of one village matching `q` (for the session form's live search)."""
    village_id = request.args.get("village_id", "")
    if not village_id.isdigit():
        return jsonify(errors={"village_id": [_("Choose the village.")]}), 422
    village = get_visible_or_404(Village, int(village_id))
    found = db.session.scalars(search_households([village.id], request.args.get("q", ""))).all()
    return jsonify(
        households=[
            {"id": h.id, "head_name": h.head_name, "address": h.address, "phone": mask_phone(h.phone)} for h in found
        ]
    )


def session_json(session) -> dict:
    """A saved session as the API shows it."""
    return {
        "id": session.id,
        "uuid": session.uuid,
        "date": session.held_on.isoformat(),
        "village_id": session.village_id,
        "commune_code": session.village.commune.code,
        "topics": [topic.code for topic in session.topics],
        "households": [
            {"id": a.household.id, "uuid": a.household.uuid, "head_name": a.household.head_name}
            for a in sorted(session.attendances, key=lambda a: a.household_id)
        ],
        "language": session.language,
        "attendees": session.attendees,
        "notes": session.notes,
        "status": session.status,
        "volunteer_id": session.volunteer_id,
    }
