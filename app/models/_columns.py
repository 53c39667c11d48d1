"""Column helpers shared by the model modules."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.clock import utcnow


def created_at_column() -> so.Mapped[datetime]:
    return so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


def updated_at_column() -> so.Mapped[datetime]:
    return so.mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def one_of(column: str, choices: type[StrEnum], name: str) -> sa.CheckConstraint:
    """A CHECK that keeps a string column inside an enum's values."""
    values = ", ".join(f"'{choice.value}'" for choice in choices)
    return sa.CheckConstraint(f"{column} IN ({values})", name=name)
