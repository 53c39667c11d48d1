import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import local_today
from app.extensions import db
from app.logbook.services import session_fields
from app.models import Attendance, AuditEvent, Household, SessionStatus, TrainingSession
from tests.conftest import COMMUNE_A, COMMUNE_B


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def signed_in(auth, volunteer):
    auth.login(volunteer)
    return volunteer


@pytest.fixture
def form_data(village):
    """What the session form posts when a volunteer fills it in."""

    def make(**overrides):
        data = {
            "uuid": str(uuid.uuid4()),
            "date": local_today().isoformat(),
            "village_id": str(village.id),
            "topics": ["vneid", "cashless"],
            "household_ids": [],
            "new_households-0-uuid": str(uuid.uuid4()),
            "new_households-0-head_name": "",
            "new_households-0-address": "",
            "new_households-0-phone": "",
            "language": "",
            "attendees": "",
            "notes": "",
            "action": "save",
        }
        data.update(overrides)
        return data

    return make


class TestForm:
    def test_form_starts_with_today_the_team_village_and_a_fresh_uuid(self, client, signed_in, village):
        page = client.get("/sessions/new").get_data(as_text=True)
        assert f'value="{local_today().isoformat()}"' in page
        assert f'<option selected value="{village.id}">' in page
        first = page.split('name="uuid" type="hidden" value="')[1][:36]
        second = client.get("/sessions/new").get_data(as_text=True).split('name="uuid" type="hidden" value="')[1][:36]
        assert uuid.UUID(first) and first != second

    def test_logs_a_session_with_existing_and_new_households(
        self, client, signed_in, form_data, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        yam = make_household(village, "H'Yam Êban")
        response = client.post(
            "/sessions/new",
            data=form_data(
                household_ids=[str(hen.id), str(yam.id)],
                **{
                    "new_households-0-head_name": "  Nguyễn   Văn An ",
                    "new_households-0-address": "Số 12",
                    "new_households-0-phone": "+84 912 345 678",
                },
                language="ede",
                attendees="7",
                notes="Tại nhà văn hoá buôn",
            ),
        )
        assert response.status_code == 302
        session = db.session.scalar(sa.select(TrainingSession))
        assert response.headers["Location"] == f"/sessions/{session.id}"
        assert session.volunteer_id == signed_in.id
        assert session.team_id == signed_in.team_id
        assert session.status == SessionStatus.PENDING
        assert (session.language, session.attendees, session.notes) == ("ede", 7, "Tại nhà văn hoá buôn")
        assert sorted(topic.code for topic in session.topics) == ["cashless", "vneid"]
        names = sorted(attendance.household.head_name for attendance in session.attendances)
        assert names == ["H'Hen Niê", "H'Yam Êban", "Nguyễn Văn An"]
        new = db.session.scalar(sa.select(Household).where(Household.head_name == "Nguyễn Văn An"))
        assert (new.address, new.phone, new.village_id, new.created_by_id) == (
            "Số 12",
            "0912345678",
            village.id,
            signed_in.id,
        )
        # The confirmation names the households counted.
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "H&#39;Hen Niê" in page and "Nguyễn Văn An" in page

    def test_same_uuid_posted_five_times_gives_one_session(self, client, signed_in, form_data, village, make_household):
        hen = make_household(village, "H'Hen Niê")
        data = form_data(household_ids=[str(hen.id)], **{"new_households-0-head_name": "Y Kông"})
        locations = {client.post("/sessions/new", data=data).headers["Location"] for _ in range(5)}
        assert len(locations) == 1
        assert count(TrainingSession) == 1
        assert count(Attendance) == 2
        assert count(Household) == 2

    def test_back_and_resubmit_with_changes_shows_the_saved_session(
        self, client, signed_in, form_data, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        data = form_data(household_ids=[str(hen.id)])
        first = client.post("/sessions/new", data=data)
        again = client.post("/sessions/new", data={**data, "notes": "đổi ý"})
        assert again.headers["Location"] == first.headers["Location"]
        assert count(TrainingSession) == 1
        assert db.session.scalar(sa.select(TrainingSession.notes)) is None

    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"date": ""}, "date", "Nhập ngày diễn ra buổi hướng dẫn."),
            ({"date": "2026-02-30"}, "date", "Nhập ngày diễn ra buổi hướng dẫn."),
            ({"date": "future"}, "date", "Ngày không thể ở tương lai."),
            (
                {"date": "old"},
                "date",
                "Buổi hướng dẫn đã diễn ra hơn 30 ngày trước. Đề nghị cán bộ xã/phường nhập giúp.",
            ),
            ({"village_id": ""}, "village_id", "Chọn thôn, buôn."),
            ({"topics": []}, "topics", "Chọn ít nhất một nội dung hướng dẫn."),
            ({"household_ids": []}, "households", "Thêm ít nhất một hộ gia đình."),
            ({"attendees": "-3"}, "attendees", "Nhập số nguyên từ 0 đến 1.000."),
            ({"attendees": "nhiều"}, "attendees", "Nhập số nguyên từ 0 đến 1.000."),
            ({"notes": "x" * 2001}, "notes", "Ghi chú tối đa 2.000 ký tự."),
        ],
    )
    def test_bad_input_is_refused_next_to_the_field_and_kept(
        self, client, signed_in, form_data, village, make_household, overrides, field, message
    ):
        hen = make_household(village, "H'Hen Niê")
        if overrides.get("date") == "future":
            overrides["date"] = (local_today() + timedelta(days=1)).isoformat()
        if overrides.get("date") == "old":
            overrides["date"] = (local_today() - timedelta(days=31)).isoformat()
        data = form_data(**{"household_ids": [str(hen.id)], "notes": "Ghi chú đã gõ", **overrides})
        response = client.post("/sessions/new", data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert message in page
        assert f'id="{field}-error"' in page or field == "households"
        assert count(TrainingSession) == 0
        # What was typed stays: the picked household, the topics, the notes.
        if "household_ids" not in overrides:
            assert f'name="household_ids" value="{hen.id}" checked' in page
        if overrides.get("topics") is None:
            assert 'value="vneid"\n                   checked' in page
        if "notes" not in overrides:
            assert "Ghi chú đã gõ" in page

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ({"new_households-0-head_name": "x" * 121}, "Họ tên tối đa 120 ký tự."),
            ({"new_households-0-head_name": "   ", "new_households-0-phone": "0912345678"}, "Nhập họ tên chủ hộ."),
            (
                {"new_households-0-head_name": "Y Kông", "new_households-0-phone": "12345"},
                "Đây không phải là số điện thoại Việt Nam hợp lệ.",
            ),
        ],
    )
    def test_bad_new_household_is_refused_and_kept(self, client, signed_in, form_data, row, message):
        response = client.post("/sessions/new", data=form_data(**row))
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert message in page
        assert count(Household) == 0 and count(TrainingSession) == 0
        if row.get("new_households-0-phone"):
            assert f'value="{row["new_households-0-phone"]}"' in page

    def test_an_officer_may_enter_an_old_session(self, client, auth, make_user, form_data, village, make_household):
        auth.login(make_user("officer", COMMUNE_A))
        hen = make_household(village)
        old = (local_today() - timedelta(days=90)).isoformat()
        assert client.post("/sessions/new", data=form_data(date=old, household_ids=[str(hen.id)])).status_code == 302

    def test_other_communes_village_or_household_answers_404(
        self, client, signed_in, form_data, make_village, make_household, village
    ):
        other = make_village("Thôn 3", COMMUNE_B)
        theirs = make_household(other, "Nguyễn Thị Thu")
        ours = make_household(village)
        assert (
            client.post(
                "/sessions/new", data=form_data(village_id=str(other.id), household_ids=[str(ours.id)])
            ).status_code
            == 404
        )
        assert client.post("/sessions/new", data=form_data(household_ids=[str(theirs.id)])).status_code == 404
        assert client.post("/sessions/new", data=form_data(household_ids=["999999"])).status_code == 404
        assert count(TrainingSession) == 0

    def test_a_deleted_household_is_refused(self, client, signed_in, form_data, village, make_household):
        gone = make_household(village, deleted_at=local_today())
        response = client.post("/sessions/new", data=form_data(household_ids=[str(gone.id)]))
        assert response.status_code == 422
        assert count(TrainingSession) == 0


