"""The filter of the exports page: the dashboards' GET parameters (`from`, `to`) and a commune."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from app.progress.forms import PeriodForm


class ExportFilterForm(PeriodForm):
    commune = SelectField(_l("Commune or ward"), validate_choice=False)

    def has_period_errors(self) -> bool:
        """Whether `period()` found a date it could not read (and fell back to the default)."""
        return bool(self.date_from.errors or self.date_to.errors)
