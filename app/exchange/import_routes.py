"""Importing households from a file: upload, preview, then confirm or cancel.

Officers import into their own commune; province staff and admins choose the commune. A
preview belongs to the person who uploaded it: anyone else's token answers 404.
"""

import io

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.auth.access import Permission, is_visible, require, sees_whole_province
from app.exchange import imports
from app.exchange.import_forms import UploadForm
from app.exchange.reading import COLUMN_NAMES, MAX_ROWS, UnreadableFile, read_spreadsheet
from app.extensions import db
from app.labels import commune_label
from app.models import Commune, PendingImport
from app.text import fold

bp = Blueprint("imports", __name__, template_folder="templates")

SHOWN = 100  # rows listed per part of the preview; the counts always cover every row
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/imports", methods=["GET", "POST"])
@require(Permission.IMPORT_HOUSEHOLDS)
def index():
    form = UploadForm()
    chooses_commune = sees_whole_province(current_user)
    if chooses_commune:
        form.commune.choices = [("", _("Choose a commune or ward")), *_commune_choices()]
    if form.validate_on_submit():
        commune = _chosen_commune(form.commune.data)
        if commune is None:
            form.commune.errors.append(_("Choose the commune or ward the households belong to."))
        else:
            upload = form.file.data
            filename = upload.filename or "import"
            max_bytes = current_app.config["IMPORT_MAX_BYTES"]
            try:
                sheet = read_spreadsheet(upload.read(max_bytes + 1), filename, max_bytes)
            except UnreadableFile as problem:
                form.file.errors.append(problem.message)
            else:
                pending = imports.save_pending(sheet, filename, commune, current_user)
                db.session.commit()
                return redirect(url_for("imports.preview", token=pending.token))
    return render_template(
        "imports/index.html",
        form=form,
        chooses_commune=chooses_commune,
        max_megabytes=format_decimal(round(current_app.config["IMPORT_MAX_BYTES"] / (1024 * 1024), 1)),
        max_rows=MAX_ROWS,
        columns=COLUMN_NAMES,
    ), (422 if form.errors else 200)


@bp.get("/imports/<token>")
@require(Permission.IMPORT_HOUSEHOLDS)
def preview(token: str):
    pending = _pending_or_404(token)
    if imports.has_expired(pending):
        return _expired(pending)
    commune = db.session.get(Commune, pending.commune_id)
    plan = imports.preview(pending.rows, commune)
    return render_template(
        "imports/preview.html",
        pending=pending,
        commune=commune,
        plan=plan,
        shown=SHOWN,
        column_label=lambda field: pending.columns.get(field) or COLUMN_NAMES[field],
    )


@bp.post("/imports/<token>/confirm")
@require(Permission.IMPORT_HOUSEHOLDS)
def confirm(token: str):
    pending = _pending_or_404(token)
    if imports.has_expired(pending):
        return _expired(pending)
    commune = db.session.get(Commune, pending.commune_id)
    # Checked again now: a household registered since the preview is a match, not a copy.
    plan = imports.preview(pending.rows, commune)
    try:
        result = imports.apply(plan, commune, current_user, pending.filename)
        imports.discard(pending)
        db.session.commit()
    except IntegrityError:
        # Someone made one of the new villages at the same moment; the preview will now match it.
        db.session.rollback()
        flash(_("The commune's villages changed while importing. Nothing was saved; check the preview again."), "error")
        return redirect(url_for("imports.preview", token=token))
    flash(
        _(
            "Import finished: %(created)s households added, %(villages)s new villages, "
            "%(matched)s already registered, %(errors)s rows skipped because of errors.",
            created=format_decimal(result.created),
            villages=format_decimal(result.villages_created),
            matched=format_decimal(result.matched),
            errors=format_decimal(result.errors),
        ),
        "success",
    )
    return redirect(url_for("imports.index"))


@bp.post("/imports/<token>/cancel")
@require(Permission.IMPORT_HOUSEHOLDS)
def cancel(token: str):
    pending = _pending_or_404(token)
    imports.discard(pending)
    db.session.commit()
    flash(_("Import cancelled. Nothing was changed."), "success")
    return redirect(url_for("imports.index"))


@bp.get("/imports/template.xlsx")
@require(Permission.IMPORT_HOUSEHOLDS)
def template_xlsx():
    return send_file(
        io.BytesIO(imports.template_xlsx()),
        mimetype=XLSX_TYPE,
        as_attachment=True,
        download_name="mau-nhap-ho-gia-dinh.xlsx",
    )


@bp.get("/imports/template.csv")
@require(Permission.IMPORT_HOUSEHOLDS)
def template_csv():
    return send_file(
        io.BytesIO(imports.template_csv()),
        mimetype="text/csv; charset=utf-8",
        as_attachment=True,
        download_name="mau-nhap-ho-gia-dinh.csv",
    )


def _commune_choices() -> list[tuple[str, str]]:
    communes = db.session.scalars(
        sa.select(Commune).where(Commune.province_code == current_app.config["PROVINCE_CODE"])
    ).all()
    return [(c.code, commune_label(c)) for c in sorted(communes, key=lambda c: (fold(c.name), c.code))]


def _chosen_commune(code: str | None) -> Commune | None:
    """Officers import into their own commune (another commune's code answers 404); province
    staff into the one they chose (None when they chose none)."""
    if not sees_whole_province(current_user):
        if code and code != current_user.commune.code:
            abort(404)
        return current_user.commune
    if not code:
        return None
    commune = db.session.scalar(
        sa.select(Commune).where(Commune.code == code, Commune.province_code == current_app.config["PROVINCE_CODE"])
    )
    if commune is None:
        abort(404)
    return commune


def _pending_or_404(token: str) -> PendingImport:
    pending = imports.pending_for(token, current_user)
    if pending is None or not is_visible(current_user, pending):
        abort(404)
    return pending


def _expired(pending: PendingImport):
    imports.discard(pending)
    db.session.commit()
    flash(_("This preview has expired. Upload the file again."), "error")
    return redirect(url_for("imports.index"))
