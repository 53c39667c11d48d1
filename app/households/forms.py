from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField, StringField, SubmitField, TelField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.text import clean_name, normalise_phone

MAX_QUERY_LENGTH = 100


class RegistryFilterForm(FlaskForm):
    """The registry's GET filters; the view fills the village choices the user may see."""

    class Meta:
        csrf = False

    village = SelectField(_l("Village"), choices=[], validate_choice=False)
    q = SearchField(
        _l("Name or phone number"),
        filters=[lambda text: clean_name(text)[:MAX_QUERY_LENGTH]],
        render_kw={"autocomplete": "off", "enterkeyhint": "search"},
    )


class HouseholdForm(FlaskForm):
    head_name = StringField(
        _l("Head of household"),
        filters=[clean_name],
        validators=[
            DataRequired(_l("Enter the name of the head of household.")),
            Length(max=120, message=_l("The name must be 1 to 120 characters.")),
        ],
        render_kw={"autocomplete": "off"},
    )
    address = StringField(
        _l("Address"),
        filters=[clean_name],
        validators=[Optional(), Length(max=200, message=_l("The address can be at most 200 characters."))],
        render_kw={"autocomplete": "off"},
    )
    phone = TelField(
        _l("Phone number"),
        validators=[Optional()],
        render_kw={"autocomplete": "off", "inputmode": "tel"},
    )
    submit = SubmitField(_l("Save"))

    def validate_phone(self, field):
        if normalise_phone(field.data) is None:
            raise ValidationError(_l("This is not a Vietnamese phone number."))
