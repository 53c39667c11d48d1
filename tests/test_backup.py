import shutil
import sqlite3
import subprocess
import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from app.logbook.services import log_session
from app.models import Household, Team, TrainingSession
from app.progress import tallies
from tests.conftest import COMMUNE_A


@pytest.fixture
def logged(make_user, make_village, make_household):
    village = make_village("Buôn Ako Dhông", COMMUNE_A)
    volunteer = make_user("volunteer", COMMUNE_A)
    volunteer.team = Team(commune_id=village.commune_id, name="Tổ CNS", villages=[village])
    db.session.commit()
    households = [make_household(village, f"Hộ {n}") for n in range(5)]

    def log(count: int) -> None:
        for _ in range(count):
            log_session(
                {
                    "uuid": str(uuid.uuid4()),
                    "date": "2026-11-20",
                    "village_id": village.id,
                    "topics": ["vneid"],
                    "households": [{"id": h.id} for h in households[:3]]
                    + [{"uuid": str(uuid.uuid4()), "head_name": "Hộ mới"}],
                },
                volunteer,
            )

    log(3)
    return log


def figures() -> dict:
    return {
        "province": tallies.province_figures(),
        "sessions": db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)),
        "households": db.session.scalar(sa.select(sa.func.count()).select_from(Household)),
    }


def test_backup_while_writing_restores_to_the_same_tallies(app, runner, logged, tmp_path, database_url):
    if make_url(database_url).get_backend_name() == "postgresql" and not shutil.which("pg_restore"):
        pytest.skip("pg_restore is not installed")
    before = figures()
    target = tmp_path / "backup.db"

    # Someone keeps logging sessions on another connection while the copy is made.
    writer_done = threading.Event()

    def keep_writing():
        with app.app_context():
            logged(5)
            db.session.remove()
        writer_done.set()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    result = runner.invoke(args=["backup", str(target)])
    writer.join()
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output

    restored_url = _restore(target, database_url, tmp_path)
    try:
        copy = create_app({"SQLALCHEMY_DATABASE_URI": restored_url, "TESTING": True})
        with copy.app_context():
            restored = figures()
            # A consistent snapshot: whatever was copied adds up, and nothing written before is lost.
            assert restored["sessions"] >= before["sessions"]
            assert restored["province"][1] == restored["households"]
            tallies.rebuild()
            assert figures() == restored
            db.session.rollback()
            if restored["sessions"] == before["sessions"]:
                assert restored == before
            db.engine.dispose()
    finally:
        _drop(restored_url)


def _restore(target, database_url, tmp_path) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(target) as check:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return f"sqlite:///{target}"
    name = f"kns_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    restored = url.set(database=name)
    plain = restored.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={plain}", str(target)], check=True)
    return restored.render_as_string(hide_password=False)


def _drop(restored_url: str) -> None:
    url = make_url(restored_url)
    if url.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()
