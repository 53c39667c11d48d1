"""Failed sign-ins counted per phone number, in the database.

Counting in the database holds across every gunicorn worker. Counting per phone number,
never per IP address, keeps one guesser from locking out everyone who shares a mobile
carrier's address. After SIGN_IN_MAX_FAILURES failures within SIGN_IN_WINDOW_MINUTES, that
number is refused until the window has passed without new attempts.
"""

import hashlib
import hmac
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.clock import utcnow
from app.extensions import db
from app.models import SignInFailure
from app.text import clean_name, normalise_phone

KEEP_FAILURES_FOR = timedelta(days=1)


def identifier_hash(typed_phone: str | None) -> str:
    """One key per phone number however it is written; other typed text gets a key of its own.

    Keyed with SECRET_KEY, so the table cannot be turned back into phone numbers by trying
    every number (a plain hash of a 10-digit number could).
    """
    normalised = normalise_phone(typed_phone)
    key = normalised if normalised else "not-a-phone:" + clean_name(typed_phone or "").casefold()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), key.encode(), hashlib.sha256).hexdigest()


def window_minutes() -> int:
    return current_app.config["SIGN_IN_WINDOW_MINUTES"]


def is_refused(key: str) -> bool:
    """Whether this phone has failed too often lately to be allowed another try."""
    since = utcnow() - timedelta(minutes=window_minutes())
    failures = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SignInFailure)
        .where(SignInFailure.identifier_hash == key, SignInFailure.at >= since)
    )
    return failures >= current_app.config["SIGN_IN_MAX_FAILURES"]


def record_failure(key: str) -> None:
    """Count one failed (or refused) attempt, and forget attempts older than a day.
    The caller commits."""
    now = utcnow()
    db.session.execute(sa.delete(SignInFailure).where(SignInFailure.at < now - KEEP_FAILURES_FOR))
    db.session.add(SignInFailure(identifier_hash=key, at=now))


def clear(key: str) -> None:
    """Forget this phone's failures after a successful sign-in. The caller commits."""
    db.session.execute(sa.delete(SignInFailure).where(SignInFailure.identifier_hash == key))
