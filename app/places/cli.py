import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.places.services import UnknownProvince, load_communes

places_cli = AppGroup("places", help="Official places: the province's communes and wards.")


@places_cli.command("load")
def load() -> None:
    """Load the communes and wards of PROVINCE_CODE (safe to run again)."""
    province_code = current_app.config["PROVINCE_CODE"]
    try:
        result = load_communes(province_code)
    except UnknownProvince:
        raise click.ClickException(
            f"Province code {province_code} is not in the 2025 list of provinces; check PROVINCE_CODE."
        ) from None
    db.session.commit()
    click.echo(f"Communes: {result.added} added, {result.updated} updated, {result.unchanged} unchanged.")
