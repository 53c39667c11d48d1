from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.auth.access import Permission, can_change_session, get_visible_or_404, is_visible, require
from app.clock import local_today
from app.extensions import db
from app.forms_recovery import keeps_typed_work, recovered_formdata
from app.households.services import search_households
from app.logbook import services
from app.logbook.forms import SessionForm
from app.models import TrainingSession, Village
from app.text import as_id

bp = Blueprint("logbook", __name__, template_folder="templates")

PER_PAGE = 20


@bp.route("/sessions/new", methods=["GET", "POST"])
@keeps_typed_work
@require(Permission.LOG_SESSIONS)
def create():
    if request.method == "GET":
        recovered = recovered_formdata(request.path)
        form = _session_form(recovered)
        if recovered is None:
            form.date.data = local_today().isoformat()
            form.village_id.data = _default_village_id()
        form.uuid.data = form.uuid.data or services.new_uuid()
        return _render_form(form)

    form = _session_form()
    found = _form_step(form)
    if found is not None:
        return _render_form(form, search_results=found)
    saved = services.saved_session(form.uuid.data, current_user)
    if saved is not None:
        # Double tap, retry after a timeout, or back-and-resubmit: answer with what is saved.
        flash(_("This session was already saved. To change it, use Edit."), "info")
        return redirect(url_for("logbook.detail", session_id=saved.id))
    payload, rows = form.payload()
    try:
        services.validate(payload, current_user)
        if form.flag_duplicates():
            form.household_errors.append(
                _("Some new households may already be registered. Pick one, or confirm it is new.")
            )
            return _render_form(form), 422
        session, _created = services.log_session(payload, current_user)
    except services.InvalidSession as invalid:
        form.show_errors(invalid.errors, rows)
        return _render_form(form), 422
    except services.SessionConflict as conflict:
        if not is_visible(current_user, conflict.session):  # another commune's: never point at it
            form.show_errors({"uuid": [_("A different session was already saved with this identifier.")]}, rows)
            return _render_form(form), 409
        flash(_("This session was already saved. To change it, use Edit."), "info")
        return redirect(url_for("logbook.detail", session_id=conflict.session.id))
    names = ", ".join(household.head_name for household in session.households)
    flash(_("Session saved. Households counted (%(n)d): %(names)s.", n=len(session.households), names=names), "success")
    return redirect(url_for("logbook.detail", session_id=session.id))


@bp.get("/sessions")
@require(Permission.LOG_SESSIONS)
def index():
    show_deleted = request.args.get("deleted") == "1"
    page = db.paginate(services.sessions_for(current_user, deleted=show_deleted), per_page=PER_PAGE)
    return render_template("logbook/index.html", page=page, show_deleted=show_deleted)


@bp.get("/sessions/<int:session_id>")
@require(Permission.LOG_SESSIONS)
def detail(session_id: int):
    session = get_visible_or_404(TrainingSession, session_id)
    return render_template(
        "logbook/detail.html",
        session=session,
        can_change=can_change_session(current_user, session),
    )


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@keeps_typed_work
@require(Permission.LOG_SESSIONS)
def edit(session_id: int):
    session = get_visible_or_404(TrainingSession, session_id)
    if not can_change_session(current_user, session) or session.deleted_at is not None:
        abort(403)
    if request.method == "GET":
        recovered = recovered_formdata(request.path)
        form = _session_form(recovered)
        if recovered is None:
            form.fill_from(session)
        form.uuid.data = session.uuid
        return _render_form(form, session=session)
    form = _session_form()
    form.uuid.data = session.uuid
    found = _form_step(form)
    if found is not None:
        return _render_form(form, session=session, search_results=found)
    payload, rows = form.payload()
    try:
        services.validate({**payload, "uuid": session.uuid}, current_user, current=session)
        if form.flag_duplicates():
            form.household_errors.append(
                _("Some new households may already be registered. Pick one, or confirm it is new.")
            )
            return _render_form(form, session=session), 422
        services.edit_session(session, payload, current_user)
    except services.InvalidSession as invalid:
        form.show_errors(invalid.errors, rows)
        return _render_form(form, session=session), 422
    flash(_("Changes saved."), "success")
    return redirect(url_for("logbook.detail", session_id=session.id))


@bp.post("/sessions/<int:session_id>/delete")
@require(Permission.LOG_SESSIONS)
def delete(session_id: int):
    session = get_visible_or_404(TrainingSession, session_id)
    services.delete_session(session, current_user)
    flash(_("Session deleted. It no longer counts; you can restore it from the deleted sessions."), "info")
    return redirect(url_for("logbook.index"))


@bp.post("/sessions/<int:session_id>/restore")
@require(Permission.LOG_SESSIONS)
def restore(session_id: int):
    session = get_visible_or_404(TrainingSession, session_id)
    services.restore_session(session, current_user)
    flash(_("Session restored."), "success")
    return redirect(url_for("logbook.detail", session_id=session.id))


def _session_form(recovered: MultiDict | None = None) -> SessionForm:
    """The form from what was posted, or on GET from typed work kept after an expired token."""
    formdata = request.form if request.method == "POST" else recovered
    form = SessionForm(formdata=formdata)
    form.setup(current_user, formdata)
    return form


def _form_step(form: SessionForm) -> list | None:
    """The no-JavaScript steps that re-show the form: search, add a row, pick a duplicate.
    Returns the households found (possibly empty), or None when the form is being saved."""
    action = request.form.get("action", "save")
    if action == "search":
        village_id = as_id(form.village_id.data)
        if village_id is None:
            form.village_id.errors = [_("Choose the village first.")]
            return []
        village = get_visible_or_404(Village, village_id)
        query = form.q.data or ""
        return db.session.scalars(search_households([village.id], query)).all() if query.strip() else []
    if action == "add_row":
        form.add_row()
        return []
    if action.startswith("use:"):
        row_index, _sep, household_id = action[4:].partition(":")
        row, household = as_id(row_index), as_id(household_id)
        if row is not None and household is not None:
            form.use_existing(row, household)
        return []
    return None


def _render_form(form: SessionForm, session: TrainingSession | None = None, search_results=None):
    return render_template(
        "logbook/form.html",
        form=form,
        session=session,
        chosen=form.chosen_households(current_user),
        search_results=search_results or [],
        searched=request.form.get("action") == "search",
        today=local_today().isoformat(),
    )


def _default_village_id() -> str:
    """The first village the volunteer's team serves."""
    team = current_user.team
    return str(team.villages[0].id) if team is not None and team.villages else ""
