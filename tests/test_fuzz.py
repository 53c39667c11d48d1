"""Hostile input on every form and JSON endpoint: never a 500, never a half-saved write.

Hypothesis builds bodies and query strings from valid ones by replacing, repeating, dropping
and adding fields, with values nobody types on purpose: 10,000-character strings, control
characters and NUL, right-to-left and mixed scripts, emoji, SQL and format strings, numbers
past every column's range, NaN, wrong JSON types, impossible dates. After each request:

- the status is below 500 (in tests a crash raises instead, which fails the same way);
- a request that did not succeed as a whole left the rows of sessions, attendances,
  households, villages, audit events, pending imports and targets as they were;
- at the end of a test the counters behind every figure still match the raw rows
  (`flask tallies check`), so nothing was half-counted either.

Each test runs FUZZ_EXAMPLES examples (a small number, so the file runs in about a minute);
set the environment variable higher for a long hunt: FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py
"""

import csv
import io
import os
import uuid
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.clock import local_today
from app.extensions import db
from app.models import Attendance, AuditEvent, Commune, Household, PendingImport, TrainingSession, Village
from tests.conftest import COMMUNE_A, COMMUNE_B, PASSWORD

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------------
# Hostile values

SAMPLES = [
    "", " ", "\x00", "a\x00b", "\x00" * 40, "\t\n\r\x0b\x0c", "\x1b[31m", "\x7f", "\x85", "\u2028\u2029",
    "\u202eevil\u202c", "\u200b\u200d", "\ufeff", "مرحبا Xin chào", "שלום עולם", "Nguye\u0302\u0303n Va\u0306n An",
    "Hoà", "H'Hen Niê", "M'nông", "🙂👨‍👩‍👧 Ê Đê", "𝕏𝕐𝕫", "' OR 1=1 --", "'; DROP TABLE household; --",
    "%s %(x)s {0} {x!r} %d %n", "{{ 7*7 }}", "<script>alert(1)</script>", "../../etc/passwd", "//evil.example",
    "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/\x00/evil", "/sessions\r\nX-Evil: 1",
    "2026-02-30", "0000-00-00", "9999-12-31", "2026-13-01", "-0001-01-01", "2026-W01-1", "20260101", "٢٠٢٦-٠١-٠١",
    "-1", "0", "2147483647", "2147483648", "-2147483649", "9" * 30, "1e309", "NaN", "inf", "-0", "1.5", "1,000",
    "²", "١٢٣", "１２３", "߁", "⁵", "--5", "+7", " 7 ", "true", "null", "[]", "{}", "0912 345 678", "+84 912 345 678",
    "vneid", "cashless", "ede", "verify", "reject", "send_back", "use:0:1", "use:²:²", "use:99999999999:1", "use:-1:1",
    "search", "add_row", "save", "vi", "en", COMMUNE_A, COMMUNE_B, "csv", "xlsx", "desc", "trained", "xa", "phuong",
]  # fmt: skip
LONG = st.builds(lambda text, n: text * n, st.sampled_from(["a", "ệ", "\x00", " ", "9", "🙂", "ـ", "\u0301"]),
                 st.integers(1000, 10_000))  # fmt: skip
# One odd character inside an ordinary value, where a name or note would carry it.
ODD = ["\x00", "\x01", "\x08", "\x1f", "\x7f", "\x9f", "\u202e", "\u200b", "\ufeff", "\ud7ff", "\U0010ffff", "🙂",
       "²", "'", '"', "%", "{0}", "\\", "\n", "\r\n", "<", "&"]  # fmt: skip
spiked = st.builds(
    "{}{}{}".format,
    st.sampled_from(["", "Nguyễn Văn An", "Số 12", "0912", "vneid", "2026-01-01"]),
    st.sampled_from(ODD),
    st.sampled_from(["", " Niê", "345 678", "x"]),
)
text = st.one_of(
    st.sampled_from(SAMPLES),
    spiked,
    st.text(max_size=40),
    st.text(st.characters(max_codepoint=0x20), max_size=12),  # control characters only
    LONG,
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats())
# Text half of the time: it is what reaches the most code (names, notes, codes, dates).
json_value = st.one_of(
    text,
    st.recursive(
        json_scalar | text,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=8,
    ),
)
# Dates are where a string is parsed: the hostile ones, and days from 0001 to 9999.
dates = st.one_of(text, st.dates().map(lambda day: day.isoformat()))


