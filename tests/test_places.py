import sqlalchemy as sa

from app.extensions import db
from app.models import Commune


def test_places_load_brings_every_commune_of_dak_lak(runner):
    result = runner.invoke(args=["places", "load"])
    assert result.exit_code == 0, result.output
    assert "102 added" in result.output
    kinds = dict(db.session.execute(sa.select(Commune.kind, sa.func.count()).group_by(Commune.kind)).all())
    assert kinds == {"xa": 88, "phuong": 14}
    buon_ma_thuot = db.session.scalar(sa.select(Commune).where(Commune.code == "24133"))
    assert (buon_ma_thuot.name, buon_ma_thuot.kind, buon_ma_thuot.province_code) == ("Buôn Ma Thuột", "phuong", 66)


def test_places_load_is_idempotent_and_refreshes_names(runner):
    runner.invoke(args=["places", "load"])
    commune = db.session.scalar(sa.select(Commune).where(Commune.code == "24175"))
    commune.name = "Tên cũ"
    db.session.commit()
    result = runner.invoke(args=["places", "load"])
    assert "0 added, 1 updated, 101 unchanged" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Commune)) == 102
    db.session.refresh(commune)
    assert commune.name == "Hòa Phú"


def test_commune_names_are_clean(runner):
    runner.invoke(args=["places", "load"])
    for name in db.session.scalars(sa.select(Commune.name)):
        assert name == " ".join(name.split())
        assert not name.lower().startswith(("xã ", "phường "))


def test_unknown_province_code_stops_with_a_message(app, runner):
    app.config["PROVINCE_CODE"] = 999
    result = runner.invoke(args=["places", "load"])
    assert result.exit_code != 0
    assert "Province code 999" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Commune)) == 0
