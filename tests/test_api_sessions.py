import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import local_today
from app.extensions import db
from app.models import Attendance, AuditEvent, Household, TrainingSession
from tests.conftest import COMMUNE_A, COMMUNE_B


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def village(make_village):
    return make_village("Buôn Ako Dhông", COMMUNE_A)


@pytest.fixture
def volunteer(make_user, auth):
    user = make_user("volunteer", COMMUNE_A)
    auth.login(user)
    return user


@pytest.fixture
def body(village, make_household):
    hen = make_household(village, "H'Hen Niê")

    def make(**overrides):
        data = {
            "uuid": str(uuid.uuid4()),
            "date": local_today().isoformat(),
            "village_id": village.id,
            "topics": ["vneid", "online_safety"],
            "households": [
                {"id": hen.id},
                {"uuid": str(uuid.uuid4()), "head_name": "Y Kông Buôn Yă", "address": "Số 8", "phone": "0912 345 678"},
            ],
            "language": "ede",
            "attendees": 4,
            "notes": "Tại nhà rông",
        }
        data.update(overrides)
        return data

    return make


def test_first_post_creates_and_answers_201_with_the_session(client, volunteer, body, village):
    data = body()
    response = client.post("/api/v1/sessions", json=data)
    assert response.status_code == 201
    saved = response.get_json()
    assert saved["uuid"] == data["uuid"]
    assert saved["date"] == data["date"]
    assert saved["village_id"] == village.id
    assert saved["topics"] == ["vneid", "online_safety"]
    assert sorted(h["head_name"] for h in saved["households"]) == ["H'Hen Niê", "Y Kông Buôn Yă"]
    new = next(h for h in saved["households"] if h["head_name"] == "Y Kông Buôn Yă")
    assert new["uuid"] == data["households"][1]["uuid"]
    assert (saved["language"], saved["attendees"], saved["notes"], saved["status"]) == (
        "ede",
        4,
        "Tại nhà rông",
        "pending",
    )


def test_same_uuid_and_content_five_times_is_one_session(client, volunteer, body):
    data = body()
    responses = [client.post("/api/v1/sessions", json=data) for _ in range(5)]
    assert [r.status_code for r in responses] == [201, 200, 200, 200, 200]
    assert all(r.get_json() == responses[0].get_json() for r in responses)
    assert count(TrainingSession) == 1
    assert count(Attendance) == 2
    assert count(Household) == 2


def test_key_order_and_household_order_do_not_matter_for_a_replay(client, volunteer, body):
    data = body()
    client.post("/api/v1/sessions", json=data)
    shuffled = dict(reversed(list(data.items())))
    shuffled["households"] = list(reversed(data["households"]))
    shuffled["topics"] = list(reversed(data["topics"]))
    assert client.post("/api/v1/sessions", json=shuffled).status_code == 200


def test_same_uuid_other_content_is_409_and_changes_nothing(client, volunteer, body):
    data = body()
    client.post("/api/v1/sessions", json=data)
    response = client.post("/api/v1/sessions", json={**data, "notes": "khác"})
    assert response.status_code == 409
    assert "uuid" in response.get_json()["errors"]
    assert db.session.scalar(sa.select(TrainingSession.notes)) == "Tại nhà rông"
    assert count(TrainingSession) == 1


def test_the_form_and_the_api_share_one_uuid_space(client, volunteer, body, village):
    data = body()
    client.post("/api/v1/sessions", json=data)
    form = {
        "uuid": data["uuid"],
        "date": data["date"],
        "village_id": str(village.id),
        "topics": ["vneid"],
        "action": "save",
    }
    response = client.post("/sessions/new", data=form)
    assert response.status_code == 302
    assert count(TrainingSession) == 1