@st.composite
def mangled(draw, base: list[tuple[str, str]], names: list[str], values=text) -> MultiDict:
    """A form body from a valid one: fields replaced, repeated, dropped, and made up."""
    pairs = list(base)
    for operation, name, value in draw(
        st.lists(
            st.tuples(st.sampled_from(["replace", "repeat", "drop", "invent"]), st.sampled_from(names), values),
            min_size=1,
            max_size=4,
        )
    ):
        if operation == "replace":
            pairs = [(key, value if key == name else old) for key, old in pairs]
        elif operation == "repeat":
            pairs.append((name, value))
        elif operation == "drop":
            pairs = [(key, old) for key, old in pairs if key != name]
        else:
            pairs.append((draw(text), value))
    return MultiDict(pairs)


# ---------------------------------------------------------------------------------------------
# What must not change when a request fails


def rows() -> dict:
    """Row counts of what a request could half-write, and the targets."""
    counted = {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (TrainingSession, Attendance, Household, Village, AuditEvent, PendingImport)
    }
    counted["targets"] = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Commune.target_households), 0)))
    return counted


def answered(response) -> int:
    """The status, after reading the whole body (a CSV streams its rows after the status)."""
    response.get_data()
    response.close()
    assert response.status_code < 500, f"{response.status}: {response.get_data(as_text=True)[:300]}"
    return response.status_code


def assert_whole_or_nothing(before: dict, succeeded: bool) -> None:
    """A request that failed wrote nothing at all."""
    if not succeeded:
        assert rows() == before, f"the request failed, yet rows changed: {before} -> {rows()}"


def assert_stays_on_this_site(response) -> None:
    location = response.headers.get("Location")
    if location is not None:
        parts = urlsplit(location)
        assert parts.netloc in ("", "localhost"), location
        assert parts.path.startswith("/") and not parts.path.startswith("//"), location


@pytest.fixture
def counters_stay_exact(app):
    """After all of a test's examples, the counters behind every figure match the raw rows."""
    yield
    result = app.test_cli_runner().invoke(args=["tallies", "check"])
    assert result.exit_code == 0, result.output


def signed_in(client, user) -> None:
    """Sign in again if an earlier example signed the client out (a changed password)."""
    if client.get("/account/password").status_code != 200:
        user.set_password(PASSWORD)
        db.session.commit()
        assert client.post("/login", data={"phone": user.phone, "password": PASSWORD}).status_code == 302


@pytest.fixture
def ids(two_communes):
    """Commune A's village, household, session…: where the valid bodies point."""
    return {name: pair[0] for name, pair in two_communes["objects"].items()}


# ---------------------------------------------------------------------------------------------
# POST /api/v1/sessions


def household_item(ids):
    existing = st.fixed_dictionaries({"id": st.one_of(st.just(ids["household_id"]), json_value)})
    new = st.fixed_dictionaries(
        {},
        optional={
            "uuid": st.one_of(st.uuids().map(str), json_value),
            "head_name": st.one_of(st.just("Y Kông Buôn Yă"), json_value),
            "address": json_value,
            "phone": st.one_of(st.just("0912 345 678"), json_value),
        },
    )
    return st.one_of(existing, new, json_value)


@st.composite
def session_bodies(draw, ids):
    body = {
        "uuid": str(uuid.uuid4()),
        "date": local_today().isoformat(),
        "village_id": ids["village_id"],
        "topics": ["vneid", "cashless"],
        "households": [{"id": ids["household_id"]}, {"uuid": str(uuid.uuid4()), "head_name": "Y Kông Buôn Yă"}],
        "language": "ede",
        "attendees": 4,
        "notes": "Tại nhà rông",
    }
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=4, unique=True)):
        body[key] = draw(
            {
                "date": dates,
                "households": st.lists(household_item(ids), max_size=5) | json_value,
                "topics": st.lists(st.sampled_from(["vneid", "cashless"]) | text, max_size=4) | json_value,
            }.get(key, json_value)
        )
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2)):
        body.pop(key, None)
    body.update(draw(st.dictionaries(text, json_value, max_size=3)))
    return body


