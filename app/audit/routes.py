from flask import Blueprint, render_template, request
from flask_login import current_user

from app.audit import services
from app.auth.access import Permission, require
from app.extensions import db

bp = Blueprint("audit", __name__, template_folder="templates")

PER_PAGE = 50


@bp.get("/audit")
@require(Permission.READ_AUDIT)
def index():
    action = request.args.get("action") or None
    page = db.paginate(services.trail_for(current_user, action), per_page=PER_PAGE, max_per_page=PER_PAGE)
    return render_template(
        "audit/index.html",
        page=page,
        action=action,
        actions=services.actions_in_trail(current_user),
        changes_shown=services.changes_shown,
    )