def test_a_household_created_offline_is_matched_by_its_uuid(client, volunteer, body):
    first = body()
    client.post("/api/v1/sessions", json=first)
    second = body(households=[first["households"][1]])  # the same new household, typed offline again
    assert client.post("/api/v1/sessions", json=second).status_code == 201
    assert count(Household) == 2
    assert count(TrainingSession) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"uuid": "not-a-uuid"}, "uuid"),
        ({"uuid": None}, "uuid"),
        ({"date": "26/11/2026"}, "date"),
        ({"date": 20261126}, "date"),
        ({"village_id": None}, "village_id"),
        ({"village_id": "abc"}, "village_id"),
        ({"topics": []}, "topics"),
        ({"topics": "vneid"}, "topics"),
        ({"topics": ["no_such_topic"]}, "topics"),
        ({"households": []}, "households"),
        ({"households": [{"uuid": str(uuid.uuid4()), "head_name": ""}]}, "households.0.head_name"),
        ({"households": [{"uuid": str(uuid.uuid4()), "head_name": "A", "phone": "123"}]}, "households.0.phone"),
        ({"households": [{"head_name": "Không có mã"}]}, "households.0.uuid"),
        ({"households": ["x"]}, "households"),
        ({"households": [{"id": "abc"}]}, "households"),
        ({"language": "fr"}, "language"),
        ({"attendees": -1}, "attendees"),
        ({"attendees": 10**12}, "attendees"),
        ({"attendees": True}, "attendees"),
        ({"notes": 42}, "notes"),
    ],
)
def test_bad_input_is_422_with_field_errors_and_writes_nothing(client, volunteer, body, overrides, field):
    response = client.post("/api/v1/sessions", json=body(**overrides))
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors
    assert all(isinstance(message, str) and message for message in errors[field])
    assert count(TrainingSession) == 0
    assert count(Household) == 1  # only the fixture's


@pytest.mark.parametrize("payload", [None, [], "text", 5])
def test_a_body_that_is_not_an_object_is_422(client, volunteer, payload):
    response = client.post("/api/v1/sessions", json=payload)
    assert response.status_code == 422
    assert count(TrainingSession) == 0


def test_messages_are_in_the_users_language(client, volunteer, body):
    response = client.post("/api/v1/sessions", json=body(topics=[]))
    assert response.get_json()["errors"]["topics"] == ["Chọn ít nhất một nội dung hướng dẫn."]
    client.post("/language", data={"locale": "en"})
    response = client.post("/api/v1/sessions", json=body(topics=[]))
    assert response.get_json()["errors"]["topics"] == ["Choose at least one topic."]


def test_date_rules(client, volunteer, body):
    future = (local_today() + timedelta(days=1)).isoformat()
    old = (local_today() - timedelta(days=31)).isoformat()
    edge = (local_today() - timedelta(days=30)).isoformat()
    assert client.post("/api/v1/sessions", json=body(date=future)).status_code == 422
    assert client.post("/api/v1/sessions", json=body(date=old)).status_code == 422
    assert client.post("/api/v1/sessions", json=body(date=edge)).status_code == 201


def test_other_communes_objects_answer_404(client, volunteer, body, make_village, make_household):
    other = make_village("Thôn 3", COMMUNE_B)
    theirs = make_household(other, "Nguyễn Thị Thu")
    assert client.post("/api/v1/sessions", json=body(village_id=other.id)).status_code == 404
    assert client.post("/api/v1/sessions", json=body(households=[{"id": theirs.id}])).status_code == 404
    assert count(TrainingSession) == 0


def test_a_household_uuid_of_another_commune_answers_404(client, volunteer, body, make_village, make_household):
    other = make_village("Thôn 3", COMMUNE_B)
    theirs = make_household(other, "Nguyễn Thị Thu")
    data = body(households=[{"uuid": theirs.uuid, "head_name": "Nguyễn Thị Thu"}])
    assert client.post("/api/v1/sessions", json=data).status_code == 404


def test_anonymous_gets_401_json(client, body):
    response = client.post("/api/v1/sessions", json=body())
    assert response.status_code == 401
    assert "errors" in response.get_json()


