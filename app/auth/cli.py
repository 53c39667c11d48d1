import click
from flask.cli import AppGroup

from app.auth.services import AccountError, create_user
from app.extensions import db
from app.models import Role

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--phone", required=True, help="Phone number used to sign in.")
@click.option("--name", "full_name", required=True, help="Full name.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--commune", "commune_code", help="Commune code (volunteers and officers).")
@click.option("--password", required=True, help="Initial password (at least 8 characters).")
def create(phone: str, full_name: str, role: str, commune_code: str | None, password: str) -> None:
    """Create a user who signs in with PHONE and PASSWORD."""
    try:
        user = create_user(phone=phone, full_name=full_name, role=role, password=password,
                           commune_code=commune_code)  # fmt: skip
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role} {user.full_name} ({user.phone}).")
