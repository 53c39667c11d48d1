"""The Flask extensions, created unbound and initialised in create_app()."""

import sqlalchemy as sa
from flask import has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# Far past the last page of any list here (5,000,000 rows at 50 a page), and far inside the
# integers a database's OFFSET takes.
MAX_PAGE = 100_000


class Database(SQLAlchemy):
    def paginate(self, select, *, page=None, **kwargs):
        """Flask-SQLAlchemy's paginate, with the address's `page` held at MAX_PAGE: a larger one
        would crash the query's OFFSET instead of answering like any page past the end."""
        if page is None and has_request_context():
            page = _requested_page()
        return super().paginate(select, page=page, **kwargs)


def _requested_page() -> int | None:
    """The `page` of the query string, at most MAX_PAGE; None leaves a missing or unreadable
    one to Flask-SQLAlchemy (page 1, or 404)."""
    try:
        page = int(request.args["page"])
    except (KeyError, ValueError):
        return None
    return min(page, MAX_PAGE)


db = Database(model_class=Base)
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@sa.event.listens_for(sa.engine.Engine, "connect")
def _tune_sqlite(dbapi_connection, _record):
    """SQLite leaves foreign keys off and writers waiting on each other unless asked."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
