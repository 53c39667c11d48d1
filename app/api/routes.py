"""JSON API v1, described by /api/v1/openapi.json (app/api/openapi.py).

Browser callers send the session cookie and the CSRF token as X-CSRFToken. Other systems send
an API token (`Authorization: Bearer …`, app/api/tokens.py) and may only read.
"""

from flask import Blueprint, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app.api import feed, figures, openapi
from app.auth.access import Permission, get_visible_or_404, is_visible, require
from app.extensions import db
from app.households.services import search_households
from app.logbook import services
from app.models import Village
from app.offline.services import offline_pack as build_offline_pack
from app.progress.services import commune_or_404
from app.text import as_id, mask_phone

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
def openapi_document():
    """The description of this API: public, so a system can read it before it has a token."""
    return jsonify(openapi.document())


@bp.get("/progress")
@require(Permission.VIEW_PROVINCE_PROGRESS)
def progress():
    return jsonify(figures.province_progress(current_user))


@bp.get("/communes")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def communes():
    return jsonify(as_of=figures.as_of(), communes=figures.communes_figures(current_user))


@bp.get("/communes/<code>")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def commune(code: str):
    return jsonify(figures.commune_detail(commune_or_404(code, current_user)))


@bp.get("/topics")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def topics():
    return jsonify(figures.topics_figures(current_user))


@bp.get("/sessions")
@require(Permission.READ_SESSION_FEED)
def sessions_feed():
    """Every change to the sessions in scope, oldest change first (app/api/feed.py)."""
    try:
        query = feed.parse_query(request.args)
    except feed.InvalidFeedQuery as invalid:
        return jsonify(errors=invalid.errors), 422
    return jsonify(feed.feed_page(query, current_user))


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
        body = {"errors": {"uuid": [_("A different session was already saved with this identifier.")]}}
        if is_visible(current_user, conflict.session):  # another commune's session stays unknown
            body["session_id"] = conflict.session.id
        return jsonify(body), 409
    return jsonify(session_json(session)), 201 if created else 200


@bp.get("/households")
@require(Permission.READ_HOUSEHOLDS)
def households():
    """Households of one village matching `q` (for the session form's live search)."""
    village_id = as_id(request.args.get("village_id"))
    if village_id is None:
        return jsonify(errors={"village_id": [_("Choose the village.")]}), 422
    village = get_visible_or_404(Village, village_id)
    found = db.session.scalars(search_households([village.id], request.args.get("q", ""))).all()
    return jsonify(
        households=[
            {"id": h.id, "head_name": h.head_name, "address": h.address, "phone": mask_phone(h.phone)} for h in found
        ]
    )


@bp.get("/offline-pack")
@require(Permission.LOG_SESSIONS)
def offline_pack():
    """What the session form needs with no connection (the service worker keeps the last
    answer), and a fresh CSRF token for the phone's outbox to send with."""
    return jsonify(csrf_token=generate_csrf(), **build_offline_pack(current_user, get_locale().language))


def session_json(session: services.SavedSession) -> dict:
    """A saved session as the API shows it."""
    return {
        "id": session.id,
        "uuid": session.uuid,
        "date": session.held_on.isoformat(),
        "village_id": session.village_id,
        "commune_code": session.commune_code,
        "topics": session.topic_codes,
        "households": [
            {"id": household.id, "uuid": household.uuid, "head_name": household.head_name}
            for household in session.households
        ],
        "language": session.language,
        "attendees": session.attendees,
        "notes": session.notes,
        "status": session.status,
        "volunteer_id": session.volunteer_id,
    }
