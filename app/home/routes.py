from flask import Blueprint, render_template
from flask_login import current_user, login_required

from app.home.services import next_steps, recent_sessions, village_progress_rows

bp = Blueprint("home", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index():
    return render_template(
        "home/index.html",
        steps=next_steps(current_user),
        sessions=recent_sessions(current_user),
        villages=village_progress_rows(current_user),
    )
