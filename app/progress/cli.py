import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db
from app.models import COUNTER_TABLES, Household
from app.progress import tallies

tallies_cli = AppGroup("tallies", help="The counters behind every dashboard figure.")


@tallies_cli.command("rebuild")
def rebuild() -> None:
    """Recount every counter from the raw rows."""
    started = time.perf_counter()
    tallies.rebuild()
    db.session.commit()
    trained, registered = tallies.province_figures()
    click.echo(
        f"Counters rebuilt in {time.perf_counter() - started:.1f} s: {trained} trained of {registered} households."
    )


@tallies_cli.command("check")
def check() -> None:
    """Recount from the raw rows and compare with the counters, changing nothing."""
    before = _snapshot()
    tallies.rebuild()
    after = _snapshot()
    db.session.rollback()
    differing = [name for name in before if before[name] != after[name]]
    if differing:
        raise click.ClickException(f"Counters out of step with the raw rows: {', '.join(differing)}.")
    click.echo("Counters match the raw rows.")


COUNTS = ("registered", "trained", "households", "sessions", "newly_trained")


def _snapshot() -> dict[str, list]:
    """Every counter row, leaving out rows whose counts all went back to zero: a rebuild makes
    no row where there is nothing to count, and both mean the same figures."""
    figures = {}
    for table in COUNTER_TABLES:
        counts = [table.c[name] for name in COUNTS if name in table.c]
        select = sa.select(table)
        if counts:
            select = select.where(sa.or_(*(count != 0 for count in counts)))
        figures[table.name] = sorted(tuple(row) for row in db.session.execute(select))
    figures["household"] = sorted(
        db.session.execute(sa.select(Household.id, Household.is_counted, Household.trained_on)).all()
    )
    return figures
