"""Every route of the app, asked by every kind of caller, against a table kept here.

DESIGN.md, Access: who may do what; objects of another commune answer 404 and never reveal
that they exist. The table below has one row per route and method. A route added to the app
without a row fails `test_every_route_has_a_row`, so its access is decided on purpose.

How to read a row: `expect` lists what volunteer_a, officer_a, officer_b, province staff and
an admin get when the route's object belongs to commune A:
    ok   the request is served (any answer but 401, 403, 404, 405 and 5xx: a form with
         errors, a redirect, a 400 for an empty decision are all "served")
    403  the role may not do this
    404  the object belongs to another commune (or to another person)
Routes with an object (an id, a commune code, an import token, a village filter) are asked a
second time about commune B's object; there the answers mirror (see `mirrored`). Anonymous
callers are sent to sign in (401 JSON under /api/) unless the row is `public`.

Requests that are refused must change nothing: the whole database is compared before and after.
"""

import io
import re
import zipfile
from dataclasses import dataclass, field
from itertools import product

import pytest

from app.clock import local_today
from app.extensions import db
from app.models import Household, SessionStatus, TrainingSession
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.two_communes import B_MARK, changed_tables, snapshot

CALLERS = ("volunteer_a", "officer_a", "officer_b", "province", "admin")
OK, NOT_FOUND = "ok", "404"


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    expect: str  # volunteer_a officer_a officer_b province admin, for commune A's object
    public: bool = False  # anonymous callers are served too
    query: dict[str, str] = field(default_factory=dict)  # query parameter -> object parameter
    data: dict | None = None  # a harmless form body for POST (default: empty)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.rule)

    @property
    def expected(self) -> dict[str, str]:
        answers = self.expect.split()
        assert len(answers) == len(CALLERS), f"{self.key}: one answer per caller"
        return dict(zip(CALLERS, answers, strict=True))


ALL = "ok ok ok ok ok"
COMMUNE_STAFF = "ok ok ok 403 403"  # volunteers and officers: logging sessions
OFFICERS = "403 ok ok 403 403"
PROVINCE_WIDE = "403 403 403 ok ok"
NOT_VOLUNTEERS = "403 ok ok ok ok"

