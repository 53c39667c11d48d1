"""Admin pages for API tokens: list, create (the secret is shown once), revoke."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.api import tokens
from app.api.token_forms import NewTokenForm
from app.auth.access import Permission, get_visible_or_404, require
from app.clock import utcnow
from app.extensions import db
from app.models import ApiToken

bp = Blueprint("api_tokens", __name__, template_folder="templates")


@bp.get("/admin/api-tokens")
@require(Permission.MANAGE_API_TOKENS)
def index():
    listed = db.session.scalars(tokens.tokens_listed()).all()
    now = utcnow()
    return render_template("api_tokens/index.html", rows=[(token, tokens.status_of(token, now)) for token in listed])


@bp.route("/admin/api-tokens/new", methods=["GET", "POST"])
@require(Permission.MANAGE_API_TOKENS)
def create():
    form = NewTokenForm()
    if not form.validate_on_submit():
        return render_template("api_tokens/new.html", form=form), 422 if form.is_submitted() else 200
    made = tokens.create_token(
        form.name.data, form.scope.data, form.chosen_commune, int(form.valid_days.data), current_user
    )
    # Shown in this answer only: the secret is not stored, so it can never be shown again.
    return render_template("api_tokens/created.html", token=made.token, secret=made.secret)


@bp.post("/admin/api-tokens/<int:api_token_id>/revoke")
@require(Permission.MANAGE_API_TOKENS)
def revoke(api_token_id: int):
    token = get_visible_or_404(ApiToken, api_token_id)
    tokens.revoke_token(token, current_user)
    flash(_("Token “%(name)s” revoked. Systems using it are refused from now on.", name=token.name), "success")
    return redirect(url_for("api_tokens.index"))
