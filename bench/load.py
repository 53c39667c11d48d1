"""python -m bench.load: volunteers logging sessions all at once through gunicorn, then proof
that every accepted session is saved exactly once and the counters still add up.

    python -m bench.load                           # 60 s, 50 clients, 4 workers, a temp SQLite file
    python -m bench.load --seconds 10 --clients 8  # a quick try
    python -m bench.load --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
        # PostgreSQL: creates a fresh database kns_load_<pid> on that server, drops it afterwards

A fresh database is migrated and given one commune with a few villages, households and
volunteers; gunicorn serves it on 127.0.0.1 only. Each client signs in like a browser (login
form, session cookie, X-CSRFToken), then until the deadline or the request budget posts new
sessions to /api/v1/sessions (5 households, sometimes a new one), replays some it already sent
(must answer 200) and sometimes posts the same new session twice at once (one 201, one 200).
Afterwards the database is checked: every 201 is there once with all its attendance rows,
nothing else is there, and `flask tallies check` agrees with a recount.

The exit status is 1 on any error, any "database is locked", or any check that fails.
Throughput against a minimal one-row endpoint of the same app is `python -m bench.logging`,
which builds on the pieces here (the server, the clients, the fresh database, the checks).
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from app import create_app
from app.auth.services import create_user
from app.clock import local_today
from app.extensions import db
from app.models import Attendance, Commune, Household, Topic, TrainingSession, Village
from app.places.services import load_communes
from app.progress import tallies
from app.text import fold

ROOT = Path(__file__).parent.parent
HOST = "127.0.0.1"  # loopback only: the load never leaves the machine
COMMUNE_CODE = "24133"  # Phường Buôn Ma Thuột
VILLAGES = (("Buôn Ako Dhông", "buon"), ("Buôn Kơ Siêr", "buon"), ("Tổ dân phố 3", "to_dan_pho"))
HOUSEHOLDS_PER_VILLAGE = 40
HOUSEHOLDS_PER_SESSION = 5
NEW_HOUSEHOLD_SHARE = 0.1
REPLAY_SHARE = 0.1
TWIN_SHARE = 0.05
DAYS_BACK = 20  # within the 30 days a volunteer may log
SESSIONS_PATH = "/api/v1/sessions"
REQUEST_TIMEOUT = 30
START_TIMEOUT = 30
STOP_TIMEOUT = 30
LOCKED = "database is locked"
# What the server log must never show while writing.
SERVER_LOG_ALARMS = (LOCKED, "deadlock detected", "could not serialize", "Traceback")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------------------------------------
# The database


@dataclass
class Fixture:
    """What the clients post about: one commune's villages, households, topics, volunteers."""

    village_ids: list[int]
    household_ids: list[int]
    topic_codes: list[str]
    volunteers: list[tuple[str, str]]  # (phone, password)
    today: date
    village_households: dict[int, list[int]] = field(default_factory=dict)  # village id -> household ids


def setup_app(url: str) -> Flask:
    """An app on the load database; users made here get a cheap password hash (only the
    sign-in before the timed phase checks it)."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})


@contextmanager
def fresh_database(url: str | None, label: str = "load") -> Iterator[str]:
    """A new empty database: a temp SQLite file by default, or a new database kns_<label>_<pid>
    on the PostgreSQL server of `url` (created here, dropped afterwards)."""
    if url is None:
        with tempfile.TemporaryDirectory(prefix="kns-load-") as directory:
            yield f"sqlite:///{Path(directory) / 'load.sqlite'}"
        return
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():
            raise SystemExit(f"{parsed.database} exists; give a new file so the load starts empty.")
        yield url
        return
    name = f"kns_{label}_{os.getpid()}"
    # The server's maintenance database: the one named in `url` need not exist.
    admin = sa.create_engine(
        parsed.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(app: Flask, volunteers: int) -> Fixture:
    """Migrate the empty database and add one commune's villages, households and volunteers."""
    with app.app_context():
        upgrade()
        load_communes(app.config["PROVINCE_CODE"])
        commune = db.session.scalar(sa.select(Commune).where(Commune.code == COMMUNE_CODE))
        villages = [Village(commune=commune, name=name, folded_name=fold(name), kind=kind) for name, kind in VILLAGES]
        db.session.add_all(villages)
        households = [
            Household(
                commune_id=commune.id,
                village=village,
                head_name=f"Hộ {village.name} {number}",
                head_name_folded=fold(f"Hộ {village.name} {number}"),
            )
            for village in villages
            for number in range(1, HOUSEHOLDS_PER_VILLAGE + 1)
        ]
        db.session.add_all(households)
        db.session.flush()
        tallies.refresh_households([household.id for household in households])
        people = []
        for number in range(volunteers):
            phone, password = f"0987{number:06d}", f"tai-khoan-thu-{number:03d}"
            create_user(
                phone=phone,
                full_name=f"Tình nguyện viên {number}",
                role="volunteer",
                password=password,
                commune_code=COMMUNE_CODE,
            )
            people.append((phone, password))
        db.session.commit()
        fixture = Fixture(
            village_ids=[village.id for village in villages],
            household_ids=[household.id for household in households],
            topic_codes=list(db.session.scalars(sa.select(Topic.code).where(Topic.is_active))),
            volunteers=people,
            today=local_today(),
            village_households={
                village.id: [household.id for household in households if household.village_id == village.id]
                for village in villages
            },
        )
        db.session.remove()
        db.engine.dispose()
    return fixture


