"""Open data (issue 9): progress per commune for anyone, without signing in.

The three answers are the same for every visitor and carry nothing personal, so shared caches
may keep them for a minute (app/security.py, PUBLIC_ENDPOINTS). The page has no form and no
script, so it writes nothing to the session and sets no cookie; its language comes from
?lang= or the visitor's own choice.
"""

import json

from flask import Blueprint, Response, render_template, request
from flask_babel import force_locale

from app.clock import VIETNAM
from app.exchange import spreadsheets
from app.opendata import services

bp = Blueprint("opendata", __name__, template_folder="templates")


@bp.get("/open-data")
def page():
    data = services.open_data()
    with force_locale(services.page_language(request.args.get("lang"))):
        return render_template(
            "opendata/page.html", data=data, dictionary=services.DICTIONARY, source=services.source(data)
        )


@bp.get("/open-data/communes.csv")
def communes_csv():
    data = services.open_data()
    body = b"".join(spreadsheets.csv_stream(services.columns(data.months), services.csv_rows(data)))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(data, "csv")}"'
    return _readable_from_other_sites(response)


@bp.get("/open-data/communes.json")
def communes_json():
    data = services.open_data()
    body = json.dumps(services.json_document(data), ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'inline; filename="{_file_name(data, "json")}"'
    return _readable_from_other_sites(response)


def _file_name(data: services.OpenData, fmt: str) -> str:
    """Dated, so a journalist's downloads of different days keep apart."""
    return f"du-lieu-mo-ky-nang-so-{data.as_of.astimezone(VIETNAM):%Y-%m-%d}.{fmt}"


def _readable_from_other_sites(response: Response) -> Response:
    # Charting tools and newsrooms' pages may read the files from their own sites; nothing is
    # sent with credentials, and there is nothing personal to read.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
