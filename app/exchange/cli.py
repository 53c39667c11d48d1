"""`flask export totals`: the totals export of the web page, from the command line."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.clock import local_today
from app.exchange import exports, spreadsheets

export_cli = AppGroup("export", help="Export figures to CSV or XLSX files.")
ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])


@export_cli.command("totals")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), required=True, help="File format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The file to write.")  # fmt: skip
@click.option("--from", "start", type=ISO_DATE, help="First day of the period, YYYY-MM-DD (default: 30 days back).")
@click.option("--to", "end", type=ISO_DATE, help="Last day of the period, YYYY-MM-DD (default: today).")
@click.option("--commune", "code", help="Only this commune or ward (its official code).")
def totals(fmt: str, output: Path, start, end, code: str | None) -> None:
    """Per-commune totals with the totals row: the same file as the exports page gives.

    Headers are in Vietnamese, the application's default language."""
    start, end = exports.default_period(start and start.date(), end and end.date(), local_today())
    if start > end:
        raise click.BadParameter("the end date is before the start date.", param_hint="'--to'")
    commune = None
    if code:
        commune = exports.commune_by_code(code)
        if commune is None:
            raise click.BadParameter(f"no commune has the code {code}.", param_hint="'--commune'")
    scope = exports.Scope(start, end, commune)
    table = exports.totals_table(scope)
    rows = list(table.rows)
    with click.progressbar(rows, label=f"Writing {output}", file=sys.stderr) as bar:
        if fmt == "csv":
            with output.open("wb") as file:
                for chunk in spreadsheets.csv_stream(table.headers, bar):
                    file.write(chunk)
        else:
            lines = exports.title_lines(table, scope)
            spreadsheets.write_xlsx(output, lines, table.headers, bar, table.widths, sheet_title=table.title)
    trained = rows[-1][3]  # the totals row
    click.echo(
        f"Wrote {len(rows)} rows ({len(rows) - 1} communes and wards and the total) for {start} to {end}: "
        f"{trained} trained households. File: {output}"
    )
