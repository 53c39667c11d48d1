"""Reading API v1: the figures equal the dashboards' (one counting module), every answer matches
the published OpenAPI document, and the sessions feed lets a mirror see every session and every
change exactly once, without personal data."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
import sqlalchemy as sa
from flask import current_app

from app.api import openapi
from app.api.feed import decode_cursor, encode_cursor
from app.clock import as_utc, local_today, utcnow
from app.extensions import db
from app.logbook import services as logbook
from app.models import Household, SessionStatus, TrainingSession
from app.progress import services as dashboards
from app.progress import tallies
from app.verification import services as verification
from tests.conftest import COMMUNE_A, COMMUNE_B
from tests.test_api_tokens import assert_error, bearer, vi


@pytest.fixture
def world(app, two_communes, make_village, make_household, make_session, make_api_token):
    """Two communes with sessions that count and sessions that do not, and a province token
    and a commune A token. The feed shows changes at once (no settling time) unless a test
    says otherwise."""
    app.config["API_FEED_SETTLE_SECONDS"] = 0
    people = two_communes["people"]
    village_a = db.session.get(TrainingSession, two_communes["objects"]["session_id"][0]).village
    second_village = make_village("Thôn 3", COMMUNE_A, kind="thon")
    households = [make_household(second_village, f"Hộ số {n}", phone=f"09123450{n:02d}") for n in range(4)]
    make_session(second_village, people["volunteer_a"], households[:2], ("cashless", "vneid"))
    make_session(second_village, people["volunteer_a"], households[1:3], ("ecommerce",), status=SessionStatus.REJECTED)
    deleted = make_session(village_a, people["volunteer_a"], households[3:], ("e_health",))
    logbook.delete_session(deleted, people["officer_a"])
    return {
        **two_communes,
        "province": make_api_token("province")[1],
        "commune_a": make_api_token("commune", COMMUNE_A, name="Hệ thống xã A")[1],
    }


def get(client, path: str, secret: str, **query):
    return client.get(path, headers=bearer(secret), query_string=query)


def conforms(response, path: str, method: str = "GET") -> None:
    """The answer is one the published document describes, for its status code."""
    document = openapi.document()
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(response.status_code) in responses, f"{method} {path}: {response.status_code} is not documented"
    schemathesis.openapi.from_dict(document)[path][method].validate_response(response)


# ---------------------------------------------------------------------------------------------
# Figures


def test_the_province_figures_equal_the_dashboard(client, world):
    response = get(client, "/api/v1/progress", world["province"])
    conforms(response, "/progress")
    body = response.get_json()
    today = local_today()
    dashboard = dashboards.province_dashboard(today, today)
    assert body["province"] == {
        "code": "66",
        "target": current_app.config["TARGET_HOUSEHOLDS"],
        "trained": dashboard.headline.trained,
        "registered": dashboard.headline.registered,
    }
    assert (dashboard.headline.trained, dashboard.headline.registered) == (4, 7)  # the rule, by hand
    shown = {row["code"]: row for row in body["communes"]}
    assert len(shown) == len(dashboard.communes) == 102
    for row in dashboard.communes:
        assert shown[row.code] == {
            "code": row.code,
            "name": row.name,
            "kind": row.kind,
            "target": row.target,
            "trained": row.trained,
            "registered": row.registered,
            "last_session_on": row.last_session_on.isoformat() if row.last_session_on else None,
        }
    assert as_utc(datetime.fromisoformat(body["as_of"])) <= utcnow()


def test_a_commune_with_its_villages_and_topics_equals_its_dashboard(client, world, communes):
    response = get(client, f"/api/v1/communes/{COMMUNE_A}", world["commune_a"])
    conforms(response, "/communes/{code}")
    body = response.get_json()
    today = local_today()
    dashboard = dashboards.commune_dashboard(communes[COMMUNE_A], today, today)
    assert (body["trained"], body["registered"]) == (dashboard.row.trained, dashboard.row.registered) == (3, 5)
    assert body["villages"] == [
        {
            "id": row["village"].id,
            "name": row["village"].name,
            "kind": row["village"].kind,
            "registered": row["registered"],
            "trained": row["trained"],
            "not_reached": row["registered"] - row["trained"],
        }
        for row in dashboard.villages
    ]
    assert {row["code"]: row["trained"] for row in body["topics"]} == {
        topic.code: trained for topic, trained in dashboard.topics
    }
    assert {row["code"]: row["trained"] for row in body["topics"]}["ecommerce"] == 0  # only a rejected session


@pytest.mark.parametrize(("token", "commune_code"), [("province", None), ("commune_a", COMMUNE_A)])
def test_topics_count_in_the_callers_scope(client, world, communes, token, commune_code):
    response = get(client, "/api/v1/topics", world[token])
    conforms(response, "/topics")
    commune_id = communes[commune_code].id if commune_code else None
    assert [(row["code"], row["trained"]) for row in response.get_json()["topics"]] == [
        (topic.code, trained) for topic, trained in tallies.topic_rows(commune_id)
    ]


def test_officers_read_their_commune_with_the_cookie(world, callers):
    officer = callers["officer_a"]
    response = officer.get("/api/v1/communes")
    conforms(response, "/communes")
    assert [row["code"] for row in response.get_json()["communes"]] == [COMMUNE_A]
    assert_error(officer.get(f"/api/v1/communes/{COMMUNE_B}"), 404)
    assert_error(officer.get("/api/v1/progress"), 403)
    conforms(officer.get("/api/v1/progress"), "/progress")
    refused = callers["volunteer_a"].get("/api/v1/communes")
    assert_error(refused, 403)
    conforms(refused, "/communes")


def test_the_document_is_public_and_describes_every_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {
        (rule.rule.removeprefix("/api/v1").replace("<code>", "{code}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert described == routes
    assert set(document["components"]["securitySchemes"]) == {"bearerToken", "sessionCookie", "csrfToken"}


# ---------------------------------------------------------------------------------------------
# The sessions feed


def read_feed(client, secret: str, cursor: str | None = None, limit: int = 2) -> tuple[list[dict], str]:
    """Every page from the cursor on: (the sessions, in order, and the last cursor)."""
    seen = []
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = get(client, "/api/v1/sessions", secret, **query)
        conforms(response, "/sessions")
        page = response.get_json()
        assert len(page["sessions"]) <= limit
        seen += page["sessions"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


def stored_sessions() -> dict[str, TrainingSession]:
    return {session.uuid: session for session in db.session.scalars(sa.select(TrainingSession))}


def test_paging_gives_every_session_exactly_once_even_when_they_share_a_time(client, world):
    # The worst case for a cursor: every session changed at the very same moment.
    db.session.execute(sa.update(TrainingSession).values(updated_at=datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)))
    db.session.commit()
    seen, _cursor = read_feed(client, world["province"], limit=2)
    assert sorted(session["id"] for session in seen) == sorted(session.id for session in stored_sessions().values())
    assert len(seen) == len({session["id"] for session in seen}) == 5


def test_a_mirror_sees_edits_deletions_and_new_sessions_made_after_its_first_page(client, world):
    people = world["people"]
    session_a, session_b = (db.session.get(TrainingSession, i) for i in world["objects"]["session_id"])
    first = get(client, "/api/v1/sessions", world["province"], limit=2).get_json()
    assert [session["id"] for session in first["sessions"]] == [session_a.id, session_b.id]  # changed first
    mirror = {session["uuid"]: session for session in first["sessions"]}

    # Between two pages: both mirrored sessions change (A loses a topic, B is deleted), a
    # session not read yet is verified, and a new one is logged.
    logbook.edit_session(
        session_a,
        {
            "date": session_a.held_on.isoformat(),
            "village_id": session_a.village_id,
            "topics": ["cashless"],
            "households": [{"id": a.household_id} for a in session_a.attendances],
        },
        people["officer_a"],
    )
    logbook.delete_session(session_b, people["officer_b"])
    unread = db.session.scalars(
        sa.select(TrainingSession).where(
            TrainingSession.id.not_in([session_a.id, session_b.id]),
            TrainingSession.deleted_at.is_(None),
            TrainingSession.status == SessionStatus.PENDING,
        )
    ).first()
    verification.review_session(unread, "verify", None, people["officer_a"])
    new, _created = logbook.log_session(
        {
            "uuid": str(uuid.uuid4()),
            "date": local_today().isoformat(),
            "village_id": world["objects"]["village_id"][1],
            "topics": ["vneid"],
            "households": [{"id": world["objects"]["household_id"][1]}],
        },
        people["officer_b"],
    )

    rest, _cursor = read_feed(client, world["province"], cursor=first["next_cursor"], limit=2)
    for session in rest:
        mirror[session["uuid"]] = session  # a mirror keeps the latest version of each session
    stored = stored_sessions()
    assert set(mirror) == set(stored)
    for key, session in stored.items():
        assert mirror[key]["updated_at"] == as_utc(session.updated_at).isoformat()
        assert mirror[key]["status"] == session.status
        assert mirror[key]["deleted"] is (session.deleted_at is not None)
        assert sorted(mirror[key]["topics"]) == sorted(topic.code for topic in session.topics)
        assert mirror[key]["counts"] is tallies.counts(session)
    assert mirror[session_a.uuid]["topics"] == ["cashless"]
    assert mirror[session_b.uuid]["deleted"] is True and mirror[session_b.uuid]["deleted_at"] is not None
    assert mirror[session_b.uuid]["counts"] is False
    assert mirror[unread.uuid]["status"] == "verified"
    assert mirror[new.uuid]["households"] == [
        {"id": world["objects"]["household_id"][1], "uuid": new.households[0].uuid}
    ]


def test_the_feed_carries_no_names_addresses_phones_or_notes(client, world):
    body = get(client, "/api/v1/sessions", world["province"], limit=1000).get_data(as_text=True)
    households = db.session.scalars(sa.select(Household)).all()
    assert households
    for household in households:
        assert household.head_name not in body
        assert household.phone is None or household.phone not in body
        assert household.address is None or household.address not in body
    assert "Buổi ở nhà rông" not in body and "Ghi chú Bêta" not in body  # notes are free text
    assert "head_name" not in body and "phone" not in body and "volunteer" not in body


def test_a_change_shows_once_it_has_settled(app, client, world):
    app.config["API_FEED_SETTLE_SECONDS"] = 30
    page = get(client, "/api/v1/sessions", world["province"]).get_json()
    assert page["sessions"] == [] and page["has_more"] is False
    # Half a minute later the same cursor gives the sessions.
    db.session.execute(sa.update(TrainingSession).values(updated_at=utcnow() - timedelta(seconds=31)))
    db.session.commit()
    later = get(client, "/api/v1/sessions", world["province"], cursor=page["next_cursor"]).get_json()
    assert len(later["sessions"]) == len(stored_sessions()) == 5


def test_updated_since_starts_at_that_time(client, world):
    sessions = list(stored_sessions().values())
    for number, session in enumerate(sessions):
        session.updated_at = datetime(2026, 11, 20 + number, 8, 0, tzinfo=UTC)
    db.session.commit()
    response = get(client, "/api/v1/sessions", world["province"], updated_since="2026-11-23T15:00:00+07:00")
    conforms(response, "/sessions")
    assert [s["updated_at"] for s in response.get_json()["sessions"]] == [
        "2026-11-23T08:00:00+00:00",
        "2026-11-24T08:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"cursor": "not-a-cursor"}, "cursor", "This cursor is not valid. Start again without a cursor."),
        ({"cursor": encode_cursor((datetime(2026, 1, 1, tzinfo=UTC), 1)) + "x"}, "cursor",
         "This cursor is not valid. Start again without a cursor."),
        ({"cursor": "", "updated_since": "2026-11-26T00:00:00Z"}, "cursor",
         "Send either cursor or updated_since, not both."),
        ({"updated_since": "yesterday"}, "updated_since", "Give a date and time such as 2026-11-26T08:00:00+07:00."),
        ({"updated_since": "0001-01-01T00:00:00+01:00"}, "updated_since",
         "Give a date and time such as 2026-11-26T08:00:00+07:00."),
        ({"limit": "0"}, "limit", "Give a whole number from 1 to %(max)d."),
        ({"limit": "1001"}, "limit", "Give a whole number from 1 to %(max)d."),
        ({"limit": "١٠"}, "limit", "Give a whole number from 1 to %(max)d."),
        ({"limit": "ten"}, "limit", "Give a whole number from 1 to %(max)d."),
    ],
)  # fmt: skip
def test_bad_feed_parameters_answer_422_naming_the_parameter(client, world, query, field, message):
    response = get(client, "/api/v1/sessions", world["province"], **query)
    conforms(response, "/sessions")
    assert_error(response, 422)
    assert response.get_json()["errors"] == {field: [vi(message, max=1000)]}


def test_cursors_round_trip_and_refuse_what_the_app_did_not_make():
    position = (datetime(2026, 11, 26, 1, 2, 3, 456789, tzinfo=UTC), 42)
    assert decode_cursor(encode_cursor(position)) == position
    for forged in ("", "e30", "W10", "WyIyMDI2LTExLTI2IiwgMV0", "!!!!", "x" * 500):
        assert decode_cursor(forged) is None


# ---------------------------------------------------------------------------------------------
# Every change to a session moves its updated_at, so the feed gives it again


def _change(kind: str, session: TrainingSession, people: dict, household: Household) -> None:
    raw = {
        "date": session.held_on.isoformat(),
        "village_id": session.village_id,
        "topics": [topic.code for topic in session.topics],
        "households": [{"id": a.household_id} for a in session.attendances],
        "notes": session.notes,
    }
    officer = people["officer_a"]
    if kind == "topics only":
        logbook.edit_session(session, {**raw, "topics": ["cashless"]}, officer)
    elif kind == "households only":
        logbook.edit_session(session, {**raw, "households": [*raw["households"], {"id": household.id}]}, officer)
    elif kind == "notes":
        logbook.edit_session(session, {**raw, "notes": "Đã sửa ghi chú"}, officer)
    elif kind == "delete":
        logbook.delete_session(session, officer)
    elif kind == "restore":
        logbook.delete_session(session, officer)
        _make_old(session)
        logbook.restore_session(session, officer)
    else:
        verification.review_session(session, kind, "Lý do" if kind != "verify" else None, officer)


def _make_old(session: TrainingSession) -> datetime:
    old = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.execute(sa.update(TrainingSession).where(TrainingSession.id == session.id).values(updated_at=old))
    db.session.commit()
    db.session.refresh(session)
    return old


@pytest.mark.parametrize(
    "kind", ["topics only", "households only", "notes", "delete", "restore", "verify", "reject", "send_back"]
)
def test_every_change_moves_updated_at(two_communes, make_household, kind):
    session = db.session.get(TrainingSession, two_communes["objects"]["session_id"][0])
    household = make_household(session.village, "Y Moan Êban")
    old = _make_old(session)
    _change(kind, session, two_communes["people"], household)
    db.session.expire_all()
    assert as_utc(db.session.get(TrainingSession, session.id).updated_at) > old
