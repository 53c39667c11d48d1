import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.models import SEED_TOPICS, Topic


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_nothing_and_upgrade_again(app):
    db.session.remove()
    downgrade(revision="base")
    assert "training_session" not in sa.inspect(db.engine).get_table_names()
    upgrade()
    assert {"training_session", "attendance", "audit_event"} <= set(sa.inspect(db.engine).get_table_names())
    # The seed topics come from the migration itself, so every new database has them.
    codes = db.session.scalars(sa.select(Topic.code).order_by(Topic.sort_order)).all()
    assert codes == [code for code, _, _ in SEED_TOPICS]
    assert codes == [
        "vneid", "public_services", "cashless", "ecommerce",
        "online_safety", "e_health", "basic_skills", "digital_agriculture",
    ]  # fmt: skip
