"""Sign-ins recorded on the server, so signing out and changing a password really end them.

The session cookie carries a random token (under "sign_in") next to Flask-Login's user id.
A request is signed in only while the database holds that token's sign-in, not ended, for
that same user, and the user is active. Nothing is tied to the IP address: a phone on a
mobile network changes address often and must stay signed in.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, g, request, session
from flask_login import current_user

from app.clock import as_utc, utcnow
from app.extensions import db, login_manager
from app.models import SignIn, User

SESSION_KEY = "sign_in"
# How stale last_seen_at may get before a request writes it again (not one write per request).
TOUCH_EVERY = timedelta(minutes=5)
USER_AGENT_LENGTH = 200


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, user_agent: str | None) -> str:
    """Record a new sign-in for the user and return its token for the session cookie.
    The caller commits."""
    token = secrets.token_urlsafe(32)
    db.session.add(SignIn(token_hash=_hash(token), user=user, user_agent=(user_agent or "")[:USER_AGENT_LENGTH]))
    return token


def find_active(token: object) -> SignIn | None:
    """The sign-in behind a session's token, with its user, unless it has ended."""
    if not isinstance(token, str) or not token:
        return None
    return db.session.scalar(
        sa.select(SignIn)
        .options(so.joinedload(SignIn.user))
        .where(SignIn.token_hash == _hash(token), SignIn.ended_at.is_(None))
    )


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the session's user, only while its sign-in is live.

    A session whose sign-in has ended (signed out, password changed elsewhere) or whose
    account is disabled is treated as signed out, and its stale keys are dropped.
    """
    sign_in = find_active(session.get(SESSION_KEY))
    if sign_in is None or str(sign_in.user_id) != user_id or not sign_in.user.is_active:
        for key in ("_user_id", "_fresh", "_id", SESSION_KEY):
            session.pop(key, None)
        return None
    g.sign_in = sign_in
    return sign_in.user


def end(token: object) -> None:
    """End the sign-in behind this token (signing out). The caller commits."""
    if isinstance(token, str) and token:
        db.session.execute(
            sa.update(SignIn)
            .where(SignIn.token_hash == _hash(token), SignIn.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_others(user: User, keep_token: object) -> int:
    """End every live sign-in of the user except the one behind keep_token; how many ended.
    The caller commits."""
    query = sa.update(SignIn).where(SignIn.user_id == user.id, SignIn.ended_at.is_(None))
    if isinstance(keep_token, str) and keep_token:
        query = query.where(SignIn.token_hash != _hash(keep_token))
    return db.session.execute(query.values(ended_at=utcnow())).rowcount


def note_activity(sign_in: SignIn) -> None:
    """Move last_seen_at forward, at most once every few minutes."""
    now = utcnow()
    if now - as_utc(sign_in.last_seen_at) >= TOUCH_EVERY:
        sign_in.last_seen_at = now
        db.session.commit()


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    # Flask-Login's own protection compares a hash of the IP address; our sign-ins are
    # checked on the server instead, and a new address must not sign anyone out.
    login_manager.session_protection = None

    @app.before_request
    def _load_and_note_activity():
        # Loading the user here, before any view runs, keeps the last_seen_at commit from
        # sweeping up a view's half-done changes.
        if request.endpoint != "static" and current_user.is_authenticated and "sign_in" in g:
            note_activity(g.sign_in)
