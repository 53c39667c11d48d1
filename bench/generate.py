"""A province-scale dataset: seeded, bulk-loaded, built in minutes.

The shape: the 102 real communes, about ten villages each (some buôn with Ê Đê names), one
village of 2,000 households for search, 1,000,000 households, 500,000 sessions over the last
two years, 1 to 3 topics and about 6 households per session, 2,000 volunteers in teams and an
officer per commune. Dates count back from the day of generation, so "the last 30 days" of
the dashboards always has activity.

Rows go in with the raw driver: `executemany` in one transaction on SQLite, `COPY` on
PostgreSQL. The schema comes from the migrations and the counters from `tallies.rebuild()`,
exactly as on a real database.
"""

import json
import math
import os
import random
import time
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from app import create_app
from app.clock import local_today
from app.extensions import db
from app.models import Commune, Topic
from app.places.services import load_communes, official_communes
from app.progress import tallies
from app.text import fold

DATA_DIR = Path(__file__).parent / "data"
GENERATIONS = DATA_DIR / "generations.json"  # how each database in use was built, by URL
PROVINCE_CODE = 66
PROVINCE_TARGET = 257_959
SEED = 66
DAYS = 730
BATCH = 50_000
# Generated people have phones 08… (officers) and 09… (volunteers); the sign-ins the
# dashboards benchmark adds use 03…, so they never change the counts that identify a dataset.
GENERATED_PHONES = ("08%", "09%")
LOADED_TABLES = ("team", "village", "team_village", "user", "household", "training_session", "session_topic",
                 "attendance")  # fmt: skip

KINH_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
               "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương")  # fmt: skip
KINH_MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Đức", "Ngọc", "Thanh", "Quang", "Xuân", "Thị Thu", "Công")
KINH_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hoa", "Hoà", "Hùng", "Hương",
              "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm",
              "Thảo", "Thu", "Trang", "Tuấn", "Vân", "Yến", "Đông", "Khánh", "Lộc", "Nhung", "Oanh",
              "Tùng", "Việt")  # fmt: skip
EDE_GIVEN = ("Hen", "Yam", "Ngơm", "Linh", "Bia", "Blông", "Hoan", "Drang", "Kông", "Bhim", "Sơn",
             "Rơi", "Phim", "Thuế", "Juin", "Jú", "Wơn", "Khăm", "Duôn", "Diu", "Mư", "Yâo", "Kuê",
             "Dhiêu", "Ngun", "Bluin", "Mai", "Hương", "Krư", "Thu")  # fmt: skip
EDE_CLAN = ("Niê", "Mlô", "Êban", "Byă", "Knul", "Ksơr", "Adrơng", "Buôn Yă", "Hwing", "Niê Kdăm",
            "Ayŭn", "Êñuôl", "Mdrang", "Bkrông", "Hđơk", "Mjâu", "Ktla", "Kpă", "Alê", "Rcăm")  # fmt: skip
BUON_PARTS = ("Ako", "Dhông", "Kmrơng", "Prông", "Ea Kao", "Tơng Jù", "Kô Sier", "M'dhar", "Ea Bông",
              "Ea Kmar", "Krông", "Hra", "Drai", "Êmông", "Kriêng", "Đôn", "Trấp", "M'duk", "Sút",
              "M'grư", "Ea Nao", "Kdruh", "Cuôr", "Ale", "Kram", "Tring", "Ea Tul", "Jut")  # fmt: skip
BON_PARTS = ("Bu Đăk", "Jun Jŭh", "R'Lơm", "Ja Ráh", "Đăk Nơ", "Bu Prăng", "Yôk Lang", "Đắk Mâm")
BIG_VILLAGE = "Buôn Ako Dhông"


