"""API tokens: how other systems (the province's integration platform) read the figures.

A token is read-only and has a scope: the whole province, or one commune. Only a SHA-256
digest of the secret is stored; the secret itself is shown once, when the token is made.
"""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models._columns import created_at_column, one_of
from app.models.places import Commune
from app.models.users import User


class TokenScope(StrEnum):
    PROVINCE = "province"  # every commune's figures and sessions
    COMMUNE = "commune"  # one commune's figures, villages and sessions


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (
        one_of("scope", TokenScope, "scope"),
        sa.CheckConstraint("(scope = 'commune') = (commune_id IS NOT NULL)", name="commune_matches_scope"),
        sa.CheckConstraint("window_requests >= 0", name="window_requests_not_negative"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    scope: so.Mapped[str] = so.mapped_column(sa.String(12))
    commune_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    # Secrets are 256 random bits, so a fast digest is enough: nothing to guess from it.
    secret_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    # The first characters of the secret, so an admin can tell which token a system holds.
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_by_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: so.Mapped[datetime] = created_at_column()
    expires_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    # The rate limit: requests counted in a fixed one-minute window, on this row, so every
    # gunicorn worker sees the same count (app/api/tokens.py).
    window_started_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    window_requests: so.Mapped[int] = so.mapped_column(default=0)

    commune: so.Mapped[Commune | None] = so.relationship()
    created_by: so.Mapped[User] = so.relationship(foreign_keys=[created_by_id])
    revoked_by: so.Mapped[User | None] = so.relationship(foreign_keys=[revoked_by_id])

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}>"
