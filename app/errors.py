"""Error pages in the user's language. A 500 rolls back whatever the request had started."""

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from app.extensions import db


def init_app(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(_error):
        return render_template(
            "error.html", code=403, title=_("Not allowed"),
            message=_("Your account does not have access to this page."),
        ), 403  # fmt: skip

    @app.errorhandler(404)
    def not_found(_error):
        return render_template(
            "error.html", code=404, title=_("Page not found"),
            message=_("The page you asked for does not exist or has been moved."),
        ), 404  # fmt: skip

    @app.errorhandler(CSRFError)
    def csrf_failed(_error):
        return render_template(
            "error.html", code=400, title=_("The form has expired"),
            message=_("Please go back, reload the page and try again."),
        ), 400  # fmt: skip

    @app.errorhandler(500)
    def server_error(_error):
        db.session.rollback()
        return render_template(
            "error.html", code=500, title=_("Something went wrong"),
            message=_("The error has been logged. Nothing you sent was half-saved; please try again."),
        ), 500  # fmt: skip
