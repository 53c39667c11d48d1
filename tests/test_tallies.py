"""The counters behind every figure equal a brute-force recount from the raw rows, after
every step of random sequences of log, edit, delete, restore, verify, reject and send back."""

import os
import threading
import time
import uuid
from collections import defaultdict
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import local_today
from app.extensions import db
from app.logbook import services as logbook
from app.models import (
    COUNTER_TABLES,
    Attendance,
    AuditEvent,
    CommuneDay,
    Household,
    SessionStatus,
    Team,
    TrainingSession,
    User,
    VillageTally,
    learned_topic,
    session_topic,
)
from app.progress import tallies
from app.verification.services import review_session
from tests.conftest import COMMUNE_A, COMMUNE_B

TOPICS = ["vneid", "cashless", "online_safety"]
HOUSEHOLDS_PER_VILLAGE = 3


@pytest.fixture
def world(make_user, make_village):
    """Two communes, three villages, a volunteer and an officer in each commune."""
    villages = [
        make_village("Buôn A1", COMMUNE_A),
        make_village("Thôn A2", COMMUNE_A),
        make_village("Thôn B1", COMMUNE_B),
    ]
    people = {}
    for code in (COMMUNE_A, COMMUNE_B):
        volunteer = make_user("volunteer", code)
        commune_villages = [v for v in villages if v.commune.code == code]
        volunteer.team = Team(commune_id=commune_villages[0].commune_id, name=f"Tổ {code}", villages=commune_villages)
        people[code] = {"volunteer": volunteer, "officer": make_user("officer", code)}
    db.session.commit()
    return {"villages": villages, "people": people}


def reset(world) -> dict[int, list[Household]]:
    """Empty what one example wrote; register three fresh households in each village."""
    db.session.rollback()
    for table in (*COUNTER_TABLES, session_topic, Attendance.__table__, TrainingSession.__table__,
                  AuditEvent.__table__, Household.__table__):  # fmt: skip
        db.session.execute(sa.delete(table))
    db.session.commit()
    by_village = {}
    for village in world["villages"]:
        by_village[village.id] = []
        for number in range(HOUSEHOLDS_PER_VILLAGE):
            household = Household(
                uuid=str(uuid.uuid4()), commune_id=village.commune_id, village_id=village.id,
                head_name=f"Hộ {village.id}.{number}", head_name_folded=f"ho {village.id} {number}",
            )  # fmt: skip
            db.session.add(household)
            db.session.flush()
            tallies.refresh_households([household.id])
            by_village[village.id].append(household)
    db.session.commit()
    return by_village


step = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["log", "log", "edit", "delete", "restore", "verify", "reject", "send_back", "new_household"]
        ),
        "village": st.integers(0, 2),
        "households": st.sets(st.integers(0, HOUSEHOLDS_PER_VILLAGE - 1), min_size=1),
        "topics": st.sets(st.sampled_from(TOPICS), min_size=1),
        "days_ago": st.integers(0, 70),
        "pick": st.integers(0, 50),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_counters_equal_a_recount_after_every_step(app, world, steps):
    by_village = reset(world)
    for action in steps:
        apply(action, world, by_village)
        assert_counters_match_recount()


