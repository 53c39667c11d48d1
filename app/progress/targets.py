"""Targets: province staff set each commune's household target, all in one table or one at a time."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, require
from app.extensions import db
from app.labels import commune_label
from app.progress import target_services as services
from app.progress.target_forms import CommuneFilterForm, TargetForm, TargetsTableForm

bp = Blueprint("targets", __name__, template_folder="templates")


@bp.route("/progress/targets", methods=["GET", "POST"])
@require(Permission.SET_TARGETS)
def index():
    search = CommuneFilterForm(formdata=request.args, meta={"csrf": False})
    query = search.q.data or ""
    communes = services.province_communes(query)
    form = TargetsTableForm()
    typed, errors = {}, {}
    if form.validate_on_submit():
        typed, values, errors = services.read_targets(communes, request.form)
        if not errors:
            changed = services.set_targets(values, current_user)
            db.session.commit()
            flash(_("Targets saved. Communes and wards changed: %(n)s.", n=format_decimal(changed)), "success")
            return redirect(url_for("targets.index", q=query or None))
    return render_template(
        "progress/targets.html",
        search=search,
        form=form,
        communes=communes,
        typed=typed,
        errors=errors,
        summary=services.targets_summary(),
        query=query,
        max_target=services.MAX_TARGET,
    ), (422 if errors else 200)


@bp.route("/progress/targets/<code>", methods=["GET", "POST"])
@require(Permission.SET_TARGETS)
def edit(code: str):
    commune = services.province_commune_or_none(code)
    if commune is None:
        abort(404)
    form = TargetForm(target=str(commune.target_households))
    if form.validate_on_submit():
        services.set_targets({commune.code: form.value}, current_user)
        db.session.commit()
        flash(_("The target of %(commune)s has been saved.", commune=commune_label(commune)), "success")
        return redirect(url_for("targets.index"))
    status = 422 if form.errors else 200
    return render_template(
        "progress/target_edit.html",
        form=form,
        commune=commune,
        summary=services.targets_summary(),
        max_target=services.MAX_TARGET,
    ), status