@dataclass(frozen=True)
class Size:
    """How big the province is. `scale` shrinks it for a quick trial of the bench itself."""

    villages: int
    households: int
    sessions: int
    volunteers: int
    big_village: int

    @classmethod
    def at(cls, scale: float = 1.0) -> "Size":
        households = round(1_000_000 * scale)
        return cls(
            villages=max(204, round(1_000 * scale)),
            households=households,
            sessions=round(500_000 * scale),
            volunteers=max(306, round(2_000 * scale)),
            big_village=min(2_000, households // 20),
        )


@dataclass
class PlannedVillage:
    commune: int  # index into Plan.communes
    name: str
    kind: str
    team: int = 0  # index into Plan.teams
    households: int = 0
    reach: float = 0.0  # share of its households that sessions draw from

    @property
    def pool(self) -> int:
        """How many of its households (the first ones) the sessions draw from."""
        return max(min(self.households, 12), int(self.reach * self.households))


@dataclass
class Plan:
    """Everything that fixes the row counts, drawn cheaply before any row is written."""

    communes: list[tuple[str, str]]  # (code, kind), by code
    villages: list[PlannedVillage] = field(default_factory=list)
    teams: list[tuple[int, str]] = field(default_factory=list)  # (commune, name)
    volunteers: list[tuple[int, int]] = field(default_factory=list)  # (commune, team)
    session_village: array = field(default_factory=lambda: array("i"))
    session_days_ago: array = field(default_factory=lambda: array("i"))
    session_attendees: array = field(default_factory=lambda: array("b"))
    session_topics: array = field(default_factory=lambda: array("b"))

    def expected_counts(self) -> dict[str, int]:
        return {
            "commune": len(self.communes),
            "village": len(self.villages),
            "team": len(self.teams),
            "team_village": len(self.villages),
            "user": len(self.volunteers) + len(self.communes),
            "household": sum(village.households for village in self.villages),
            "training_session": len(self.session_village),
            "session_topic": sum(self.session_topics),
            "attendance": sum(self.session_attendees),
        }

    def commune_households(self) -> list[int]:
        totals = [0] * len(self.communes)
        for village in self.villages:
            totals[village.commune] += village.households
        return totals


# ---------------------------------------------------------------------------------------------
# The plan


def make_plan(size: Size, seed: int = SEED) -> Plan:
    rng = random.Random(f"{seed}:plan")
    communes = sorted(
        ((str(int(ward.code)), ward.division_type.name.lower()) for ward in official_communes(PROVINCE_CODE)),
        key=lambda item: item[0],
    )
    plan = Plan(communes=communes)
    per_commune = _spread(size.villages, [rng.uniform(0.5, 1.5) for _ in communes], minimum=2, rng=rng)
    big_commune = max(range(len(communes)), key=lambda index: per_commune[index])
    for index, ((_code, kind), count) in enumerate(zip(communes, per_commune, strict=True)):
        plan.villages.extend(_villages(rng, index, kind, count, with_big=index == big_commune))

    big = next(i for i, village in enumerate(plan.villages) if village.name == BIG_VILLAGE)
    others = [i for i in range(len(plan.villages)) if i != big]
    sizes = _spread(size.households - size.big_village, [rng.uniform(0.5, 1.5) for _ in others], 1, rng)
    for index, households in zip(others, sizes, strict=True):
        plan.villages[index].households = households
    plan.villages[big].households = size.big_village
    for village in plan.villages:
        village.reach = rng.uniform(0.25, 0.85)

    for commune in range(len(communes)):
        villages = [village for village in plan.villages if village.commune == commune]
        first_team = len(plan.teams)
        teams = max(1, round(len(villages) / 4))
        plan.teams.extend((commune, f"Tổ CNS số {number}") for number in range(1, teams + 1))
        for number, village in enumerate(villages):
            village.team = first_team + number % teams
    volunteers = _spread(size.volunteers, plan.commune_households(), minimum=3, rng=rng)
    for commune, count in enumerate(volunteers):
        teams = [index for index, (team_commune, _name) in enumerate(plan.teams) if team_commune == commune]
        plan.volunteers.extend((commune, teams[seat % len(teams)]) for seat in range(count))

    weights = [village.households for village in plan.villages]
    drawn = sorted(
        (int(DAYS * (1 - math.sqrt(rng.random()))), village)  # more sessions lately
        for village in rng.choices(range(len(plan.villages)), weights=weights, k=size.sessions)
    )
    drawn.reverse()  # oldest first, so session ids follow the dates as in real use
    for days_ago, village in drawn:
        plan.session_village.append(village)
        plan.session_days_ago.append(days_ago)
        plan.session_attendees.append(min(rng.randint(3, 9), plan.villages[village].pool))
        plan.session_topics.append(rng.choices((1, 2, 3), weights=(50, 35, 15))[0])
    return plan


def _spread(total: int, weights: list[float], minimum: int, rng: random.Random) -> list[int]:
    """`total` split in proportion to the weights, each share at least `minimum`, summing exactly."""
    spare = total - minimum * len(weights)
    scale = spare / sum(weights)
    shares = [minimum + int(weight * scale) for weight in weights]
    for index in rng.sample(range(len(weights)), total - sum(shares)):
        shares[index] += 1
    return shares


def _villages(rng: random.Random, commune: int, commune_kind: str, count: int, with_big: bool) -> list[PlannedVillage]:
    """Thôn (or tổ dân phố in a ward) numbered from 1, buôn and bon with highland names."""
    made: list[PlannedVillage] = []
    folded: set[str] = set()

    def add(name: str, kind: str) -> None:
        folded.add(fold(name))
        made.append(PlannedVillage(commune=commune, name=name, kind=kind))

    if with_big:
        add(BIG_VILLAGE, "buon")
    numbered = 0
    while len(made) < count:
        roll = rng.random()
        if commune_kind == "phuong":
            kind = "buon" if roll < 0.3 else "to_dan_pho"
        else:
            kind = "buon" if roll < 0.35 else "bon" if roll < 0.45 else "thon"
        if kind in ("thon", "to_dan_pho"):
            numbered += 1
            add(f"{'Thôn' if kind == 'thon' else 'Tổ dân phố'} {numbered}", kind)
            continue
        parts = BUON_PARTS if kind == "buon" else BON_PARTS
        name = f"{'Buôn' if kind == 'buon' else 'Bon'} {rng.choice(parts)}"
        if fold(name) in folded:
            name = f"{name} {rng.choice(parts)}"
        if fold(name) not in folded:
            add(name, kind)
    return made


# ---------------------------------------------------------------------------------------------
# Loading rows


class SqliteLoader:
    """executemany in big batches, in one transaction, with syncing off for the load."""

    def __init__(self, engine: sa.Engine):
        self._raw = engine.raw_connection()
        self._connection = self._raw.driver_connection
        self._connection.isolation_level = None  # BEGIN and COMMIT are ours
        for pragma in ("synchronous=OFF", "journal_mode=WAL", "cache_size=-1000000", "temp_store=MEMORY"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._connection.execute("BEGIN")

    def insert(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        statement = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'  # noqa: S608 (names are ours)
        cursor = self._connection.cursor()
        written = 0
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH)):
            cursor.executemany(statement, batch)
            written += len(batch)
        return written

    def timestamp(self, day: str, minute: int) -> str:
        return f"{day} {minute // 60 % 24:02d}:{minute % 60:02d}:00.000000"  # SQLAlchemy's SQLite format

    def finish(self) -> None:
        self._connection.execute("COMMIT")
        self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._raw.invalidate()  # its pragmas are the load's, not the app's: never hand it out again


class PostgresLoader:
    """COPY … FROM STDIN in one transaction. Row-by-row foreign-key checks and index updates
    would make the load several times slower, so the loaded tables' foreign keys and plain
    indexes are dropped first and made again afterwards from their own definitions (which
    also checks every foreign key, in one pass)."""

    def __init__(self, engine: sa.Engine):
        from psycopg import sql

        self._raw = engine.raw_connection()
        self._connection = self._raw.driver_connection
        tables = [sql.Identifier(table).as_string(self._connection) for table in LOADED_TABLES]
        with self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY conname",
                (tables,),
            )
            self._foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
                " WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND NOT indisunique ORDER BY 1",
                (tables,),
            )
            self._indexes = cursor.fetchall()
            for table, name, _definition in self._foreign_keys:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.SQL(table), sql.Identifier(name))
                )
            for name, _definition in self._indexes:
                cursor.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))

    def insert(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        from psycopg import sql

        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        written = 0
        with self._connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        return written

    def timestamp(self, day: str, minute: int) -> str:
        return f"{day} {minute // 60 % 24:02d}:{minute % 60:02d}:00+00"

    def finish(self) -> None:
        from psycopg import sql

        with self._connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for _name, definition in self._indexes:
                cursor.execute(definition)
            for table, name, definition in self._foreign_keys:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.SQL(table), sql.Identifier(name))
                    + sql.SQL(definition)
                )
            for table in ("team", "village", "user", "household", "training_session"):
                cursor.execute(
                    sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))").format(
                        sql.Literal(sql.Identifier(table).as_string(self._connection)), sql.Identifier(table)
                    )
                )
        self._connection.commit()
        self._raw.close()


