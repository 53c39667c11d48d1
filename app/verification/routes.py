from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, get_visible_or_404, require
from app.auth.routes import safe_next
from app.extensions import db
from app.models import SessionStatus, TrainingSession
from app.verification import services
from app.verification.forms import ReviewForm

bp = Blueprint("verification", __name__, template_folder="templates")

PER_PAGE = 20


@bp.get("/verification")
@require(Permission.VERIFY_SESSIONS)
def index():
    page = _awaiting_page()
    if not page.items and page.page > 1:
        # The last session of the last page was just decided: show the page before it.
        return redirect(url_for("verification.index", page=page.pages if page.pages > 1 else None))
    return _render_index(page, review_next=request.full_path.rstrip("?"))


@bp.post("/sessions/<int:session_id>/review")
@require(Permission.VERIFY_SESSIONS)
def review(session_id: int):
    session = get_visible_or_404(TrainingSession, session_id)
    form = ReviewForm()
    back = safe_next(form.next.data) or url_for("verification.index")
    try:
        services.review_session(session, form.decision.data, form.note.data, current_user)
    except services.ReviewRefused as refused:
        failed = {"session": session, "message": refused.message, "note": form.note.data or ""}
        return _render_index(_awaiting_page(), review_next=back, failed=failed), 422
    flash(_message_for(session), "success")
    return redirect(back)


def _awaiting_page():
    return db.paginate(services.awaiting_review(current_user.commune_id), per_page=PER_PAGE, error_out=False)


def _render_index(page, review_next: str, failed: dict | None = None):
    sessions = list(page.items)
    # A refused decision is shown next to its session, even one not on this page (a
    # verified session being rejected from its own page, say).
    if failed is not None and failed["session"] not in sessions:
        sessions.insert(0, failed["session"])
    return render_template(
        "verification/index.html",
        page=page,
        sessions=sessions,
        recent=db.session.scalars(services.recently_reviewed(current_user.commune_id)).all(),
        review_next=review_next,
        failed=failed,
    )


def _message_for(session: TrainingSession) -> str:
    status = SessionStatus(session.status)
    if status == SessionStatus.VERIFIED:
        return _("Session verified. The volunteer can no longer change it.")
    if status == SessionStatus.REJECTED:
        return _("Session rejected. It no longer counts.")
    return _("Session sent back to %(name)s with your note.", name=session.volunteer.full_name)
