"""Exports at province scale: the totals (XLSX beside CSV) and the full attendance CSV.

    python -m bench.exports              # bench/data/bench.sqlite, or BENCH_DATABASE_URL
    python -m bench.exports --quick      # attendance of the last 30 days only, fewer requests
    python -m bench.exports --scale 0.1  # a generated dataset of another size

Everything is downloaded through the Flask test client, signed in as province staff, as a
browser would. The totals (one row per commune and the totals row) are requested as XLSX and
as CSV in turns, for the default 30 days and for all time, and written once more by
`flask export totals --format xlsx`; the three files must hold the same rows.

The attendance CSV (about 3,000,000 rows) is streamed in a process of its own, so its peak
memory (VmHWM, beside ru_maxrss) is the export's and not what an earlier part of the bench left
behind; the chunks are counted as they come, never kept, and the resident memory is sampled
every 100,000 rows. Its baseline is the floor: the same query read with the bare driver cursor in this
process, before and after the export (the faster read is kept). The row count must equal the
database's. Budget (issue 8): peak memory under 200 MB; the memory must also stay flat, not
grow with the rows.
"""

import argparse
import csv
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from app.clock import local_today
from app.exchange import exports
from app.extensions import db
from app.models import Attendance, TrainingSession
from app.progress import tallies
from bench import generate, report
from bench.users import bench_user, signed_in

PROVINCE_PHONE = "0399990003"
PEAK_MB = 200  # issue 8: the full CSV export with peak memory under 200 MB
FLAT_MB = 32  # the most the resident memory may grow between a tenth of the rows and the end
TITLE_LINES = 3  # an XLSX export's rows above its header (app.exchange.exports.title_lines)
ALL_TIME = date(2000, 1, 1)
QUICK_DAYS = 30
TOTALS_ROUNDS, QUICK_TOTALS_ROUNDS = 10, 3
CHILD_TIMEOUT_S = 3600
ROOT = Path(__file__).parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")


