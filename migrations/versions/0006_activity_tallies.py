"""Month and activity counters for the dashboards: the day counters summed by month, sessions per volunteer and team, and the households
each reached, kept exact by app.progress.tallies like the other counters; covering indexes
for "who held what and when" and for the province's monthly trend.

The new counters are filled from the raw rows here, so an existing database needs no
`flask tallies rebuild` after upgrading.

Revision ID: a7c2e5d1f0b6
Revises: c3139af957ca
Create Date: 2026-11-29 01:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c2e5d1f0b6'
down_revision = 'c3139af957ca'
branch_labels = None
depends_on = None

COUNTING = "s.status != 'rejected' AND s.deleted_at IS NULL"


def upgrade():
    op.create_table('commune_month',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('newly_trained', sa.Integer(), nullable=False),
    sa.CheckConstraint('sessions >= 0 AND newly_trained >= 0', name=op.f('ck_commune_month_not_negative')),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_commune_month_commune_id_commune')),
    sa.PrimaryKeyConstraint('commune_id', 'month', name=op.f('pk_commune_month'))
    )
    op.create_table('activity_tally',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('last_held_on', sa.Date(), nullable=True),
    sa.CheckConstraint("kind IN ('volunteer', 'team')", name=op.f('ck_activity_tally_kind')),
    sa.CheckConstraint('sessions >= 0', name=op.f('ck_activity_tally_not_negative')),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_activity_tally_commune_id_commune')),
    sa.PrimaryKeyConstraint('commune_id', 'kind', 'actor_id', name=op.f('pk_activity_tally'))
    )
    op.create_table('reach_tally',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('volunteer', 'team')", name=op.f('ck_reach_tally_kind')),
    sa.CheckConstraint('sessions > 0', name=op.f('ck_reach_tally_positive')),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_reach_tally_commune_id_commune')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_reach_tally_household_id_household')),
    sa.PrimaryKeyConstraint('commune_id', 'kind', 'actor_id', 'household_id', name=op.f('pk_reach_tally'))
    )
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.create_index('ix_training_session_by_team', ['commune_id', 'team_id', 'held_on', 'status', 'deleted_at'], unique=False)
        batch_op.create_index('ix_training_session_by_volunteer', ['commune_id', 'volunteer_id', 'held_on', 'status', 'deleted_at'], unique=False)
    with op.batch_alter_table('commune_day', schema=None) as batch_op:
        batch_op.drop_index('ix_commune_day_day')
        batch_op.create_index('ix_commune_day_day_figures', ['day', 'newly_trained', 'sessions'], unique=False)

    sqlite = op.get_bind().dialect.name == "sqlite"
    month = "date(day, 'start of month')" if sqlite else "CAST(date_trunc('month', day) AS date)"
    op.execute(
        "INSERT INTO commune_month (commune_id, month, sessions, newly_trained)"
        f" SELECT commune_id, {month}, SUM(sessions), SUM(newly_trained) FROM commune_day GROUP BY commune_id, {month}"
    )
    for kind, actor in (("volunteer", "volunteer_id"), ("team", "team_id")):
        op.execute(
            "INSERT INTO activity_tally (commune_id, kind, actor_id, sessions, last_held_on)"
            f" SELECT s.commune_id, '{kind}', s.{actor}, COUNT(*), MAX(s.held_on) FROM training_session s"
            f" WHERE {COUNTING} AND s.{actor} IS NOT NULL GROUP BY s.commune_id, s.{actor}"
        )
        op.execute(
            "INSERT INTO reach_tally (commune_id, kind, actor_id, household_id, sessions)"
            f" SELECT s.commune_id, '{kind}', s.{actor}, a.household_id, COUNT(*)"
            " FROM training_session s JOIN attendance a ON a.session_id = s.id"
            f" WHERE {COUNTING} AND s.{actor} IS NOT NULL GROUP BY s.commune_id, s.{actor}, a.household_id"
        )


def downgrade():
    with op.batch_alter_table('commune_day', schema=None) as batch_op:
        batch_op.drop_index('ix_commune_day_day_figures')
        batch_op.create_index('ix_commune_day_day', ['day'], unique=False)
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.drop_index('ix_training_session_by_volunteer')
        batch_op.drop_index('ix_training_session_by_team')

    op.drop_table('reach_tally')
    op.drop_table('activity_tally')
    op.drop_table('commune_month')
