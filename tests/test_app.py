import subprocess
import sys

import pytest

from app import create_app
from app.config import MissingSecretKey


def test_config_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://kns@db.example/kns")
    monkeypatch.setenv("PROVINCE_CODE", "1")
    monkeypatch.setenv("TARGET_HOUSEHOLDS", "1000")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://kns@db.example/kns"
    assert app.config["PROVINCE_CODE"] == 1
    assert app.config["TARGET_HOUSEHOLDS"] == 1000


def test_defaults_are_dak_lak_on_a_local_sqlite_file(monkeypatch):
    for name in ("DATABASE_URL", "PROVINCE_CODE", "TARGET_HOUSEHOLDS"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["PROVINCE_CODE"] == 66
    assert app.config["TARGET_HOUSEHOLDS"] == 257959
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/kynangso.sqlite")


def test_local_run_generates_and_keeps_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path))
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert len(first) >= 32
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(MissingSecretKey, match="SECRET_KEY"):
        create_app()


def test_production_without_secret_key_prints_one_line(tmp_path):
    env = {"APP_ENV": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "SECRET_KEY" in result.stderr


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_sqlite_enforces_foreign_keys(app):
    from app.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
