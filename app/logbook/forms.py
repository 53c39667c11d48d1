"""The session form. It carries what was typed; the rules live in logbook.services.

The form works without JavaScript: a search button lists matching households as checkboxes,
"add another household" adds a row, and a possible duplicate is offered as a button that
picks the existing household instead. CSRF is checked for every POST by CSRFProtect.
"""

import uuid

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, SelectField, StringField, TextAreaField

from app.auth.access import in_scope
from app.extensions import db
from app.households.services import likely_duplicates
from app.labels import LANGUAGES
from app.models import Household, Topic, TrainingSession, User, Village
from app.text import as_id


class NewHouseholdForm(Form):
    uuid = HiddenField()
    head_name = StringField(_l("Head of household"), render_kw={"autocomplete": "off"})
    address = StringField(_l("House number or address"), render_kw={"autocomplete": "off"})
    phone = StringField(_l("Phone (optional)"), render_kw={"inputmode": "tel", "autocomplete": "off"})
    is_confirmed_new = BooleanField(_l("This is a different household: create it"))

    def is_blank(self) -> bool:
        return not any((field.data or "").strip() for field in (self.head_name, self.address, self.phone))


class SessionForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks the token; the form re-renders with it via base.html

    uuid = HiddenField()
    date = StringField(_l("Date of the session"), render_kw={"type": "date"})
    village_id = SelectField(_l("Village"), coerce=str, validate_choice=False)
    topics = SelectField(_l("Topics taught"), coerce=str, validate_choice=False)
    q = StringField(_l("Find a household by the head's name"), render_kw={"type": "search", "autocomplete": "off"})
    new_households = FieldList(FormField(NewHouseholdForm), min_entries=1)
    language = SelectField(_l("Language of instruction"), coerce=str, validate_choice=False)
    attendees = StringField(_l("People who attended"), render_kw={"type": "number", "min": 0, "inputmode": "numeric"})
    notes = TextAreaField(_l("Notes"), render_kw={"rows": 3, "maxlength": 2000})

    def setup(self, user: User, formdata) -> None:
        """Fill the choices for this user, and give every new-household row an identifier."""
        villages = db.session.scalars(in_scope(sa.select(Village), Village, user).order_by(Village.name)).all()
        self.village_id.choices = [("", _l("Choose the village"))] + [(str(v.id), v.name) for v in villages]
        self.language.choices = [("", _l("Not recorded"))] + [(code.value, label) for code, label in LANGUAGES.items()]
        self.active_topics = db.session.scalars(
            sa.select(Topic).where(Topic.is_active).order_by(Topic.sort_order)
        ).all()
        self.chosen_topics = set(formdata.getlist("topics")) if formdata else set()
        self.chosen_household_ids = _ints(formdata.getlist("household_ids")) if formdata else []
        self.household_errors: list[str] = []
        for row in self.new_households:
            row.form.duplicates = []
            if not row.uuid.data:
                row.uuid.data = str(uuid.uuid4())

    def fill_from(self, session: TrainingSession) -> None:
        """Start the edit form from a saved session."""
        self.uuid.data = session.uuid
        self.date.data = session.held_on.isoformat()
        self.village_id.data = str(session.village_id)
        self.language.data = session.language or ""
        self.attendees.data = "" if session.attendees is None else str(session.attendees)
        self.notes.data = session.notes or ""
        self.chosen_topics = {topic.code for topic in session.topics}
        self.chosen_household_ids = [attendance.household_id for attendance in session.attendances]

    def add_row(self) -> None:
        self.new_households.append_entry({"uuid": str(uuid.uuid4())})
        self.new_households.entries[-1].form.duplicates = []

    def flag_duplicates(self) -> bool:
        """Attach likely duplicates to each new row not yet confirmed as new; True if any."""
        village_id = as_id(self.village_id.data)
        if village_id is None:
            return False
        found = False
        for row in self.filled_rows():
            if row.is_confirmed_new.data:
                continue
            row.duplicates = [
                household
                for household in likely_duplicates(village_id, row.head_name.data or "", row.phone.data)
                if household.id not in self.chosen_household_ids
            ]
            found = found or bool(row.duplicates)
        return found

    def use_existing(self, row_index: int, household_id: int) -> None:
        """A typed household turned out to be registered already: pick it, drop the row."""
        if household_id not in self.chosen_household_ids:
            self.chosen_household_ids.append(household_id)
        if 0 <= row_index < len(self.new_households.entries):
            del self.new_households.entries[row_index]
        if not self.new_households.entries:
            self.add_row()

    def filled_rows(self) -> list[NewHouseholdForm]:
        return [row.form for row in self.new_households if not row.form.is_blank()]

    def payload(self) -> tuple[dict, list[NewHouseholdForm]]:
        """The API-shaped dict for the service, and the form row behind each position in
        payload["households"] (None for an existing household) to place errors."""
        households: list[dict] = [{"id": household_id} for household_id in self.chosen_household_ids]
        rows: list[NewHouseholdForm | None] = [None] * len(households)
        for row in self.filled_rows():
            households.append(
                {
                    "uuid": row.uuid.data,
                    "head_name": row.head_name.data or "",
                    "address": row.address.data or "",
                    "phone": row.phone.data or "",
                }
            )
            rows.append(row)
        payload = {
            "uuid": self.uuid.data,
            "date": self.date.data,
            "village_id": self.village_id.data,
            "topics": sorted(self.chosen_topics),
            "households": households,
            "language": self.language.data or None,
            "attendees": self.attendees.data,
            "notes": self.notes.data,
        }
        return payload, rows

    def show_errors(self, errors: dict[str, list[str]], rows: list) -> None:
        """Put the service's messages next to the fields they are about."""
        self.household_errors = []
        for key, messages in errors.items():
            if key.startswith("households."):
                _, index, field_name = key.split(".")
                row = rows[int(index)]
                if row is not None and field_name in row:
                    row[field_name].errors = list(messages)
                    continue
            field = {"date": self.date, "village_id": self.village_id, "topics": self.topics}.get(key)
            field = field or {"language": self.language, "attendees": self.attendees, "notes": self.notes}.get(key)
            if field is not None:
                field.errors = list(messages)
            else:
                self.household_errors.extend(messages)

    def chosen_households(self, user: User) -> list[Household]:
        """The picked households the user may see, in the order they were picked."""
        if not self.chosen_household_ids:
            return []
        found = db.session.scalars(
            in_scope(sa.select(Household), Household, user).where(Household.id.in_(self.chosen_household_ids))
        ).all()
        by_id = {household.id: household for household in found}
        return [by_id[household_id] for household_id in self.chosen_household_ids if household_id in by_id]


def _ints(values: list[str]) -> list[int]:
    seen: list[int] = []
    for number in map(as_id, values):
        if number is not None and number not in seen:
            seen.append(number)
    return seen