# ---------------------------------------------------------------------------------------------
# The server


class Server:
    """gunicorn serving `app_module` (wsgi:app) on a free loopback port; its output goes to `log_path`."""

    def __init__(self, url: str, workers: int, log_path: Path, app_module: str = "wsgi:app"):
        self.port = free_port()
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32), "APP_ENV": "development"}
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{HOST}:{self.port}", app_module]
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_until_answering(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
            try:
                connection.request("GET", "/login")
                if connection.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            finally:
                connection.close()
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def workers(self) -> list[int]:
        """The live worker processes' ids: the master's children, found in /proc."""
        master = str(self.process.pid)
        return sorted(pid for pid, stat in _proc_stats() if stat[1] == master and stat[0] != "Z")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its live workers."""
        ticks = os.sysconf("SC_CLK_TCK")
        family = {str(self.process.pid), *map(str, self.workers())}
        return sum(int(stat[11]) + int(stat[12]) for pid, stat in _proc_stats() if str(pid) in family) / ticks

    def stop(self) -> None:
        """Graceful stop (SIGTERM lets the workers finish their request), then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "Server":
        try:
            self.wait_until_answering()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat after the command name) for every process:
    [0] state, [1] parent pid, [11] user and [12] system CPU ticks."""
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = path.read_text()
        except OSError:
            continue  # the process has just exited
        yield int(path.parent.name), text[text.rindex(")") + 2 :].split()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# One volunteer's browser


class Client:
    """A keep-alive connection with the session cookie and the CSRF token, as a browser has.

    gunicorn's sync workers close the connection after each answer; http.client opens a
    new one for the next request by itself.
    """

    def __init__(self, port: int, cookies: dict[str, str] | None = None, csrf_token: str | None = None):
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        self.cookies = cookies if cookies is not None else {}
        self.csrf_token = csrf_token

    def close(self) -> None:
        self.connection.close()

    def twin(self) -> "Client":
        """A second connection of the same signed-in browser (another tab)."""
        return Client(self.port, self.cookies, self.csrf_token)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body). Connection errors close the connection and propagate."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def sign_in(self, phone: str, password: str) -> None:
        """The login form, then the page it leads to for a fresh CSRF token (signing in
        starts a new session, so the login page's token is gone)."""
        status, _, page = self.request("GET", "/login")
        token = csrf_token_of(page)
        if status != 200 or token is None:
            raise RuntimeError(f"GET /login answered {status} without a CSRF token")
        form = urlencode({"phone": phone, "password": password, "csrf_token": token}).encode()
        status, headers, _ = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"POST /login for {phone} answered {status}, not a redirect")
        status, _, page = self.request("GET", headers.get("Location", "/"))
        self.csrf_token = csrf_token_of(page)
        if status != 200 or self.csrf_token is None:
            raise RuntimeError(f"the page after signing in answered {status} without a CSRF token")

    def post_session(self, body: dict, path: str = SESSIONS_PATH) -> tuple[int, bytes, float]:
        """POST /api/v1/sessions (or another JSON endpoint): (status, body, seconds)."""
        started = time.perf_counter()
        status, _, data = self.request(
            "POST",
            path,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": self.csrf_token},
        )
        return status, data, time.perf_counter() - started


