"""Sign-in hardening: failed attempts counted per phone in the database, sign-ins that end
for good, and typed work that survives an expired form."""

import hashlib
import random
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login.utils import encode_cookie
from werkzeug.datastructures import MultiDict

from app import create_app, forms_recovery
from app.auth.services import password_problem
from app.clock import as_utc, local_today, utcnow
from app.extensions import db
from app.models import AuditEvent, Household, SignIn, SignInFailure, Team, TrainingSession
from tests.conftest import COMMUNE_A, PASSWORD, IsolatedClient, _test_config

WRONG_SIGN_IN = "Số điện thoại hoặc mật khẩu không đúng."
TOO_MANY = "Bạn đã nhập sai nhiều lần. Vui lòng thử lại sau 15 phút."
KEPT = "Phiên làm việc đã hết hạn. Thông tin bạn nhập vẫn còn; hãy kiểm tra rồi bấm Lưu lại."
SIGN_IN_AGAIN = "Phiên làm việc đã hết hạn. Hãy đăng nhập lại; thông tin bạn đã nhập vẫn được giữ."
NEW_PASSWORD = "buon-ako-dhong-2026"
LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặ "


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def csrf_token_of(page: str) -> str:
    return page.split('name="csrf-token" content="')[1].split('"')[0]


@pytest.fixture
def volunteer(make_user):
    return make_user("volunteer", phone="0912345678", full_name="Y Bhim Mlô")