def apply(action: dict, world: dict, by_village: dict) -> None:
    village = world["villages"][action["village"]]
    people = world["people"][village.commune.code]
    households = [by_village[village.id][i] for i in sorted(action["households"]) if i < len(by_village[village.id])]
    held_on = (local_today() - timedelta(days=action["days_ago"])).isoformat()
    raw = {
        "date": held_on,
        "village_id": village.id,
        "topics": sorted(action["topics"]),
        "households": [{"id": h.id} for h in households],
    }
    sessions = db.session.scalars(sa.select(TrainingSession).order_by(TrainingSession.id)).all()
    chosen = sessions[action["pick"] % len(sessions)] if sessions else None
    officer = world["people"][chosen.village.commune.code]["officer"] if chosen else None
    kind = action["kind"]
    # Volunteers log the last 30 days; older sessions are entered by the commune officer.
    logger = people["volunteer"] if action["days_ago"] <= 30 else people["officer"]
    if kind == "log" or chosen is None:
        logbook.log_session({**raw, "uuid": str(uuid.uuid4())}, logger)
    elif kind == "edit" and chosen.deleted_at is None:
        same_village = chosen.village
        picks = [
            by_village[same_village.id][i] for i in sorted(action["households"]) if i < len(by_village[same_village.id])
        ]
        logbook.edit_session(
            chosen, {**raw, "village_id": same_village.id, "households": [{"id": h.id} for h in picks]}, officer
        )
    elif kind == "delete":
        logbook.delete_session(chosen, officer)
    elif kind == "restore":
        logbook.restore_session(chosen, officer)
    elif kind in ("verify", "reject", "send_back") and chosen.deleted_at is None:
        review_session(chosen, kind, "Ghi chú kiểm tra", officer)
    elif kind == "new_household":
        new = {"uuid": str(uuid.uuid4()), "head_name": f"Hộ mới {action['pick']}"}
        logbook.log_session({**raw, "uuid": str(uuid.uuid4()), "households": [new]}, logger)


def assert_counters_match_recount() -> None:
    expected = recount()
    start, end = local_today() - timedelta(days=10), local_today()

    assert tallies.province_figures() == (expected["trained"], expected["registered"])
    for row in tallies.commune_rows(start, end):
        commune = expected["communes"].get(row.code, {})
        assert (row.trained, row.registered) == (commune.get("trained", 0), commune.get("registered", 0)), row.code
        in_period = [day for day in expected["session_days"].get(row.code, []) if start <= day <= end]
        assert row.sessions == len(in_period), row.code
        newly = [day for day in expected["trained_days"].get(row.code, []) if start <= day <= end]
        assert row.trained_in_period == len(newly), row.code
        all_days = expected["session_days"].get(row.code, [])
        assert row.last_session_on == (max(all_days) if all_days else None), row.code
    for period in PERIODS:  # one ending today, one ending before the last sessions
        for row in tallies.commune_rows(*period_of(period)):
            assert row.volunteers == len(expected["active"].get((row.code, period), ())), (row.code, period)
    for first, last in ((local_today() - timedelta(days=40), local_today()), _last_two_whole_months()):
        for code, commune_id in [(None, None), *expected["commune_ids"].items()]:
            assert tallies.monthly(first, last, commune_id) == _months(expected, code, first, last), (code, first)
    for code, commune_id in expected["commune_ids"].items():
        wanted = {
            key: (a["sessions"], len(a["households"]), a["last_session_on"])
            for key, a in expected["activity"].items()
            if key[0] == code
        }
        assert activity_shown(code, commune_id) == wanted, code
    villages = expected["villages"]
    assert tallies.village_progress(list(villages)) == villages
    for code, topics in expected["topics"].items():
        commune_id = expected["commune_ids"][code]
        counted = {topic.code: n for topic, n in tallies.topic_rows(commune_id) if n}
        assert counted == topics, code
    province_topics: dict[str, int] = defaultdict(int)
    for topics in expected["topics"].values():
        for code, n in topics.items():
            province_topics[code] += n
    assert {topic.code: n for topic, n in tallies.topic_rows() if n} == dict(province_topics)
    stored = dict(db.session.execute(sa.select(Household.id, Household.trained_on)).all())
    assert stored == expected["trained_on"]