class TestNoJavaScriptSteps:
    def test_search_step_lists_matches_and_keeps_everything(
        self, client, signed_in, form_data, village, make_household
    ):
        make_household(village, "Nguyễn Văn An")
        make_household(village, "Đặng Thị Hoà")
        picked = make_household(village, "H'Hen Niê")
        response = client.post(
            "/sessions/new",
            data=form_data(action="search", q="nguyen van", household_ids=[str(picked.id)], notes="giữ"),
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Nguyễn Văn An" in page and "Đặng Thị Hoà" not in page.split('id="results"')[1]
        assert f'name="household_ids" value="{picked.id}" checked' in page
        assert "giữ" in page
        assert count(TrainingSession) == 0

    def test_add_row_step_adds_an_empty_new_household_row(self, client, signed_in, form_data):
        data = form_data(action="add_row", **{"new_households-0-head_name": "Y Kông"})
        page = client.post("/sessions/new", data=data).get_data(as_text=True)
        assert 'name="new_households-1-head_name"' in page
        assert 'value="Y Kông"' in page

    def test_likely_duplicate_is_offered_before_creating(self, client, signed_in, form_data, village, make_household):
        existing = make_household(village, "H'Hen Niê", address="Số 4")
        data = form_data(**{"new_households-0-head_name": "Hhen Nie"})
        response = client.post("/sessions/new", data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert f'value="use:0:{existing.id}"' in page
        assert count(Household) == 1 and count(TrainingSession) == 0

        # Picking the existing household drops the typed row...
        page = client.post("/sessions/new", data={**data, "action": f"use:0:{existing.id}"}).get_data(as_text=True)
        assert f'name="household_ids" value="{existing.id}" checked' in page
        assert 'value="Hhen Nie"' not in page
        # ...or the volunteer confirms it is another household, and it is created.
        confirmed = {**data, "new_households-0-is_confirmed_new": "y"}
        assert client.post("/sessions/new", data=confirmed).status_code == 302
        assert count(Household) == 2

    def test_same_phone_is_a_likely_duplicate(self, client, signed_in, form_data, village, make_household):
        existing = make_household(village, "Trần Thị Bích", phone="0912345678")
        data = form_data(**{"new_households-0-head_name": "Bích", "new_households-0-phone": "+84 912 345 678"})
        page = client.post("/sessions/new", data=data).get_data(as_text=True)
        assert f'value="use:0:{existing.id}"' in page


class TestEditDeleteRestore:
    @pytest.fixture
    def session(self, client, signed_in, form_data, village, make_household):
        hen = make_household(village, "H'Hen Niê")
        client.post("/sessions/new", data=form_data(household_ids=[str(hen.id)]))
        return db.session.scalar(sa.select(TrainingSession))

    def test_volunteer_edits_own_session(self, client, session, village, make_household, form_data):
        yam = make_household(village, "H'Yam Êban")
        page = client.get(f"/sessions/{session.id}/edit").get_data(as_text=True)
        assert f'name="household_ids" value="{session.attendances[0].household_id}" checked' in page
        data = form_data(uuid=session.uuid, household_ids=[str(yam.id)], topics=["ecommerce"], notes="Sửa lại")
        response = client.post(f"/sessions/{session.id}/edit", data=data)
        assert response.status_code == 302
        db.session.refresh(session)
        assert [a.household.head_name for a in session.attendances] == ["H'Yam Êban"]
        assert [t.code for t in session.topics] == ["ecommerce"]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "session.update"))
        assert event.actor_id == session.volunteer_id
        assert event.changes["notes"] == [None, "Sửa lại"]
        assert event.changes["topics"] == [["cashless", "vneid"], ["ecommerce"]]

    def test_verified_session_is_locked_for_the_volunteer(self, client, session, form_data):
        session.status = SessionStatus.VERIFIED
        db.session.commit()
        assert client.get(f"/sessions/{session.id}/edit").status_code == 403
        assert client.post(f"/sessions/{session.id}/delete").status_code == 403
        assert db.session.get(TrainingSession, session.id).deleted_at is None

    def test_fixing_a_session_sent_back_returns_it_for_verification(self, client, session, form_data):
        session.status = SessionStatus.NEEDS_REVIEW
        session.review_note = "Thiếu hộ"
        db.session.commit()
        ids = [str(a.household_id) for a in session.attendances]
        client.post(f"/sessions/{session.id}/edit", data=form_data(uuid=session.uuid, household_ids=ids))
        assert db.session.get(TrainingSession, session.id).status == SessionStatus.PENDING

    def test_another_volunteer_cannot_edit_but_the_officer_can(self, client, auth, session, make_user, form_data):
        auth.logout()
        auth.login(make_user("volunteer", COMMUNE_A))
        assert client.get(f"/sessions/{session.id}/edit").status_code == 403
        auth.logout()
        auth.login(make_user("officer", COMMUNE_A))
        assert client.get(f"/sessions/{session.id}/edit").status_code == 200
        auth.logout()
        auth.login(make_user("officer", COMMUNE_B))
        assert client.get(f"/sessions/{session.id}/edit").status_code == 404
        assert client.get(f"/sessions/{session.id}").status_code == 404

    def test_delete_is_soft_and_restorable_with_audit(self, client, session):
        assert client.post(f"/sessions/{session.id}/delete").headers["Location"] == "/sessions"
        assert db.session.get(TrainingSession, session.id).deleted_at is not None
        assert f"/sessions/{session.id}" not in client.get("/sessions").get_data(as_text=True)
        assert f"/sessions/{session.id}" in client.get("/sessions?deleted=1").get_data(as_text=True)
        client.post(f"/sessions/{session.id}/restore")
        assert db.session.get(TrainingSession, session.id).deleted_at is None
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-3:] == ["session.create", "session.delete", "session.restore"]
        assert count(Attendance) == 1

    def test_create_is_audited_with_what_was_saved(self, session):
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "session.create"))
        assert (event.object_type, event.object_id, event.actor_id) == (
            "training_session",
            str(session.id),
            session.volunteer_id,
        )
        assert event.commune_id == session.commune_id
        assert event.changes["topics"] == ["cashless", "vneid"]
        # The row is written with the session, from what was posted: it must read as the
        # trail reads the saved session.
        assert event.changes == session_fields(session)
        assert event.changes["household_ids"] == [attendance.household_id for attendance in session.attendances]


