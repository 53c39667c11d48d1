from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.exchange import imports
from app.exchange.reading import COLUMN_NAMES, UnreadableFile, read_spreadsheet
from app.extensions import db
from app.models import Commune

import_cli = AppGroup("import", help="Load data from files.")

ERRORS_SHOWN = 10


@import_cli.command("households")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--commune", "commune_code", required=True, help="Code of the commune or ward, e.g. 24133.")
@click.option("--yes", is_flag=True, help="Import without asking for confirmation.")
def households(file: Path, commune_code: str, yes: bool) -> None:
    """Import the villages and households of one commune from a CSV or XLSX FILE.

    Columns: thon, chu_ho, dia_chi (optional), so_dien_thoai (optional). Households already
    registered are recognised and not added twice; rows with errors are skipped.
    """
    commune = db.session.scalar(
        sa.select(Commune).where(
            Commune.code == commune_code, Commune.province_code == current_app.config["PROVINCE_CODE"]
        )
    )
    if commune is None:
        raise click.ClickException(
            f"No commune or ward has the code {commune_code} in this province (run `flask places load` first?)."
        )
    max_bytes = current_app.config["IMPORT_MAX_BYTES"]
    # The command speaks English like the others; the row messages follow it.
    with force_locale("en"):
        if file.stat().st_size > max_bytes:
            raise click.ClickException(f"{file.name} is larger than {max_bytes:,} bytes (IMPORT_MAX_BYTES).")
        try:
            sheet = read_spreadsheet(file.read_bytes(), file.name, max_bytes)
        except UnreadableFile as problem:
            raise click.ClickException(problem.message) from None
        plan = imports.preview(sheet.rows, commune)

    click.echo(f"{file.name} → {commune.name} ({commune.code}): {len(sheet.rows)} rows read.")
    click.echo(f"  to add:             {len(plan.to_create)} households, {len(plan.new_villages)} new villages")
    click.echo(f"  already registered: {len(plan.matches)}")
    click.echo(f"  with errors:        {plan.rows_with_errors} rows (skipped)")
    for error in plan.errors[:ERRORS_SHOWN]:
        column = sheet.columns.get(error.column) or COLUMN_NAMES[error.column]
        click.echo(f"    row {error.row}, column {column}: {error.message}")
    if len(plan.errors) > ERRORS_SHOWN:
        click.echo(f"    … and {len(plan.errors) - ERRORS_SHOWN} more.")
    if not plan.to_create:
        click.echo("Nothing to add.")
        return
    if not yes:
        click.confirm(f"Add {len(plan.to_create)} households to {commune.name}?", abort=True)

    with click.progressbar(length=len(plan.to_create), label="Importing") as bar:
        result = imports.apply(plan, commune, None, file.name, progress=bar.update)
    db.session.commit()
    click.echo(
        f"Imported: {result.created} households added, {result.villages_created} villages created, "
        f"{result.matched} already registered, {result.errors} rows skipped with errors."
    )
