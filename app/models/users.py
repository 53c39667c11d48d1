"""People who sign in: volunteers, commune officers, province staff and admins."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models._columns import created_at_column, one_of
from app.models.places import Commune, Team


class Role(StrEnum):
    VOLUNTEER = "volunteer"
    OFFICER = "officer"
    PROVINCE = "province"
    ADMIN = "admin"

    @property
    def belongs_to_commune(self) -> bool:
        """Volunteers and officers work inside one commune; the others see the province."""
        return self in (Role.VOLUNTEER, Role.OFFICER)


class User(UserMixin, db.Model):
    __table_args__ = (
        one_of("role", Role, "role"),
        sa.CheckConstraint("locale IN ('vi', 'en')", name="locale"),
        # Commune staff must have a commune; province-wide roles must not.
        sa.CheckConstraint(
            "(role IN ('volunteer', 'officer')) = (commune_id IS NOT NULL)",
            name="commune_matches_role",
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    phone: so.Mapped[str] = so.mapped_column(sa.String(15), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    role: so.Mapped[str] = so.mapped_column(sa.String(12))
    commune_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    team_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("team.id"), index=True)
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    locale: so.Mapped[str] = so.mapped_column(sa.String(5), default="vi")
    created_at: so.Mapped[datetime] = created_at_column()

    commune: so.Mapped[Commune | None] = so.relationship()
    team: so.Mapped[Team | None] = so.relationship()

    def set_password(self, password: str) -> None:
        # Werkzeug's scrypt in production; the test suite may pick a cheaper method.
        self.password_hash = generate_password_hash(password, current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