@fuzz
@given(data=st.data())
def test_api_sessions(counters_stay_exact, callers, ids, data):
    client = callers[data.draw(st.sampled_from(["volunteer_a", "officer_a"]))]
    before = rows()
    if data.draw(st.booleans(), label="raw body"):
        payload = data.draw(st.binary(max_size=200) | text.map(lambda value: value.encode("utf-8", "surrogatepass")))
        response = client.post("/api/v1/sessions", data=payload, content_type="application/json")
    else:
        response = client.post("/api/v1/sessions", json=data.draw(session_bodies(ids)))
    status = answered(response)
    assert response.is_json
    assert_whole_or_nothing(before, succeeded=status in (200, 201))
    if status == 201:
        saved = response.get_json()
        assert db.session.get(TrainingSession, saved["id"]).attendances


@fuzz
@given(data=st.data())
def test_api_household_search(callers, ids, data):
    client = callers[data.draw(st.sampled_from(["volunteer_a", "officer_a", "province"]))]
    query = data.draw(
        mangled([("village_id", str(ids["village_id"])), ("q", "hen")], ["village_id", "q"]), label="query"
    )
    before = rows()
    response = client.get("/api/v1/households", query_string=query)
    assert answered(response) in (200, 400, 404, 422)
    assert rows() == before


# ---------------------------------------------------------------------------------------------
# The session form: /sessions/new and /sessions/<id>/edit

ROW_FIELDS = ("uuid", "head_name", "address", "phone", "is_confirmed_new")
SESSION_FIELDS = ["uuid", "date", "village_id", "topics", "household_ids", "q", "language", "attendees", "notes",
                  "action", *(f"new_households-0-{name}" for name in ROW_FIELDS), "new_households-1-head_name",
                  "new_households-99999-head_name", "new_households-x-head_name"]  # fmt: skip


def session_form(ids) -> list[tuple[str, str]]:
    return [
        ("uuid", str(uuid.uuid4())),
        ("date", local_today().isoformat()),
        ("village_id", str(ids["village_id"])),
        ("topics", "vneid"),
        ("topics", "cashless"),
        ("household_ids", str(ids["household_id"])),
        ("new_households-0-uuid", str(uuid.uuid4())),
        ("new_households-0-head_name", "Nguyễn Văn An"),
        ("new_households-0-address", "Số 12"),
        ("new_households-0-phone", "0912 345 678"),
        ("new_households-0-is_confirmed_new", "y"),
        ("language", "ede"),
        ("attendees", "7"),
        ("notes", "Tại nhà văn hoá"),
        ("action", "save"),
    ]


@fuzz
@given(data=st.data())
def test_session_form(counters_stay_exact, callers, ids, data):
    caller = data.draw(st.sampled_from(["volunteer_a", "officer_a"]))
    edit = data.draw(st.booleans(), label="edit")
    path = f"/sessions/{ids['session_id']}/edit" if edit else "/sessions/new"
    form = data.draw(mangled(session_form(ids), SESSION_FIELDS, values=text | dates), label="form")
    before = rows()
    response = callers["officer_a" if edit else caller].post(path, data=form)
    status = answered(response)
    assert_whole_or_nothing(before, succeeded=status == 302)
    assert_stays_on_this_site(response)


# ---------------------------------------------------------------------------------------------
# The household registry: the edit form and the list's filters

HOUSEHOLD_FIELDS = ["head_name", "address", "phone", "submit"]


