"""Exports: the page that offers them and the downloads (CSV streamed, XLSX from a temporary file).

Officers export their own commune, province staff and admins any commune or the whole
province. The lists hold personal data: each download is written to the audit trail, and
committed, before the first byte leaves.
"""

import tempfile

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import Permission, require, sees_whole_province
from app.exchange import exports, spreadsheets
from app.exchange.export_forms import ExportFilterForm
from app.labels import commune_label

bp = Blueprint("exports", __name__, template_folder="templates")

XLSX_IN_MEMORY = 8 * 1024 * 1024
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.get("/exports")
@require(Permission.EXPORT_AGGREGATES)
def index():
    filters, scope = _filters()
    if sees_whole_province(current_user):
        filters.commune.choices = [("", _("All communes and wards")), *exports.communes_to_choose()]
    return render_template(
        "exchange/exports.html",
        filters=filters,
        scope=scope,
        place=commune_label(scope.commune) if scope.commune is not None else _("All communes and wards"),
        args=_download_args(scope),
    )


@bp.get("/exports/totals.<any(csv, xlsx):fmt>")
@require(Permission.EXPORT_AGGREGATES)
def totals(fmt: str):
    return _download("totals", fmt)


@bp.get("/exports/sessions.<any(csv, xlsx):fmt>")
@require(Permission.EXPORT_PERSONAL_DATA)
def sessions(fmt: str):
    return _download("sessions", fmt)


@bp.get("/exports/households.<any(csv, xlsx):fmt>")
@require(Permission.EXPORT_PERSONAL_DATA)
def households(fmt: str):
    return _download("households", fmt)


@bp.get("/exports/attendance.csv")
@require(Permission.EXPORT_PERSONAL_DATA)
def attendance():
    """Every attendance row of the period: CSV only, streamed (3,000,000 rows at province scale)."""
    return _download("attendance", "csv")


def _filters() -> tuple[ExportFilterForm, exports.Scope]:
    filters = ExportFilterForm(request.args)
    start, end = filters.period()
    commune = exports.scope_commune(current_user, filters.commune.data)
    return filters, exports.Scope(start, end, commune)


def _download_args(scope: exports.Scope) -> dict:
    args = {"from": scope.start.isoformat(), "to": scope.end.isoformat()}
    if scope.commune is not None:
        args["commune"] = scope.commune.code
    return args


def _download(name: str, fmt: str) -> Response:
    filters, scope = _filters()
    if filters.has_period_errors():
        return redirect(url_for(".index", **request.args))  # the page shows what is wrong with the dates
    personal = name in exports.PERSONAL
    if personal:
        exports.record_download(current_user, name, fmt, scope)
    table = exports.TABLES[name](scope)
    if fmt == "csv":
        response = Response(spreadsheets.csv_stream(table.headers, table.rows), mimetype=MIMETYPES["csv"])
    else:
        response = _xlsx_response(table, scope)
    response.headers["Content-Disposition"] = exports.content_disposition(name, scope, fmt)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if personal:
        response.headers["Cache-Control"] = "no-store"
    return response


def _xlsx_response(table: exports.Table, scope: exports.Scope) -> Response:
    """The workbook is built in a temporary file (write-only, so memory stays low) and sent from
    there; a small workbook (all totals, most lists of one commune) stays in memory."""
    file = tempfile.SpooledTemporaryFile(max_size=XLSX_IN_MEMORY)  # noqa: SIM115 (send_file closes it)
    try:
        lines = exports.title_lines(table, scope)
        spreadsheets.write_xlsx(file, lines, table.headers, table.rows, table.widths, sheet_title=table.title)
    except spreadsheets.TooManyRows:
        file.close()
        flash(_("Too many rows for an Excel sheet. Download the CSV file instead."), "error")
        abort(redirect(url_for(".index", **request.args)))
    file.seek(0)
    return send_file(file, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=f"{table.name}.xlsx")