class TestThrottling:
    def test_five_failures_refuse_the_sixth_attempt_even_with_the_right_password(self, client, auth, volunteer):
        for _ in range(5):
            response = auth.login(volunteer, "wrong-password")
            assert response.status_code == 200
            assert WRONG_SIGN_IN in response.get_data(as_text=True)
        response = auth.login(volunteer, PASSWORD)
        page = response.get_data(as_text=True)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "900"
        assert TOO_MANY in page
        assert WRONG_SIGN_IN not in page
        assert 'value="0912345678"' in page  # the phone stays typed
        assert client.get("/").status_code == 302  # nobody signed in
        assert count(SignInFailure) == 6  # the refused attempt counts too
        assert count(SignIn) == 0

    def test_an_unknown_phone_is_refused_with_the_same_words(self, auth, volunteer):
        for phone in ("0912345678", "0999999999"):
            for _ in range(5):
                auth.login(phone, "wrong-password")
        known, unknown = auth.login("0912345678", PASSWORD), auth.login("0999999999", PASSWORD)
        assert known.status_code == unknown.status_code == 429
        assert TOO_MANY in known.get_data(as_text=True)

        def shown(response, phone):
            # Everything but the typed phone and the CSRF tokens (they carry a timestamp).
            page = response.get_data(as_text=True).replace(phone, "PHONE")
            return re.sub(r'(name="csrf[-_]token"[^>]*?)(content|value)="[^"]*"', r"\1", page)

        assert shown(known, "0912345678") == shown(unknown, "0999999999")

    def test_text_that_is_not_a_phone_is_counted_too(self, auth, volunteer):
        for _ in range(5):
            auth.login("admin", "wrong-password")
        assert TOO_MANY in auth.login("  admin ", PASSWORD).get_data(as_text=True)

    def test_one_number_written_several_ways_counts_as_one(self, auth, volunteer):
        for written in ("0912345678", "0912 345 678", "+84 912 345 678", "84912345678", "0912.345.678"):
            auth.login(written, "wrong-password")
        assert auth.login(volunteer, PASSWORD).status_code == 429
        assert len(set(db.session.scalars(sa.select(SignInFailure.identifier_hash)))) == 1

    def test_other_phones_behind_the_same_address_still_sign_in(self, client, auth, volunteer, make_user):
        neighbour = make_user("volunteer", phone="0987000111")
        for _ in range(6):
            auth.login(volunteer, "wrong-password")
        # The test client sends every request from 127.0.0.1, like a carrier's shared address.
        assert auth.login(neighbour).headers["Location"] == "/"
        assert client.get("/").status_code == 200

    def test_a_success_clears_the_phones_failures(self, auth, volunteer):
        for _ in range(4):
            auth.login(volunteer, "wrong-password")
        assert auth.login(volunteer).status_code == 302
        assert count(SignInFailure) == 0
        auth.logout()
        for _ in range(4):
            auth.login(volunteer, "wrong-password")
        assert auth.login(volunteer).status_code == 302

    def test_the_refusal_ends_once_the_window_has_passed(self, auth, volunteer):
        for _ in range(6):
            auth.login(volunteer, "wrong-password")
        db.session.execute(sa.update(SignInFailure).values(at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
        assert auth.login(volunteer).headers["Location"] == "/"

    def test_failures_older_than_a_day_are_deleted(self, auth, volunteer):
        db.session.add(SignInFailure(identifier_hash="0" * 64, at=utcnow() - timedelta(days=2)))
        db.session.commit()
        auth.login(volunteer, "wrong-password")
        assert "0" * 64 not in db.session.scalars(sa.select(SignInFailure.identifier_hash)).all()
        assert count(SignInFailure) == 1

    def test_every_worker_sees_the_same_count(self, app, auth, volunteer):
        """A second app on the same database stands in for another gunicorn worker."""
        for _ in range(5):
            auth.login(volunteer, "wrong-password")
        other_worker = create_app(_test_config(app.config["SQLALCHEMY_DATABASE_URI"]))
        other_worker.test_client_class = IsolatedClient
        try:
            response = other_worker.test_client().post("/login", data={"phone": volunteer.phone, "password": PASSWORD})
            assert response.status_code == 429
            assert TOO_MANY in response.get_data(as_text=True)
        finally:
            with other_worker.app_context():
                db.engine.dispose()


class TestSignIns:
    def test_signing_in_keeps_a_random_token_not_the_password_or_the_id_alone(self, client, auth, volunteer):
        auth.login(volunteer)
        sign_in = db.session.scalar(sa.select(SignIn))
        assert (sign_in.user_id, sign_in.ended_at) == (volunteer.id, None)
        assert len(sign_in.token_hash) == 64
        with client.session_transaction() as session:
            assert hashlib.sha256(session["sign_in"].encode()).hexdigest() == sign_in.token_hash
            assert PASSWORD not in str(dict(session))

    def test_a_copy_of_the_cookie_stops_working_after_signing_out(self, app, client, auth, volunteer):
        auth.login(volunteer)
        copied = client.get_cookie("session").value
        auth.logout()
        thief = app.test_client()
        thief.set_cookie("session", copied)
        response = thief.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        assert thief.get("/api/v1/households?village_id=1&q=a").status_code == 401
        assert db.session.scalar(sa.select(SignIn.ended_at)) is not None

    def test_a_session_holding_only_a_user_id_is_not_signed_in(self, client, volunteer):
        # What a cookie from before server-side sign-ins (or a forged one) would carry.
        with client.session_transaction() as session:
            session["_user_id"] = str(volunteer.id)
        assert client.get("/").status_code == 302

    def test_a_sign_in_token_of_another_user_does_not_fit(self, app, client, auth, volunteer, make_user):
        other = make_user("volunteer", phone="0987000111")
        auth.login(volunteer)
        with client.session_transaction() as session:
            session["_user_id"] = str(other.id)
        assert client.get("/").status_code == 302

    def test_a_remember_cookie_cannot_sign_anyone_in(self, app, client, volunteer):
        with app.test_request_context():
            client.set_cookie("remember_token", encode_cookie(str(volunteer.id)))
        assert client.get("/").status_code == 302

    def test_changing_the_password_ends_the_other_sign_ins_and_keeps_this_one(self, app, client, auth, volunteer):
        other_phone = app.test_client()
        other_phone.post("/login", data={"phone": volunteer.phone, "password": PASSWORD})
        assert other_phone.get("/").status_code == 200
        auth.login(volunteer)
        response = client.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert response.status_code == 302
        assert client.get("/").status_code == 200
        assert other_phone.get("/").status_code == 302
        other_sign_in, this_sign_in = db.session.scalars(sa.select(SignIn).order_by(SignIn.id))
        assert other_sign_in.ended_at is not None and this_sign_in.ended_at is None
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.change_password"))
        assert event.changes == {"sign_ins_ended": 1}

    def test_a_disabled_user_is_out_on_the_next_page_and_api_call(self, client, auth, volunteer):
        auth.login(volunteer)
        assert client.get("/").status_code == 200
        volunteer.is_active = False
        db.session.commit()
        assert client.get("/").headers["Location"].startswith("/login")
        assert client.get("/api/v1/households?village_id=1&q=a").status_code == 401

    def test_a_phone_that_changes_address_stays_signed_in(self, app, client, volunteer):
        client.post(
            "/login",
            data={"phone": volunteer.phone, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "113.161.10.20"},
        )
        for address in ("113.161.10.20", "27.72.98.1", "2402:800:6310::1"):
            assert client.get("/", environ_base={"REMOTE_ADDR": address}).status_code == 200
        # The same cookie on a fresh connection from elsewhere: still the same sign-in.
        elsewhere = app.test_client()
        elsewhere.set_cookie("session", client.get_cookie("session").value)
        assert elsewhere.get("/", environ_base={"REMOTE_ADDR": "171.224.0.9"}).status_code == 200

    def test_last_seen_is_written_at_most_every_few_minutes(self, client, auth, volunteer):
        auth.login(volunteer)
        first_seen = db.session.scalar(sa.select(SignIn.last_seen_at))
        client.get("/")
        assert db.session.scalar(sa.select(SignIn.last_seen_at)) == first_seen
        long_ago = utcnow() - timedelta(minutes=10)
        db.session.execute(sa.update(SignIn).values(last_seen_at=long_ago))
        db.session.commit()
        client.get("/")
        assert as_utc(db.session.scalar(sa.select(SignIn.last_seen_at))) > long_ago + timedelta(minutes=9)

    @pytest.mark.parametrize("next_url", ["/\t/evil.example/", "/\n/evil.example/", "https:/evil.example", " //evil"])
    def test_sign_in_next_never_leaves_the_site(self, auth, volunteer, next_url):
        assert auth.login(volunteer, next=next_url).headers["Location"] == "/"


@pytest.fixture
def village(make_village):
    return make_village("Buôn Ako Dhông", COMMUNE_A)


@pytest.fixture
def team_volunteer(make_user, village):
    user = make_user("volunteer", COMMUNE_A, phone="0912345678", full_name="Y Bhim Mlô")
    user.team = Team(commune_id=village.commune_id, name="Tổ CNS Buôn Ako Dhông", villages=[village])
    db.session.commit()
    return user


class TestTypedWorkSurvivesAnExpiredForm:
    @pytest.fixture
    def app(self, app):
        app.config["WTF_CSRF_ENABLED"] = True
        return app

    def sign_in(self, client, user):
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
        response = client.post("/login", data={"phone": user.phone, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        return response

    def sign_in_to(self, client, user, next_url):
        token = csrf_token_of(client.get(f"/login?next={next_url}").get_data(as_text=True))
        response = client.post(
            "/login", data={"phone": user.phone, "password": PASSWORD, "next": next_url, "csrf_token": token}
        )
        assert response.headers["Location"] == next_url

    def session_form(self, village, hen, **overrides):
        return {
            "uuid": str(uuid.uuid4()),
            "date": local_today().isoformat(),
            "village_id": str(village.id),
            "topics": ["vneid", "online_safety"],
            "household_ids": [str(hen.id)],
            "new_households-0-uuid": str(uuid.uuid4()),
            "new_households-0-head_name": "Nguyễn Thị Hồng",
            "new_households-0-address": "Số 12, tổ 3",
            "new_households-0-phone": "0905 111 222",
            "language": "ede",
            "attendees": "9",
            "notes": "Hướng dẫn cài VNeID mức 2 tại nhà văn hoá buôn",
            "action": "save",
            **overrides,
        }

    def assert_filled_in(self, page, form, hen):
        assert KEPT in page
        assert f'<input type="checkbox" name="household_ids" value="{hen.id}" checked>' in page
        for topic in ("vneid", "online_safety"):
            assert re.search(rf'name="topics" value="{topic}"\s*checked>', page)
        assert re.search(r'name="topics" value="cashless"\s*>', page)
        assert form["notes"] in page
        assert 'value="Nguyễn Thị Hồng"' in page and 'value="0905 111 222"' in page
        assert f'value="{form["uuid"]}"' in page  # the same session, so a second save stays one
        assert '<option selected value="ede">' in page
        assert 'value="9"' in page

    def test_a_wrong_token_brings_the_session_form_back_filled_in(
        self, client, team_volunteer, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        client.get("/sessions/new")
        households_before = count(Household)
        form = self.session_form(village, hen, csrf_token="expired-or-forged")
        response = client.post("/sessions/new", data=form)
        assert response.status_code == 303
        assert response.headers["Location"] == "/sessions/new"
        assert count(TrainingSession) == 0 and count(Household) == households_before

        page = client.get("/sessions/new").get_data(as_text=True)
        self.assert_filled_in(page, form, hen)
        assert 'name="csrf_token" value="expired-or-forged"' not in page
        # Once only: the next visit starts a fresh form.
        again = client.get("/sessions/new").get_data(as_text=True)
        assert KEPT not in again and form["notes"] not in again

        # Saving the refilled form with its fresh token logs the session once.
        saved = client.post("/sessions/new", data={**form, "csrf_token": csrf_token_of(page)})
        assert saved.status_code == 302
        assert count(TrainingSession) == 1

    def test_signed_out_meanwhile_the_form_waits_through_the_sign_in(
        self, app, client, team_volunteer, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        token = csrf_token_of(client.get("/sessions/new").get_data(as_text=True))
        client.post("/logout", data={"csrf_token": token})  # e.g. in another tab

        form = self.session_form(village, hen, csrf_token=token)
        response = client.post("/sessions/new", data=form)
        assert response.status_code == 303
        assert response.headers["Location"] == "/login?next=/sessions/new"
        login_page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert SIGN_IN_AGAIN in login_page
        token = csrf_token_of(login_page)
        signed_in = client.post(
            "/login",
            data={"phone": team_volunteer.phone, "password": PASSWORD, "next": "/sessions/new", "csrf_token": token},
        )
        assert signed_in.headers["Location"] == "/sessions/new"
        self.assert_filled_in(client.get("/sessions/new").get_data(as_text=True), form, hen)
        assert count(TrainingSession) == 0

    def test_signed_out_by_a_password_change_elsewhere_the_form_is_kept(
        self, app, client, team_volunteer, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        token = csrf_token_of(client.get("/sessions/new").get_data(as_text=True))
        other_phone = app.test_client()
        self.sign_in(other_phone, team_volunteer)
        page = other_phone.get("/account/password").get_data(as_text=True)
        other_phone.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                  "csrf_token": csrf_token_of(page)},
        )  # fmt: skip

        form = self.session_form(village, hen, csrf_token=token)  # the token itself is still good
        response = client.post("/sessions/new", data=form)
        assert response.status_code == 303
        assert response.headers["Location"] == "/login?next=/sessions/new"
        login_page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert SIGN_IN_AGAIN in login_page
        client.post(
            "/login",
            data={"phone": team_volunteer.phone, "password": NEW_PASSWORD, "next": "/sessions/new",
                  "csrf_token": csrf_token_of(login_page)},
        )  # fmt: skip
        self.assert_filled_in(client.get("/sessions/new").get_data(as_text=True), form, hen)
        assert count(TrainingSession) == 0

    def test_a_lost_session_cookie_on_the_edit_form(self, app, client, team_volunteer, village, make_household):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        token = csrf_token_of(client.get("/sessions/new").get_data(as_text=True))
        client.post("/sessions/new", data=self.session_form(village, hen, notes="", csrf_token=token))
        session = db.session.scalar(sa.select(TrainingSession))
        edit_url = f"/sessions/{session.id}/edit"
        form = self.session_form(village, hen, notes="Sửa lại: có thêm hai người", csrf_token=token)

        client.delete_cookie("session")  # the browser dropped it
        response = client.post(edit_url, data=form)
        assert response.headers["Location"] == f"/login?next={edit_url}"
        self.sign_in_to(client, team_volunteer, edit_url)
        page = client.get(edit_url).get_data(as_text=True)
        assert KEPT in page and "Sửa lại: có thêm hai người" in page
        assert f'value="{session.uuid}"' in page  # an edit keeps the saved session's identity
        db.session.refresh(session)
        assert session.notes in ("", None)

    def test_the_household_form_comes_back_filled_in(self, client, make_user, village, make_household):
        officer = make_user("officer", COMMUNE_A)
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, officer)
        url = f"/households/{hen.id}/edit"
        response = client.post(url, data={"head_name": "H'Hen Niê Kdăm", "address": "Buôn Ako Dhông, số 4"})
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert KEPT in page
        assert "H&#39;Hen Niê Kdăm" in page and "Buôn Ako Dhông, số 4" in page
        db.session.refresh(hen)
        assert hen.head_name == "H'Hen Niê"

    @pytest.mark.parametrize(
        ("headers", "is_kept"),
        [
            ({"Origin": "http://localhost"}, True),
            ({"Referer": "http://localhost/sessions/new"}, True),
            ({"Origin": "https://evil.example"}, False),
            ({"Origin": "null"}, False),
            ({"Referer": "https://evil.example/page"}, False),
        ],
    )
    def test_a_form_posted_from_another_site_is_not_kept(
        self, client, team_volunteer, village, make_household, headers, is_kept
    ):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        response = client.post("/sessions/new", data=self.session_form(village, hen), headers=headers)
        assert response.status_code == (303 if is_kept else 400)
        assert (KEPT in client.get("/sessions/new").get_data(as_text=True)) is is_kept

    def test_another_page_does_not_pick_up_the_kept_form(self, client, team_volunteer, village, make_household):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        client.post("/sessions/new", data=self.session_form(village, hen))
        assert KEPT not in client.get("/").get_data(as_text=True)
        assert KEPT in client.get("/sessions/new").get_data(as_text=True)

    def test_forms_without_a_way_back_still_get_the_error_page(self, client, team_volunteer):
        self.sign_in(client, team_volunteer)
        response = client.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert response.status_code == 400
        assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
        with client.session_transaction() as session:
            assert "recovered_form" not in session

    def test_a_form_too_large_for_the_cookie_gets_the_error_page(self, client, team_volunteer, village, make_household):
        hen = make_household(village, "H'Hen Niê")
        self.sign_in(client, team_volunteer)
        noise = "".join(random.choice(LETTERS) for _ in range(6000))
        response = client.post("/sessions/new", data=self.session_form(village, hen, notes=noise))
        assert response.status_code == 400
        assert count(TrainingSession) == 0

    @pytest.mark.parametrize("signed_out_meanwhile", [False, True])
    def test_the_largest_form_kept_still_fits_the_cookie(
        self, app, client, team_volunteer, village, make_household, signed_out_meanwhile
    ):
        """Werkzeug warns (an error here) when a cookie passes 4 KB, the most a browser keeps."""
        hen = make_household(village, "H'Hen Niê")
        rng = random.Random(7)
        serializer = app.session_interface.get_signing_serializer(app)
        form, notes = self.session_form(village, hen, csrf_token="expired"), ""
        while True:  # the longest hard-to-compress notes that are still kept
            longer = notes + "".join(rng.choice(LETTERS) for _ in range(20))
            fields = [[name, value] for name, values in {**form, "notes": longer}.items() if name != "csrf_token"
                      for value in (values if isinstance(values, list) else [values])]  # fmt: skip
            if len(serializer.dumps({"path": "/sessions/new", "fields": fields})) > forms_recovery.MAX_COOKIE_BYTES:
                break
            notes = longer
        assert len(notes) > 1500
        self.sign_in(client, team_volunteer)
        client.get("/sessions/new")
        if signed_out_meanwhile:
            client.delete_cookie("session")
        response = client.post("/sessions/new", data={**form, "notes": notes})
        assert response.status_code == 303
        if signed_out_meanwhile:
            assert response.headers["Location"] == "/login?next=/sessions/new"
            self.sign_in_to(client, team_volunteer, "/sessions/new")
        page = client.get("/sessions/new").get_data(as_text=True)
        assert KEPT in page and notes in page

    def test_passwords_and_the_token_are_never_kept(self, app):
        posted = MultiDict([
            ("csrf_token", "abc"), ("password", "secret-1"), ("new_password", "secret-2"),
            ("Confirm_Password", "secret-3"), ("notes", "giữ lại"),
        ])  # fmt: skip
        with app.test_request_context():
            from flask import session

            assert forms_recovery.keep("/somewhere", posted)
            assert session["recovered_form"]["fields"] == [["notes", "giữ lại"]]

    def test_the_api_still_answers_400_json(self, client, team_volunteer):
        self.sign_in(client, team_volunteer)
        response = client.post("/api/v1/sessions", json={"uuid": str(uuid.uuid4())})
        assert response.status_code == 400
        assert response.is_json


def test_demo_accounts_get_random_passwords_that_pass_the_rules(app, runner, communes, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    accounts = [line.split() for line in (tmp_path / "demo-sign-ins.txt").read_text(encoding="utf-8").splitlines()]
    accounts = [fields[1:3] for fields in accounts if len(fields) >= 3 and fields[1].isdigit()]
    assert len(accounts) >= 4
    passwords = [password for _phone, password in accounts]
    assert len(set(passwords)) == len(passwords)  # no shared default
    assert all(password_problem(password, phone) is None for phone, password in accounts)
