from pathlib import Path

import click
from flask.cli import with_appcontext

from app.ops.backup import BackupError, backup


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write a consistent copy of the live database to FILE (SQLite: a database file;
    PostgreSQL: a pg_dump custom-format archive)."""
    try:
        method = backup(file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {file} ({method}, {file.stat().st_size:,} bytes).")