class Timer:
    """Phases of the generation, printed as they end and kept for the results file."""

    def __init__(self):
        self.started = time.perf_counter()
        self.phases: dict[str, float] = {}

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.started:7.1f}s] {message}", flush=True)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.phases[name] = round(time.perf_counter() - started, 2)
        self.log(f"{name}: {self.phases[name]:.1f}s")


def load(plan: Plan, timer: Timer, seed: int = SEED) -> None:
    """Write every row of the plan into the (migrated, empty) database of the app context."""
    with timer.phase("communes"):
        load_communes(PROVINCE_CODE)
        db.session.flush()
        commune_ids = dict(db.session.execute(sa.select(Commune.code, Commune.id)).tuples().all())
        communes = [commune_ids[code] for code, _kind in plan.communes]
        targets = _spread(PROVINCE_TARGET, plan.commune_households(), 0, random.Random(f"{seed}:targets"))
        db.session.execute(
            sa.update(Commune),
            [{"id": commune, "target_households": target} for commune, target in zip(communes, targets, strict=True)],
        )
        topic_ids = list(db.session.scalars(sa.select(Topic.id).order_by(Topic.sort_order)))
        db.session.commit()

    today = local_today()
    days = [(today - timedelta(days=days_ago)).isoformat() for days_ago in range(DAYS + 30)]
    loader = (SqliteLoader if db.engine.dialect.name == "sqlite" else PostgresLoader)(db.engine)

    def write(name: str, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        with timer.phase(name):
            written = loader.insert(table, columns, rows)
        timer.log(f"  {written:,} rows in {table}")

    write("teams", "team", ["id", "commune_id", "name", "created_at"],
          ((number, communes[commune], name, loader.timestamp(days[DAYS], 480))
           for number, (commune, name) in enumerate(plan.teams, start=1)))  # fmt: skip
    write("villages", "village", ["id", "commune_id", "name", "folded_name", "kind", "created_at"],
          ((number, communes[v.commune], v.name, fold(v.name), v.kind, loader.timestamp(days[DAYS], 480))
           for number, v in enumerate(plan.villages, start=1)))  # fmt: skip
    write("team villages", "team_village", ["team_id", "village_id"],
          ((village.team + 1, number) for number, village in enumerate(plan.villages, start=1)))  # fmt: skip
    people = _people(plan, communes, random.Random(f"{seed}:people"), loader.timestamp(days[DAYS], 480))
    write("users", "user", ["id", "phone", "full_name", "password_hash", "role", "commune_id", "team_id",
                            "is_active", "locale", "created_at"], people.rows)  # fmt: skip

    members: list[list[int]] = [[] for _ in plan.villages]
    write("households", "household",
          ["id", "uuid", "commune_id", "village_id", "head_name", "head_name_folded", "address", "phone",
           "created_by_id", "created_at", "updated_at", "deleted_at"],
          _households(plan, communes, people, members, days, loader.timestamp, random.Random(f"{seed}:households")))  # fmt: skip
    write("sessions", "training_session",
          ["id", "uuid", "fingerprint", "held_on", "commune_id", "village_id", "team_id", "volunteer_id", "language",
           "attendees", "notes", "status", "review_note", "reviewed_by_id", "reviewed_at", "created_at",
           "updated_at", "deleted_at"],
          _sessions(plan, communes, people, days, loader.timestamp, random.Random(f"{seed}:sessions")))  # fmt: skip
    write("session topics", "session_topic", ["session_id", "topic_id"],
          _session_topics(plan, topic_ids, random.Random(f"{seed}:topics")))  # fmt: skip
    write("attendance", "attendance", ["session_id", "household_id"],
          _attendance(plan, members, random.Random(f"{seed}:attendance")))  # fmt: skip
    with timer.phase("commit" if isinstance(loader, SqliteLoader) else "indexes, foreign keys, commit"):
        loader.finish()


@dataclass
class People:
    rows: list[tuple]
    volunteers_of_team: dict[int, list[int]]  # team index -> user ids
    volunteers_of_commune: dict[int, list[int]]  # commune index -> user ids
    officer_of_commune: dict[int, int]


def _people(plan: Plan, communes: list[int], rng: random.Random, created_at: str) -> People:
    """Volunteers in teams and an officer per commune, all with the same (unknown) password."""
    password_hash = generate_password_hash(uuid.UUID(int=rng.getrandbits(128)).hex)  # one hash, reused
    names = _name_pool(rng)
    people = People([], {}, {}, {})
    for number, (commune, team) in enumerate(plan.volunteers, start=1):
        people.rows.append((number, f"09{10_000_000 + number}", rng.choice(names), password_hash, "volunteer",
                            communes[commune], team + 1, True, "vi", created_at))  # fmt: skip
        people.volunteers_of_team.setdefault(team, []).append(number)
        people.volunteers_of_commune.setdefault(commune, []).append(number)
    for commune in range(len(plan.communes)):
        number = len(people.rows) + 1
        people.rows.append((number, f"08{10_000_000 + number}", rng.choice(names), password_hash, "officer",
                            communes[commune], None, True, "vi", created_at))  # fmt: skip
        people.officer_of_commune[commune] = number
    return people


def _name_pool(rng: random.Random) -> list[str]:
    kinh = [f"{family} {middle} {given}" for family in KINH_FAMILY for middle in KINH_MIDDLE for given in KINH_GIVEN]
    return rng.sample(kinh, 2_500)


def _highland_pool() -> list[str]:
    names = [f"{prefix} {given} {clan}" for prefix in ("H'", "Y") for given in EDE_GIVEN for clan in EDE_CLAN]
    names = [name.replace("H' ", "H'") for name in names]
    return names + [f"{prefix} {given}" for prefix in ("Ama", "Amí") for given in EDE_GIVEN]


def _households(plan, communes, people: People, members, days, timestamp: Callable, rng: random.Random):
    """Households in a random order across villages, as registration happens in real use."""
    kinh, highland = _name_pool(rng), _highland_pool()
    folded = {name: fold(name) for name in kinh + highland}
    village_of = [index for index, village in enumerate(plan.villages) for _ in range(village.households)]
    rng.shuffle(village_of)
    for number, index in enumerate(village_of, start=1):
        village = plan.villages[index]
        members[index].append(number)
        highland_share = 0.85 if village.kind in ("buon", "bon") else 0.1
        name = rng.choice(highland if rng.random() < highland_share else kinh)
        created_by = rng.choice(people.volunteers_of_commune[village.commune]) if rng.random() < 0.9 else None
        day = days[rng.randrange(DAYS)]
        created_at = timestamp(day, rng.randrange(420, 1080))
        yield (
            number,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            communes[village.commune],
            index + 1,
            name,
            folded[name],
            f"Số {rng.randint(1, 250)}" if rng.random() < 0.8 else None,
            f"{rng.choice(('09', '08', '03', '07', '05'))}{rng.randrange(10**8):08d}" if rng.random() < 0.3 else None,
            created_by,
            created_at,
            created_at,
            timestamp(days[rng.randrange(30)], 600) if rng.random() < 0.005 else None,
        )


def _sessions(plan: Plan, communes, people: People, days, timestamp: Callable, rng: random.Random):
    languages, language_weights = ("vi", "ede", "mnong", "jrai", "other", None), (60, 20, 5, 3, 2, 10)
    for number, (index, days_ago, attendees) in enumerate(
        zip(plan.session_village, plan.session_days_ago, plan.session_attendees, strict=True), start=1
    ):
        village = plan.villages[index]
        roll = rng.random()
        if roll < 0.03:
            status = "rejected"
        elif roll < 0.04:
            status = "needs_review"
        elif roll < (0.8 if days_ago > 30 else 0.35):
            status = "verified"
        else:
            status = "pending"
        created_at = timestamp(days[days_ago], rng.randrange(420, 1200))
        reviewed_at = timestamp(days[max(days_ago - rng.randint(0, 7), 0)], 900) if status != "pending" else None
        team_volunteers = people.volunteers_of_team.get(village.team) or people.volunteers_of_commune[village.commune]
        yield (
            number,
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"{rng.getrandbits(256):064x}",
            days[days_ago],
            communes[village.commune],
            index + 1,
            village.team + 1,
            rng.choice(team_volunteers),
            rng.choices(languages, weights=language_weights)[0],
            attendees + rng.randint(0, 4) if rng.random() < 0.7 else None,
            None,
            status,
            "Số hộ chưa khớp với danh sách của thôn" if status in ("rejected", "needs_review") else None,
            people.officer_of_commune[village.commune] if reviewed_at else None,
            reviewed_at,
            created_at,
            reviewed_at or created_at,
            timestamp(days[max(days_ago - 1, 0)], 1000) if rng.random() < 0.01 else None,
        )


def _session_topics(plan: Plan, topic_ids: list[int], rng: random.Random):
    for number, count in enumerate(plan.session_topics, start=1):
        for topic in rng.sample(topic_ids, count):
            yield number, topic


def _attendance(plan: Plan, members: list[list[int]], rng: random.Random):
    """About six households a session, drawn from the part of its village that is being reached."""
    for number, (index, attendees) in enumerate(zip(plan.session_village, plan.session_attendees, strict=True), 1):
        households = members[index]
        for position in rng.sample(range(plan.villages[index].pool), attendees):
            yield number, households[position]


# ---------------------------------------------------------------------------------------------
# The database


def database_url(scale: float = 1.0) -> str:
    """BENCH_DATABASE_URL, else an SQLite file under bench/data/ (one per scale)."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    DATA_DIR.mkdir(exist_ok=True)
    name = "bench.sqlite" if scale == 1 else f"bench-{scale:g}.sqlite"
    return f"sqlite:///{DATA_DIR / name}"


def bench_app(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url})


def counts_in_database() -> dict[str, int]:
    counts = {}
    for table in ("commune", "village", "team", "team_village", "household", "training_session", "session_topic",
                  "attendance"):  # fmt: skip
        counts[table] = db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
    user = sa.table("user", sa.column("phone"))
    counts["user"] = db.session.scalar(
        sa.select(sa.func.count()).select_from(user).where(sa.or_(*(user.c.phone.like(p) for p in GENERATED_PHONES)))
    )
    return {table: counts[table] for table in sorted(counts)}


def ensure(url: str, size: Size, seed: int = SEED, regenerate: bool = False) -> dict:
    """Re-use the database when its row counts are the plan's; otherwise build it. Returns what
    was done, and the phases of the build that made the database (kept in GENERATIONS, so a
    later run on the same database still reports them)."""
    timer = Timer()
    with timer.phase("plan"):
        plan = make_plan(size, seed)
    expected = plan.expected_counts()
    timer.log("plan: " + ", ".join(f"{table} {count:,}" for table, count in sorted(expected.items())))
    app = bench_app(url)
    with app.app_context():
        upgrade()
        found = counts_in_database()
        has_tallies = bool(db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("village_tally"))))
        db.session.remove()
        if found == expected and not regenerate:
            built = _recalled(url, found)
            if has_tallies:
                timer.log(f"re-using {safe_url(url)}: its row counts are the plan's")
                return {"generated": False, "counts": found, "built": built}
            timer.log("rows are there but the counters are not: rebuilding them")
            _rebuild(timer)
            return {"generated": False, "counts": found, "built": built, "rebuilt": timer.phases}
        if any(found.values()):
            why = "--regenerate" if found == expected else f"it holds other data ({found})"
            timer.log(f"emptying {safe_url(url)}: {why}")
            _empty(url)
            upgrade()
        timer.log(f"generating into {safe_url(url)}")
        load(plan, timer, seed)
        _rebuild(timer)
        if db.engine.dialect.name == "postgresql":
            with timer.phase("vacuum analyze"), db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        found = counts_in_database()
        db.session.remove()
    if found != expected:
        raise RuntimeError(f"the database holds {found}, the plan says {expected}")
    total = round(time.perf_counter() - timer.started, 1)
    timer.log(f"generation done in {total:.0f}s")
    built = {"on": datetime.now(UTC).isoformat(timespec="seconds"), "seed": seed, "size": size.__dict__,
             "counts": found, "phases_s": timer.phases, "total_s": total}  # fmt: skip
    _remember(url, built)
    return {"generated": True, "counts": found, "built": built}


def _remember(url: str, built: dict) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    saved = json.loads(GENERATIONS.read_text()) if GENERATIONS.exists() else {}
    saved[safe_url(url)] = built
    GENERATIONS.write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n")


def _recalled(url: str, counts: dict[str, int]) -> dict | None:
    """How this database was built, if it is still the database that was built then."""
    saved = json.loads(GENERATIONS.read_text()) if GENERATIONS.exists() else {}
    built = saved.get(safe_url(url))
    return built if built and built.get("counts") == counts else None


def _rebuild(timer: Timer) -> None:
    """tallies.rebuild() and its commit, with the time of each statement printed.

    PostgreSQL gets statistics first, as autovacuum would give a database in use: without
    them, rebuild()'s correlated UPDATE of household is planned as a scan of training_session
    for every household: hours at this scale."""
    if db.engine.dialect.name == "postgresql":
        with timer.phase("analyze"), db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("ANALYZE"))
    statements = StatementTimer(db.engine)
    with statements, timer.phase("rebuild"):
        tallies.rebuild()
    with timer.phase("rebuild commit"):
        db.session.commit()
    for seconds, sql in statements.slowest(10):
        timer.log(f"  {seconds:8.2f}s  {sql}")


class StatementTimer:
    """Times every statement an engine runs while the block is open (slowest first).

    SQLite's cursor hands rows over lazily, so the time a SELECT spends in `execute` can be a
    fraction of its cost there; `replayed()` runs each captured SELECT again and fetches every
    row, which times both databases alike."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.statements: list[tuple[float, str, object]] = []

    def __enter__(self) -> "StatementTimer":
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, connection, _cursor, _statement, _parameters, _context, _many):
        connection.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, connection, _cursor, statement, parameters, _context, _many):
        elapsed = time.perf_counter() - connection.info["bench_started"].pop()
        self.statements.append((elapsed, statement, parameters))

    def slowest(self, count: int) -> list[tuple[float, str]]:
        return ranked([(seconds, statement) for seconds, statement, _parameters in self.statements], count)

    def replayed(self) -> list[tuple[float, str]]:
        """Each SELECT again on a connection of its own, every row fetched."""
        timed = []
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for _seconds, statement, parameters in self.statements:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                started = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                timed.append((time.perf_counter() - started, statement))
            cursor.close()
        finally:
            raw.close()
        return timed


def ranked(timed: list[tuple[float, str]], count: int, width: int = 160) -> list[tuple[float, str]]:
    ranked = sorted(timed, key=lambda item: item[0], reverse=True)[:count]
    return [(round(seconds, 4), _one_line(sql, width)) for seconds, sql in ranked]


def _one_line(sql: str, width: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def _empty(url: str) -> None:
    """Drop the benchmark's data: the SQLite file, or every table of a PostgreSQL bench database."""
    db.engine.dispose()
    if db.engine.dialect.name == "sqlite":
        path = Path(sa.engine.make_url(url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = sa.engine.make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"Refusing to empty the database {name!r}: its name must contain 'bench'.")
    db.drop_all()
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def safe_url(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)
