"""Time in one place: stored times are UTC, "today" and every shown time are Vietnam's."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    """Today's date in Vietnam, whatever the server's own time zone."""
    return utcnow().astimezone(VIETNAM).date()


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
