"""What a review form posts. The rules (a reason to reject, a note to send back) live in
verification.services; the page draws one small form per session by hand, so each note
field has its own id."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField


class ReviewForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST; each form carries the token itself

    decision = HiddenField()  # the value of the button that was pressed
    note = TextAreaField()
    next = HiddenField()
