"""Communes (from official data), their villages, and the Tổ CNS teams that serve them."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models._columns import created_at_column, one_of

if TYPE_CHECKING:
    from app.models.households import Household


class CommuneKind(StrEnum):
    XA = "xa"
    PHUONG = "phuong"


class VillageKind(StrEnum):
    THON = "thon"
    BUON = "buon"
    TO_DAN_PHO = "to_dan_pho"
    BON = "bon"


team_village = sa.Table(
    "team_village",
    db.metadata,
    sa.Column("team_id", sa.ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("village_id", sa.ForeignKey("village.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Commune(db.Model):
    """A commune or ward (xã, phường) with its official code from the 2025 data."""

    __table_args__ = (
        one_of("kind", CommuneKind, "kind"),
        sa.CheckConstraint("target_households >= 0", name="target_not_negative"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(10), unique=True)
    province_code: so.Mapped[int] = so.mapped_column(index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    target_households: so.Mapped[int] = so.mapped_column(default=0)

    villages: so.Mapped[list["Village"]] = so.relationship(back_populates="commune", order_by="Village.name")
    teams: so.Mapped[list["Team"]] = so.relationship(back_populates="commune", order_by="Team.name")

    @property
    def commune_id(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<Commune {self.code} {self.name}>"


class Village(db.Model):
    """A thôn, buôn, tổ dân phố or bon; created or imported by the commune's officers."""

    __table_args__ = (
        one_of("kind", VillageKind, "kind"),
        sa.UniqueConstraint("commune_id", "folded_name"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    folded_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    kind: so.Mapped[str] = so.mapped_column(sa.String(12), default=VillageKind.THON)
    created_at: so.Mapped[datetime] = created_at_column()

    commune: so.Mapped[Commune] = so.relationship(back_populates="villages")
    households: so.Mapped[list["Household"]] = so.relationship(back_populates="village")
    teams: so.Mapped[list["Team"]] = so.relationship(secondary=team_village, back_populates="villages")

    def __repr__(self) -> str:
        return f"<Village {self.id} {self.name}>"


class Team(db.Model):
    """A Tổ Công nghệ số cộng đồng: volunteers serving one or more villages of a commune."""

    __table_args__ = (sa.UniqueConstraint("commune_id", "name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(120))
    created_at: so.Mapped[datetime] = created_at_column()

    commune: so.Mapped[Commune] = so.relationship(back_populates="teams")
    villages: so.Mapped[list[Village]] = so.relationship(
        secondary=team_village, back_populates="teams", order_by="Village.name"
    )

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name}>"
