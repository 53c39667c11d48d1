import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import AuditEvent, User
from tests.conftest import PASSWORD

WRONG_SIGN_IN = "Số điện thoại hoặc mật khẩu không đúng."


@pytest.fixture
def volunteer(make_user):
    return make_user("volunteer", phone="0912345678", full_name="Y Bhim Mlô")


def test_login_page_is_vietnamese_with_phone_and_password_fields(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="phone"' in page
    assert 'name="password"' in page
    assert "Đăng nhập" in page
    assert '<meta name="csrf-token"' in page


@pytest.mark.parametrize("written", ["0912345678", "0912 345 678", "+84 912 345 678", "84912345678"])
def test_any_usual_way_of_writing_the_phone_signs_in(client, auth, volunteer, written):
    response = auth.login(written)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Y Bhim Mlô" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("phone", "password"),
    [
        ("0912345678", "wrong-password"),  # wrong password
        ("0999999999", PASSWORD),  # nobody has this phone
        ("not a phone", PASSWORD),
    ],
)
def test_failed_sign_in_keeps_phone_and_says_the_same_thing(client, auth, volunteer, phone, password):
    response = auth.login(phone, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert WRONG_SIGN_IN in page
    assert f'value="{phone}"' in page  # the phone stays typed
    assert PASSWORD not in page and "wrong-password" not in page
    assert client.get("/").status_code == 302  # nobody signed in


def test_disabled_account_gets_the_same_message(client, auth, volunteer):
    volunteer.is_active = False
    db.session.commit()
    page = auth.login(volunteer).get_data(as_text=True)
    assert WRONG_SIGN_IN in page
    assert client.get("/").status_code == 302


def test_disabled_account_is_signed_out_on_next_request(client, auth, volunteer):
    auth.login(volunteer)
    assert client.get("/").status_code == 200
    volunteer.is_active = False
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_empty_fields_get_messages_next_to_them(client):
    page = client.post("/login", data={"phone": "", "password": ""}).get_data(as_text=True)
    assert "Nhập số điện thoại." in page
    assert "Nhập mật khẩu." in page


def test_anonymous_visitor_is_sent_to_sign_in_with_next(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account/password"


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/account/password", "/account/password"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_sign_in_next_stays_on_the_site(auth, volunteer, next_url, lands_on):
    response = auth.login(volunteer, next=next_url)
    assert response.headers["Location"] == lands_on


def test_sign_out_is_a_post_and_ends_the_session(client, auth, volunteer):
    auth.login(volunteer)
    assert client.get("/logout").status_code == 405
    response = auth.logout()
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_change_password(client, auth, volunteer):
    auth.login(volunteer)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "buon-ako-dhong-2026", "confirm": "buon-ako-dhong-2026"},
    )
    assert response.status_code == 302
    auth.logout()
    assert auth.login(volunteer, "buon-ako-dhong-2026").status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.change_password"))


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("wrong", "buon-ako-dhong-2026", "buon-ako-dhong-2026", "Mật khẩu hiện tại không đúng."),
        (PASSWORD, "ngan", "ngan", "Mật khẩu cần ít nhất 8 ký tự."),
        (PASSWORD, "0912345678", "0912345678", "Không dùng số điện thoại làm mật khẩu."),
        (PASSWORD, "12345678", "12345678", "Mật khẩu này quá dễ đoán."),
        (PASSWORD, "buon-ako-dhong-2026", "khac-hoan-toan", "Hai mật khẩu mới không giống nhau."),
    ],
)
def test_change_password_refusals(client, auth, volunteer, current, new, confirm, message):
    auth.login(volunteer)
    response = client.post(
        "/account/password", data={"current_password": current, "new_password": new, "confirm": confirm}
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(volunteer)
    assert volunteer.check_password(PASSWORD)


def test_passwords_are_hashed_with_scrypt_by_default(app, volunteer):
    assert create_app().config["PASSWORD_HASH_METHOD"] == "scrypt"
    app.config["PASSWORD_HASH_METHOD"] = "scrypt"
    volunteer.set_password(PASSWORD)
    assert volunteer.password_hash.startswith("scrypt:")
    assert PASSWORD not in volunteer.password_hash
    assert volunteer.check_password(PASSWORD)


class TestUsersCreate:
    def test_creates_an_officer(self, runner, communes):
        result = runner.invoke(args=[
            "users", "create", "--phone", "0912 000 111", "--name", "  Trần   Thị Bích ",
            "--role", "officer", "--commune", "24133", "--password", "buon-ma-thuot-1",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        user = db.session.scalar(sa.select(User).where(User.phone == "0912000111"))
        assert (user.full_name, user.role, user.commune.code) == ("Trần Thị Bích", "officer", "24133")
        assert (
            db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))) == "user.create"
        )

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--phone", "123", "--role", "admin"], "không phải là số điện thoại Việt Nam"),
            (["--phone", "0912000111", "--role", "officer"], "cần có mã xã/phường"),
            (
                ["--phone", "0912000111", "--role", "officer", "--commune", "99999"],
                "Không có xã/phường nào mang mã 99999",
            ),
            (["--phone", "0912000111", "--role", "province", "--commune", "24133"], "không thuộc xã/phường nào"),
        ],
    )
    def test_refusals(self, runner, communes, args, message):
        result = runner.invoke(args=["users", "create", "--name", "A", "--password", "buon-ma-thuot-1", *args])
        assert result.exit_code != 0
        assert message in result.output
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0

    def test_refuses_a_weak_password_and_a_taken_phone(self, runner, communes):
        base = ["users", "create", "--phone", "0912000111", "--name", "A", "--role", "admin"]
        assert "ít nhất 8 ký tự" in runner.invoke(args=[*base, "--password", "short"]).output
        assert runner.invoke(args=[*base, "--password", "buon-ma-thuot-1"]).exit_code == 0
        assert (
            "Đã có người dùng với số điện thoại này."
            in runner.invoke(args=[*base, "--password", "buon-ma-thuot-2"]).output
        )
