"""The dashboards at province scale, against the floor of the stack and a naive recount.

Pages are requested through the Flask test client of an app on the generated database, signed
in as a province user and as an officer of the largest commune. Each round requests every page
once (in a rotating order) and the naive recount runs between rounds, so a busy neighbour on
the shared machine slows every figure alike and the ratios of one run stay meaningful.
"""

import re
import secrets
import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.auth.services import create_user
from app.clock import local_today
from app.extensions import db
from app.i18n import number
from app.models import Commune, Household, User, VillageTally
from app.progress import tallies
from bench.generate import StatementTimer, bench_app, ranked
from bench.report import Budget, Part, summary, timing_header, timing_line

NAIVE_OVER_DASHBOARD = 20  # the province dashboard at least this many times faster than a recount
DASHBOARD_OVER_MINIMAL = 5  # a dashboard at most this many times a minimal signed-in page
WARM_UP = 3
NAIVE_SECONDS = 240  # the naive runs stop at about this much time in all
PROVINCE_PHONE = "0399990001"
OFFICER_PHONE = "0399990002"

# The counting rule written straight on the raw rows, as a dashboard without counters would.
NAIVE_TOTAL = sa.text(
    "SELECT COUNT(DISTINCT a.household_id) FROM attendance a"
    " JOIN training_session s ON s.id = a.session_id JOIN household h ON h.id = a.household_id"
    " WHERE s.status != 'rejected' AND s.deleted_at IS NULL AND h.deleted_at IS NULL"
)
NAIVE_BY_COMMUNE = sa.text(
    "SELECT h.commune_id, COUNT(DISTINCT a.household_id) FROM attendance a"
    " JOIN training_session s ON s.id = a.session_id JOIN household h ON h.id = a.household_id"
    " WHERE s.status != 'rejected' AND s.deleted_at IS NULL AND h.deleted_at IS NULL"
    " GROUP BY h.commune_id"
)


def run(url: str, *, quick: bool = False, requests: int = 30, naive_runs: int = 5) -> Part:
    """Time the pages and the recount, check the figures agree; the budgets judge the medians."""
    requests, naive_runs = (5, 2) if quick else (requests, naive_runs)
    app = bench_app(url)
    commune = _sign_ins(app)
    print(f"largest commune: {commune['name']} ({commune['code']}), {commune['registered']:,} households")
    clients = {"province": _signed_in(app, PROVINCE_PHONE, commune["passwords"][PROVINCE_PHONE]),
               "officer": _signed_in(app, OFFICER_PHONE, commune["passwords"][OFFICER_PHONE])}  # fmt: skip
    pages = {
        "minimal page (province user)": ("province", "/account/password"),
        "province dashboard": ("province", "/progress"),
        "minimal page (officer)": ("officer", "/account/password"),
        "commune dashboard": ("officer", f"/progress/communes/{commune['code']}"),
    }
    bodies = {}
    for name, (who, path) in pages.items():
        for _ in range(WARM_UP):
            bodies[name] = _get(clients[who], path)[1]

    print(f"naive recount: warming up ({_dialect(app)})", flush=True)
    warm_up_s, total, by_commune = _naive(app)
    naive_runs = max(2, min(naive_runs, int(NAIVE_SECONDS / max(warm_up_s, 0.001))))
    naive_after = {round(index * requests / naive_runs) for index in range(naive_runs)}
    samples: dict[str, list[float]] = {name: [] for name in pages}
    samples["naive recount"] = []
    names = list(pages)
    for round_number in range(requests):
        for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
            who, path = pages[name]
            samples[name].append(_get(clients[who], path)[0])
        if round_number in naive_after:
            samples["naive recount"].append(_naive(app)[0] * 1000)
        if round_number % 10 == 9:
            print(f"  {round_number + 1}/{requests} rounds", flush=True)

    figures = {name: summary(values) for name, values in samples.items()}
    checks = _checks(app, total, by_commune, commune, bodies)
    profile = {name: _profile(app, clients[pages[name][0]], pages[name][1])
               for name in ("province dashboard", "commune dashboard")}  # fmt: skip
    part = Part("Dashboards", figures={
        "largest_commune": {key: commune[key] for key in ("code", "name", "registered")},
        "timings_ms": figures, "checks": checks, "slowest_statements": profile,
    })  # fmt: skip
    part.table = [timing_header(), *(timing_line(name, figure) for name, figure in figures.items())]
    part.table += _check_lines(checks) + _profile_lines(profile)
    part.budgets = _budgets(figures)
    if not checks["all_equal"]:
        part.problems.append("the dashboards' figures differ from the naive recount")
    return part


def _budgets(figures: dict) -> list[Budget]:
    def median(name: str) -> float:
        return figures[name]["median"]

    naive = median("naive recount")
    return [
        Budget("naive recount / province dashboard", naive / median("province dashboard"), NAIVE_OVER_DASHBOARD,
               at_most=False, unit="x"),
        Budget("naive recount / commune dashboard", naive / median("commune dashboard"), NAIVE_OVER_DASHBOARD,
               at_most=False, unit="x"),
        Budget("province dashboard / minimal page",
               median("province dashboard") / median("minimal page (province user)"), DASHBOARD_OVER_MINIMAL, unit="x"),
        Budget("commune dashboard / minimal page",
               median("commune dashboard") / median("minimal page (officer)"), DASHBOARD_OVER_MINIMAL, unit="x"),
    ]  # fmt: skip


