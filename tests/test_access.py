import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin, login_user
from werkzeug.exceptions import Forbidden, NotFound

from app.auth.access import GRANTS, Permission, can, get_visible_or_404, in_scope, require
from app.extensions import db
from app.models import Role, Village
from tests.conftest import COMMUNE_A, COMMUNE_B

P = Permission

# DESIGN.md's access table, written out once more by hand so a change to GRANTS must be deliberate.
EXPECTED = {
    P.LOG_SESSIONS: {"volunteer", "officer"},
    P.VERIFY_SESSIONS: {"officer"},
    P.EDIT_COMMUNE_SESSIONS: {"officer"},
    P.ADD_HOUSEHOLDS: {"volunteer", "officer"},
    P.MANAGE_HOUSEHOLDS: {"officer"},
    P.IMPORT_HOUSEHOLDS: {"officer", "province", "admin"},
    P.READ_HOUSEHOLDS: {"volunteer", "officer", "province", "admin"},
    P.MANAGE_PLACES: {"officer", "admin"},
    P.VIEW_PROVINCE_PROGRESS: {"province", "admin"},
    P.VIEW_COMMUNE_PROGRESS: {"officer", "province", "admin"},
    P.EXPORT_PERSONAL_DATA: {"officer", "province", "admin"},
    P.EXPORT_AGGREGATES: {"officer", "province", "admin"},
    P.SET_TARGETS: {"province", "admin"},
    P.MANAGE_TOPICS: {"admin"},
    P.MANAGE_USERS: {"admin"},
    P.READ_AUDIT: {"officer", "admin"},
}


@pytest.mark.parametrize("permission", list(EXPECTED))
def test_grants_follow_the_design_access_table(permission):
    holders = {role.value for role, granted in GRANTS.items() if permission in granted}
    assert holders == EXPECTED[permission]


def test_every_role_has_grants():
    assert set(GRANTS) == set(Role)


@pytest.fixture
def people(make_user):
    return {
        "volunteer_a": make_user("volunteer", COMMUNE_A),
        "officer_a": make_user("officer", COMMUNE_A),
        "officer_b": make_user("officer", COMMUNE_B),
        "province": make_user("province"),
        "admin": make_user("admin"),
    }


def test_anonymous_can_nothing():
    assert not any(can(AnonymousUserMixin(), permission) for permission in Permission)


def test_other_communes_objects_answer_404(app, people, make_village):
    village_b = make_village("Thôn 3", COMMUNE_B)
    with pytest.raises(NotFound):
        get_visible_or_404(Village, village_b.id, people["officer_a"])
    with pytest.raises(NotFound):
        get_visible_or_404(Village, 999_999, people["province"])
    assert get_visible_or_404(Village, village_b.id, people["officer_b"]) == village_b
    assert get_visible_or_404(Village, village_b.id, people["province"]) == village_b
    assert get_visible_or_404(Village, village_b.id, people["admin"]) == village_b


def test_in_scope_narrows_commune_staff_to_their_commune(app, people, make_village):
    make_village("Buôn A", COMMUNE_A)
    make_village("Thôn B", COMMUNE_B)

    def names(user):
        return set(db.session.scalars(in_scope(sa.select(Village.name), Village, user)))

    assert names(people["volunteer_a"]) == {"Buôn A"}
    assert names(people["officer_b"]) == {"Thôn B"}
    assert names(people["province"]) == {"Buôn A", "Thôn B"}


def test_require_forbids_roles_without_the_permission(app, people):
    @require(Permission.VERIFY_SESSIONS)
    def verify():
        return "ok"

    with app.test_request_context():
        login_user(people["volunteer_a"])
        with pytest.raises(Forbidden):
            verify()
        login_user(people["officer_a"])
        assert verify() == "ok"


def test_require_sends_anonymous_visitors_to_sign_in(app):
    @require(Permission.VERIFY_SESSIONS)
    def verify():
        return "ok"

    with app.test_request_context("/somewhere"):
        response = verify()
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