def recount() -> dict:
    """Every figure, computed in plain Python from the raw rows."""
    sessions = db.session.scalars(sa.select(TrainingSession)).all()
    households = db.session.scalars(sa.select(Household)).all()
    counting = {s.id: s for s in sessions if s.status != SessionStatus.REJECTED and s.deleted_at is None}
    first: dict[int, date] = {}
    learned: dict[int, set[str]] = defaultdict(set)
    for session in counting.values():
        for attendance in session.attendances:
            hid = attendance.household_id
            first[hid] = min(first.get(hid, session.held_on), session.held_on)
            learned[hid] |= {topic.code for topic in session.topics}
    result = {
        "trained": 0, "registered": 0, "communes": defaultdict(lambda: {"trained": 0, "registered": 0}),
        "villages": {}, "topics": defaultdict(lambda: defaultdict(int)), "trained_on": {},
        "session_days": defaultdict(list), "trained_days": defaultdict(list), "commune_ids": {},
    }  # fmt: skip
    for household in households:
        code = household.village.commune.code
        result["commune_ids"][code] = household.commune_id
        village = result["villages"].setdefault(household.village_id, (0, 0))
        registered = household.deleted_at is None
        trained_on = first.get(household.id) if registered else None
        result["trained_on"][household.id] = trained_on
        if not registered:
            continue
        trained = trained_on is not None
        result["registered"] += 1
        result["trained"] += trained
        result["communes"][code]["registered"] += 1
        result["communes"][code]["trained"] += trained
        result["villages"][household.village_id] = (village[0] + trained, village[1] + 1)
        if trained:
            result["trained_days"][code].append(trained_on)
            for topic in learned[household.id]:
                result["topics"][code][topic] += 1
    result["activity"] = defaultdict(lambda: {"sessions": 0, "households": set(), "last_session_on": None})
    result["active"] = defaultdict(set)  # (commune code, period) -> volunteers active in it
    for session in counting.values():
        code = session.village.commune.code
        result["session_days"][code].append(session.held_on)
        for period in PERIODS:
            if period_of(period)[0] <= session.held_on <= period_of(period)[1]:
                result["active"][code, period].add(session.volunteer_id)
        for kind, actor_id in (("volunteer", session.volunteer_id), ("team", session.team_id)):
            if actor_id is None:
                continue
            activity = result["activity"][code, kind, actor_id]
            activity["sessions"] += 1
            activity["households"] |= {attendance.household_id for attendance in session.attendances}
            activity["last_session_on"] = max(activity["last_session_on"] or date.min, session.held_on)
    result["topics"] = {code: dict(topics) for code, topics in result["topics"].items()}
    return result


PERIODS = ((10, 0), (20, 8))  # (days ago at the start, days ago at the end)


def period_of(period: tuple[int, int]) -> tuple[date, date]:
    return local_today() - timedelta(days=period[0]), local_today() - timedelta(days=period[1])


def _last_two_whole_months() -> tuple[date, date]:
    last = local_today().replace(day=1) - timedelta(days=1)
    return (last.replace(day=1) - timedelta(days=1)).replace(day=1), last


def _months(expected: dict, code: str | None, first: date, last: date) -> list[tuple[date, int, int]]:
    """(month, newly trained, sessions) from the raw days, for one commune or (None) all."""
    months: dict[date, list[int]] = {}
    day = first
    while day <= last:
        months.setdefault(day.replace(day=1), [0, 0])
        day += timedelta(days=1)
    for index, key in ((0, "trained_days"), (1, "session_days")):
        for commune_code, days in expected[key].items():
            for day in days:
                if (code is None or commune_code == code) and first <= day <= last:
                    months[day.replace(day=1)][index] += 1
    return [(month, trained, sessions) for month, (trained, sessions) in months.items()]


def activity_shown(code: str, commune_id: int) -> dict:
    """The commune dashboard's volunteer and team tables, keyed like recount()'s activity."""
    shown = {}
    teams, volunteers = tallies.activity_rows(commune_id)
    for kind, rows, who in (("volunteer", volunteers, "user"), ("team", teams, "team")):
        for row in rows:
            if row["sessions"]:
                shown[code, kind, row[who].id] = (row["sessions"], row["households"], row["last_session_on"])
    return shown


