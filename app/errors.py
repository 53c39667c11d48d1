"""Error answers in the user's language: pages for people, JSON under /api/.

A 500 rolls back whatever the request had started, and shows no trace or SQL. A page form
whose CSRF token expired comes back filled in instead of an error (app/forms_recovery.py).
"""

from flask import Flask, current_app, jsonify, redirect, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from app import forms_recovery
from app.extensions import db


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: int, title: str, message: str):
    """The one shape of an error: a page, or {"errors": {"request": [message]}} for the API."""
    if wants_json():
        return jsonify(errors={"request": [message]}), code
    return render_template("error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(400)
    def bad_request(_error):
        return error_response(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        page = forms_recovery.keep_posted_form()
        if page is not None:
            # Back to the same page (a GET), which shows the form filled in again.
            return redirect(page, 303) if current_user.is_authenticated else forms_recovery.sign_in_again(page)
        return error_response(400, _("The form has expired"), _("Please go back, reload the page and try again."))

    @app.errorhandler(403)
    def forbidden(_error):
        return error_response(403, _("Not allowed"), _("Your account does not have access to this page."))

    @app.errorhandler(404)
    def not_found(_error):
        return error_response(404, _("Page not found"), _("The page you asked for does not exist or has been moved."))

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return error_response(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def too_large(_error):
        if wants_json():
            return error_response(413, _("Too large"), _("The request is larger than this server accepts."))
        megabytes = current_app.config["IMPORT_MAX_BYTES"] / (1024 * 1024)
        return error_response(
            413,
            _("The file is too large"),
            _(
                "Files can be at most %(size)s MB. Split the list into smaller files and import them one by one.",
                size=format_decimal(round(megabytes, 1)),
            ),
        )

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return error_response(
            500,
            _("Something went wrong"),
            _("The error has been logged. Nothing you sent was half-saved; please try again."),
        )
