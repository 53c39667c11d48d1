from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, get_visible_or_404, require
from app.clock import local_today
from app.i18n import day
from app.labels import commune_label
from app.models import Village
from app.progress import services
from app.progress.forms import PeriodForm, ProvinceFilterForm

bp = Blueprint("progress", __name__, template_folder="templates")


@bp.get("/progress")
@require(Permission.VIEW_PROVINCE_PROGRESS)
def province():
    filters = ProvinceFilterForm(request.args)
    start, end = filters.period()
    dashboard = services.province_dashboard(
        start,
        end,
        name=filters.q.data or "",
        kind=filters.kind.data or "",
        sort=filters.sort.data or "name",
        descending=filters.dir.data == "desc",
    )
    return render_template("progress/province.html", filters=filters, dashboard=dashboard, period_args=_period_args())


@bp.get("/progress/communes/<code>")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def commune(code: str):
    commune = services.commune_or_404(code, current_user)
    filters = PeriodForm(request.args)
    start, end = filters.period()
    dashboard = services.commune_dashboard(commune, start, end)
    return render_template(
        "progress/commune.html",
        filters=filters,
        dashboard=dashboard,
        period_args=_period_args(),
    )


@bp.get("/progress/villages/<int:village_id>/not-reached")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def not_reached(village_id: int):
    """The households of a village not yet reached: a printable A4 list and a text copy."""
    village = get_visible_or_404(Village, village_id)
    households = services.not_reached_households(village)
    text = services.not_reached_text(village, households, _not_reached_heading(village, len(households)))
    return render_template("progress/not_reached.html", village=village, households=households, text=text)


@bp.get("/progress/villages/<int:village_id>/not-reached.txt")
@require(Permission.VIEW_COMMUNE_PROGRESS)
def not_reached_text(village_id: int):
    village = get_visible_or_404(Village, village_id)
    households = services.not_reached_households(village)
    text = services.not_reached_text(village, households, _not_reached_heading(village, len(households)))
    return Response(text, mimetype="text/plain")


def _not_reached_heading(village: Village, count: int) -> str:
    return _(
        "%(village)s, %(commune)s: %(n)s households not yet reached by digital skills training (as of %(date)s).",
        village=village.name,
        commune=commune_label(village.commune),
        n=count,
        date=day(local_today()),
    )


def _period_args() -> dict:
    """The period in the query string, to carry from one dashboard (or export) to the next."""
    return {key: request.args[key] for key in ("from", "to") if request.args.get(key)}