def test_rebuild_gives_the_same_counters(app, world):
    by_village = reset(world)
    people = world["people"][COMMUNE_A]
    village = world["villages"][0]
    for days_ago in (3, 1):
        raw = {
            "uuid": str(uuid.uuid4()), "date": (local_today() - timedelta(days=days_ago)).isoformat(),
            "village_id": village.id, "topics": ["vneid"], "households": [{"id": by_village[village.id][0].id}],
        }  # fmt: skip
        logbook.log_session(raw, people["volunteer"])
    before = snapshot()
    tallies.rebuild()
    db.session.commit()
    assert snapshot() == before
    assert_counters_match_recount()


def test_tallies_check_and_rebuild_commands(app, world, runner):
    one_session_today(world)
    assert "Counters match" in runner.invoke(args=["tallies", "check"]).output
    db.session.execute(sa.update(VillageTally).values(trained=VillageTally.trained + 5))
    db.session.commit()
    result = runner.invoke(args=["tallies", "check"])
    assert result.exit_code != 0 and "village_tally" in result.output
    assert "1 trained of 9 households" in runner.invoke(args=["tallies", "rebuild"]).output
    assert "Counters match" in runner.invoke(args=["tallies", "check"]).output


def test_a_household_trained_meanwhile_by_another_writer_is_counted_once(app, world, runner):
    """Validation loads the households; another worker may train one of them before this
    request writes. The counters must follow the locked row, not the copy read earlier."""
    by_village = reset(world)
    village = world["villages"][0]
    household = by_village[village.id][0]
    volunteer = world["people"][COMMUNE_A]["volunteer"]
    raw = {"village_id": village.id, "topics": ["vneid"], "households": [{"id": household.id}]}
    assert household.trained_on is None  # this request's copy
    with app.app_context():  # another worker, with a database session of its own
        earlier = (local_today() - timedelta(days=3)).isoformat()
        logbook.log_session({**raw, "uuid": str(uuid.uuid4()), "date": earlier}, db.session.get(User, volunteer.id))
        db.session.remove()
    logbook.log_session({**raw, "uuid": str(uuid.uuid4()), "date": local_today().isoformat()}, volunteer)
    assert db.session.get(Household, household.id).trained_on == local_today() - timedelta(days=3)
    assert "Counters match" in runner.invoke(args=["tallies", "check"]).output


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL's row locks: SQLite writers never overlap",
)
def test_a_topic_unlearned_while_waiting_for_the_household_is_learned_again(app, world, runner):
    """An officer deletes a household's only session of a topic while a volunteer logs a new
    session of that topic for it. The volunteer's request waits for the household's lock; the
    statement that waited still sees what the household had learned before the officer
    committed. Counting the topic from that would miss it: the household must have learned
    it again, and the commune's topic counter say so."""
    by_village = reset(world)
    village = world["villages"][0]
    household = by_village[village.id][0]
    people = world["people"][COMMUNE_A]
    raw = {"village_id": village.id, "topics": ["cashless"], "households": [{"id": household.id}]}
    first, _ = logbook.log_session(
        {**raw, "uuid": str(uuid.uuid4()), "date": local_today().isoformat()}, people["volunteer"]
    )
    first_id, officer_id, volunteer_id = first.id, people["officer"].id, people["volunteer"].id
    holding, release = threading.Event(), threading.Event()
    failures = []

    def officer_deletes():
        with app.app_context():
            try:
                writer = db.session()
                commit = writer.commit

                def commit_later():  # the household stays locked until the volunteer waits for it
                    holding.set()
                    release.wait(10)
                    commit()

                writer.commit = commit_later
                logbook.delete_session(db.session.get(TrainingSession, first_id), db.session.get(User, officer_id))
            except Exception as error:  # reported by the test, not lost in the thread
                failures.append(error)
                holding.set()
            finally:
                db.session.remove()

    def volunteer_logs():
        with app.app_context():
            try:
                body = {**raw, "uuid": str(uuid.uuid4()), "date": local_today().isoformat()}
                logbook.log_session(body, db.session.get(User, volunteer_id))
            except Exception as error:
                failures.append(error)
            finally:
                db.session.remove()

    officer = threading.Thread(target=officer_deletes)
    officer.start()
    assert holding.wait(10)
    volunteer = threading.Thread(target=volunteer_logs)
    volunteer.start()
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with db.engine.connect() as connection:
        deadline = time.monotonic() + 10
        while not connection.execute(sa.text(waiting)).scalar() and time.monotonic() < deadline:
            time.sleep(0.05)
    release.set()
    officer.join(15)
    volunteer.join(15)
    assert not failures
    db.session.rollback()
    learned = db.session.execute(
        sa.select(learned_topic.c.household_id).where(learned_topic.c.household_id == household.id)
    )
    assert learned.all() == [(household.id,)]
    assert "Counters match" in runner.invoke(args=["tallies", "check"]).output


