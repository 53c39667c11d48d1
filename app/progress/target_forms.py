"""Forms of the targets pages. The table's per-commune inputs are read by name in the view,
because their number follows the province's communes."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, StringField
from wtforms.validators import ValidationError
from wtforms.widgets import NumberInput

from app.progress.target_services import MAX_TARGET, parse_target
from app.text import clean_name

MAX_QUERY_LENGTH = 100


class CommuneFilterForm(FlaskForm):
    """GET filter of the table: part of a commune's name, accents optional."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Find a commune or ward"),
        filters=[lambda text: clean_name(text)[:MAX_QUERY_LENGTH]],
        render_kw={"autocomplete": "off", "enterkeyhint": "search"},
    )


class TargetsTableForm(FlaskForm):
    """Only the CSRF token: the inputs are named target-<code>, one for each commune shown."""


class TargetForm(FlaskForm):
    """One commune's target. Kept as typed text so a bad value comes back as the person typed it."""

    target = StringField(
        _l("Households to train"),
        widget=NumberInput(min=0, max=MAX_TARGET),
        render_kw={"inputmode": "numeric", "autocomplete": "off", "class": "num"},
    )

    def validate_target(self, field):
        try:
            self.value = parse_target(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None
