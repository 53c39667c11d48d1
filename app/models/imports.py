"""Imports waiting for confirmation: the rows read from an uploaded file, kept between the
preview and the officer's "Import" (or "Cancel") for a short while."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.extensions import db
from app.models._columns import created_at_column


class PendingImport(db.Model):
    __tablename__ = "pending_import"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # The secret in the preview's address (secrets.token_urlsafe(32) is 43 characters).
    token: so.Mapped[str] = so.mapped_column(sa.String(43), unique=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id"), index=True)
    commune_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("commune.id"), index=True)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = created_at_column()
    # The header as the file spelled it ({"village": "Thôn, buôn", …}) and the rows read,
    # as text, each with its row number in the spreadsheet.
    columns: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    rows: so.Mapped[list[dict[str, Any]]] = so.mapped_column(sa.JSON)

    def __repr__(self) -> str:
        return f"<PendingImport {self.id} {self.filename}>"
