from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, can, get_visible_or_404, require, sees_whole_province
from app.extensions import db
from app.forms_recovery import keeps_typed_work, recovered_formdata
from app.households import services
from app.households.forms import HouseholdForm, RegistryFilterForm
from app.labels import commune_label
from app.models import Household, Village
from app.text import mask_phone

bp = Blueprint("households", __name__, template_folder="templates")

PER_PAGE = 50
# Ids beyond the database's integer would crash the query instead of answering 404.


@bp.get("/households")
@require(Permission.READ_HOUSEHOLDS)
def index():
    form = RegistryFilterForm(formdata=request.args, meta={"csrf": False})
    form.village.choices = _village_choices(services.visible_villages(current_user))
    village = _chosen_village(form.village.data)
    page = db.paginate(services.registry_page(current_user, village, form.q.data or ""), per_page=PER_PAGE)
    return render_template(
        "households/index.html",
        form=form,
        page=page,
        households=services.registry_households(page.items),
        trained=services.trained_among(page.items),
        filters={"village": village.id if village else None, "q": form.q.data or None},
        show_commune=sees_whole_province(current_user),
        **_phone_display(),
    )


@bp.get("/households/<int:household_id>")
@require(Permission.READ_HOUSEHOLDS)
def detail(household_id: int):
    household = _household_or_404(household_id)
    return render_template(
        "households/detail.html",
        household=household,
        is_trained=household.id in services.trained_among([household.id]),
        sessions=db.session.scalars(services.sessions_attended(household)).all(),
        topics=db.session.scalars(services.topics_learned(household)).all(),
        can_edit=can(current_user, Permission.MANAGE_HOUSEHOLDS),
        **_phone_display(),
    )


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@keeps_typed_work
@require(Permission.MANAGE_HOUSEHOLDS)
def edit(household_id: int):
    household = _household_or_404(household_id)
    if household.deleted_at is not None:
        abort(404)
    recovered = recovered_formdata(request.path) if request.method == "GET" else None
    form = HouseholdForm(obj=household) if recovered is None else HouseholdForm(formdata=recovered)
    if form.validate_on_submit():
        services.update_household(household, form.data, current_user)
        db.session.commit()
        flash(_("The household has been saved."), "success")
        return redirect(url_for("households.detail", household_id=household.id))
    return render_template("households/edit.html", form=form, household=household)


@bp.post("/households/<int:household_id>/delete")
@require(Permission.MANAGE_HOUSEHOLDS)
def delete(household_id: int):
    household = _household_or_404(household_id)
    services.delete_household(household, current_user)
    db.session.commit()
    flash(_("Household deleted. It is no longer registered or counted; you can restore it."), "info")
    return redirect(url_for("households.detail", household_id=household.id))


@bp.post("/households/<int:household_id>/restore")
@require(Permission.MANAGE_HOUSEHOLDS)
def restore(household_id: int):
    household = _household_or_404(household_id)
    services.restore_household(household, current_user)
    db.session.commit()
    flash(_("Household restored."), "success")
    return redirect(url_for("households.detail", household_id=household.id))


@bp.get("/households/deleted")
@require(Permission.MANAGE_HOUSEHOLDS)
def deleted():
    page = db.paginate(services.deleted_households(current_user), per_page=PER_PAGE)
    return render_template("households/deleted.html", page=page)


def _household_or_404(household_id: int) -> Household:
    """A household the user may see; a deleted one only for those who can restore it."""
    household = get_visible_or_404(Household, household_id)
    if household.deleted_at is not None and not can(current_user, Permission.MANAGE_HOUSEHOLDS):
        abort(404)
    return household


def _chosen_village(raw: str | None) -> Village | None:
    """The village picked in the filter, or None for all; 404 for one the user may not see."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdecimal()):
        abort(404)
    return get_visible_or_404(Village, int(raw))


def _village_choices(villages: list[Village]) -> list | dict:
    """'All villages' first; province-wide users get the villages grouped by commune."""
    everything = ("", _("All villages"))
    if not sees_whole_province(current_user):
        return [everything, *((str(v.id), v.name) for v in villages)]
    groups: dict[str | None, list] = {None: [everything]}
    for village in villages:
        groups.setdefault(commune_label(village.commune), []).append((str(village.id), village.name))
    return groups


def _phone_display() -> dict:
    """Officers manage their commune's households and see full numbers; everyone else a mask."""
    return {"full_phones": can(current_user, Permission.MANAGE_HOUSEHOLDS), "mask_phone": mask_phone}
