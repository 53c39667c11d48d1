"""The admin's form for a new API token."""

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from app.api.tokens import VALIDITY_DAYS
from app.extensions import db
from app.labels import commune_label
from app.models import Commune, TokenScope
from app.text import clean_name

MAX_NAME = 120


class NewTokenForm(FlaskForm):
    name = StringField(
        _l("Name of the system"),
        render_kw={"autocomplete": "off", "maxlength": MAX_NAME},
    )
    scope = RadioField(
        _l("What it may read"),
        choices=[
            SelectChoice(TokenScope.PROVINCE.value, _l("The whole province: every commune's figures and sessions")),
            SelectChoice(TokenScope.COMMUNE.value, _l("One commune: its figures, villages and sessions")),
        ],
        default=TokenScope.PROVINCE.value,
        validate_choice=False,
    )
    commune = SelectField(_l("Commune or ward (for one commune)"), validate_choice=False)
    valid_days = SelectField(_l("Valid for"), validate_choice=False, default=str(VALIDITY_DAYS[0]))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        communes = db.session.scalars(sa.select(Commune).order_by(Commune.name)).all()
        self.commune.choices = [SelectChoice("", _("Choose…"))] + [
            SelectChoice(c.code, commune_label(c)) for c in communes
        ]
        self.valid_days.choices = [
            SelectChoice(str(days), _("%(n)d days", n=days) if days else _("Until revoked")) for days in VALIDITY_DAYS
        ]
        self.chosen_commune: Commune | None = None

    def validate_name(self, field):
        field.data = clean_name(field.data)
        if not field.data:
            raise ValidationError(_("Name the system that will use the token."))
        if len(field.data) > MAX_NAME:
            raise ValidationError(_("The system's name can be at most %(n)d characters.", n=MAX_NAME))

    def validate_scope(self, field):
        if field.data not in [scope.value for scope in TokenScope]:
            raise ValidationError(_("Choose what the token may read."))

    def validate_commune(self, field):
        if self.scope.data != TokenScope.COMMUNE:
            return
        self.chosen_commune = db.session.scalar(sa.select(Commune).where(Commune.code == (field.data or "")))
        if self.chosen_commune is None:
            raise ValidationError(_("Choose the commune or ward the token is for."))

    def validate_valid_days(self, field):
        if field.data not in [str(days) for days in VALIDITY_DAYS]:
            raise ValidationError(_("Choose how long the token stays valid."))
