"""Sign-ins kept on the server, and failed attempts counted per phone number.

A signed-in browser holds a random token in its session cookie; the database keeps only the
token's SHA-256, when it was last used and when it ended. Signing out or changing the
password ends sign-ins here, so a copy of an old cookie stops working everywhere.
"""

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.clock import utcnow
from app.extensions import db
from app.models._columns import created_at_column
from app.models.users import User


class SignIn(db.Model):
    __tablename__ = "sign_in"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # SHA-256 (hex) of the token in the cookie; the token itself is never stored.
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: so.Mapped[datetime] = created_at_column()
    last_seen_at: so.Mapped[datetime] = created_at_column()
    ended_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    # The browser, cut short: enough to tell "Chrome on Android" from "Firefox on a PC".
    user_agent: so.Mapped[str] = so.mapped_column(sa.String(200), default="")

    user: so.Mapped[User] = so.relationship()

    def __repr__(self) -> str:
        return f"<SignIn {self.id} user={self.user_id}>"


class SignInFailure(db.Model):
    """One refused or failed sign-in attempt. Rows older than a day are deleted as new ones come."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (sa.Index("ix_sign_in_failure_identifier_hash_at", "identifier_hash", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # HMAC-SHA-256 (hex) of the normalised phone number, or of the typed text when it is not a
    # phone, so the same number written three ways counts once and no typed text is kept.
    identifier_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<SignInFailure {self.id} at={self.at}>"
