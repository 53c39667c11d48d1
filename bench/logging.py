"""python -m bench.logging: sessions logged per second under gunicorn, beside a one-row endpoint.

    python -m bench.logging                  # SQLite (scratch files), 20 s of each kind
    python -m bench.logging --quick          # 5 s of each kind
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/kns_bench python -m bench.logging
        # PostgreSQL: scratch databases on that server, created here and dropped afterwards

Two scratch databases (never the province-scale one: the load would grow it), each migrated
and given one commune's villages, households and volunteers (bench.load.prepare). Each gets
its own gunicorn, started the same way (same workers, bench.minimal_app, loopback only), and
its own signed-in clients, the same number for both. The timed phase alternates between the
two in slices of a few seconds, so a neighbour's burst on this shared machine falls on both
kinds alike:

- one-row: POST /bench/one-row, the same app up to the view, then one INSERT and a commit;
- logging: POST /api/v1/sessions, a new session of five existing households of the village.

Both post the same bodies; each kind stops at its time or its request budget. Afterwards
every 201 must be saved exactly once (sessions with their five attendance rows, the counters
equal to a recount), and one request of each kind is replayed in-process to count its SQL
statements. The budget: logging throughput at least half the one-row endpoint's.
"""

import argparse
import os
import random
import secrets
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import make_url

from app.extensions import db
from bench import generate, load, minimal_app
from bench.report import Budget, Part

APP_MODULE = "bench.minimal_app:build_app()"
HOUSEHOLDS_PER_SESSION = 5
BUDGET_RATIO = 0.5
SLICE_SECONDS = 5.0  # the timed phase alternates between the kinds in slices this long
WARM_UP_SECONDS = 1.0  # untimed: first imports, catalogues and connections of every worker
PROFILED_REQUESTS = 20


@dataclass(frozen=True)
class Settings:
    workers: int = 4  # as the README's production command
    clients: int = 16
    seconds: float = 20.0  # timed, per kind
    max_requests: int = 20_000  # per kind

    @property
    def slices(self) -> int:
        return max(1, round(self.seconds / SLICE_SECONDS))


QUICK = Settings(seconds=5.0)


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    label: str


ONE_ROW = Kind("one_row", minimal_app.PATH, "one-row insert (baseline)")
LOGGING = Kind("logging", load.SESSIONS_PATH, "log a 5-household session")
KINDS = (ONE_ROW, LOGGING)


@dataclass
class Target:
    """One kind's scratch database, gunicorn and signed-in clients, and what they saw."""

    kind: Kind
    app: Flask
    fixture: load.Fixture
    server: load.Server
    clients: list[load.Client] = field(default_factory=list)
    budget: load.Budget | None = None
    timed: load.Outcome = field(default_factory=load.Outcome)  # the figures
    everything: load.Outcome = field(default_factory=load.Outcome)  # warm-up included: the checks
    client_cpu: float = 0.0


# ---------------------------------------------------------------------------------------------
# The load


def session_body(rng: random.Random, fixture: load.Fixture) -> dict:
    """A new session of five existing households of one village, as the phone posts it."""
    village_id = rng.choice(fixture.village_ids)
    households = rng.sample(fixture.village_households[village_id], HOUSEHOLDS_PER_SESSION)
    return {
        "uuid": str(uuid.uuid4()),
        "date": (fixture.today - timedelta(days=rng.randrange(load.DAYS_BACK))).isoformat(),
        "village_id": village_id,
        "topics": rng.sample(fixture.topic_codes, rng.randint(1, 2)),
        "households": [{"id": household_id} for household_id in households],
        "attendees": HOUSEHOLDS_PER_SESSION,
    }


