"""Filters of the dashboards: GET forms, so a filtered page (and its export) is a shareable URL."""

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField

from app.clock import local_today

DEFAULT_PERIOD_DAYS = 30
# Periods are read within these years: the dashboards count back a month or a year from a
# date, and add a month to it, which the first and last days Python knows cannot take.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2100, 12, 31)


class PeriodForm(FlaskForm):
    class Meta:
        csrf = False

    date_from = StringField(_l("From"), name="from", render_kw={"type": "date"})
    date_to = StringField(_l("To"), name="to", render_kw={"type": "date"})

    def period(self) -> tuple[date, date]:
        """The chosen dates, or the last 30 days. Bad dates get a message and the default."""
        today = local_today()
        start = _parse(self.date_from, _("Enter a date as dd/mm/yyyy."))
        end = _parse(self.date_to, _("Enter a date as dd/mm/yyyy."))
        end = end or today
        start = start or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if start > end:
            self.date_to.errors = [_("The end date is before the start date.")]
            start, end = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1), end
        return start, end


class ProvinceFilterForm(PeriodForm):
    q = StringField(_l("Commune or ward name"), render_kw={"type": "search"})
    kind = SelectField(_l("Kind"), validate_choice=False)
    sort = HiddenField()
    dir = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _("Communes and wards")), ("xa", _("Communes (xã)")), ("phuong", _("Wards (phường)"))]


def _parse(field, message: str) -> date | None:
    raw = (field.data or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not EARLIEST_DAY <= day <= LATEST_DAY:
        field.errors = [message]
        return None
    return day