TABLE = [
    # Signing in and the account. Signed-in callers asking for /login are sent home (302).
    Row("GET", "/", ALL),
    Row("GET", "/login", ALL, public=True),
    Row("POST", "/login", ALL, public=True),
    Row("POST", "/logout", ALL, public=True),
    Row("POST", "/language", ALL, public=True),
    Row("GET", "/account/password", ALL),
    Row("POST", "/account/password", ALL),  # empty body: the form answers with its errors
    # The household registry: everyone reads (commune staff their commune), officers manage.
    Row("GET", "/households", ALL),
    Row("GET", "/households/deleted", OFFICERS),
    Row("GET", "/households/<int:household_id>", "ok ok 404 ok ok"),
    Row("GET", "/households/<int:household_id>/edit", "403 ok 404 403 403"),
    Row("POST", "/households/<int:household_id>/edit", "403 ok 404 403 403"),
    Row("POST", "/households/<int:household_id>/delete", "403 ok 404 403 403"),
    Row("POST", "/households/<int:household_id>/restore", "403 ok 404 403 403"),
    # The logbook. Session A was logged by volunteer_a and awaits review, so they may change it.
    Row("GET", "/sessions", COMMUNE_STAFF),
    Row("GET", "/sessions/new", COMMUNE_STAFF),
    Row("POST", "/sessions/new", COMMUNE_STAFF),  # empty body: 422 with field errors
    Row("GET", "/sessions/<int:session_id>", "ok ok 404 403 403"),
    Row("GET", "/sessions/<int:session_id>/edit", "ok ok 404 403 403"),
    Row("POST", "/sessions/<int:session_id>/edit", "ok ok 404 403 403"),
    Row("POST", "/sessions/<int:session_id>/delete", "ok ok 404 403 403"),
    Row("POST", "/sessions/<int:session_id>/restore", "ok ok 404 403 403"),
    # Verification: officers of the session's commune. An empty decision is a 400, not a write.
    Row("GET", "/verification", OFFICERS),
    Row("POST", "/sessions/<int:session_id>/review", "403 ok 404 403 403"),
    # Dashboards and targets.
    Row("GET", "/progress", PROVINCE_WIDE),
    Row("GET", "/progress/communes/<code>", "403 ok 404 ok ok"),
    Row("GET", "/progress/villages/<int:village_id>/not-reached", "403 ok 404 ok ok"),
    Row("GET", "/progress/villages/<int:village_id>/not-reached.txt", "403 ok 404 ok ok"),
    Row("GET", "/progress/targets", PROVINCE_WIDE),
    Row("POST", "/progress/targets", PROVINCE_WIDE),  # no target-<code> inputs: nothing changes
    # Any commune's target: province staff set them all, so commune B's answers the same.
    Row("GET", "/progress/targets/<code>", PROVINCE_WIDE),
    Row("POST", "/progress/targets/<code>", PROVINCE_WIDE, data={"target": "0"}),
    # Exports: officers their own commune (the `commune` filter), province staff and admins any.
    Row("GET", "/exports", "403 ok 404 ok ok", query={"commune": "code"}),
    Row("GET", "/exports/totals.<any(csv, xlsx):fmt>", "403 ok 404 ok ok", query={"commune": "code"}),
    Row("GET", "/exports/sessions.<any(csv, xlsx):fmt>", "403 ok 404 ok ok", query={"commune": "code"}),
    Row("GET", "/exports/households.<any(csv, xlsx):fmt>", "403 ok 404 ok ok", query={"commune": "code"}),
    Row("GET", "/exports/attendance.csv", "403 ok 404 ok ok", query={"commune": "code"}),
    # Imports. A preview belongs to the person who uploaded it (officer_a uploaded A's, officer_b
    # B's): anyone else, province staff included, gets 404 for its token.
    Row("GET", "/imports", NOT_VOLUNTEERS),
    Row("POST", "/imports", NOT_VOLUNTEERS),  # no file: the form answers 422
    Row("GET", "/imports/template.csv", NOT_VOLUNTEERS),
    Row("GET", "/imports/template.xlsx", NOT_VOLUNTEERS),
    Row("GET", "/imports/<token>", "403 ok 404 404 404"),
    Row("POST", "/imports/<token>/confirm", "403 ok 404 404 404"),
    Row("POST", "/imports/<token>/cancel", "403 ok 404 404 404"),
    # The audit trail: officers read their commune's, admins all; province staff do not.
    Row("GET", "/audit", "403 ok ok 403 ok"),
    # API tokens for other systems: admins only. An empty form answers 422 with its errors.
    Row("GET", "/admin/api-tokens", "403 403 403 403 ok"),
    Row("GET", "/admin/api-tokens/new", "403 403 403 403 ok"),
    Row("POST", "/admin/api-tokens/new", "403 403 403 403 ok"),
    Row("POST", "/admin/api-tokens/<int:api_token_id>/revoke", "403 403 403 403 ok"),
    # The JSON API. Its description is public; figures as on the dashboards (volunteers see
    # their village's progress on the home page, not through the API).
    Row("GET", "/api/v1/openapi.json", ALL, public=True),
    Row("GET", "/api/v1/progress", PROVINCE_WIDE),
    Row("GET", "/api/v1/communes", NOT_VOLUNTEERS),
    Row("GET", "/api/v1/communes/<code>", "403 ok 404 ok ok"),
    Row("GET", "/api/v1/topics", NOT_VOLUNTEERS),
    Row("GET", "/api/v1/sessions", NOT_VOLUNTEERS),  # the feed: officers their commune's sessions
    Row("POST", "/api/v1/sessions", COMMUNE_STAFF),  # empty body: 422 with field errors
    Row("GET", "/api/v1/households", "ok ok 404 ok ok", query={"village_id": "village_id"}),
    # Working offline: the service worker script is public; the offline pack is for those who
    # log sessions (their own commune's registry only).
    Row("GET", "/sw.js", ALL, public=True),
    # Open data: figures per commune for anyone, signed in or not; nothing personal.
    Row("GET", "/open-data", ALL, public=True),
    Row("GET", "/open-data/communes.csv", ALL, public=True),
    Row("GET", "/open-data/communes.json", ALL, public=True),
    Row("GET", "/api/v1/offline-pack", COMMUNE_STAFF),
]
ROWS = {row.key: row for row in TABLE}
# URL parameters that point at an object of one commune; every other parameter takes each of
# its listed values.
OBJECT_PARAMETERS = ("household_id", "session_id", "village_id", "code", "token", "api_token_id")
OTHER_PARAMETERS = {"fmt": ("csv", "xlsx")}
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def mirrored(answer: str, caller: str) -> str:
    """The answer about commune B's object, from the answer about commune A's: commune A's
    staff lose it (404) and commune B's officer gains it; a role refused stays refused, and
    province staff and admins answer the same for every commune."""
    if caller in ("volunteer_a", "officer_a") and answer == OK:
        return NOT_FOUND
    if caller == "officer_b" and answer == NOT_FOUND:
        return OK
    return answer


