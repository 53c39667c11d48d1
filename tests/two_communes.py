"""The same objects in commune A and commune B, a signed-in client for every kind of caller, and
a snapshot of the whole database: what the access matrix, the CSRF and the fuzz tests share.

Everything of commune B carries "Bêta" in its name, so a page that shows any of it to commune
A's staff is caught by looking for that one word. The fixtures are `two_communes` and
`callers` in tests/conftest.py.
"""

import sqlalchemy as sa

from app.api.tokens import create_token
from app.exchange import imports
from app.exchange.reading import read_spreadsheet
from app.extensions import db
from app.models import Team
from tests.conftest import COMMUNE_A, COMMUNE_B, PASSWORD

B_MARK = "Bêta"
# Sign-in bookkeeping that any request may move; not something a caller wrote.
IGNORED_COLUMNS = {"last_seen_at"}


def build(make_user, make_village, make_household, make_session) -> dict:
    """People of both communes and of the province, and one of each object in A and in B:
    `objects` maps a URL parameter name to (commune A's value, commune B's value)."""
    village_a = make_village("Buôn Ako Dhông", COMMUNE_A)
    village_b = make_village("Thôn Bêta", COMMUNE_B)
    volunteer_a = make_user("volunteer", COMMUNE_A, full_name="Y Bhim Mlô")
    volunteer_b = make_user("volunteer", COMMUNE_B, full_name="Y Bêta Niê")
    volunteer_a.team = Team(commune_id=village_a.commune_id, name="Tổ CNS Ako Dhông", villages=[village_a])
    volunteer_b.team = Team(commune_id=village_b.commune_id, name="Tổ CNS Bêta", villages=[village_b])
    db.session.commit()
    household_a = make_household(village_a, "H'Hen Niê", phone="0912345678")
    household_b = make_household(village_b, "Lò Thị Bêta", phone="0987654321", address="Xóm Bêta")
    make_household(village_b, "Đinh Văn Bêta")  # not yet reached: on B's not-reached list
    session_a = make_session(village_a, volunteer_a, [household_a], notes="Buổi ở nhà rông")
    session_b = make_session(village_b, volunteer_b, [household_b], notes="Ghi chú Bêta")
    people = {
        "volunteer_a": volunteer_a,
        "officer_a": make_user("officer", COMMUNE_A, full_name="Cán bộ An"),
        "officer_b": make_user("officer", COMMUNE_B, full_name="Cán bộ Bêta"),
        "province": make_user("province", full_name="Cán bộ Sở"),
        "admin": make_user("admin", full_name="Quản trị"),
    }
    pending_a = _pending_import(people["officer_a"], "Buôn Ako Dhông,Nguyễn Văn Mới")
    pending_b = _pending_import(people["officer_b"], "Thôn Bêta,Trần Văn Bêta")
    token_a = create_token("Hệ thống xã An", "commune", village_a.commune, 0, people["admin"]).token
    token_b = create_token("Hệ thống Bêta", "commune", village_b.commune, 0, people["admin"]).token
    return {
        "people": people,
        "objects": {
            "household_id": (household_a.id, household_b.id),
            "session_id": (session_a.id, session_b.id),
            "village_id": (village_a.id, village_b.id),
            "code": (COMMUNE_A, COMMUNE_B),
            "token": (pending_a, pending_b),
            "api_token_id": (token_a.id, token_b.id),
        },
        "links_of_b": [f'"/households/{household_b.id}"', f'"/sessions/{session_b.id}"'],
    }


def _pending_import(officer, line: str) -> str:
    """An import preview uploaded by the officer: its token."""
    sheet = read_spreadsheet(f"thon,chu_ho\r\n{line}\r\n".encode(), "ho.csv", 1024 * 1024)
    token = imports.save_pending(sheet, "ho.csv", officer.commune, officer).token
    db.session.commit()
    return token


def sign_in_everyone(app, people: dict) -> dict:
    """A client per caller, each signed in, and one for "anonymous" that stays signed out."""
    clients = {"anonymous": app.test_client()}
    for caller, user in people.items():
        clients[caller] = app.test_client()
        response = clients[caller].post("/login", data={"phone": user.phone, "password": PASSWORD})
        assert response.status_code == 302, f"{caller} could not sign in"
    return clients


def snapshot() -> dict[str, list]:
    """Every row of every table, to show that a refused request wrote nothing."""
    tables = {}
    for table in db.metadata.sorted_tables:
        columns = [column for column in table.columns if column.name not in IGNORED_COLUMNS]
        rows = db.session.execute(sa.select(*columns)).all()
        tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables


def changed_tables(before: dict[str, list]) -> list[str]:
    after = snapshot()
    return [name for name in before if before[name] != after[name]]
