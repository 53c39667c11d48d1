"""Crash safety: a gunicorn worker killed with SIGKILL in the middle of writes.

Real gunicorn (2 workers) serves the test database while volunteers log sessions through the
API; a worker is killed mid-request and gunicorn starts another. Afterwards the database is
whole: SQLite's integrity check passes, every session has its attendance rows and no row is
left without its session, each acknowledged session is there exactly once, and the counters
equal a recount. 15 to 40 seconds; every wait has a timeout and gunicorn is stopped however
the test ends.
"""

import os
import random
import signal
import threading
import time
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.clock import local_today
from app.extensions import db
from app.models import Attendance, Topic, TrainingSession
from bench.load import REQUEST_TIMEOUT, Client, Fixture, Outcome, Server, post, session_body, sign_in_all
from tests.conftest import PASSWORD

WRITERS = 3
WORKERS = 2
MAX_KILLS = 5  # a worker is killed again if the first kill found it between requests
RESTART_TIMEOUT = 30
WRITING_LIMIT = 60  # writers stop by themselves after this, whatever happens to the test


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Writers:
    """Volunteers posting new sessions without a pause, each on its own thread."""

    def __init__(self, clients: list[Client], fixture: Fixture):
        self.fixture = fixture
        self.outcomes = [Outcome() for _ in clients]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(client, outcome, seed), daemon=True)
            for seed, (client, outcome) in enumerate(zip(clients, self.outcomes, strict=True))
        ]

    def _write(self, client: Client, outcome: Outcome, seed: int) -> None:
        rng = random.Random(seed)
        deadline = time.monotonic() + WRITING_LIMIT
        while not self._stop.is_set() and time.monotonic() < deadline:
            post(client, session_body(rng, self.fixture), outcome, expected=201)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self._threads), "a writer did not stop"

    def cut_off(self) -> int:
        """Requests that got no answer: their worker died under them."""
        return sum(len(outcome.sent_unanswered) for outcome in self.outcomes)


def kill_workers_mid_request(server: Server, writers: Writers) -> int:
    """SIGKILL a worker while sessions are being posted, until a request was cut off (a worker
    between two requests dies harmlessly). Returns the number of kills."""
    for kills in range(1, MAX_KILLS + 1):
        time.sleep(1.5)
        workers = server.workers()
        assert len(workers) == WORKERS, f"gunicorn has workers {workers}"
        victim = random.choice(workers)
        os.kill(victim, signal.SIGKILL)
        wait_for(
            lambda victim=victim: victim not in server.workers() and len(server.workers()) == WORKERS,
            RESTART_TIMEOUT,
            "gunicorn to replace the killed worker",
        )
        if writers.cut_off():
            return kills
    raise AssertionError(f"{MAX_KILLS} kills and no request was cut off: the workers were never busy")


def test_a_worker_killed_while_writing_leaves_the_database_whole(
    app, runner, database_url, tmp_path, make_user, make_village, make_household
):
    villages = [make_village("Buôn Ako Dhông"), make_village("Buôn Kơ Siêr")]
    households = [make_household(villages[n % 2], f"Hộ {n}") for n in range(12)]
    volunteers = [make_user("volunteer") for _ in range(WRITERS)]
    fixture = Fixture(
        village_ids=[village.id for village in villages],
        household_ids=[household.id for household in households],
        topic_codes=list(db.session.scalars(sa.select(Topic.code).where(Topic.is_active))),
        volunteers=[(volunteer.phone, PASSWORD) for volunteer in volunteers],
        today=local_today(),
    )
    db.session.commit()

    with Server(database_url, WORKERS, tmp_path / "gunicorn.log") as server:
        clients = sign_in_all(server.port, fixture.volunteers)
        writers = Writers(clients, fixture)
        writers.start()
        try:
            kill_workers_mid_request(server, writers)
            time.sleep(1.5)  # the replacement worker takes writes too
        finally:
            writers.stop()
        # A phone that got no answer sends the same session again: created now (201) if the
        # killed worker never committed it, or the saved one (200) if it had.
        retries = Outcome()
        for client, outcome in zip(clients, writers.outcomes, strict=True):
            for body in outcome.sent_unanswered.values():
                assert post(client, body, retries, expected=None) in (200, 201), retries.errors
            client.close()

    sent = {
        key: body
        for outcome in writers.outcomes
        for key, body in {**outcome.sent_unanswered, **outcome.accepted}.items()
    }
    answers = sum((outcome.statuses for outcome in writers.outcomes), Counter())
    assert set(answers) == {201}, f"answers other than 201 while writing: {answers}, log: {server.log()[-2000:]}"
    assert "Traceback" not in server.log()

    db.session.rollback()
    if make_url(database_url).get_backend_name() == "sqlite":
        assert db.session.execute(sa.text("PRAGMA integrity_check")).scalars().all() == ["ok"]

    saved = Counter(db.session.scalars(sa.select(TrainingSession.uuid)))
    assert set(saved) == set(sent), "every session sent is saved (acknowledged now), and nothing else"
    assert set(saved.values()) == {1}

    attendance = dict(
        db.session.execute(
            sa.select(TrainingSession.uuid, sa.func.count(Attendance.household_id))
            .outerjoin(Attendance, Attendance.session_id == TrainingSession.id)
            .group_by(TrainingSession.uuid)
        ).all()
    )
    assert {key: attendance[key] for key in sent} == {key: len(body["households"]) for key, body in sent.items()}
    orphans = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Attendance)
        .outerjoin(TrainingSession, TrainingSession.id == Attendance.session_id)
        .where(TrainingSession.id.is_(None))
    )
    assert orphans == 0

    check = runner.invoke(args=["tallies", "check"])
    assert check.exit_code == 0, check.output
    assert "Counters match the raw rows." in check.output
