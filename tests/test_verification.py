import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import local_today
from app.extensions import db
from app.models import AuditEvent, Household, SessionStatus, TrainingSession
from app.progress.tallies import commune_figures, province_figures, village_progress
from tests.conftest import COMMUNE_A, COMMUNE_B


@pytest.fixture
def officer(make_user):
    return make_user("officer", COMMUNE_A, full_name="Nguyễn Thị Lan")


@pytest.fixture
def hen(make_household, village):
    return make_household(village, "H'Hen Niê")


@pytest.fixture
def session(make_session, village, volunteer, hen):
    return make_session(village, volunteer, [hen], ("vneid", "cashless"), held_on=local_today() - timedelta(days=2))


@pytest.fixture
def as_officer(auth, officer):
    auth.login(officer)
    return officer


def review(client, session, decision, note="", **extra):
    return client.post(f"/sessions/{session.id}/review", data={"decision": decision, "note": note, **extra})


def reload(session) -> TrainingSession:
    return db.session.get(TrainingSession, session.id)


def audit_rows(action=None) -> list[AuditEvent]:
    select = sa.select(AuditEvent).where(AuditEvent.action.like("session.%")).order_by(AuditEvent.id)
    if action is not None:
        select = select.where(AuditEvent.action == action)
    return list(db.session.scalars(select))


def figures(village) -> tuple:
    """Every view of the counting rule that a rejected session must move at once."""
    return (
        province_figures()[0],
        commune_figures(village.commune_id)[0],
        village_progress([village.id])[village.id][0],
    )


