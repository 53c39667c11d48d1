"""The people a bench part signs in as: made the first time, given a fresh password each run.

Bench users have phones 03…: the generated people are 08… and 09…, so adding them never
changes the row counts that identify a generated dataset.
"""

import re
import secrets

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.auth.services import create_user
from app.extensions import db
from app.models import Commune, User

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def bench_user(app: Flask, phone: str, role: str, name: str, commune_id: int | None = None,
               team_id: int | None = None) -> str:  # fmt: skip
    """Create the user (or bring it back to this role, commune and team) with a new random
    password, and return the password."""
    password = secrets.token_urlsafe(12)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.phone == phone))
        if user is None:
            code = db.session.get(Commune, commune_id).code if commune_id is not None else None
            user = create_user(phone=phone, full_name=name, role=role, password=password, commune_code=code)
        else:
            user.set_password(password)
            user.role, user.commune_id, user.is_active = role, commune_id, True
        user.team_id = team_id
        db.session.commit()
        db.session.remove()
    return password


def signed_in(app: Flask, phone: str, password: str) -> FlaskClient:
    """A test client signed in through the login form, as a browser would."""
    client = app.test_client()
    token = CSRF_INPUT.search(client.get("/login").text)
    response = client.post(
        "/login", data={"csrf_token": token and token.group(1), "phone": phone, "password": password}
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"Could not sign in as {phone}: {response.status_code}")
    return client


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of a signed-in page (for POSTing its form)."""
    found = CSRF_INPUT.search(client.get(path).text)
    if found is None:
        raise SystemExit(f"No CSRF token on {path}")
    return found.group(1)
