from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField

# What phones offer in their file picker; the content, not the name, decides how it is read.
ACCEPTED_FILES = ".xlsx,.csv,.txt,text/csv,text/plain,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    """A household file for one commune. Officers import into their own commune, so the
    view leaves the commune choice out for them."""

    commune = SelectField(_l("Commune or ward"), choices=[], validate_choice=False)
    file = FileField(
        _l("File (Excel .xlsx or CSV)"),
        validators=[FileRequired(_l("Choose the file to import."))],
        render_kw={"accept": ACCEPTED_FILES},
    )
    submit = SubmitField(_l("Upload and check"))
