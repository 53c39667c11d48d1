"""Household search: in the village of 2,000 households, and in the registry of its commune and
of the whole province, against the minimal signed-in page.

    python -m bench.search               # bench/data/bench.sqlite, or BENCH_DATABASE_URL
    python -m bench.search --quick       # a few rounds, to try it
    python -m bench.search --scale 0.04  # a generated dataset of another size

A volunteer of the big village's commune (BIG_VILLAGE in bench.generate) searches the village
the three ways the app offers: the session form's live search (`GET /api/v1/households`, what
the phone calls as letters are typed), the same form without JavaScript (the "Tìm" step, a
POST that renders the whole form) and the household registry (`GET /households?village=…`).
The registry without a village covers the volunteer's whole commune, and for province staff the
whole province (1,000,000 households). Each round requests every (way, query) once in a
rotating order, with the minimal signed-in page (/account/password) among them, so a busy
neighbour on the shared machine slows every figure alike (the province-wide registry, slower,
only every third round). Every answer is checked against a naive fold-and-filter in Python:
what is listed must match and belong there, and the number of matches must be the naive count.
"""

import argparse
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Household, Village, team_village
from app.text import fold
from bench import generate, report
from bench.users import bench_user, csrf_token, signed_in

VOLUNTEER_PHONE = "0399990004"
PROVINCE_PHONE = "0399990005"
OVER_MINIMAL = 5  # a search at most this many times the minimal signed-in page (median)
API_LIMIT = FORM_LIMIT = 20  # app.households.services.SEARCH_LIMIT
REGISTRY_PAGE = 50  # app.households.routes.PER_PAGE
WARM_UP = 2
ROUNDS, QUICK_ROUNDS = 30, 5
PROVINCE_EVERY = 3  # the province-wide registry is requested every third round


@dataclass(frozen=True)
class Query:
    label: str
    text: str
    must_find: bool = True  # a query that finds nothing in the village is not the query meant

    @property
    def digits(self) -> str | None:
        """The digits to look for in phone numbers, when what was typed is a number."""
        digits = re.sub(r"[\s.+()-]", "", self.text)
        return digits if len(digits) >= 3 and digits.isascii() and digits.isdigit() else None

    def matches(self, name: str, phone: str | None) -> bool:
        """The search rule written plainly: digits look in the phone number, anything else
        must find every folded word in the folded name."""
        if self.digits:
            return bool(phone) and self.digits in phone
        return all(word in _folded(name) for word in fold(self.text).split())


@dataclass(frozen=True)
class Way:
    """One way of searching: who asks, the request, how to read the households it lists, how
    many a page lists at most, where it looks, and how often it is timed."""

    name: str
    who: str  # "volunteer" or "province"
    request: Callable  # (client, context, text) -> response
    listed: Callable  # response -> household ids
    limit: int
    reach: str  # "village", "commune" or "province"
    every: int = 1  # timed every n-th round

    @property
    def is_registry(self) -> bool:
        return self.limit == REGISTRY_PAGE


def queries(phone_fragment: str) -> list[Query]:
    """What volunteers type: the first letters, a family name, an Ê Đê name with and without
    its apostrophe, two words, a name with its accents, part of a phone number, a typo."""
    return [
        Query("two letters 'ng'", "ng"),
        Query("family name 'nguyen'", "nguyen"),
        Query("Ê Đê name 'hhen'", "hhen"),
        Query("spaced 'h hen'", "h hen"),
        Query("two words 'hen nie'", "hen nie"),
        Query("accents 'H'Hen Niê'", "H'Hen Niê"),
        Query(f"phone part '{phone_fragment}'", phone_fragment),
        Query("typo, no match 'nguyne'", "nguyne", must_find=False),
    ]


OPENED = Query("registry opened, no search", "")


def _live_search(client, context: dict, text: str):
    return client.get("/api/v1/households", query_string={"village_id": context["village"]["id"], "q": text})


def _form_search_step(client, context: dict, text: str):
    form = {"csrf_token": context["token"], "action": "search", "village_id": context["village"]["id"], "q": text}
    return client.post("/sessions/new", data=form)


def _registry_of_village(client, context: dict, text: str):
    return client.get("/households", query_string={"village": context["village"]["id"], "q": text})


def _registry(client, _context: dict, text: str):
    return client.get("/households", query_string={"q": text})


def _ids_in_json(response) -> list[int]:
    return [item["id"] for item in response.get_json()["households"]]


