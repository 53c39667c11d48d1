import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Household
from app.progress import tallies
from tests.conftest import COMMUNE_A, COMMUNE_B


@pytest.fixture
def trained_household(make_user, make_village, make_household, make_session):
    village = make_village("Buôn Ako Dhông", COMMUNE_A)
    volunteer = make_user("volunteer", COMMUNE_A)
    household = make_household(village, "H'Hen Niê")
    make_household(village, "Y Kông")
    make_session(village, volunteer, [household], ["vneid"])
    return household


def test_officer_deletes_and_restores_and_the_tallies_follow(client, auth, make_user, trained_household):
    village_id = trained_household.village_id
    assert tallies.village_progress([village_id]) == {village_id: (1, 2)}
    auth.login(make_user("officer", COMMUNE_A))

    response = client.post(f"/households/{trained_household.id}/delete")
    assert response.status_code == 302
    assert db.session.get(Household, trained_household.id).deleted_at is not None
    assert tallies.village_progress([village_id]) == {village_id: (0, 1)}
    assert tallies.province_figures() == (0, 1)
    assert "H&#39;Hen Niê" in client.get("/households/deleted").get_data(as_text=True)
    assert "H&#39;Hen Niê" not in client.get("/households").get_data(as_text=True)

    client.post(f"/households/{trained_household.id}/restore")
    assert db.session.get(Household, trained_household.id).deleted_at is None
    assert tallies.village_progress([village_id]) == {village_id: (1, 2)}
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["household.delete", "household.restore"]


def test_a_deleted_household_cannot_be_added_to_a_session(client, auth, make_user, trained_household):
    auth.login(make_user("officer", COMMUNE_A))
    client.post(f"/households/{trained_household.id}/delete")
    response = client.post(
        "/api/v1/sessions",
        json={
            "uuid": "5b0d2c84-8a8e-4a53-9a55-1f1f2b1c9e01",
            "date": "2026-11-20",
            "village_id": trained_household.village_id,
            "topics": ["vneid"],
            "households": [{"id": trained_household.id}],
        },
    )
    assert response.status_code == 422
    assert "households" in response.get_json()["errors"]


@pytest.mark.parametrize("role", ["volunteer", "province"])
def test_only_officers_delete(client, auth, make_user, trained_household, role):
    auth.login(make_user(role, COMMUNE_A))
    assert client.post(f"/households/{trained_household.id}/delete").status_code == 403
    assert db.session.get(Household, trained_household.id).deleted_at is None


def test_officer_of_another_commune_gets_404(client, auth, make_user, trained_household):
    auth.login(make_user("officer", COMMUNE_B))
    assert client.post(f"/households/{trained_household.id}/delete").status_code == 404


def test_deleted_households_are_hidden_from_volunteers(client, auth, make_user, trained_household):
    auth.login(make_user("officer", COMMUNE_A))
    client.post(f"/households/{trained_household.id}/delete")
    auth.logout()
    auth.login(make_user("volunteer", COMMUNE_A))
    assert client.get(f"/households/{trained_household.id}").status_code == 404
