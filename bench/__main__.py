"""python -m bench (or `make bench`): every performance figure beside its baseline, judged
against the budgets of the README's Performance section.

    python -m bench                        # SQLite: bench/data/bench.sqlite, built when missing
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/kns_bench python -m bench
    python -m bench --only dashboards,phone  # some parts only
    python -m bench --quick --scale 0.02   # a small dataset and short runs, to try the bench itself
    python -m bench --regenerate           # build the dataset again even when it is there

Parts: dashboards (province and commune against a minimal page and a naive recount), search
(a village of 2,000 households), exports (totals XLSX, the full attendance CSV), logging
(sessions per second under gunicorn against a one-row endpoint) and phone (pages in chromium
on slow 3G). Prints a table per part and writes bench/results.json. The exit status is 1 when
a figure is wrong or a budget is missed.
"""

import argparse
import importlib
import json
import os
import platform
import secrets
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench import generate

PARTS = ("dashboards", "search", "exports", "logging", "phone")
RESULTS = Path(__file__).parent / "results.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts (default: {','.join(PARTS)})")
    parser.add_argument("--quick", action="store_true", help="short runs, to try the bench itself")
    parser.add_argument("--regenerate", action="store_true", help="build the dataset even if it is there")
    parser.add_argument("--generate-only", action="store_true", help="build or check the dataset, time nothing")
    parser.add_argument("--scale", type=float, default=1.0, help="dataset size against the province (default 1)")
    parser.add_argument("--seed", type=int, default=generate.SEED)
    args = parser.parse_args(argv)
    parts = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)}")
    # Sign-ins only live as long as the run; a throwaway key leaves instance/ untouched.
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    started = time.perf_counter()
    url = generate.database_url(args.scale)
    generation = generate.ensure(url, generate.Size.at(args.scale), args.seed, args.regenerate)
    if args.generate_only:
        return 0
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(url),
        "database": _database(url),
        "dataset": generation.get("counts"),
        "generation": generation,
        "quick": args.quick,
        "parts": {},
    }
    finished = {}
    for name in parts:
        print(f"\n=== {name}", flush=True)
        part_started = time.perf_counter()
        load_average = [round(load, 2) for load in os.getloadavg()]
        part = finished[name] = importlib.import_module(f"bench.{name}").run(url, quick=args.quick)
        results["parts"][name] = {
            **part.as_dict(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average_at_start": load_average,
            "seconds": round(time.perf_counter() - part_started, 1),
        }
        _save(results)  # after every part: a long run that stops half-way keeps what it measured

    print(f"\n{'=' * 100}\nResults ({results['database']['dialect']}, {results['date']}, "
          f"load average at start {results['machine']['load_average']})")  # fmt: skip
    for part in finished.values():
        part.print()
    passed = all(part.passed for part in finished.values())
    results["passed"] = passed
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    _save(results)
    print(f"\n{'all budgets met' if passed else 'BUDGET MISSED'} in {results['bench_seconds']:.0f} s; "
          f"results in {RESULTS}")  # fmt: skip
    return 0 if passed else 1


def _machine(url: str) -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            info["postgresql"] = connection.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    return info


def _database(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            size = Path(engine.url.database).stat().st_size
        else:
            size = connection.scalar(sa.text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return {"url": generate.safe_url(url), "dialect": engine.dialect.name, "size_mb": round(size / 2**20)}


def _save(results: dict) -> None:
    """bench/results.json keeps the latest run of each database kind side by side, and of
    each part: a run of some parts (--only) replaces those parts and keeps the others."""
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if "parts" not in next(iter(saved.values()), {"parts": 1}):
        saved = {}  # the layout of an older bench
    dialect = results["database"]["dialect"]
    parts = {**saved.get(dialect, {}).get("parts", {}), **results["parts"]}
    saved[dialect] = {**results, "parts": parts}
    if "passed" in results:
        saved[dialect]["passed"] = all(part["passed"] for part in parts.values())
    RESULTS.write_text(json.dumps(saved, indent=2, ensure_ascii=False, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