def run(url: str, *, quick: bool = False) -> report.Part:
    started = time.perf_counter()
    part = report.Part("Exports (totals XLSX and CSV, full attendance CSV)")
    app = generate.bench_app(url)
    password = bench_user(app, PROVINCE_PHONE, "province", "Cán bộ Sở (bench exports)")
    client = signed_in(app, PROVINCE_PHONE, password)
    today = local_today()

    totals = _totals(app, client, today, QUICK_TOTALS_ROUNDS if quick else TOTALS_ROUNDS, part)
    start = today - timedelta(days=QUICK_DAYS - 1) if quick else ALL_TIME
    expected = _attendance_rows(app, start, today)
    floor_before = _floor(app, start, today)
    stream = _stream_in_child(url, password, start, today)
    floor_after = _floor(app, start, today)
    floor = min(floor_before, floor_after, key=lambda read: read["seconds"])
    if stream["rows"] != expected:
        part.problems.append(f"the attendance CSV holds {stream['rows']:,} rows, the database {expected:,}")
    if floor["rows"] != expected:
        part.problems.append(f"the floor read {floor['rows']:,} rows, the database holds {expected:,}")

    attendance = {
        "period": {"from": start.isoformat(), "to": today.isoformat()},
        "rows_in_database": expected,
        "export": stream,
        "floor": {"before": floor_before, "after": floor_after},
        "export_over_floor": round(stream["seconds"] / floor["seconds"], 2),
    }
    part.figures = {"totals": totals, "attendance_csv": attendance,
                    "bench_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    part.table = _totals_table(totals) + _attendance_table(attendance, floor)
    part.budgets = [
        report.Budget("attendance CSV: peak memory of the process", stream["peak_after_mb"], PEAK_MB, unit="MB"),
        report.Budget("attendance CSV: growth after a tenth of the rows", stream["growth_mb"], FLAT_MB, unit="MB"),
    ]
    return part


# ---------------------------------------------------------------------------------------------
# The totals


def _totals(app: Flask, client: FlaskClient, today: date, rounds: int, part: report.Part) -> dict:
    """Each period's totals as XLSX and CSV, requested in turns; the CLI's file; the checks."""
    periods = {"last 30 days": exports.default_period(None, None, today), "all time": (ALL_TIME, today)}
    with app.app_context():
        trained = tallies.province_figures()[0]
        db.session.remove()
    results = {}
    for label, (start, end) in periods.items():
        query = {"from": start.isoformat(), "to": end.isoformat()}
        downloads = {fmt: _download(client, f"/exports/totals.{fmt}", query) for fmt in ("xlsx", "csv")}
        samples: dict[str, list[float]] = {"xlsx": [], "csv": []}
        for number in range(rounds):
            for fmt in ("xlsx", "csv") if number % 2 else ("csv", "xlsx"):
                samples[fmt].append(_download(client, f"/exports/totals.{fmt}", query)[0])
        cli_ms, cli_rows = _cli_totals(app, start, end)
        xlsx_rows, csv_rows = _xlsx_rows(downloads["xlsx"][1]), _csv_rows(downloads["csv"][1])
        if xlsx_rows != csv_rows:
            part.problems.append(f"totals, {label}: the XLSX and the CSV differ")
        if cli_rows != xlsx_rows:
            part.problems.append(f"totals, {label}: `flask export totals` and the web XLSX differ")
        if xlsx_rows[-1][3] != str(trained):
            part.problems.append(f"totals, {label}: {xlsx_rows[-1][3]} trained, the dashboards' counter {trained}")
        rows = len(xlsx_rows)
        results[label] = {
            "period": query,
            "rows": rows,
            "xlsx_ms": report.summary(samples["xlsx"]),
            "csv_ms": report.summary(samples["csv"]),
            "cli_xlsx_ms": round(cli_ms, 2),
            "xlsx_rows_per_s": round(rows / (report.summary(samples["xlsx"])["median"] / 1000)),
            "csv_rows_per_s": round(rows / (report.summary(samples["csv"])["median"] / 1000)),
            "xlsx_bytes": len(downloads["xlsx"][1]),
            "xlsx_python_peak_mb": _traced_peak_mb(client, "/exports/totals.xlsx", query),
        }
    return results


def _download(client: FlaskClient, path: str, query: dict) -> tuple[float, bytes]:
    began = time.perf_counter()
    response = client.get(path, query_string=query)
    body = response.get_data()
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return elapsed, body


def _traced_peak_mb(client: FlaskClient, path: str, query: dict) -> float:
    """Python's own allocations at their peak during one download (small exports only: tracing is slow)."""
    tracemalloc.start()
    try:
        _download(client, path, query)
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    finally:
        tracemalloc.stop()


def _cli_totals(app: Flask, start: date, end: date) -> tuple[float, list[tuple]]:
    """`flask export totals --format xlsx` into a temporary file: its time and rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "totals.xlsx"
        args = [
            "export",
            "totals",
            "--format",
            "xlsx",
            "-o",
            str(path),
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
        ]
        began = time.perf_counter()
        result = app.test_cli_runner().invoke(args=args)
        elapsed = (time.perf_counter() - began) * 1000
        if result.exit_code != 0:
            raise SystemExit(f"flask export totals failed: {result.output}")
        return elapsed, _xlsx_rows(path.read_bytes())


def _xlsx_rows(body: bytes) -> list[tuple]:
    """The rows below the header, as text, so they compare with the CSV's."""
    sheet = load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    width = len(next(sheet.iter_rows(min_row=TITLE_LINES + 1, max_row=TITLE_LINES + 1, values_only=True)))
    rows = sheet.iter_rows(min_row=TITLE_LINES + 2, values_only=True)
    # A read-only sheet leaves out the empty cells that end a row; the CSV keeps them.
    return [tuple(_as_csv_text(value) for value in row) + ("",) * (width - len(row)) for row in rows]


def _csv_rows(body: bytes) -> list[tuple]:
    return [tuple(row) for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]


def _as_csv_text(value) -> str:
    """A cell as the CSV writes it: shares as 45.7, dates as 2026-11-28, nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value * 100:.1f}"  # the only fractions in the totals are the shares
    if hasattr(value, "date"):
        return value.date().isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------
# The attendance CSV


def _attendance_rows(app: Flask, start: date, end: date) -> int:
    """What the export must hold: attendance at sessions of the period that are not deleted."""
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Attendance)
            .join(TrainingSession, TrainingSession.id == Attendance.session_id)
            .where(TrainingSession.held_on.between(start, end), TrainingSession.deleted_at.is_(None))
        )
        db.session.remove()
    return int(count)


def _floor(app: Flask, start: date, end: date) -> dict:
    """The export's own query read with the database driver alone (a server-side cursor on
    PostgreSQL, as the export uses), in chunks of the export's size."""
    with app.app_context():
        select = exports.attendance_select(exports.Scope(start, end))
        sql = str(select.compile(db.engine, compile_kwargs={"literal_binds": True}))
        raw = db.engine.raw_connection()
        try:
            driver = raw.driver_connection
            cursor = driver.cursor(name="floor") if db.engine.dialect.name == "postgresql" else driver.cursor()
            began = time.perf_counter()
            cursor.execute(sql)
            rows = 0
            while batch := cursor.fetchmany(exports.CHUNK_ROWS):
                rows += len(batch)
            seconds = time.perf_counter() - began
            cursor.close()
        finally:
            raw.close()
        db.session.remove()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def _stream_in_child(url: str, password: str, start: date, end: date) -> dict:
    """Run `_stream` in a fresh process and read back its figures."""
    env = {**os.environ, "BENCH_EXPORTS_URL": url, "BENCH_EXPORTS_PASSWORD": password}
    completed = subprocess.run(
        [sys.executable, "-m", "bench.exports", "--child", start.isoformat(), end.isoformat()],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"the attendance export process failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _child(start: date, end: date) -> int:
    """In the fresh process: sign in, stream the export, print the figures as one JSON line."""
    app = generate.bench_app(os.environ["BENCH_EXPORTS_URL"])
    client = signed_in(app, PROVINCE_PHONE, os.environ["BENCH_EXPORTS_PASSWORD"])
    print(json.dumps(_stream(client, {"from": start.isoformat(), "to": end.isoformat()})), flush=True)
    return 0


def _stream(client: FlaskClient, query: dict) -> dict:
    """Download /exports/attendance.csv chunk by chunk, keeping nothing but counts and memory samples."""
    peak_before, max_rss_before = _peak_mb(), _max_rss_mb()
    began = time.perf_counter()
    response = client.get("/exports/attendance.csv", query_string=query, buffered=False)
    if response.status_code != 200:
        raise SystemExit(f"{response.status_code} for the attendance export")
    lines = size = chunks = 0
    first_byte = None
    samples: list[tuple[int, float]] = []  # (rows so far, resident MB)
    next_sample = 0
    try:
        for chunk in response.response:
            if first_byte is None:
                first_byte = time.perf_counter() - began
            chunks += 1
            size += len(chunk)
            lines += chunk.count(b"\r\n")  # the csv module ends each row so; generated names hold no line breaks
            if lines >= next_sample:
                samples.append((lines, _rss_mb()))
                next_sample += 100_000
    finally:
        response.close()
    seconds = time.perf_counter() - began
    rows = lines - 1  # the header
    samples.append((rows, _rss_mb()))
    tenth = next((mb for seen, mb in samples if seen >= rows / 10), samples[0][1])
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "first_byte_ms": round((first_byte or 0.0) * 1000),
        "csv_mb": round(size / 2**20, 1),
        "chunks": chunks,
        "rss_tenth_mb": round(tenth, 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "growth_mb": round(samples[-1][1] - tenth, 1),
        "rss_max_sampled_mb": round(max(mb for _seen, mb in samples), 1),
        "peak_before_mb": round(peak_before, 1),
        "peak_after_mb": round(_peak_mb(), 1),
        "max_rss_before_mb": round(max_rss_before, 1),
        "max_rss_after_mb": round(_max_rss_mb(), 1),
        "samples": [(seen, round(mb, 1)) for seen, mb in samples],
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def _peak_mb() -> float:
    """The peak resident memory of this process since it started (VmHWM)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _max_rss_mb() -> float:
    # Linux carries the parent's resident memory at fork into a child's ru_maxrss, so in the
    # child of a big process this says more about the parent than about the export: VmHWM does not.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# ---------------------------------------------------------------------------------------------
# The table


def _totals_table(totals: dict) -> list[str]:
    lines = [f"  {'totals':40}{'median':>12}{'p95':>12}{'':4}{'rows/s':>10}"]
    for label, figures in totals.items():
        for fmt in ("xlsx", "csv"):
            timing, name = figures[f"{fmt}_ms"], f"{fmt.upper()}, {label} ({figures['rows']} rows)"
            lines.append(f"  {name:40}{timing['median']:>12,.1f}{timing['p95']:>12,.1f} ms"
                         f"{figures[fmt + '_rows_per_s']:>10,}")  # fmt: skip
        lines.append(f"  {f'flask export totals (XLSX), {label}':40}{figures['cli_xlsx_ms']:>12,.1f}{'':12} ms")
        lines.append(f"  {'':4}XLSX {figures['xlsx_bytes'] / 1024:,.0f} KB; Python's peak allocations while"
                     f" building it {figures['xlsx_python_peak_mb']:.1f} MB")  # fmt: skip
    return lines


def _attendance_table(attendance: dict, floor: dict) -> list[str]:
    export = attendance["export"]
    period = attendance["period"]
    return [
        f"  attendance CSV, {period['from']} to {period['to']}: {export['rows']:,} rows"
        f" (database: {attendance['rows_in_database']:,}), {export['csv_mb']:,.0f} MB",
        f"  {'':40}{'seconds':>12}{'rows/s':>12}",
        f"  {'export (test client, streamed)':40}{export['seconds']:>12,.1f}{export['rows_per_s']:>12,}",
        f"  {'floor: same query, bare driver cursor':40}{floor['seconds']:>12,.1f}{floor['rows_per_s']:>12,}",
        f"  {'export / floor':40}{attendance['export_over_floor']:>12,.1f}",
        f"  first byte after {export['first_byte_ms']:,} ms; resident memory {export['rss_tenth_mb']:.0f} MB at a"
        f" tenth of the rows, {export['rss_end_mb']:.0f} MB at the end, {export['rss_max_sampled_mb']:.0f} MB at most;",
        f"  peak of the process (VmHWM; imports and signing in included) {export['peak_before_mb']:.0f} MB before"
        f" the download, {export['peak_after_mb']:.0f} MB after (ru_maxrss: {export['max_rss_after_mb']:.0f} MB)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="attendance of the last 30 days, fewer requests")
    parser.add_argument("--scale", type=float, default=1.0, help="which generated dataset (default 1)")
    parser.add_argument("--child", nargs=2, metavar=("FROM", "TO"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    if args.child:
        return _child(date.fromisoformat(args.child[0]), date.fromisoformat(args.child[1]))
    url = generate.database_url(args.scale)
    generate.ensure(url, generate.Size.at(args.scale))
    part = run(url, quick=args.quick)
    part.print()
    return 0 if part.passed else 1


if __name__ == "__main__":
    sys.exit(main())
