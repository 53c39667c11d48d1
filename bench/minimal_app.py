"""The app of wsgi.py with one bench-only endpoint: the floor that logging throughput is judged on.

    gunicorn 'bench.minimal_app:build_app()'

POST /bench/one-row goes through everything a request to /api/v1/sessions goes through before
the session service (the same create_app(), the sign-in cookie and its server-side check, the
CSRF check, the NUL and depth checks on the JSON body, the permission to log sessions), then
inserts ONE row into a bench-only table in one transaction and answers 201 with JSON. What a
logged session costs beyond that is the session service itself.

The endpoint and its table exist only here: the production app (wsgi.py) never has them, and
the table lives in its own metadata, so the migrations never see it. `create_table()` makes it
in a scratch database before gunicorn starts (workers creating it at once would race).
"""

import sqlalchemy as sa
from flask import Blueprint, Flask, jsonify, request
from flask_login import current_user

from app import create_app
from app.auth.access import Permission, require
from app.clock import utcnow
from app.extensions import db

PATH = "/bench/one-row"

one_row = sa.Table(
    "bench_one_row",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.post("/one-row")
@require(Permission.LOG_SESSIONS)
def insert_one_row():
    """Read the posted JSON as the session API does, insert one row, commit."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("uuid"), str):
        return jsonify(errors={"body": ["a JSON object with a uuid"]}), 422
    row_id = db.session.execute(
        sa.insert(one_row).values(uuid=payload["uuid"][:36], user_id=current_user.id, created_at=utcnow())
    ).inserted_primary_key[0]
    db.session.commit()
    return jsonify(id=row_id, uuid=payload["uuid"]), 201


def build_app(overrides: dict | None = None) -> Flask:
    """create_app() as wsgi.py calls it, plus the one-row endpoint."""
    app = create_app(overrides)
    app.register_blueprint(bp)
    return app


def create_table(app: Flask) -> None:
    with app.app_context():
        one_row.create(db.engine, checkfirst=True)
        db.engine.dispose()


def saved_rows(app: Flask) -> dict[str, int]:
    """uuid -> how many rows carry it."""
    with app.app_context():
        rows = db.session.execute(sa.select(one_row.c.uuid, sa.func.count()).group_by(one_row.c.uuid)).all()
        db.session.remove()
        db.engine.dispose()
    return dict(rows)