def rule_keys(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row(app):
    missing = sorted(rule_keys(app) - set(ROWS))
    assert not missing, "\n".join(f"add a row for {method} {rule} to the access table" for method, rule in missing)


def test_every_row_is_a_route(app):
    stale = sorted(set(ROWS) - rule_keys(app))
    assert not stale, f"rows for routes the app no longer has: {stale}"


def test_rows_are_unique():
    assert len(ROWS) == len(TABLE)


# ---------------------------------------------------------------------------------------------
# The matrix


def requests_for(row: Row, two_communes) -> list[tuple[str, str, dict[str, str]]]:
    """(variant, path, expected answer per caller) for each way the row is asked."""
    names = _ARGUMENT.findall(row.rule) + [name for name in row.query.values() if name not in row.rule]
    has_object = any(name in OBJECT_PARAMETERS for name in names)
    other_names = [name for name in OTHER_PARAMETERS if name in names]
    variants = []
    for commune, others in product((0, 1) if has_object else (0,), product(*map(OTHER_PARAMETERS.get, other_names))):
        values = dict(zip(other_names, others, strict=True))
        values.update({name: two_communes["objects"][name][commune] for name in OBJECT_PARAMETERS})
        path = _ARGUMENT.sub(lambda match, values=values: str(values[match.group(1)]), row.rule)
        query = {parameter: values[name] for parameter, name in row.query.items()}
        if query:
            path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
        expected = row.expected if commune == 0 else {c: mirrored(a, c) for c, a in row.expected.items()}
        label = ("commune A" if commune == 0 else "commune B") + "".join(f" {v}" for v in others)
        variants.append((label, path, expected))
    return variants


def anonymous_answer(row: Row) -> str:
    if row.public:
        return OK
    return "401" if row.rule.startswith("/api/") else "login"


def answer_matches(response, expected: str) -> bool:
    status = response.status_code
    if expected == OK:
        return status < 500 and status not in (401, 403, 404, 405)
    if expected == "login":
        # 303 when the form posted is kept for after signing in (app/forms_recovery.py)
        return status in (302, 303) and response.headers["Location"].startswith("/login")
    return status == int(expected)


# By any filter: besides the table's own filters (a village id, a commune code), commune A's
# staff give every page they may open commune B's commune code, village id, a word of B's
# names and an audit action as filters. They get 404, or a page without anything of B.
HOSTILE_FILTERS = {"commune": COMMUNE_B, "q": "beta", "action": "household.create"}
COMMUNE_A_STAFF = ("volunteer_a", "officer_a")


@pytest.mark.parametrize("row", TABLE, ids=[f"{row.method} {row.rule}" for row in TABLE])
def test_each_caller_gets_the_answer_in_the_table(row, two_communes, callers):
    wrong = []
    for variant, path, expected in requests_for(row, two_communes):
        expected = {"anonymous": anonymous_answer(row), **expected}
        refused = [caller for caller, answer in expected.items() if answer != OK]
        before = snapshot() if refused else None
        # Refused callers ask first, so what an allowed caller changes (a delete) cannot hide a
        # refused caller's write.
        for caller in [*refused, *(caller for caller in expected if caller not in refused)]:
            response = callers[caller].open(path, method=row.method, data=row.data or {})
            text = body_text(response)
            where = f"{caller:<11} {variant:<16} {row.method} {path}"
            if not answer_matches(response, expected[caller]):
                wrong.append(f"{where}: expected {expected[caller]}, got {response.status}")
            if caller in COMMUNE_A_STAFF and expected[caller] == OK:
                wrong += [f"{where}: shows {mark} of commune B" for mark in leaks_of_b(text, two_communes)]
                if row.method == "GET":
                    wrong += filtered_by_commune_b(callers[caller], path, two_communes, where)
            if refused and caller == refused[-1] and (changed := changed_tables(before)):
                wrong.append(f"{variant} {row.method} {path}: refused ({', '.join(refused)}), yet {changed} changed")
    assert not wrong, "\n".join(wrong)


def filtered_by_commune_b(client, path: str, two_communes, where: str) -> list[str]:
    village_b = two_communes["objects"]["village_id"][1]
    filters = {**HOSTILE_FILTERS, "village": village_b, "village_id": village_b}
    response = client.get(path.split("?")[0], query_string=filters)
    text = body_text(response)
    if response.status_code >= 500:
        return [f"{where} with filters of B: {response.status}"]
    if response.status_code == 404:
        return []
    return [f"{where} with filters of B: shows {mark}" for mark in leaks_of_b(text, two_communes)]


def body_text(response) -> str:
    """The body as text (the XML inside a workbook), after which the response is closed: a
    download streams from a temporary file until then."""
    data = response.get_data()
    response.close()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def leaks_of_b(text: str, two_communes) -> list[str]:
    return [mark for mark in (B_MARK, *two_communes["links_of_b"]) if mark in text]


class TestWritesPointingAtCommuneB:
    """Posted bodies that name commune B's objects answer 404 and write nothing."""

    @pytest.fixture
    def session_form(self, two_communes):
        village_a = two_communes["objects"]["village_id"][0]
        return {
            "uuid": "4b0c2f7e-3f5e-4a58-9d3c-7d7f0a0b2c11",
            "date": "",
            "village_id": str(village_a),
            "topics": ["vneid"],
            "household_ids": [str(two_communes["objects"]["household_id"][0])],
            "action": "save",
        }

    def test_session_form_with_a_village_or_household_of_b(self, two_communes, callers, session_form):
        village_b, household_b = two_communes["objects"]["village_id"][1], two_communes["objects"]["household_id"][1]
        session_form["date"] = local_today().isoformat()
        for caller in ("volunteer_a", "officer_a"):
            for changes in (
                {"village_id": str(village_b)},
                {"household_ids": [str(household_b)]},
                {"action": "search", "village_id": str(village_b), "q": "beta"},
            ):
                before = snapshot()
                response = callers[caller].post("/sessions/new", data={**session_form, **changes})
                assert response.status_code == 404, f"{caller} {changes}: {response.status}"
                assert snapshot() == before

    def test_session_form_picking_a_household_of_b_by_button_does_not_show_it(
        self, two_communes, callers, session_form
    ):
        household_b = two_communes["objects"]["household_id"][1]
        response = callers["officer_a"].post("/sessions/new", data={**session_form, "action": f"use:0:{household_b}"})
        assert response.status_code == 200
        assert B_MARK not in response.get_data(as_text=True)

    def test_api_with_a_village_or_household_of_b(self, two_communes, callers):
        village_a, village_b = two_communes["objects"]["village_id"]
        household_b = two_communes["objects"]["household_id"][1]
        base = {"uuid": "9d7c1a52-8a1e-4f8b-bf2c-1f0b7c9e6a21", "date": local_today().isoformat(),
                "village_id": village_a, "topics": ["vneid"], "households": [{"id": household_b}]}  # fmt: skip
        for caller in ("volunteer_a", "officer_a"):
            for body in (
                base,
                {**base, "village_id": village_b, "households": [{"id": two_communes["objects"]["household_id"][0]}]},
            ):
                before = snapshot()
                response = callers[caller].post("/api/v1/sessions", json=body)
                assert response.status_code == 404, f"{caller}: {response.status}"
                assert snapshot() == before

    def test_an_officer_cannot_import_into_commune_b(self, two_communes, callers):
        before = snapshot()
        upload = (io.BytesIO("thon,chu_ho\r\nThôn Mới,Nguyễn Văn Bêta\r\n".encode()), "ho.csv")
        response = callers["officer_a"].post("/imports", data={"commune": COMMUNE_B, "file": upload})
        assert response.status_code == 404
        assert snapshot() == before

    def test_a_session_uuid_of_commune_b_is_a_conflict_that_does_not_reveal_the_session(self, two_communes, callers):
        """The same uuid posted from commune A (a copied phone queue, say) is refused, and the
        answer names nothing of B's session: not its id, not a redirect to it."""
        session_b = db.session.get(TrainingSession, two_communes["objects"]["session_id"][1])
        body = {"uuid": session_b.uuid, "date": local_today().isoformat(),
                "village_id": two_communes["objects"]["village_id"][0], "topics": ["vneid"],
                "households": [{"id": two_communes["objects"]["household_id"][0]}]}  # fmt: skip
        before = snapshot()
        response = callers["volunteer_a"].post("/api/v1/sessions", json=body)
        assert response.status_code == 409
        assert "session_id" not in response.get_json()
        form = {
            **body,
            "village_id": str(body["village_id"]),
            "household_ids": [str(two_communes["objects"]["household_id"][0])],
        }
        form = {key: value for key, value in form.items() if key != "households"}
        response = callers["volunteer_a"].post("/sessions/new", data={**form, "action": "save"})
        assert response.status_code == 409
        assert str(session_b.id) not in response.headers.get("Location", "")
        assert B_MARK not in response.get_data(as_text=True)
        assert snapshot() == before


class TestInsideCommuneA:
    """Within one commune a volunteer changes only their own sessions, and only until reviewed."""

    @pytest.fixture
    def others(self, two_communes, make_user, make_session):
        village = db.session.get(TrainingSession, two_communes["objects"]["session_id"][0]).village
        household = db.session.get(Household, two_communes["objects"]["household_id"][0])
        colleague = make_user("volunteer", COMMUNE_A, full_name="H'Yam Êban")
        return {
            "colleague's": make_session(village, colleague, [household]),
            "verified": make_session(
                village, two_communes["people"]["volunteer_a"], [household], status=SessionStatus.VERIFIED
            ),
        }

    @pytest.mark.parametrize("which", ["colleague's", "verified"])
    @pytest.mark.parametrize("action", ["edit", "delete", "restore"])
    def test_volunteer_is_refused_with_403_and_nothing_changes(self, callers, others, which, action):
        session = others[which]
        before = snapshot()
        response = callers["volunteer_a"].post(f"/sessions/{session.id}/{action}", data={})
        assert response.status_code == 403
        assert snapshot() == before
        assert callers["volunteer_a"].get(f"/sessions/{session.id}").status_code == 200  # reading is fine