def session_form(session, **overrides) -> dict:
    """What the edit form posts when the volunteer saves the session unchanged."""
    data = {
        "uuid": session.uuid,
        "date": session.held_on.isoformat(),
        "village_id": str(session.village_id),
        "topics": [topic.code for topic in session.topics],
        "household_ids": [str(attendance.household_id) for attendance in session.attendances],
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


class TestList:
    def test_lists_the_communes_pending_sessions_oldest_first(
        self, client, as_officer, make_session, make_village, village, volunteer, hen, make_user, make_household
    ):
        newer = make_session(village, volunteer, [hen], held_on=local_today())
        older = make_session(village, volunteer, [hen], held_on=local_today() - timedelta(days=5))
        verified = make_session(village, volunteer, [hen], status=SessionStatus.VERIFIED)
        sent_back = make_session(village, volunteer, [hen], status=SessionStatus.NEEDS_REVIEW)
        deleted = make_session(village, volunteer, [hen])
        deleted.deleted_at = deleted.created_at
        db.session.commit()
        elsewhere = make_village("Thôn 1", COMMUNE_B)
        other_commune = make_session(
            elsewhere, make_user("volunteer", COMMUNE_B), [make_household(elsewhere, "Trần Văn Bình")]
        )

        response = client.get("/verification")
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert page.index(f'id="session-{older.id}"') < page.index(f'id="session-{newer.id}"')
        for hidden in (verified, sent_back, deleted, other_commune):
            assert f'id="session-{hidden.id}"' not in page
        # What the officer needs to decide: date, village, volunteer, households, topics.
        assert "Buôn Ako Dhông" in page
        assert "Y Bhim Mlô" in page
        assert "H&#39;Hen Niê" in page
        assert "VNeID" in page
        assert f'action="/sessions/{older.id}/review"' in page
        assert 'name="decision" value="verify"' in page
        assert 'name="decision" value="send_back"' in page
        assert 'name="decision" value="reject"' in page
        assert f'id="note-{older.id}" name="note"' in page

    def test_pages_hold_twenty_sessions(self, client, as_officer, make_session, village, volunteer, hen):
        sessions = [
            make_session(village, volunteer, [hen], held_on=local_today() - timedelta(days=n)) for n in range(21)
        ]
        first = client.get("/verification").get_data(as_text=True)
        second = client.get("/verification?page=2").get_data(as_text=True)
        assert first.count('class="record"') == 20
        assert f'id="session-{sessions[0].id}"' in second  # today's: the newest comes last
        assert second.count('class="record"') == 1

    def test_an_emptied_last_page_goes_back_a_page(self, client, as_officer, session):
        response = client.get("/verification?page=2")
        assert response.status_code == 302
        assert response.headers["Location"] == "/verification"

    def test_officer_home_links_to_it_and_volunteer_home_does_not(self, client, auth, as_officer, volunteer):
        assert 'href="/verification"' in client.get("/").get_data(as_text=True)
        auth.logout()
        auth.login(volunteer)
        assert 'href="/verification"' not in client.get("/").get_data(as_text=True)


class TestVerify:
    def test_officer_verifies_and_the_volunteer_can_no_longer_edit(
        self, client, auth, as_officer, session, volunteer, village
    ):
        before = figures(village)
        response = review(client, session, "verify")
        assert response.status_code == 302
        assert response.headers["Location"] == "/verification"
        saved = reload(session)
        assert saved.status == SessionStatus.VERIFIED
        assert saved.reviewed_by_id == as_officer.id
        assert saved.reviewed_at is not None
        assert saved.review_note is None
        [event] = audit_rows("session.verify")
        assert (event.actor_id, event.object_type, event.object_id) == (
            as_officer.id,
            "training_session",
            str(session.id),
        )
        assert event.commune_id == session.commune_id
        assert event.changes == {"status": ["pending", "verified"], "note": None}
        assert figures(village) == before  # a pending session already counts

        auth.logout()
        auth.login(volunteer)
        assert client.get(f"/sessions/{session.id}/edit").status_code == 403
        assert client.post(f"/sessions/{session.id}/edit", data=session_form(saved)).status_code == 403
        assert client.post(f"/sessions/{session.id}/delete").status_code == 403
        assert reload(session).deleted_at is None

    def test_verify_keeps_an_optional_note_trimmed(self, client, as_officer, session):
        review(client, session, "verify", "  Đã gọi điện cho chủ hộ  ")
        assert reload(session).review_note == "Đã gọi điện cho chủ hộ"
        assert audit_rows("session.verify")[0].changes["note"] == "Đã gọi điện cho chủ hộ"

    def test_a_double_tap_is_one_decision(self, client, as_officer, session):
        review(client, session, "verify")
        review(client, session, "verify")
        assert len(audit_rows("session.verify")) == 1

    def test_the_session_page_offers_the_check_and_shows_who_checked(
        self, client, auth, as_officer, session, volunteer
    ):
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert f'action="/sessions/{session.id}/review"' in page
        assert f'name="next" value="/sessions/{session.id}"' in page
        response = review(client, session, "verify", next=f"/sessions/{session.id}")
        assert response.headers["Location"] == f"/sessions/{session.id}"
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "Nguyễn Thị Lan" in page
        assert 'value="verify"' not in page  # already verified; send back or reject remain
        assert 'value="reject"' in page

        auth.logout()
        auth.login(volunteer)
        page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert "/review" not in page
        assert "Nguyễn Thị Lan" in page

    @pytest.mark.parametrize("target", ["https://example.com/", "//example.com/x", "/\\example.com"])
    def test_next_must_be_a_path_on_this_site(self, client, as_officer, session, target):
        response = review(client, session, "verify", next=target)
        assert response.headers["Location"] == "/verification"

    def test_an_unknown_decision_is_a_bad_request(self, client, as_officer, session):
        assert review(client, session, "approve").status_code == 400
        assert review(client, session, "").status_code == 400
        assert reload(session).status == SessionStatus.PENDING
        assert audit_rows("session.verify") == []


class TestReject:
    @pytest.fixture
    def yam(self, make_household, village):
        return make_household(village, "H'Yam Êban")

    def test_rejecting_stops_counting_at_once(self, client, as_officer, make_session, village, volunteer, hen, yam):
        # H'Yam also came to another session that still counts; H'Hen only to the rejected one.
        session = make_session(village, volunteer, [hen, yam], held_on=local_today() - timedelta(days=2))
        make_session(village, volunteer, [yam], held_on=local_today())
        assert figures(village) == (2, 2, 2)

        response = review(client, session, "reject", "Không có hộ này trong thôn")
        assert response.status_code == 302
        saved = reload(session)
        assert saved.status == SessionStatus.REJECTED
        assert saved.review_note == "Không có hộ này trong thôn"
        assert saved.reviewed_by_id == as_officer.id
        assert figures(village) == (1, 1, 1)
        assert db.session.get(Household, hen.id).trained_on is None
        assert db.session.get(Household, yam.id).trained_on == local_today()
        [event] = audit_rows("session.reject")
        assert event.changes == {"status": ["pending", "rejected"], "note": "Không có hộ này trong thôn"}

    @pytest.mark.parametrize(
        ("decision", "note"),
        [("reject", ""), ("reject", "   \n "), ("send_back", ""), ("reject", "x" * 501), ("send_back", "y" * 501)],
    )
    def test_a_missing_or_overlong_reason_is_refused_next_to_the_field(
        self, client, as_officer, session, village, decision, note
    ):
        before = figures(village)
        events = len(audit_rows())
        response = review(client, session, decision, note)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert f'id="note-{session.id}" name="note" rows="2" maxlength="500" aria-invalid="true"' in page
        assert f'<p class="error" id="note-{session.id}-error">' in page
        # What was typed is kept, and the next decision still returns to the list.
        assert note.strip()[:10] in page
        assert 'name="next" value="/verification"' in page
        saved = reload(session)
        assert (saved.status, saved.review_note, saved.reviewed_by_id) == (SessionStatus.PENDING, None, None)
        assert figures(village) == before
        assert len(audit_rows()) == events

    def test_a_500_character_reason_is_accepted(self, client, as_officer, session):
        assert review(client, session, "reject", "x" * 500).status_code == 302
        assert reload(session).review_note == "x" * 500

    def test_un_rejecting_makes_it_count_again(self, client, as_officer, session, village, hen):
        review(client, session, "reject", "Trùng buổi khác")
        assert figures(village) == (0, 0, 0)
        response = review(client, session, "verify", next=f"/sessions/{session.id}")
        assert response.headers["Location"] == f"/sessions/{session.id}"
        assert reload(session).status == SessionStatus.VERIFIED
        assert reload(session).review_note is None
        assert figures(village) == (1, 1, 1)
        assert db.session.get(Household, hen.id).trained_on == session.held_on
        assert [(e.action, e.changes["status"]) for e in audit_rows() if e.action != "session.create"] == [
            ("session.reject", ["pending", "rejected"]),
            ("session.verify", ["rejected", "verified"]),
        ]

    def test_a_verified_session_can_be_rejected_from_its_page(self, client, as_officer, session, village):
        review(client, session, "verify")
        # A missing reason shows the session with the message, though it is no longer pending.
        response = review(client, session, "reject", "", next=f"/sessions/{session.id}")
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert f'id="session-{session.id}"' in page
        assert f'name="next" value="/sessions/{session.id}"' in page
        assert reload(session).status == SessionStatus.VERIFIED

        review(client, session, "reject", "Ảnh chụp không đúng buổi")
        assert reload(session).status == SessionStatus.REJECTED
        assert figures(village) == (0, 0, 0)
        assert audit_rows("session.reject")[0].changes["status"] == ["verified", "rejected"]


class TestSendBack:
    def test_sent_back_session_comes_first_for_the_volunteer_and_returns_once_fixed(
        self, client, auth, as_officer, make_session, session, village, volunteer, hen
    ):
        newer = make_session(village, volunteer, [hen], held_on=local_today())
        response = review(client, session, "send_back", "Bổ sung tên chủ hộ thứ hai")
        assert response.status_code == 302
        saved = reload(session)
        assert saved.status == SessionStatus.NEEDS_REVIEW
        assert saved.review_note == "Bổ sung tên chủ hộ thứ hai"
        assert audit_rows("session.send_back")[0].changes == {
            "status": ["pending", "needs_review"],
            "note": "Bổ sung tên chủ hộ thứ hai",
        }
        assert f'id="session-{session.id}"' not in client.get("/verification").get_data(as_text=True)
        assert figures(village) == (1, 1, 1)  # sent back is not rejected: it still counts

        auth.logout()
        auth.login(volunteer)
        page = client.get("/sessions").get_data(as_text=True)
        assert page.index(f'/sessions/{session.id}"') < page.index(f'/sessions/{newer.id}"')
        assert "Bổ sung tên chủ hộ thứ hai" in page
        assert "Bổ sung tên chủ hộ thứ hai" in client.get(f"/sessions/{session.id}").get_data(as_text=True)

        response = client.post(f"/sessions/{session.id}/edit", data=session_form(saved, notes="Đã bổ sung"))
        assert response.status_code == 302
        assert reload(session).status == SessionStatus.PENDING

        auth.logout()
        auth.login(as_officer)
        page = client.get("/verification").get_data(as_text=True)
        assert f'id="session-{session.id}"' in page
        assert "Bổ sung tên chủ hộ thứ hai" in page  # the earlier note, for the second look


class TestAccess:
    @pytest.mark.parametrize("role", ["volunteer", "province", "admin"])
    def test_other_roles_are_refused(self, client, auth, make_user, session, role):
        auth.login(make_user(role, COMMUNE_A))
        assert client.get("/verification").status_code == 403
        assert review(client, session, "verify").status_code == 403
        assert review(client, session, "reject", "Không hợp lệ").status_code == 403
        assert reload(session).status == SessionStatus.PENDING
        assert audit_rows("session.verify") == []

    def test_the_volunteer_does_not_see_the_check_on_the_session_page(self, client, auth, session, volunteer):
        auth.login(volunteer)
        assert "/review" not in client.get(f"/sessions/{session.id}").get_data(as_text=True)

    def test_an_officer_of_another_commune_gets_404(self, client, auth, make_user, session):
        auth.login(make_user("officer", COMMUNE_B))
        assert f'id="session-{session.id}"' not in client.get("/verification").get_data(as_text=True)
        assert review(client, session, "verify").status_code == 404
        assert review(client, session, "reject", "Không hợp lệ").status_code == 404
        assert client.post("/sessions/999999/review", data={"decision": "verify"}).status_code == 404
        assert reload(session).status == SessionStatus.PENDING

    def test_signed_out_visitors_are_sent_to_sign_in(self, client, session):
        assert client.get("/verification").headers["Location"].startswith("/login")
        assert review(client, session, "verify").headers["Location"].startswith("/login")
        assert reload(session).status == SessionStatus.PENDING

    def test_deleted_sessions_are_not_listed_nor_reviewed(self, client, as_officer, session):
        client.post(f"/sessions/{session.id}/delete")
        assert reload(session).deleted_at is not None
        assert f'id="session-{session.id}"' not in client.get("/verification").get_data(as_text=True)
        assert review(client, session, "verify").status_code == 404
        assert "/review" not in client.get(f"/sessions/{session.id}").get_data(as_text=True)
        assert reload(session).status == SessionStatus.PENDING