def csrf_token_of(page: bytes) -> str | None:
    text = page.decode(errors="replace")
    found = CSRF_META.search(text) or CSRF_INPUT.search(text)
    return next((group for group in found.groups() if group), None) if found else None


def session_body(rng: random.Random, fixture: Fixture) -> dict:
    """A new session as the phone app would post it."""
    households = [{"id": hid} for hid in rng.sample(fixture.household_ids, HOUSEHOLDS_PER_SESSION)]
    if rng.random() < NEW_HOUSEHOLD_SHARE:
        households.append({"uuid": str(uuid.uuid4()), "head_name": f"Hộ mới {rng.randrange(10_000)}"})
    return {
        "uuid": str(uuid.uuid4()),
        "date": (fixture.today - timedelta(days=rng.randrange(DAYS_BACK))).isoformat(),
        "village_id": rng.choice(fixture.village_ids),
        "topics": rng.sample(fixture.topic_codes, rng.randint(1, 2)),
        "households": households,
        "attendees": len(households),
    }


# ---------------------------------------------------------------------------------------------
# The load


@dataclass
class Outcome:
    """What the clients saw. `accepted` maps each 201 uuid to the body that was sent."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)  # new, replay, twin
    errors: Counter = field(default_factory=Counter)
    locked: int = 0
    accepted: dict[str, dict] = field(default_factory=dict)
    sent_unanswered: dict[str, dict] = field(default_factory=dict)  # no answer: may or may not be saved
    seconds: float = 0.0
    server_cpu: float = 0.0  # gunicorn's CPU seconds (not the database server's)

    def merge(self, other: "Outcome") -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.kinds.update(other.kinds)
        self.errors.update(other.errors)
        self.locked += other.locked
        self.accepted.update(other.accepted)
        self.sent_unanswered.update(other.sent_unanswered)

    @property
    def requests(self) -> int:
        return len(self.latencies) + sum(self.errors[kind] for kind in self.errors if kind.startswith("no answer"))


class Budget:
    """At most `limit` requests in all, shared by every client."""

    def __init__(self, limit: int):
        self._left = limit
        self._lock = threading.Lock()

    def take(self, n: int = 1) -> bool:
        with self._lock:
            if self._left < n:
                return False
            self._left -= n
            return True


def post(client: Client, body: dict, outcome: Outcome, expected: int | None, path: str = SESSIONS_PATH) -> int | None:
    """Post once and note what came back. `expected` None takes 200 or 201 alike (each of
    two twin posts may be the one that creates the session)."""
    try:
        status, data, seconds = client.post_session(body, path)
    except (OSError, http.client.HTTPException) as error:
        outcome.errors[f"no answer ({type(error).__name__})"] += 1
        outcome.sent_unanswered[body["uuid"]] = body
        return None
    outcome.latencies.append(seconds)
    outcome.statuses[status] += 1
    if LOCKED.encode() in data:
        outcome.locked += 1
    if status == 201:
        outcome.accepted[body["uuid"]] = body
    if expected is not None and status != expected:
        outcome.errors[f"answered {status}, expected {expected}"] += 1
    elif expected is None and status not in (200, 201):
        outcome.errors[f"answered {status}"] += 1
    return status


def drive(client: Client, fixture: Fixture, deadline: float, budget: Budget, seed: int) -> Outcome:
    """One client's loop: new sessions, replays of earlier ones, and twin posts."""
    rng = random.Random(seed)
    outcome = Outcome()
    sent: list[dict] = []
    while time.monotonic() < deadline:
        roll = rng.random()
        if sent and roll < REPLAY_SHARE:
            if not budget.take():
                break
            outcome.kinds["replay"] += 1
            post(client, rng.choice(sent), outcome, expected=200)
        elif roll < REPLAY_SHARE + TWIN_SHARE:
            if not budget.take(2):
                break
            outcome.kinds["twin"] += 1
            body = session_body(rng, fixture)
            statuses = twin_post(client, body, outcome)
            if None not in statuses and sorted(statuses) != [200, 201]:
                outcome.errors[f"twin answered {sorted(statuses)}, expected [200, 201]"] += 1
            if 201 in statuses:
                sent.append(body)
        else:
            if not budget.take():
                break
            outcome.kinds["new"] += 1
            body = session_body(rng, fixture)
            if post(client, body, outcome, expected=201) == 201:
                sent.append(body)
    client.close()
    return outcome


