"""Households (hộ gia đình): the unit the province counts."""

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models._columns import created_at_column, updated_at_column
from app.models.places import Village

if TYPE_CHECKING:
    from app.models.training import Attendance


class Household(db.Model):
    __table_args__ = (
        # Search lists households by the folded name of the head, in a village, in a commune
        # (the registry) or in the whole province (province staff). Each reach has its index in
        # that order, holding what the search filters on too, so a page and the count of
        # matches read the index alone (app.households.services.matching_households).
        sa.Index("ix_household_village_folded", "village_id", "head_name_folded", "id", "deleted_at", "phone"),
        sa.Index("ix_household_commune_folded", "commune_id", "head_name_folded", "id", "deleted_at", "phone"),
        sa.Index("ix_household_folded", "head_name_folded", "id", "deleted_at", "phone"),
        sa.Index("ix_household_village_phone", "village_id", "phone"),
        sa.Index("ix_household_village_trained_on", "village_id", "trained_on"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Made by the client that first typed the household (offline phones too), so a retry
    # never creates it twice.
    uuid: so.Mapped[str] = so.mapped_column(sa.String(36), unique=True, default=lambda: str(uuid.uuid4()))
    # Kept with the village's commune so commune scoping is one indexed filter.
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    village_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("village.id"), index=True)
    head_name: so.Mapped[str] = so.mapped_column(sa.String(120))
    head_name_folded: so.Mapped[str] = so.mapped_column(sa.String(120))
    address: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(15))
    created_by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: so.Mapped[datetime] = created_at_column()
    updated_at: so.Mapped[datetime] = updated_at_column()
    deleted_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    # What the counters (app.progress.tallies) hold for this household: whether it is counted
    # as registered, and the date of its first session that counts (None: not yet reached).
    is_counted: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    trained_on: so.Mapped[date | None] = so.mapped_column(sa.Date)

    village: so.Mapped[Village] = so.relationship(back_populates="households")
    attendances: so.Mapped[list["Attendance"]] = so.relationship(back_populates="household")

    def __repr__(self) -> str:
        return f"<Household {self.id}>"