def _sign_ins(app: Flask) -> dict:
    """A province user and an officer of the commune with the most households, each with a
    fresh random password (created the first time)."""
    with app.app_context():
        commune_id, registered = db.session.execute(
            sa.select(VillageTally.commune_id, sa.func.sum(VillageTally.registered))
            .group_by(VillageTally.commune_id)
            .order_by(sa.func.sum(VillageTally.registered).desc(), VillageTally.commune_id)
            .limit(1)
        ).one()
        commune = db.session.get(Commune, commune_id)
        passwords = {}
        for phone, role, name, code in ((PROVINCE_PHONE, "province", "Cán bộ Sở (bench)", None),
                                        (OFFICER_PHONE, "officer", "Cán bộ xã (bench)", commune.code)):  # fmt: skip
            passwords[phone] = password = secrets.token_urlsafe(12)
            user = db.session.scalar(sa.select(User).where(User.phone == phone))
            if user is None:
                create_user(phone=phone, full_name=name, role=role, password=password, commune_code=code)
            else:
                user.set_password(password)
                user.commune_id = commune.id if code else None
                user.is_active = True
        db.session.commit()
        found = {"code": commune.code, "name": commune.name, "id": commune.id, "registered": int(registered)}
        db.session.remove()
    return {**found, "passwords": passwords}


def _signed_in(app: Flask, phone: str, password: str) -> FlaskClient:
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    response = client.post(
        "/login", data={"csrf_token": token and token.group(1), "phone": phone, "password": password}
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"Could not sign in as {phone}: {response.status_code}")
    return client


def _get(client: FlaskClient, path: str) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return elapsed, response.text


def _naive(app: Flask) -> tuple[float, int, dict[int, int]]:
    """Both naive queries, timed together: (seconds, province figure, {commune id: figure})."""
    with app.app_context():
        started = time.perf_counter()
        total = db.session.scalar(NAIVE_TOTAL)
        by_commune = dict(db.session.execute(NAIVE_BY_COMMUNE).tuples().all())
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, total, by_commune


def _checks(app: Flask, total: int, by_commune: dict[int, int], commune: dict, bodies: dict) -> dict:
    """The counters against the naive recount, for the province and every commune, and the
    figures as the pages print them."""
    with app.app_context():
        trained, registered = tallies.province_figures()
        naive_registered = db.session.scalar(
            sa.select(sa.func.count()).select_from(Household).where(Household.deleted_at.is_(None))
        )
        codes = dict(db.session.execute(sa.select(Commune.id, Commune.code)).tuples().all())
        today = local_today()
        shown = {row.code: row.trained for row in tallies.commune_rows(today, today)}
        db.session.remove()
    naive_shown = {codes[commune_id]: figure for commune_id, figure in by_commune.items()}
    mismatches = {code: {"dashboard": shown.get(code, 0), "naive": naive_shown.get(code, 0)}
                  for code in sorted(set(shown) | set(naive_shown)) if shown.get(code, 0) != naive_shown.get(code, 0)}  # fmt: skip
    with app.test_request_context():  # the figures as a Vietnamese page prints them: 123.456
        province_text, commune_text = number(total), number(naive_shown.get(commune["code"], 0))
    checks = {
        "province_trained": {"dashboard": trained, "naive": total},
        "province_registered": {"dashboard": registered, "naive": naive_registered},
        "communes_compared": len(set(shown) | set(naive_shown)),
        "commune_mismatches": mismatches,
        "province_page_shows_naive_figure": province_text in bodies["province dashboard"],
        "commune_page_shows_naive_figure": commune_text in bodies["commune dashboard"],
    }
    checks["all_equal"] = (
        trained == total
        and registered == naive_registered
        and not mismatches
        and checks["province_page_shows_naive_figure"]
        and checks["commune_page_shows_naive_figure"]
    )
    return checks


def _profile(app: Flask, client: FlaskClient, path: str) -> dict:
    """One more request with its statements captured; each SELECT is then run again alone,
    every row fetched, for its own time."""
    with app.app_context():
        engine = db.engine
    with StatementTimer(engine) as statements:
        request_ms = _get(client, path)[0]
    replayed = statements.replayed()
    return {
        "request_ms": round(request_ms, 2),
        "statements": len(statements.statements),
        "sql_ms": round(sum(seconds for seconds, _sql in replayed) * 1000, 2),
        "slowest": [{"ms": round(seconds * 1000, 2), "sql": sql} for seconds, sql in ranked(replayed, 6)],
    }


def _dialect(app: Flask) -> str:
    with app.app_context():
        return db.engine.dialect.name


def _check_lines(checks: dict) -> list[str]:
    return [
        f"  province trained: dashboard {checks['province_trained']['dashboard']:,}, naive "
        f"{checks['province_trained']['naive']:,}; registered: dashboard {checks['province_registered']['dashboard']:,}, "
        f"naive {checks['province_registered']['naive']:,}",
        f"  {checks['communes_compared']} communes compared, {len(checks['commune_mismatches'])} differ; the pages "
        f"print the naive figure: {checks['province_page_shows_naive_figure']} (province), "
        f"{checks['commune_page_shows_naive_figure']} (commune)",
    ]


def _profile_lines(profile: dict) -> list[str]:
    lines = []
    for name, found in profile.items():
        lines.append(f"  {name}: {found['statements']} statements, {found['sql_ms']:.1f} ms of SQL run alone "
                     f"(request {found['request_ms']:.1f} ms); slowest:")  # fmt: skip
        lines += [f"    {statement['ms']:7.1f} ms  {statement['sql'][:110]}" for statement in found["slowest"][:2]]
    return lines