class TestList:
    def test_volunteer_sees_own_sessions_newest_first_with_sent_back_first(
        self, client, signed_in, form_data, village, make_household, make_user
    ):
        hen = make_household(village)
        for days in (5, 1, 3):
            date = (local_today() - timedelta(days=days)).isoformat()
            client.post("/sessions/new", data=form_data(date=date, household_ids=[str(hen.id)]))
        oldest = db.session.scalar(sa.select(TrainingSession).order_by(TrainingSession.held_on))
        oldest.status, oldest.review_note = SessionStatus.NEEDS_REVIEW, "Kiểm tra lại số hộ"
        db.session.commit()
        page = client.get("/sessions").get_data(as_text=True)
        order = [page.index(f'/sessions/{s.id}"') for s in db.session.scalars(sa.select(TrainingSession))]
        ids = [s.id for s in db.session.scalars(sa.select(TrainingSession))]
        by_position = [session_id for _, session_id in sorted(zip(order, ids, strict=True))]
        held = {s.id: s.held_on for s in db.session.scalars(sa.select(TrainingSession))}
        assert by_position[0] == oldest.id
        assert [held[i] for i in by_position[1:]] == sorted([held[i] for i in by_position[1:]], reverse=True)
        assert "Kiểm tra lại số hộ" in page

    def test_volunteer_does_not_see_other_volunteers_sessions(
        self, client, auth, signed_in, form_data, village, make_household, make_user
    ):
        hen = make_household(village)
        client.post("/sessions/new", data=form_data(household_ids=[str(hen.id)]))
        auth.logout()
        auth.login(make_user("volunteer", COMMUNE_A))
        assert "/sessions/" not in client.get("/sessions").get_data(as_text=True).replace("/sessions/new", "")

    def test_province_staff_do_not_log_sessions(self, client, auth, make_user):
        auth.login(make_user("province"))
        assert client.get("/sessions/new").status_code == 403
        assert client.get("/sessions").status_code == 403


class TestHome:
    def test_volunteer_home_has_the_big_button_recent_sessions_and_village_progress(
        self, client, signed_in, form_data, village, make_household
    ):
        hen = make_household(village, "H'Hen Niê")
        make_household(village, "Y Kông")
        client.post("/sessions/new", data=form_data(household_ids=[str(hen.id)]))
        page = client.get("/").get_data(as_text=True)
        assert page.index('href="/sessions/new"') < page.index("<h1>")
        assert "Buôn Ako Dhông" in page
        assert '<progress max="2" value="1">' in page
        assert f"/sessions/{db.session.scalar(sa.select(TrainingSession.id))}" in page
