from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import forms_recovery
from app.auth import services, sign_ins, throttle
from app.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from app.errors import error_response, wants_json
from app.extensions import db, login_manager

bp = Blueprint("auth", __name__, template_folder="templates")


@login_manager.unauthorized_handler
def sign_in_first():
    if wants_json():
        return error_response(401, _("Sign in"), _("Sign in first."))
    # Signed out while filling a form (say, the password was changed on another phone).
    page = forms_recovery.keep_posted_form()
    if page is not None:
        return forms_recovery.sign_in_again(page)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, never a scheme-relative //host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return _login_page(form)
    try:
        user = services.authenticate(form.phone.data, form.password.data)
    except services.SignInRefused:
        db.session.commit()  # the refused attempt counts too
        # The same words whether or not an account has this number.
        minutes = throttle.window_minutes()
        form.password.errors.append(_("Too many failed attempts. Try again in %(minutes)d minutes.", minutes=minutes))
        return _login_page(form), 429, {"Retry-After": str(minutes * 60)}
    if user is None:
        db.session.commit()  # the failure is counted
        # One message for wrong phone, wrong password and disabled account alike.
        form.password.errors.append(_("The phone number or password is not correct."))
        return _login_page(form)
    target = safe_next(form.next.data) or url_for("home.index")
    kept_form = forms_recovery.kept_for(target)
    session.clear()  # a fresh session for every sign-in
    login_user(user)
    session[sign_ins.SESSION_KEY] = sign_ins.start(user, request.user_agent.string)
    forms_recovery.put_back(kept_form)
    db.session.commit()
    return redirect(target)


def _login_page(form: LoginForm):
    return render_template("auth/login.html", form=form, language_form=LanguageForm())


@bp.post("/logout")
def logout():
    sign_ins.end(session.get(sign_ins.SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm(current_user)
    if form.validate_on_submit():
        services.change_password(current_user, form.new_password.data, session.get(sign_ins.SESSION_KEY))
        db.session.commit()
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form)


@bp.post("/language")
def set_language():
    """Switch the interface language; saved on the account when signed in."""
    form = LanguageForm()
    locale = form.locale.data if form.validate_on_submit() else None
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("home.index"))