def twin_post(client: Client, body: dict, outcome: Outcome) -> list[int | None]:
    """The same new session from two tabs at the same moment (a double tap, a retry racing
    the first try): exactly one may create it."""
    other, other_outcome, statuses = client.twin(), Outcome(), []
    thread = threading.Thread(target=lambda: statuses.append(post(other, body, other_outcome, expected=None)))
    thread.start()
    statuses.append(post(client, body, outcome, expected=None))
    thread.join(REQUEST_TIMEOUT + 5)
    other.close()
    outcome.merge(other_outcome)
    return statuses


def sign_in_all(port: int, volunteers: list[tuple[str, str]]) -> list[Client]:
    """A signed-in client per volunteer, all signing in at once. Raises SignInFailed."""
    clients = [Client(port) for _ in volunteers]
    failures: list[str] = []

    def sign_in(client: Client, phone: str, password: str) -> None:
        try:
            client.sign_in(phone, password)
        except (RuntimeError, OSError, http.client.HTTPException) as error:
            failures.append(f"{phone}: {error}")

    threads = [
        threading.Thread(target=sign_in, args=(c, *volunteer)) for c, volunteer in zip(clients, volunteers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * REQUEST_TIMEOUT)
    if failures or any(client.csrf_token is None for client in clients):
        for client in clients:
            client.close()
        raise SignInFailed(f"{len(failures)} of {len(clients)} clients could not sign in, e.g. {failures[:2]}")
    return clients


class SignInFailed(RuntimeError):
    pass


def run_clients(port: int, fixture: Fixture, clients: int, seconds: float, max_requests: int) -> Outcome:
    """Sign every client in, then let them all write until the deadline or the budget."""
    signed_in = sign_in_all(port, fixture.volunteers[:clients])

    budget = Budget(max_requests)
    results: list[Outcome] = []
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=lambda c=client, n=n: results.append(drive(c, fixture, deadline, budget, n)))
        for n, client in enumerate(signed_in)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0) + 2 * REQUEST_TIMEOUT + 10)
    outcome = Outcome()
    for result in results:
        outcome.merge(result)
    outcome.seconds = time.monotonic() - started
    if len(results) != clients:
        outcome.errors["client thread did not finish"] += clients - len(results)
    return outcome


# ---------------------------------------------------------------------------------------------
# The checks afterwards


def database_problems(app: Flask, accepted: dict[str, dict], unanswered: dict[str, dict] | None = None) -> list[str]:
    """Everything wrong with the saved sessions, given the bodies that were answered 201 (and
    those sent without an answer, which may or may not be saved). Empty when all is well."""
    unanswered = unanswered or {}
    problems = []
    with app.app_context():
        rows = db.session.execute(
            sa.select(TrainingSession.uuid, sa.func.count(Attendance.household_id))
            .outerjoin(Attendance, Attendance.session_id == TrainingSession.id)
            .group_by(TrainingSession.id, TrainingSession.uuid)
        ).all()
        saved: dict[str, list[int]] = {}
        for session_uuid, attendance in rows:
            saved.setdefault(session_uuid, []).append(attendance)
        doubled = [key for key, found in saved.items() if len(found) > 1]
        missing = [key for key in accepted if key not in saved]
        unexpected = [key for key in saved if key not in accepted and key not in unanswered]
        short = [
            key
            for key, body in {**unanswered, **accepted}.items()
            if key in saved and saved[key][0] != len(body["households"])
        ]
        orphans = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Attendance)
            .outerjoin(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(TrainingSession.id.is_(None))
        )
        new_households = [item["uuid"] for body in accepted.values() for item in body["households"] if "uuid" in item]
        found_households = Counter(
            db.session.scalars(sa.select(Household.uuid).where(Household.uuid.in_(new_households)))
        )
        lost_households = [key for key in new_households if found_households[key] != 1]
        for label, keys in (
            ("sessions saved more than once", doubled),
            ("sessions answered 201 but not saved", missing),
            ("sessions saved without a 201 answer", unexpected),
            ("sessions without all their attendance rows", short),
            ("new households not saved exactly once", lost_households),
        ):
            if keys:
                problems.append(f"{len(keys)} {label}, e.g. {keys[:3]}")
        if orphans:
            problems.append(f"{orphans} attendance rows without their session")
        if db.engine.dialect.name == "sqlite":
            integrity = db.session.execute(sa.text("PRAGMA integrity_check")).scalars().all()
            if integrity != ["ok"]:
                problems.append(f"PRAGMA integrity_check: {integrity[:5]}")
        db.session.rollback()
        check = app.test_cli_runner().invoke(args=["tallies", "check"])
        if check.exit_code != 0:
            problems.append(f"flask tallies check: {check.output.strip()}")
        db.session.remove()
        db.engine.dispose()
    return problems


