"""Typed work survives an expired form.

A volunteer may fill a form for a long time outdoors, sign out in another tab, lose the
session cookie, or be signed out by a password change on another phone; the form's CSRF
token or the sign-in is then no longer valid. Instead of an error page or a bare sign-in
page, the CSRF error handler and the "sign in first" handler keep what was posted in the
session (never passwords, never files) and send the browser back to the same page, through
the sign-in page when needed. That page, marked with @keeps_typed_work, asks
recovered_formdata() once and shows the form filled in again, exactly as after a refused
POST, with a message to check it and save again.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

SESSION_KEY = "recovered_form"
# The session lives in a cookie, and browsers keep at most about 4 KB of it. What is kept
# must leave room for the sign-in's own keys (about 300 bytes), so larger forms (only very
# long notes come near) fall back to the old answer. tests/test_sign_in_security.py checks
# the fullest cookie this allows.
MAX_COOKIE_BYTES = 3600


def keeps_typed_work(view: Callable) -> Callable:
    """Mark a form view that refills itself from recovered_formdata() on GET."""
    view.keeps_typed_work = True
    return view


def is_kept_for(endpoint: str | None) -> bool:
    """Whether the view behind this endpoint takes typed work back after an expired token."""
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "keeps_typed_work", False)


def keep_posted_form() -> str | None:
    """Keep what this POST carried if its page takes typed work back: that page's address
    (to return to with a GET), or None when nothing was kept."""
    if request.method != "POST" or not is_kept_for(request.endpoint) or not _posted_from_this_site():
        return None
    if not keep(request.path, request.form):
        return None
    return url_for(request.endpoint, **(request.view_args or {}))


def _posted_from_this_site() -> bool:
    """A form posted from another site carries no token either; keeping it would let that site
    fill in a volunteer's form for them to save. Browsers name the page a POST came from in
    Origin (or, older ones, Referer); a request naming neither is kept."""
    source = request.headers.get("Origin") or request.referrer
    return source is None or urlsplit(source).netloc == request.host


def sign_in_again(page: str) -> Response:
    """To the sign-in page, then back to `page` where the kept form waits."""
    flash(_("Your session had expired. Sign in again: what you typed will be kept."), "info")
    return redirect(url_for("auth.login", next=page), 303)


def keep(path: str, form: MultiDict) -> bool:
    """Keep the posted fields for the page at `path`; False when they are too large to keep."""
    fields = [
        [name, value]
        for name, value in form.items(multi=True)
        if name != "csrf_token" and "password" not in name.lower()
    ]
    entry = {"path": path, "fields": fields}
    serializer = current_app.session_interface.get_signing_serializer(current_app)
    if serializer is None or len(serializer.dumps(entry)) > MAX_COOKIE_BYTES:
        return False
    session[SESSION_KEY] = entry
    return True


def recovered_formdata(path: str) -> MultiDict | None:
    """The fields kept for this page, once (they are removed), with a message; else None."""
    entry = session.get(SESSION_KEY)
    if not isinstance(entry, dict) or entry.get("path") != path:
        return None
    del session[SESSION_KEY]
    flash(_("Your session had expired. What you typed is still here: check it, then press Save again."), "info")
    return MultiDict([(name, value) for name, value in entry.get("fields", [])])


def kept_for(target: str) -> dict | None:
    """The kept fields, if they belong to the page a sign-in is about to land on."""
    entry = session.get(SESSION_KEY)
    if isinstance(entry, dict) and request.script_root + str(entry.get("path")) == urlsplit(target).path:
        return entry
    return None


def put_back(entry: dict | None) -> None:
    """Carry kept fields over a session.clear() (the sign-in starts a fresh session)."""
    if entry is not None:
        session[SESSION_KEY] = entry
