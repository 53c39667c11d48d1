import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Household, TrainingSession, User
from tests.conftest import COMMUNE_A


@pytest.mark.parametrize(
    ("role", "sentence"),
    [
        ("volunteer", "Bạn đăng nhập với vai trò Tình nguyện viên của Phường Buôn Ma Thuột."),
        ("officer", "Bạn đăng nhập với vai trò Cán bộ xã/phường của Phường Buôn Ma Thuột."),
        ("province", "Bạn đăng nhập với vai trò Cán bộ tỉnh, phạm vi toàn tỉnh."),
        ("admin", "Bạn đăng nhập với vai trò Quản trị viên, phạm vi toàn tỉnh."),
    ],
)
def test_home_says_who_is_signed_in(client, auth, make_user, role, sentence):
    auth.login(make_user(role, COMMUNE_A, full_name="Nguyễn Văn An"))
    page = client.get("/").get_data(as_text=True)
    assert "Xin chào, Nguyễn Văn An" in page
    assert sentence in page


def test_404_page_is_vietnamese(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_500_page_is_vietnamese_and_rolls_back(app, client, make_user):
    user = make_user("admin")

    @app.get("/boom")
    def boom():
        user.full_name = "Không được lưu"
        db.session.flush()
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Đã có lỗi xảy ra" in page
    assert "RuntimeError" not in page and "Traceback" not in page
    db.session.expire_all()
    assert db.session.get(User, user.id).full_name != "Không được lưu"


class TestDemo:
    def test_fills_an_empty_database_with_labelled_data(self, app, runner, tmp_path, monkeypatch):
        monkeypatch.setattr(app, "instance_path", str(tmp_path))
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        users = db.session.scalars(sa.select(User)).all()
        assert {u.role for u in users} == {"volunteer", "officer", "province", "admin"}
        assert all("(mẫu)" in u.full_name for u in users)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) > 50
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) > 20
        assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "demo.load"))
        # The printed sign-ins work, and are kept for the next `make run`.
        _role, phone, password = result.output.strip().splitlines()[-1].split()[:3]
        assert (tmp_path / "demo-sign-ins.txt").read_text(encoding="utf-8") in result.output
        client = app.test_client()
        assert client.post("/login", data={"phone": phone, "password": password}).status_code == 302

    def test_refuses_a_database_with_users(self, app, runner, make_user, tmp_path, monkeypatch):
        monkeypatch.setattr(app, "instance_path", str(tmp_path))
        make_user("admin")
        result = runner.invoke(args=["demo"])
        assert result.exit_code != 0
        assert "already has users" in result.output
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 0
        assert runner.invoke(args=["demo", "--if-empty"]).exit_code == 0

    def test_sessions_are_spread_over_recent_months(self, app, runner, tmp_path, monkeypatch):
        monkeypatch.setattr(app, "instance_path", str(tmp_path))
        runner.invoke(args=["demo"])
        months = {d.strftime("%Y-%m") for d in db.session.scalars(sa.select(TrainingSession.held_on))}
        assert len(months) >= 3
