import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Commune
from app.models.audit import record
from tests.conftest import COMMUNE_A, COMMUNE_B


@pytest.fixture
def trail(communes, make_user):
    officer = make_user("officer", COMMUNE_A, full_name="Cán bộ A")
    for code, note in ((COMMUNE_A, "ở xã A"), (COMMUNE_B, "ở xã B")):
        commune = db.session.scalar(sa.select(Commune).where(Commune.code == code))
        record(officer.id, "commune.set_target", commune, changes={"target_households": [0, 5], "note": note})
    db.session.commit()
    return officer


def test_officer_reads_only_their_communes_trail(client, auth, trail):
    auth.login(trail)
    page = client.get("/audit").get_data(as_text=True)
    assert "Nhật ký thay đổi" in page
    assert "ở xã A" in page and "ở xã B" not in page
    assert "0 → 5" in page
    assert "Đặt chỉ tiêu xã/phường" in page


def test_admin_reads_everything_and_filters_by_kind(client, auth, trail, make_user):
    auth.login(make_user("admin"))
    page = client.get("/audit").get_data(as_text=True)
    assert "ở xã A" in page and "ở xã B" in page
    page = client.get("/audit?action=user.create").get_data(as_text=True)
    assert "ở xã A" not in page
    assert "Tạo người dùng" in page


@pytest.mark.parametrize("role", ["volunteer", "province"])
def test_others_may_not_read_the_trail(client, auth, make_user, role):
    auth.login(make_user(role, COMMUNE_A))
    assert client.get("/audit").status_code == 403


def test_no_route_changes_or_deletes_audit_rows(app):
    for rule in app.url_map.iter_rules():
        assert "audit" not in rule.rule or rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule
