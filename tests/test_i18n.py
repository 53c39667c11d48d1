from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from app.i18n import day, moment, number, percent


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("vi", ("257.959", "26/11/2026", "45,7%", "21:05 26/11/2026")),
        ("en", ("257,959", "26 Nov 2026", "45.7%", "26 Nov 2026, 21:05")),
    ],
)
def test_numbers_dates_and_percentages_follow_the_locale(app, locale, expected):
    with app.test_request_context(), force_locale(locale):
        formatted = (
            number(257959),
            day(date(2026, 11, 26)),
            percent(0.4567),
            moment(datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),  # 14:05 UTC is 21:05 in Vietnam
        )
    assert formatted == expected


def test_naive_stored_times_are_read_as_utc(app):
    with app.test_request_context(), force_locale("vi"):
        assert moment(datetime(2026, 11, 26, 23, 30)) == "06:30 27/11/2026"


def test_vietnamese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page


def test_switch_to_english_on_the_sign_in_page(client):
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Sign in" in page
    assert "Đăng nhập" not in page


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"locale": "fr", "next": "/login"})
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)


def test_language_is_saved_on_the_account(client, auth, make_user):
    user = make_user("officer")
    auth.login(user)
    client.post("/language", data={"locale": "en", "next": "/"})
    assert user.locale == "en"
    auth.logout()
    auth.login(user)
    assert "Hello," in client.get("/").get_data(as_text=True)


def test_vietnamese_catalogue_is_complete():
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).parent.parent / "translations/vi/LC_MESSAGES/messages.po"
    with path.open("rb") as po:
        catalogue = read_po(po)
    untranslated = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []
