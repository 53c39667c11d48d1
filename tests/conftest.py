"""Fixtures in the flaskr shape: app, client, runner, auth, and factories that return callables.

The database is migrated once per test run (SQLite file by default, PostgreSQL when
TEST_DATABASE_URL is set) and emptied after every test, so each test starts clean.
"""

import contextvars
import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")

from app import create_app
from app.auth.services import create_user
from app.clock import local_today
from app.extensions import db
from app.models import SEED_TOPICS, Attendance, Commune, Household, SessionStatus, Team, Topic, TrainingSession, Village
from app.places.services import load_communes
from app.progress import tallies
from app.text import fold

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "mat-khau-thu-nghiem"  # a test password that passes the password rules
COMMUNE_A = "24133"  # Phường Buôn Ma Thuột
COMMUNE_B = "24175"  # Xã Hòa Phú


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def _test_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt is slow by design; tests make many users
    }


@pytest.fixture(scope="session")
def _migrated_database(database_url):
    """Bring the test database to the latest migration once for the whole run."""
    app = create_app(_test_config(database_url))
    with app.app_context():
        _drop_everything()
        upgrade()
        db.engine.dispose()
    return database_url


class IsolatedClient(FlaskClient):
    """Runs each request in an app context of its own, as production does.

    Without this, requests would share the test's app context: its `g`, cached locale and
    signed-in user, and its database session. Afterwards the test's session is rolled back,
    so it reads what the request committed.
    """

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db.session.rollback()
        return response


@pytest.fixture
def app(_migrated_database):
    app = create_app(_test_config(_migrated_database))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()  # each app has its own pool; close it with the app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_phone, password=PASSWORD, **extra):
        phone = getattr(user_or_phone, "phone", user_or_phone)
        return self._client.post("/login", data={"phone": phone, "password": password, **extra})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def communes(app):
    """The province's 102 communes, loaded from the official data."""
    load_communes(app.config["PROVINCE_CODE"])
    db.session.commit()
    return {c.code: c for c in db.session.scalars(sa.select(Commune))}


@pytest.fixture
def make_user(communes):
    counter = iter(range(10_000))

    def make(role="volunteer", commune_code=COMMUNE_A, password=PASSWORD, **fields):
        phone = fields.pop("phone", f"0987{next(counter):06d}")
        user = create_user(
            phone=phone,
            full_name=fields.pop("full_name", f"Người dùng {role}"),
            role=role,
            password=password,
            commune_code=commune_code if role in ("volunteer", "officer") else None,
        )
        for name, value in fields.items():
            setattr(user, name, value)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_village(communes):
    def make(name="Buôn Ako Dhông", commune_code=COMMUNE_A, kind="buon"):
        village = Village(commune=communes[commune_code], name=name, folded_name=fold(name), kind=kind)
        db.session.add(village)
        db.session.commit()
        return village

    return make


@pytest.fixture
def village(make_village):
    return make_village("Buôn Ako Dhông", COMMUNE_A)


@pytest.fixture
def volunteer(make_user, village):
    """A volunteer of commune A whose team serves `village`."""
    user = make_user("volunteer", COMMUNE_A, full_name="Y Bhim Mlô")
    user.team = Team(commune_id=village.commune_id, name="Tổ CNS Buôn Ako Dhông", villages=[village])
    db.session.commit()
    return user


@pytest.fixture
def make_api_token(make_user, communes):
    """An API token made by an admin, as the admin page makes it: (token row, secret)."""
    from app.api.tokens import create_token

    admins = []

    def make(scope="province", commune_code=None, name="Nền tảng tích hợp tỉnh", valid_days=0):
        if not admins:
            admins.append(make_user("admin", full_name="Quản trị API"))
        commune = communes[commune_code] if commune_code else None
        made = create_token(name, scope, commune, valid_days, admins[0])
        return made.token, made.secret

    return make


@pytest.fixture
def make_household():
    def make(village, head_name="H'Hen Niê", **fields):
        household = Household(
            commune_id=village.commune_id,
            village=village,
            head_name=head_name,
            head_name_folded=fold(head_name),
            uuid=fields.pop("uuid", str(uuid.uuid4())),
            **fields,
        )
        db.session.add(household)
        db.session.flush()
        tallies.refresh_households([household.id])
        db.session.commit()
        return household

    return make


@pytest.fixture
def make_session():
    """A saved session built directly (no form rules), with the counters moved as the
    services would move them."""

    def make(village, volunteer, households, topic_codes=("vneid",), status=SessionStatus.PENDING, **fields):
        session = TrainingSession(
            uuid=str(uuid.uuid4()),
            fingerprint=uuid.uuid4().hex,
            held_on=fields.pop("held_on", local_today()),
            commune_id=village.commune_id,
            village=village,
            volunteer=volunteer,
            status=status,
            topics=list(db.session.scalars(sa.select(Topic).where(Topic.code.in_(topic_codes)))),
            **fields,
        )
        session.attendances = [Attendance(household=household) for household in households]
        db.session.add(session)
        tallies.session_changed(session, None, set())
        db.session.commit()
        return session

    return make


def _drop_everything() -> None:
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables() -> None:
    """Delete every row, children first, then put the seed topics back."""
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(
            sa.insert(Topic.__table__),
            [
                {"code": code, "name_vi": vi, "name_en": en, "is_active": True, "sort_order": order}
                for order, (code, vi, en) in enumerate(SEED_TOPICS)
            ],
        )


# Browser tests need Debian's chromium. Without it they are skipped, loudly; CI installs it.
def pytest_collection_modifyitems(config, items):
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must run the browser tests, but {CHROMIUM} is missing.")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    browser_items = [item for item in items if "tests/browser" in str(item.path)]
    for item in browser_items:
        item.add_marker(skip)
    config._skipped_browser_tests = len(browser_items)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = getattr(config, "_skipped_browser_tests", 0)
    if skipped:
        terminalreporter.write_sep("!", f"{skipped} BROWSER TESTS SKIPPED: {CHROMIUM} IS MISSING", red=True, bold=True)
        terminalreporter.write_line("Install it with: apt-get install -y chromium   (CI installs it and runs them)")


@pytest.fixture
def two_communes(make_user, make_village, make_household, make_session):
    """The same objects in commune A and commune B, and people of both and of the province
    (tests/two_communes.py): for the access matrix, CSRF and fuzz tests."""
    from tests import two_communes as world

    return world.build(make_user, make_village, make_household, make_session)


@pytest.fixture
def callers(app, two_communes):
    """A signed-in client for each person of `two_communes`, and an anonymous one."""
    from tests import two_communes as world

    return world.sign_in_everyone(app, two_communes["people"])