def run_slice(target: Target, seconds: float, seed: int, budget: load.Budget) -> load.Outcome:
    """Every client posts new sessions to the target until the slice ends or the budget does."""
    results: list[load.Outcome] = []
    deadline = time.monotonic() + seconds

    def drive(client: load.Client, rng: random.Random) -> None:
        outcome = load.Outcome()
        while time.monotonic() < deadline and budget.take():
            load.post(client, session_body(rng, target.fixture), outcome, expected=201, path=target.kind.path)
        results.append(outcome)

    threads = [
        threading.Thread(target=drive, args=(client, random.Random(f"{seed}:{n}")))
        for n, client in enumerate(target.clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 2 * load.REQUEST_TIMEOUT + 10)
    outcome = load.Outcome()
    for result in results:
        outcome.merge(result)
    outcome.seconds = time.monotonic() - started
    if len(results) != len(threads):
        outcome.errors["client thread did not finish"] += len(threads) - len(results)
    return outcome


def timed_slice(target: Target, seconds: float, seed: int) -> None:
    cpu_before, client_before = target.server.cpu_seconds(), time.process_time()
    outcome = run_slice(target, seconds, seed, target.budget)
    outcome.server_cpu = target.server.cpu_seconds() - cpu_before
    target.client_cpu += time.process_time() - client_before
    for total in (target.timed, target.everything):
        total.merge(outcome)
    target.timed.seconds += outcome.seconds
    target.timed.server_cpu += outcome.server_cpu


def load_both(targets: list[Target], settings: Settings) -> None:
    """Warm every server up, then alternate timed slices: A B, B A, A B… so that neither kind
    always runs first after a pause."""
    for target in targets:
        target.everything.merge(run_slice(target, WARM_UP_SECONDS, seed=0, budget=load.Budget(10**9)))
        target.budget = load.Budget(settings.max_requests)
    seconds = settings.seconds / settings.slices
    for number in range(settings.slices):
        for target in targets if number % 2 == 0 else reversed(targets):
            timed_slice(target, seconds, seed=number + 1)


# ---------------------------------------------------------------------------------------------
# Setting up and checking


def scratch_app(url: str, settings: Settings) -> tuple[Flask, load.Fixture]:
    """The minimal app on a new scratch database: migrated, one commune's data, the one-row table."""
    app = minimal_app.build_app({"SQLALCHEMY_DATABASE_URI": url, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    fixture = load.prepare(app, settings.clients)
    minimal_app.create_table(app)
    return app, fixture


def saved_problems(target: Target) -> list[str]:
    """Every 201 saved exactly once, nothing saved that was not sent."""
    accepted, unanswered = target.everything.accepted, target.everything.sent_unanswered
    if target.kind is LOGGING:
        return load.database_problems(target.app, accepted, unanswered)
    saved = minimal_app.saved_rows(target.app)
    problems = []
    if missing := [key for key in accepted if saved.get(key) != 1]:
        problems.append(f"{len(missing)} rows answered 201 but not saved exactly once, e.g. {missing[:3]}")
    if unexpected := [key for key in saved if key not in accepted and key not in unanswered]:
        problems.append(f"{len(unexpected)} rows saved without a 201 answer, e.g. {unexpected[:3]}")
    return problems


def profile(target: Target, requests: int) -> dict:
    """The same request replayed in this process, one at a time, signed in through the login
    form with the CSRF check on: SQL statements it runs and milliseconds it takes, without
    gunicorn, the network or any other request. The sessions it logs are saved after the checks."""
    app, fixture = target.app, target.fixture
    client = app.test_client()
    phone, password = fixture.volunteers[0]
    token = load.csrf_token_of(client.get("/login").data)
    client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})
    headers = {"X-CSRFToken": load.csrf_token_of(client.get("/").data), "Accept": "application/json"}
    rng = random.Random("profile")
    statements: list[list[str]] = []
    milliseconds: list[float] = []
    with app.app_context():
        engine = db.engine

    for _ in range(requests):
        seen: list[str] = []

        def note(_conn, _cursor, statement, *_args, seen=seen):
            seen.append(" ".join(statement.split())[:100])

        body = session_body(rng, fixture)
        sa.event.listen(engine, "before_cursor_execute", note)
        started = time.perf_counter()
        try:
            response = client.post(target.kind.path, json=body, headers=headers)
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        milliseconds.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201:
            raise RuntimeError(f"{target.kind.path} answered {response.status_code} in-process: {response.data[:300]}")
        statements.append(seen)
    with app.app_context():
        db.engine.dispose()
    typical = statements[-1]
    return {
        "statements_per_request": len(typical),
        "in_process_ms": round(sorted(milliseconds)[len(milliseconds) // 2], 2),
        "statements": typical,
    }


# ---------------------------------------------------------------------------------------------
# The part


def run(url: str, *, quick: bool = False, settings: Settings | None = None) -> Part:
    """Both kinds of request under the same gunicorn setup, on scratch databases beside `url`
    (SQLite files in a temp directory, or new databases on the PostgreSQL server of `url`)."""
    settings = settings or (QUICK if quick else Settings())
    backend = make_url(url).get_backend_name()
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    targets: list[Target] = []
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kns-logging-")))
        for kind in KINDS:
            scratch = stack.enter_context(
                load.fresh_database(None if backend == "sqlite" else url, label=f"bench_{kind.name}")
            )
            app, fixture = scratch_app(scratch, settings)
            server = stack.enter_context(
                load.Server(scratch, settings.workers, logs / f"{kind.name}.log", app_module=APP_MODULE)
            )
            target = Target(kind, app, fixture, server)
            target.clients = load.sign_in_all(server.port, fixture.volunteers[: settings.clients])
            stack.callback(lambda clients=target.clients: [client.close() for client in clients])
            targets.append(target)

        load_both(targets, settings)
        for target in targets:
            target.server.stop()
        problems = []
        for target in targets:
            alarms = load.server_log_alarms(target.server.log())
            problems += [f"{target.kind.name}: {problem}" for problem in saved_problems(target)]
            if alarms:
                problems.append(
                    f"{target.kind.name}: server log shows {dict(alarms)}: {first_alarm(target.server.log())}"
                )
            if errors := sum(target.timed.errors.values()) + target.timed.locked:
                problems.append(f"{target.kind.name}: {errors} errors {dict(target.timed.errors)}")
        profiles = {target.kind.name: profile(target, PROFILED_REQUESTS // (4 if quick else 1)) for target in targets}
    return part(targets, profiles, problems, settings, backend)


def first_alarm(log: str, lines: int = 12) -> str:
    """The first alarming lines of a server log, for the report."""
    logged = log.splitlines()
    for number, line in enumerate(logged):
        if any(alarm in line for alarm in load.SERVER_LOG_ALARMS):
            return "\n".join(logged[number : number + lines])
    return ""


def figures_of(target: Target, profiled: dict) -> dict:
    outcome = target.timed
    requests = max(outcome.requests, 1)
    return {
        "path": target.kind.path,
        "requests": outcome.requests,
        "seconds": round(outcome.seconds, 2),
        "requests_per_second": round(outcome.requests / outcome.seconds, 1) if outcome.seconds else 0.0,
        "p50_ms": round(load.percentile(outcome.latencies, 0.5) * 1000, 1),
        "p95_ms": round(load.percentile(outcome.latencies, 0.95) * 1000, 1),
        "max_ms": round(max(outcome.latencies, default=0) * 1000, 1),
        "errors": sum(outcome.errors.values()) + outcome.locked,
        "answers": {str(status): count for status, count in sorted(outcome.statuses.items())},
        "gunicorn_cpu_ms_per_request": round(outcome.server_cpu / requests * 1000, 2),
        "client_cpu_ms_per_request": round(target.client_cpu / requests * 1000, 2),
        **profiled,
    }


def part(targets: list[Target], profiles: dict, problems: list[str], settings: Settings, backend: str) -> Part:
    figures = {
        "backend": backend,
        "workers": settings.workers,
        "clients": settings.clients,
        "seconds_per_kind": settings.seconds,
        "slices_per_kind": settings.slices,
        "max_requests_per_kind": settings.max_requests,
        "households_per_session": HOUSEHOLDS_PER_SESSION,
        "load_average": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    for target in targets:
        figures[target.kind.name] = figures_of(target, profiles[target.kind.name])
    one_row, logging = figures[ONE_ROW.name], figures[LOGGING.name]
    ratio = logging["requests_per_second"] / one_row["requests_per_second"] if one_row["requests_per_second"] else 0
    figures["ratio_logging_to_one_row"] = round(ratio, 3)

    header = (
        f"  {'':28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}{'requests':>10}{'CPU ms/req':>12}{'SQL/req':>9}"
    )
    table = [
        f"  {backend}: {settings.workers} gunicorn workers, {settings.clients} clients per kind, "
        f"{settings.seconds:g} s per kind in {settings.slices} alternating slices; "
        f"load average {figures['load_average']} on {figures['cpus']} CPUs",
        header,
    ]
    for target in targets:
        row = figures[target.kind.name]
        table.append(
            f"  {target.kind.label:28}{row['requests_per_second']:>9,.1f}{row['p50_ms']:>9,.0f}{row['p95_ms']:>9,.0f}"
            f"{row['errors']:>8}{row['requests']:>10,}{row['gunicorn_cpu_ms_per_request']:>12,.1f}"
            f"{row['statements_per_request']:>9}"
        )
    table.append(
        f"  in-process, one at a time: one-row {one_row['in_process_ms']:.1f} ms, logging {logging['in_process_ms']:.1f} ms;"
        f" the clients' own CPU: {one_row['client_cpu_ms_per_request']:.1f} and "
        f"{logging['client_cpu_ms_per_request']:.1f} ms per request"
    )
    budgets = [Budget("logging throughput / one-row endpoint", ratio, BUDGET_RATIO, at_most=False, unit="x")]
    return Part(name="logging throughput", figures=figures, table=table, budgets=budgets, problems=problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.logging", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s of each kind instead of 20")
    parser.add_argument("--workers", type=int, default=Settings.workers, help="gunicorn workers (default 4)")
    parser.add_argument("--clients", type=int, default=Settings.clients, help="clients per kind (default 16)")
    parser.add_argument("--seconds", type=float, help="timed seconds per kind (default 20, quick 5)")
    parser.add_argument("--max-requests", type=int, default=Settings.max_requests, help="per kind (default 20000)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (QUICK.seconds if args.quick else Settings.seconds)
    settings = Settings(args.workers, args.clients, seconds, args.max_requests)
    result = run(generate.database_url(), quick=args.quick, settings=settings)
    result.print()
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
