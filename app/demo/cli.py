import click
from flask.cli import with_appcontext

from app.demo.services import DemoRefused, load_demo, read_saved_sign_ins


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when users already exist.")
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Fill an empty database with labelled sample data and print the demo sign-ins."""
    try:
        sign_ins = load_demo()
    except DemoRefused as refusal:
        if not if_empty:
            raise click.ClickException(str(refusal)) from None
        sign_ins = read_saved_sign_ins()
        click.echo("Demo data was loaded before; nothing added.")
    if sign_ins:
        click.echo("\nDemo sign-ins (also kept in instance/demo-sign-ins.txt):")
        click.echo(sign_ins)