@fuzz
@given(data=st.data())
def test_household_edit_form(counters_stay_exact, callers, ids, data):
    base = [("head_name", "H'Hen Niê"), ("address", "Số 3"), ("phone", "0912 345 678"), ("submit", "Lưu")]
    form = data.draw(mangled(base, HOUSEHOLD_FIELDS), label="form")
    household = db.session.get(Household, ids["household_id"])
    kept = (household.head_name, household.address, household.phone)
    before = rows()
    response = callers["officer_a"].post(f"/households/{ids['household_id']}/edit", data=form)
    status = answered(response)
    assert_whole_or_nothing(before, succeeded=status == 302)
    if status != 302:
        db.session.expire_all()
        household = db.session.get(Household, ids["household_id"])
        assert (household.head_name, household.address, household.phone) == kept
    else:
        assert "\x00" not in household.head_name + (household.address or "")


# ---------------------------------------------------------------------------------------------
# Signing in, the password, the language


@fuzz
@given(data=st.data())
def test_login(callers, two_communes, data):
    client = callers["anonymous"]
    user = two_communes["people"]["volunteer_a"]
    base = [("phone", user.phone), ("password", PASSWORD), ("next", "/sessions")]
    form = data.draw(mangled(base, ["phone", "password", "next"], values=text | st.just(PASSWORD)), label="form")
    response = client.post("/login", query_string={"next": data.draw(text)}, data=form)
    assert answered(response) in (200, 302, 400, 429)
    assert_stays_on_this_site(response)
    client.post("/logout")


@fuzz
@given(data=st.data())
def test_password_change(callers, two_communes, data):
    user = two_communes["people"]["volunteer_a"]
    client = callers["volunteer_a"]
    signed_in(client, user)
    base = [("current_password", PASSWORD), ("new_password", "mot-mat-khau-moi"), ("confirm", "mot-mat-khau-moi")]
    form = data.draw(mangled(base, ["current_password", "new_password", "confirm"]), label="form")
    before = rows()
    status = answered(client.post("/account/password", data=form))
    assert status in (200, 302, 400)
    assert_whole_or_nothing(before, succeeded=status == 302)


@fuzz
@given(data=st.data())
def test_language(callers, data):
    client = callers[data.draw(st.sampled_from(["anonymous", "officer_a"]))]
    form = data.draw(mangled([("locale", "en"), ("next", "/households")], ["locale", "next"]), label="form")
    response = client.post("/language", data=form)
    assert answered(response) in (302, 400)
    assert_stays_on_this_site(response)


# ---------------------------------------------------------------------------------------------
# Verification and targets


@fuzz
@given(data=st.data())
def test_review(counters_stay_exact, callers, ids, data):
    base = [("decision", "send_back"), ("note", "Kiểm tra lại số hộ"), ("next", "/verification")]
    form = data.draw(mangled(base, ["decision", "note", "next"]), label="form")
    before = rows()
    response = callers["officer_a"].post(f"/sessions/{ids['session_id']}/review", data=form)
    status = answered(response)
    assert status in (302, 400, 422)
    assert_whole_or_nothing(before, succeeded=status == 302)
    assert_stays_on_this_site(response)


@fuzz
@given(data=st.data())
def test_targets(callers, data):
    client = callers["province"]
    names = [f"target-{COMMUNE_A}", f"target-{COMMUNE_B}", "target-", "target-99999", "target"]
    form = data.draw(mangled([(f"target-{COMMUNE_A}", "1.234"), (f"target-{COMMUNE_B}", "2500")], names))
    code = data.draw(st.sampled_from([COMMUNE_A, COMMUNE_B]) | text, label="code")
    before = rows()
    if data.draw(st.booleans(), label="one commune"):
        response = client.post(f"/progress/targets/{quote(code, safe='')}", data=form)
        succeeded = answered(response) == 302
    else:
        response = client.post("/progress/targets", query_string={"q": data.draw(text)}, data=form)
        succeeded = answered(response) == 302
    assert_whole_or_nothing(before, succeeded)


# ---------------------------------------------------------------------------------------------
# Filters of the lists, dashboards and exports (GET query strings), and hostile path segments

