"""The attendance CSV at province scale: rows per second, and memory that stays flat.

    python -m bench.export_stream                  # bench/data/bench.sqlite, or BENCH_DATABASE_URL
    python -m bench.export_stream --scale 0.1      # a smaller generated dataset (about 300,000 rows)
    python -m bench.export_stream --tracemalloc    # a second pass tracing Python's own allocations
    python -m bench.export_stream --floor          # also time the bare query on the driver's cursor

/exports/attendance.csv is downloaded through the Flask test client as a stream (the chunks
are counted as they come, never kept), signed in as a province user, for a period that holds
every session. The resident memory is sampled as the rows go by: if the export buffered
anything in proportion to the rows, the memory at the end would stand far above the memory
at a tenth of the way. Without the province database (made by `python -m bench`) the script
builds a smaller one with bench.generate and says so; rows per second do not depend on size.
The machine is shared, so `--floor` reads the same rows with the database driver alone in the
same run: the ratio of the two says what the export itself costs.
"""

import argparse
import os
import re
import resource
import secrets
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app.auth.services import create_user
from app.clock import local_today
from app.exchange import exports
from app.extensions import db
from app.models import Attendance, TrainingSession, User
from bench import generate

PHONE = "0399990003"  # 03…: the dataset's own people are 08… and 09…, so its counts stay the same
PATH = "/exports/attendance.csv?from=2000-01-01&to={today}"
FLAT_MB = 32  # the most the resident memory may grow between a tenth of the rows and the end
PAGE = os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_stream", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None, help="dataset size against the province")
    parser.add_argument("--tracemalloc", action="store_true", help="a second pass with tracemalloc")
    parser.add_argument("--floor", action="store_true", help="time the same query on the bare driver cursor")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    url = _database(args.scale)
    app = generate.bench_app(url)
    with app.app_context():
        upgrade()  # a database made before the latest migration still needs its new tables
        db.session.remove()
    password = _province_user(app)
    expected = _expected_rows(app)
    print(f"database: {generate.safe_url(url)}; attendance rows of sessions not deleted: {expected:,}", flush=True)

    client = _signed_in(app, password)
    first = _stream(client)
    print(_report("stream", first, expected), flush=True)
    flat = first["growth_mb"] <= FLAT_MB and first["rows"] == expected
    if args.floor:
        rows, seconds = _floor(app)
        print(
            f"floor: the bare query on the driver's cursor reads {rows:,} rows in {seconds:.1f} s ="
            f" {rows / seconds:,.0f} rows/s; the export takes {first['seconds'] / seconds:.1f} times as long",
            flush=True,
        )
    if args.tracemalloc:
        tracemalloc.start()
        traced = _stream(client)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(_report("with tracemalloc", traced, expected), flush=True)
        print(f"tracemalloc peak (Python allocations during the download): {peak / 2**20:.1f} MB", flush=True)
    print("memory flat: " + ("yes" if flat else "NO"), flush=True)
    return 0 if flat else 1


def _database(scale: float | None) -> str:
    """The province database when it is there; else a generated one of the scale asked (0.1)."""
    if scale is None:
        url = generate.database_url(1.0)
        if os.environ.get("BENCH_DATABASE_URL") or Path(sa.engine.make_url(url).database or "").exists():
            return url
        print("bench/data/bench.sqlite is not there: generating a dataset at scale 0.1 instead", flush=True)
        scale = 0.1
    url = generate.database_url(scale)
    generate.ensure(url, generate.Size.at(scale))
    return url


def _province_user(app: Flask) -> str:
    password = secrets.token_urlsafe(12)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.phone == PHONE))
        if user is None:
            create_user(phone=PHONE, full_name="Cán bộ Sở (bench exports)", role="province", password=password)
        else:
            user.set_password(password)
            user.is_active = True
        db.session.commit()
        db.session.remove()
    return password


def _expected_rows(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Attendance)
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(TrainingSession.deleted_at.is_(None))
        )
        db.session.remove()
    return int(count)


def _signed_in(app: Flask, password: str) -> FlaskClient:
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    response = client.post(
        "/login", data={"csrf_token": token and token.group(1), "phone": PHONE, "password": password}
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"Could not sign in: {response.status_code}")
    return client


def _stream(client: FlaskClient) -> dict:
    """Download the CSV chunk by chunk, keeping nothing but counts and memory samples."""
    max_rss_before = _max_rss_mb()
    started = time.perf_counter()
    response = client.get(PATH.format(today=local_today().isoformat()), buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code} for the attendance export")
    lines = size = chunks = 0
    first_byte = None
    samples: list[tuple[int, float]] = []  # (rows so far, resident MB)
    next_sample = 0
    try:
        for chunk in response.response:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            chunks += 1
            size += len(chunk)
            lines += chunk.count(b"\r\n")  # the csv module ends each row so; names hold no line breaks
            if lines >= next_sample:
                samples.append((lines, _rss_mb()))
                next_sample += 100_000
    finally:
        response.close()
    seconds = time.perf_counter() - started
    rows = lines - 1  # the header
    samples.append((rows, _rss_mb()))
    tenth = next((mb for seen, mb in samples if seen >= rows / 10), samples[0][1])
    return {
        "rows": rows,
        "seconds": seconds,
        "first_byte_s": first_byte or 0.0,
        "mb": size / 2**20,
        "chunks": chunks,
        "rss_tenth_mb": tenth,
        "rss_end_mb": samples[-1][1],
        "growth_mb": samples[-1][1] - tenth,
        "max_rss_before_mb": max_rss_before,
        "max_rss_after_mb": _max_rss_mb(),
        "samples": samples,
    }


def _floor(app: Flask) -> tuple[int, float]:
    """The export's query, read with the database driver alone (a server-side cursor on PostgreSQL)."""
    with app.app_context():
        scope = exports.Scope(date(2000, 1, 1), local_today())
        sql = str(exports.attendance_select(scope).compile(db.engine, compile_kwargs={"literal_binds": True}))
        raw = db.engine.raw_connection()
        try:
            driver = raw.driver_connection
            cursor = driver.cursor(name="floor") if db.engine.dialect.name == "postgresql" else driver.cursor()
            started = time.perf_counter()
            cursor.execute(sql)
            rows = 0
            while batch := cursor.fetchmany(exports.CHUNK_ROWS):
                rows += len(batch)
            seconds = time.perf_counter() - started
            cursor.close()
        finally:
            raw.close()
        db.session.remove()
    return rows, seconds


def _report(name: str, run: dict, expected: int) -> str:
    lines = [
        f"{name}: {run['rows']:,} rows ({'all' if run['rows'] == expected else 'EXPECTED ' + format(expected, ',')})"
        f" in {run['seconds']:.1f} s = {run['rows'] / run['seconds']:,.0f} rows/s;"
        f" {run['mb']:.0f} MB of CSV in {run['chunks']:,} chunks; first byte after {run['first_byte_s'] * 1000:.0f} ms",
        f"  resident memory: {run['rss_tenth_mb']:.1f} MB at a tenth of the rows, {run['rss_end_mb']:.1f} MB at the end"
        f" (growth {run['growth_mb']:+.1f} MB); peak RSS of the process (ru_maxrss)"
        f" {run['max_rss_before_mb']:.1f} MB before, {run['max_rss_after_mb']:.1f} MB after",
        "  samples (rows: MB): "
        + ", ".join(f"{seen:,}: {mb:.0f}" for seen, mb in run["samples"][:: max(1, len(run["samples"]) // 8)]),
    ]
    return "\n".join(lines)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


if __name__ == "__main__":
    sys.exit(main())