def test_province_staff_get_403_json(client, auth, make_user, body):
    auth.login(make_user("province"))
    response = client.post("/api/v1/sessions", json=body())
    assert response.status_code == 403
    assert "errors" in response.get_json()


def test_create_is_audited(client, volunteer, body):
    client.post("/api/v1/sessions", json=body())
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["household.create", "session.create"]


class TestCsrf:
    @pytest.fixture
    def app(self, app):
        app.config["WTF_CSRF_ENABLED"] = True
        return app

    def test_browser_callers_need_the_token_header(self, app, client, make_user, body):
        user = make_user("volunteer", COMMUNE_A)
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf-token" content="')[1].split('"')[0]
        client.post("/login", data={"phone": user.phone, "password": "mat-khau-thu-nghiem", "csrf_token": token})
        token = client.get("/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
        data = body()
        assert client.post("/api/v1/sessions", json=data).status_code == 400
        assert count(TrainingSession) == 0
        assert client.post("/api/v1/sessions", json=data, headers={"X-CSRFToken": token}).status_code == 201


class TestHouseholdSearch:
    def test_live_search_finds_by_folded_name(self, client, volunteer, village, make_household):
        make_household(village, "Nguyễn Văn An", phone="0912345678")
        make_household(village, "Đặng Thị Hoà")
        make_household(village, "H'Hen Niê")
        found = client.get(f"/api/v1/households?village_id={village.id}&q=nguyen van").get_json()["households"]
        assert [h["head_name"] for h in found] == ["Nguyễn Văn An"]
        assert found[0]["phone"] == "0912 *** 678"
        found = client.get(f"/api/v1/households?village_id={village.id}&q=hhen").get_json()["households"]
        assert [h["head_name"] for h in found] == ["H'Hen Niê"]

    def test_other_communes_village_is_404(self, client, volunteer, make_village):
        other = make_village("Thôn 3", COMMUNE_B)
        assert client.get(f"/api/v1/households?village_id={other.id}&q=a").status_code == 404


def test_a_write_race_on_the_same_uuid_answers_with_the_saved_session(client, volunteer, body, monkeypatch):
    """A post is checked, then written; the same post may be saved in between (a double tap).
    The INSERT itself finds the uuid taken, writes nothing, and the answer is the saved session."""
    from app.logbook import services

    data = body()
    first = client.post("/api/v1/sessions", json=data)
    real_insert = services._insert_new_session
    inserted = []

    def spy(*args):
        inserted.append(real_insert(*args))
        return inserted[-1]

    monkeypatch.setattr(services, "_insert_new_session", spy)
    again = client.post("/api/v1/sessions", json=data)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert inserted == [None]  # the collision was found by the INSERT, not by a read before it
    assert count(TrainingSession) == 1


def test_a_replay_answers_with_the_saved_session_even_if_its_rules_changed_since(client, volunteer, body, app):
    """A phone that lost the first answer sends the same post again, after a household of it
    was removed from the registry: the session was saved, so the answer is still 200."""
    from app.households.services import delete_household

    data = body()
    first = client.post("/api/v1/sessions", json=data)
    delete_household(db.session.get(Household, data["households"][0]["id"]), volunteer)
    db.session.commit()
    assert client.post("/api/v1/sessions", json={**data, "uuid": str(uuid.uuid4())}).status_code == 422
    again = client.post("/api/v1/sessions", json=data)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()


def test_same_uuid_other_content_with_a_new_household_saves_nothing(client, volunteer, body):
    data = body()
    client.post("/api/v1/sessions", json=data)
    other = {"uuid": str(uuid.uuid4()), "head_name": "Hộ khác"}
    response = client.post("/api/v1/sessions", json={**data, "households": [*data["households"], other]})
    assert response.status_code == 409
    assert count(Household) == 2  # not the third one the refused post brought
    assert count(Attendance) == 2