LISTS = {
    "province": ["/progress", "/exports", "/exports/totals.csv", "/exports/households.csv", "/exports/sessions.xlsx",
                 "/exports/attendance.csv", "/households", "/progress/targets", "/imports"],
    "officer_a": ["/households", "/sessions", "/verification", "/audit", f"/progress/communes/{COMMUNE_A}", "/exports",
                  "/exports/totals.xlsx", "/exports/sessions.csv", "/households/deleted", "/", "/api/v1/offline-pack"],
}  # fmt: skip
FILTERS = ["from", "to", "commune", "sort", "dir", "q", "kind", "page", "per_page", "village", "action", "deleted"]
PATHS = ["/progress/communes/{}", "/progress/targets/{}", "/imports/{}", "/exports/totals.{}", "/households/{}",
         "/sessions/{}", "/progress/villages/{}/not-reached"]  # fmt: skip


@fuzz
@given(data=st.data())
def test_filters(callers, data):
    caller = data.draw(st.sampled_from(sorted(LISTS)))
    path = data.draw(st.sampled_from(LISTS[caller]), label="path")
    base = [("from", "2026-01-01"), ("to", "2026-02-01"), ("page", "2")]
    query = data.draw(mangled(base, FILTERS, values=dates), label="query")
    response = callers[caller].get(path, query_string=query)
    assert answered(response) in (200, 302, 400, 404)


@fuzz
@given(data=st.data())
def test_hostile_path_segments(callers, data):
    caller = data.draw(st.sampled_from(["province", "officer_a"]))
    path = data.draw(st.sampled_from(PATHS)).format(quote(data.draw(text), safe=""))
    response = callers[caller].get(path)
    assert answered(response) in (200, 302, 308, 400, 403, 404)  # 308: '//' in the path is merged


# ---------------------------------------------------------------------------------------------
# Imports: random bytes, and spreadsheets full of hostile cells, then confirming them


def csv_of(cells: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["thon", "chu_ho", "dia_chi", "so_dien_thoai"], *cells])
    return buffer.getvalue().encode("utf-8", "surrogatepass")


@fuzz
@given(data=st.data())
def test_imports(counters_stay_exact, callers, data):
    caller = data.draw(st.sampled_from(["officer_a", "province"]))
    client = callers[caller]
    cells = st.lists(st.lists(text | st.sampled_from(["Thôn Mới", "Nguyễn Văn Mới", "0912 345 678"]), max_size=5),
                     min_size=1, max_size=4)  # fmt: skip
    content = data.draw(st.binary(max_size=300) | cells.map(csv_of), label="file")
    filename = data.draw(st.sampled_from(["ho.csv", "ho.xlsx"]) | text, label="filename")
    form = data.draw(mangled([("commune", COMMUNE_A)], ["commune", "submit"]), label="form")
    form.add("file", (io.BytesIO(content), filename))
    before = rows()
    response = client.post("/imports", data=form)
    status = answered(response)
    assert status in (200, 302, 400, 404, 422)
    if status != 302:
        assert rows() == before
        return
    preview = response.headers["Location"]
    assert answered(client.get(preview)) in (200, 302)
    response = client.post(preview + "/confirm")
    assert answered(response) == 302
    names = db.session.scalars(sa.select(Household.head_name)).all()
    assert not any("\x00" in name for name in names)


# ---------------------------------------------------------------------------------------------
# What the hunt found, kept as plain tests so every run asks again


@pytest.mark.parametrize(
    "changes",
    [
        {"language": [None]},  # a list where a language code goes
        {"topics": True},
        {"topics": 5},
        {"village_id": "²"},  # a digit to str.isdigit(), not to int()
        {"village_id": "--5"},
        {"attendees": "١٢"},
        {"households": [{"id": "²"}]},
    ],
)
def test_api_answers_422_to_values_that_once_crashed_it(callers, ids, changes):
    body = {"uuid": str(uuid.uuid4()), "date": local_today().isoformat(), "village_id": ids["village_id"],
            "topics": ["vneid"], "households": [{"id": ids["household_id"]}], **changes}  # fmt: skip
    before = rows()
    response = callers["volunteer_a"].post("/api/v1/sessions", json=body)
    assert response.status_code == 422
    assert rows() == before