def server_log_alarms(log: str) -> Counter:
    return Counter({alarm: log.count(alarm) for alarm in SERVER_LOG_ALARMS if alarm in log})


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def report(title: str, outcome: Outcome, alarms: Counter, problems: list[str], saved: int) -> str:
    ms = 1000
    verdict = "verified; attendance complete, no orphans, counters match a recount" if not problems else "FAILED"
    lines = [
        title,
        f"  requests            {outcome.requests}  (new {outcome.kinds['new']}, replays {outcome.kinds['replay']}, "
        f"twin pairs {outcome.kinds['twin']})",
        f"  throughput          {outcome.requests / outcome.seconds:.1f} req/s over {outcome.seconds:.1f} s",
        f"  latency p50 / p95   {percentile(outcome.latencies, 0.5) * ms:.0f} ms / "
        f"{percentile(outcome.latencies, 0.95) * ms:.0f} ms  (max {max(outcome.latencies, default=0) * ms:.0f} ms)",
        f"  gunicorn CPU        {outcome.server_cpu / max(outcome.requests, 1) * ms:.0f} ms per request; "
        f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        f"  answers             {dict(sorted(outcome.statuses.items()))}",
        f"  errors              {sum(outcome.errors.values())}  {dict(outcome.errors) or ''}",
        f"  'database is locked' {outcome.locked} in answers, {alarms[LOCKED]} in the server log",
        f"  server log alarms   {dict(alarms) or 'none'}",
        f"  sessions saved      {saved} for {len(outcome.accepted)} answered 201",
        f"  exactly once        {verdict}",
    ]
    lines += [f"    - {problem}" for problem in problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the timed phase (default 60)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many (default 100000)")
    parser.add_argument("--database-url", help="a PostgreSQL server to create a fresh database on (default SQLite)")
    parser.add_argument("--server-log", type=Path, help="keep gunicorn's output in this file")
    args = parser.parse_args(argv)

    with fresh_database(args.database_url) as url, tempfile.TemporaryDirectory(prefix="kns-load-log-") as logs:
        app = setup_app(url)
        fixture = prepare(app, args.clients)
        backend = make_url(url).get_backend_name()
        server = Server(url, args.workers, args.server_log or Path(logs) / "gunicorn.log")
        try:
            with server:
                cpu_before = server.cpu_seconds()
                outcome = run_clients(server.port, fixture, args.clients, args.seconds, args.max_requests)
                outcome.server_cpu = server.cpu_seconds() - cpu_before
        except SignInFailed as failed:
            print(f"{failed}\nServer log (last lines):\n" + "\n".join(server.log().splitlines()[-30:]))
            return 1
        alarms = server_log_alarms(server.log())
        problems = database_problems(app, outcome.accepted)
        with app.app_context():
            saved = db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession))
            db.engine.dispose()
        title = f"Load on {backend}: {args.clients} clients, {args.workers} gunicorn workers, {args.seconds:g} s"
        print(report(title, outcome, alarms, problems, saved))
        if alarms:
            print("\nServer log (last lines):\n" + "\n".join(server.log().splitlines()[-40:]))
        failed = problems or sum(outcome.errors.values()) or outcome.locked or alarms
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