def _ids_in_checkboxes(response) -> list[int]:
    return [int(id_) for id_ in re.findall(r'name="household_ids" value="(\d+)"', response.text)]


def _ids_in_records(response) -> list[int]:
    return [int(id_) for id_ in re.findall(r'class="record-title" href="/households/(\d+)"', response.text)]


WAYS = (
    Way("live search (API)", "volunteer", _live_search, _ids_in_json, API_LIMIT, "village"),
    Way("form search step (no JS)", "volunteer", _form_search_step, _ids_in_checkboxes, FORM_LIMIT, "village"),
    Way("registry, village", "volunteer", _registry_of_village, _ids_in_records, REGISTRY_PAGE, "village"),
    Way("registry, whole commune", "volunteer", _registry, _ids_in_records, REGISTRY_PAGE, "commune"),
    Way("registry, whole province", "province", _registry, _ids_in_records, REGISTRY_PAGE, "province",
        every=PROVINCE_EVERY),
)  # fmt: skip
BUDGETED = ("live search (API)", "form search step (no JS)", "registry, village", "registry, whole commune")


def run(url: str, *, quick: bool = False) -> report.Part:
    started = time.perf_counter()
    part = report.Part("Household search (village of 2,000 households, commune, province)")
    app = generate.bench_app(url)
    village = _big_village(app)
    clients = {
        "volunteer": signed_in(app, VOLUNTEER_PHONE, bench_user(
            app, VOLUNTEER_PHONE, "volunteer", "Tình nguyện viên (bench search)", commune_id=village["commune_id"],
            team_id=village["team_id"])),
        "province": signed_in(app, PROVINCE_PHONE, bench_user(app, PROVINCE_PHONE, "province", "Cán bộ Sở (bench search)")),
    }  # fmt: skip
    context = {"village": village, "token": csrf_token(clients["volunteer"], "/sessions/new")}
    asked = queries(village["phone_fragment"])
    reaches = {"village": Household.village_id == village["id"], "commune": Household.commune_id == village["commune_id"],
               "province": sa.true()}  # fmt: skip
    counts = {reach: _naive_counts(app, where, [*asked, OPENED]) for reach, where in reaches.items()}

    requests: dict[str, tuple[Callable, int]] = {
        "minimal page": (lambda: clients["volunteer"].get("/account/password"), 1),
        "minimal page (province staff)": (lambda: clients["province"].get("/account/password"), 1),
    }
    for query in asked:
        if query.must_find != bool(counts["village"][query.text]):
            part.problems.append(
                f"{query.label}: the naive search finds {counts['village'][query.text]} in the village"
            )
    for way in WAYS:
        for query in [*asked, OPENED] if way.is_registry else asked:
            client = clients[way.who]
            response = way.request(client, context, query.text)
            problem = _check(app, way, response, query, reaches[way.reach], counts[way.reach][query.text])
            if problem:
                part.problems.append(f"{way.name}, {query.label}: {problem}")
            requests[f"{way.name}: {query.label}"] = (partial(way.request, client, context, query.text), way.every)

    figures = {name: report.summary(values) for name, values in _timed(requests, QUICK_ROUNDS if quick else ROUNDS).items()}  # fmt: skip
    part.figures = {
        "village": {key: village[key] for key in ("name", "commune", "registered")},
        "matches": {reach: {query.text: counts[reach][query.text] for query in [*asked, OPENED]} for reach in counts},
        "timings_ms": figures,
        "ratios": {},
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    for way in WAYS:
        minimal = figures["minimal page" if way.who == "volunteer" else "minimal page (province staff)"]["median"]
        slowest = max(
            (name for name in figures if name.startswith(f"{way.name}: ")), key=lambda n: figures[n]["median"]
        )
        ratio = round(figures[slowest]["median"] / minimal, 2)
        part.figures["ratios"][way.name] = {"slowest": slowest, "over_minimal": ratio}
        if way.name in BUDGETED:
            part.budgets.append(
                report.Budget(f"{way.name}, slowest query / minimal page", ratio, OVER_MINIMAL, unit="x")
            )
    part.table = _table(village, counts, figures, asked)
    return part


def _big_village(app: Flask) -> dict:
    """The village of 2,000 households, its commune and team, and a part of a phone number in it."""
    with app.app_context():
        village = db.session.scalar(sa.select(Village).where(Village.name == generate.BIG_VILLAGE))
        if village is None:
            raise SystemExit(f"No village {generate.BIG_VILLAGE!r}: is this a generated bench database?")
        team_id = db.session.scalar(
            sa.select(team_village.c.team_id).where(team_village.c.village_id == village.id).limit(1)
        )
        live = sa.and_(Household.village_id == village.id, Household.deleted_at.is_(None))
        registered = db.session.scalar(sa.select(sa.func.count()).where(live))
        phones = db.session.scalars(
            sa.select(Household.phone).where(live, Household.phone.is_not(None)).order_by(Household.id)
        ).all()
        found = {
            "id": village.id,
            "name": village.name,
            "commune_id": village.commune_id,
            "commune": village.commune.name,
            "team_id": team_id,
            "registered": registered,
            # Four digits from the middle of a number, as someone half remembering it types them.
            "phone_fragment": phones[len(phones) // 2][4:8] if phones else "0000",
        }
        db.session.remove()
    return found


@cache
def _folded(name: str) -> str:
    return fold(name)


def _naive_counts(app: Flask, where, asked: list[Query]) -> dict[str, int]:
    """How many households (not deleted) of a reach each query matches, by the rule applied in
    Python to every name (each distinct name once, with how many households bear it) and to
    every phone number."""
    with app.app_context():
        live = sa.and_(where, Household.deleted_at.is_(None))
        names = db.session.execute(
            sa.select(Household.head_name, sa.func.count()).where(live).group_by(Household.head_name)
        ).all()
        phones = db.session.scalars(sa.select(Household.phone).where(live, Household.phone.is_not(None))).all()
        db.session.remove()
    counts = {}
    for query in asked:
        if query.digits:
            counts[query.text] = sum(query.matches("", phone) for phone in phones)
        else:
            counts[query.text] = sum(households for name, households in names if query.matches(name, None))
    return counts


def _check(app: Flask, way: Way, response, query: Query, where, expected: int) -> str | None:
    """What is wrong with one answer, against the naive search; None when it is right."""
    if response.status_code != 200:
        return f"answered {response.status_code}"
    found = way.listed(response)
    if way.is_registry:
        total = re.search(r'class="lead">[^<]*?([\d.,\s]+)</p>', response.text)
        if total is None or int(re.sub(r"\D", "", total.group(1))) != expected:
            return f"shows {total and total.group(1)!r} households found, the naive search {expected:,}"
    if len(found) != len(set(found)):
        return "lists a household twice"
    if len(found) != min(way.limit, expected):
        return f"lists {len(found)} households, expected {min(way.limit, expected)}"
    with app.app_context():
        listed = db.session.execute(
            sa.select(Household.head_name, Household.phone).where(
                Household.id.in_(found), where, Household.deleted_at.is_(None)
            )
        ).all()
        db.session.remove()
    wrong = len(found) - sum(query.matches(name, phone) for name, phone in listed)
    return f"lists {wrong} households that do not match or do not belong there" if wrong else None


def _timed(requests: dict[str, tuple[Callable, int]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each request, round after round, in a rotating order."""
    names = list(requests)
    for name in names:
        for _ in range(WARM_UP):
            requests[name][0]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            call, every = requests[name]
            if number % every:
                continue
            began = time.perf_counter()
            response = call()
            samples[name].append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name} answered {response.status_code}")
    return samples


def _table(village: dict, counts: dict, figures: dict, asked: list[Query]) -> list[str]:
    """Medians in ms: one line per query, one column per way of searching."""
    columns = ("API", "form", "village", "commune", "province")
    lines = [
        f"  {village['name']} ({village['commune']}): {village['registered']:,} households. Median ms; matches in"
        " the village / commune / province",
        f"  {'':30}{'':>22}" + "".join(f"{column:>10}" for column in columns),
    ]
    for query in [*asked, OPENED]:
        matches = "/".join(f"{counts[reach][query.text]:,}" for reach in ("village", "commune", "province"))
        cells = [figures.get(f"{way.name}: {query.label}", {}).get("median") for way in WAYS]
        lines.append(f"  {query.label:30}{matches:>22}" + "".join(
            f"{cell:>10,.1f}" if cell is not None else f"{'–':>10}" for cell in cells))  # fmt: skip
    for name in ("minimal page", "minimal page (province staff)"):
        lines.append(f"  {name:52}{figures[name]['median']:>10,.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only")
    parser.add_argument("--scale", type=float, default=1.0, help="which generated dataset (default 1)")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    url = generate.database_url(args.scale)
    generate.ensure(url, generate.Size.at(args.scale))
    part = run(url, quick=args.quick)
    part.print()
    return 0 if part.passed else 1


if __name__ == "__main__":
    sys.exit(main())