@pytest.mark.parametrize(
    "form",
    [
        {"household_ids": "²"},
        {"action": "use:²:²"},
        {"action": "use:0:99999999999999999999"},
        {"action": "search", "village_id": "²"},
    ],
)
def test_session_form_reads_only_ascii_ids(callers, ids, form):
    response = callers["volunteer_a"].post("/sessions/new", data={"village_id": str(ids["village_id"]), **form})
    assert response.status_code in (200, 422)


@pytest.mark.parametrize("village_id", ["²", "9" * 5000])
def test_household_search_reads_only_ascii_ids(callers, village_id):
    assert callers["volunteer_a"].get("/api/v1/households", query_string={"village_id": village_id}).status_code == 422


@pytest.mark.parametrize("path", ["/households", "/households/deleted", "/sessions", "/audit", "/verification"])
def test_a_page_number_past_the_databases_integers_is_past_the_end(callers, path):
    response = callers["officer_a"].get(path, query_string={"page": "9" * 20})
    assert response.status_code in (302, 404)  # the verification list goes back to its last page


@pytest.mark.parametrize("period", [{"to": "0001-01-01"}, {"from": "9999-12-31", "to": "9999-12-31"}])
@pytest.mark.parametrize("path", ["/progress", "/progress/communes/" + COMMUNE_A, "/exports/totals.csv"])
def test_dates_at_the_ends_of_the_calendar_are_refused_like_any_bad_date(callers, path, period):
    response = callers["province"].get(path, query_string=period)
    assert response.status_code in (200, 302)  # the page shows the date's message; a download goes back to it


def test_a_target_of_thousands_of_digits_is_too_large(callers):
    response = callers["province"].post(f"/progress/targets/{COMMUNE_A}", data={"target": "9" * 5000})
    assert response.status_code == 422
    assert "1.000.000" in response.get_data(as_text=True)  # "at most 1,000,000", not Python's own words


@pytest.mark.parametrize(
    "request_args",
    [
        {"method": "GET", "path": f"/progress/communes/{COMMUNE_A}%00"},
        {"method": "GET", "path": "/exports/totals.csv", "query_string": {"commune": "24133\x00"}},
        {"method": "GET", "path": "/audit", "query_string": {"action": "\x00"}},
        {"method": "POST", "path": "/sessions/new", "data": {"notes": "a\x00b", "action": "save"}},
        {"method": "POST", "path": "/api/v1/sessions", "json": {"notes": "a\x00b", "topics": ["vneid\x00"]}},
        {"method": "POST", "path": "/imports", "data": {"file": (io.BytesIO(b"thon,chu_ho\r\n"), "ho\x00.csv")}},
    ],
    ids=["path", "query", "audit filter", "form", "json", "file name"],
)
def test_nul_characters_are_refused_before_any_view_reads_them(callers, request_args):
    """PostgreSQL cannot store NUL in text nor compare with it; SQLite can, so both must refuse."""
    before = rows()
    response = callers["officer_a"].open(**request_args)
    assert response.status_code == 400
    if request_args["path"].startswith("/api/"):
        assert set(response.get_json()) == {"errors"}
    assert rows() == before


def test_json_nested_past_any_real_body_is_a_bad_body(callers):
    for body in ("[" * 100_000, '{"a":' * 50_000, "[" * 30 + "]" * 30):
        response = callers["volunteer_a"].post("/api/v1/sessions", data=body, content_type="application/json")
        assert response.status_code == 422
        assert "body" in response.get_json()["errors"]


def test_nul_inside_an_uploaded_file_is_not_a_spreadsheet(callers):
    """The request itself is clean, so the reader refuses the file (it never reaches a name)."""
    before = rows()
    content = csv_of([["Thôn Mới", "Nguyễn\x00 Văn Mới", "Số 3", ""]])
    response = callers["officer_a"].post("/imports", data={"file": (io.BytesIO(content), "ho.csv")})
    assert response.status_code == 422
    assert rows() == before