def snapshot() -> dict:
    return {table.name: sorted(tuple(row) for row in db.session.execute(sa.select(table))) for table in COUNTER_TABLES}


def one_session_today(world) -> TrainingSession:
    """From a fresh start: one session today with one household of the first village."""
    by_village = reset(world)
    village = world["villages"][0]
    raw = {
        "uuid": str(uuid.uuid4()), "date": local_today().isoformat(), "village_id": village.id,
        "topics": ["vneid"], "households": [{"id": by_village[village.id][0].id}],
    }  # fmt: skip
    saved, _created = logbook.log_session(raw, world["people"][COMMUNE_A]["volunteer"])
    return db.session.get(TrainingSession, saved.id)


def test_check_reads_counters_that_went_back_to_zero_as_absent(app, world, runner):
    """Deleting a day's only session leaves its counter rows at zero, where a rebuild makes no
    row at all: the same figures, so `tallies check` must find the counters in step."""
    session = one_session_today(world)
    logbook.delete_session(session, world["people"][COMMUNE_A]["officer"])
    assert db.session.scalar(sa.select(sa.func.count()).where(CommuneDay.sessions == 0)) >= 1
    result = runner.invoke(args=["tallies", "check"])
    assert result.exit_code == 0, result.output


def test_a_write_that_finds_a_counter_row_missing_stops_and_writes_nothing(app, world):
    """Counters out of step with the raw rows (here a day's row deleted by hand) are never
    papered over: taking a session away needs the rows it was counted in."""
    session = one_session_today(world)
    db.session.execute(sa.delete(CommuneDay))
    db.session.commit()
    with pytest.raises(RuntimeError, match=r"commune_day .* out of step"):
        logbook.delete_session(session, world["people"][COMMUNE_A]["officer"])
    db.session.rollback()
    assert db.session.get(TrainingSession, session.id).deleted_at is None
    assert db.session.scalar(sa.select(VillageTally.trained).where(VillageTally.village_id == session.village_id)) == 1


def test_a_new_session_is_counted_from_locked_rows_only_when_they_are_its_households(app, world):
    """Logging may hand over the households it read locked; rows of other households (or
    too few) would count the wrong ones, so they are refused before anything is written."""
    by_village = reset(world)
    village = world["villages"][0]
    first, second = by_village[village.id][:2]
    volunteer = world["people"][COMMUNE_A]["volunteer"]
    mark = tallies.SessionMark(village.commune_id, local_today(), volunteer.id, volunteer.team_id, counts=True)
    rows = db.session.execute(tallies.households_locked(), {"ids": [first.id]}).all()
    before = snapshot()
    with pytest.raises(ValueError):
        tallies.session_logged(mark, [first.id, second.id], [], locked=rows)
    assert snapshot() == before
