"""API tokens: admins make and revoke them; other systems read the API with them.

A request under /api/v1/ with `Authorization: Bearer <token>` is the token's request, whatever
cookie it also carries: a bad, revoked or expired token answers 401 and never falls back to
the cookie. One UPDATE of the token's row checks it, counts the request in the current minute
(the rate limit, the same for every gunicorn worker) and notes when it was last used.

Tokens only read. A write with a token answers 403 before the CSRF check runs, so CSRF stays
what protects cookie callers, and a token never needs it.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, request
from flask_babel import gettext as _

from app.auth.access import TokenCaller
from app.clock import as_utc, utcnow
from app.errors import error_response
from app.extensions import db
from app.models import ApiToken, Commune, TokenScope, User
from app.models.audit import record
from app.text import clean_name

API_PREFIX = "/api/v1/"
SECRET_PREFIX = "kns_"  # noqa: S105 (not a secret: recognisable in a config file or a secret scanner)
SHOWN_PREFIX_LENGTH = 10  # "kns_" and six characters of the secret
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_AUDITED_REQUEST = 300
# How long a new token stays valid, in days (0: until revoked).
VALIDITY_DAYS = (365, 90, 30, 0)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just made, with its secret: shown once, never stored."""

    token: ApiToken
    secret: str


def create_token(name: str, scope: str, commune: Commune | None, valid_days: int, admin: User) -> NewToken:
    """Make a token for another system and record it in the audit trail. Commits."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    scope = TokenScope(scope)
    token = ApiToken(
        name=clean_name(name),
        scope=scope,
        commune=commune if scope == TokenScope.COMMUNE else None,
        secret_hash=digest(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        created_by=admin,
        expires_at=utcnow() + timedelta(days=valid_days) if valid_days else None,
    )
    db.session.add(token)
    record(
        admin.id,
        "api_token.create",
        token,
        changes={
            "name": token.name,
            "scope": token.scope,
            "commune": token.commune.code if token.commune else None,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    db.session.commit()
    return NewToken(token, secret)


def revoke_token(token: ApiToken, admin: User) -> None:
    """Revoke a token: its next request answers 401. Revoking twice changes nothing. Commits."""
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    token.revoked_by = admin
    record(admin.id, "api_token.revoke", token, changes={"name": token.name})
    db.session.commit()


def tokens_listed() -> sa.Select:
    """Every token, newest first, with its commune and the people who made or revoked it."""
    return (
        sa.select(ApiToken)
        .options(
            so.joinedload(ApiToken.commune), so.joinedload(ApiToken.created_by), so.joinedload(ApiToken.revoked_by)
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def status_of(token: ApiToken, now: datetime | None = None) -> str:
    """Whether the token is "active", "revoked" or "expired"."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and as_utc(token.expires_at) <= (now or utcnow()):
        return "expired"
    return "active"


@dataclass(frozen=True)
class TokenUse:
    token: ApiToken
    requests_this_minute: int
    at: datetime


def use_token(secret: str) -> TokenUse | None:
    """Find a live token by its secret and count this request, in one atomic UPDATE: None for
    an unknown, revoked or expired token. The caller commits."""
    if not secret:
        return None
    now = utcnow()
    minute = now.replace(second=0, microsecond=0)
    new_window = sa.or_(ApiToken.window_started_at.is_(None), ApiToken.window_started_at < minute)
    token = db.session.scalar(
        sa.update(ApiToken)
        .where(
            ApiToken.secret_hash == digest(secret),
            ApiToken.revoked_at.is_(None),
            sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
        .values(
            window_started_at=sa.case((new_window, minute), else_=ApiToken.window_started_at),
            window_requests=sa.case((new_window, 1), else_=ApiToken.window_requests + 1),
            last_used_at=now,
        )
        .returning(ApiToken)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if token is None:
        return None
    return TokenUse(token, token.window_requests, now)


def authenticate_request():
    """Before every request: a request with a token is the token's (see the module's doc)."""
    header = request.headers.get("Authorization")
    if header is None or not request.path.startswith(API_PREFIX):
        return None
    scheme, _space, secret = header.strip().partition(" ")
    use = use_token(secret.strip()) if scheme.lower() == "bearer" else None
    if use is None:
        db.session.rollback()
        g._login_user = current_app.login_manager.anonymous_user()  # the cookie is not read
        response, status = error_response(
            401, _("Sign in"), _("The API token is not valid: it is wrong, revoked or expired.")
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
        return response, status
    token = use.token
    g._login_user = TokenCaller(token.id, TokenScope(token.scope), token.commune_id)  # Flask-Login's current_user
    if use.requests_this_minute > current_app.config["API_TOKEN_RATE_PER_MINUTE"]:
        db.session.commit()  # the count stands; the request is not served, so not audited
        response, status = error_response(
            429, _("Too many requests"), _("This API token made too many requests. Wait a minute and try again.")
        )
        response.headers["Retry-After"] = str(60 - use.at.second)
        return response, status
    asked = f"{request.method} {request.full_path.rstrip('?')}".replace("\x00", "")
    record(None, "api_token.use", token, changes={"request": asked[:MAX_AUDITED_REQUEST]})
    db.session.commit()
    if request.method not in READ_METHODS:
        return error_response(
            403, _("Not allowed"), _("API tokens can only read. Sessions are logged by people who sign in.")
        )
    return None


def init_app(app: Flask) -> None:
    """Register before CSRF protection and sign-in loading, so a token's request is decided
    first and its cookie (if any) is never read."""
    app.before_request(authenticate_request)
