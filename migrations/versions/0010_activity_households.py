"""Households reached per volunteer and team, kept on their activity row: the commune
dashboard counted a whole commune's reach rows on every view (10 ms of a 46 ms page on
PostgreSQL at province scale, bench.dashboards). Filled from reach_tally, which stays the
record of who reached which household.

Revision ID: e2a9c4b7d615
Revises: c4e7a1d93f58
Create Date: 2026-11-29 04:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e2a9c4b7d615'
down_revision = 'c4e7a1d93f58'
branch_labels = None
depends_on = None

activity = sa.table(
    'activity_tally', sa.column('commune_id'), sa.column('kind'), sa.column('actor_id'), sa.column('households')
)
reach = sa.table('reach_tally', sa.column('commune_id'), sa.column('kind'), sa.column('actor_id'))


def upgrade():
    with op.batch_alter_table('activity_tally', schema=None) as batch_op:
        batch_op.add_column(sa.Column('households', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(op.f('ck_activity_tally_not_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_activity_tally_not_negative'), 'sessions >= 0 AND households >= 0')
    reached = (
        sa.select(reach.c.commune_id, reach.c.kind, reach.c.actor_id, sa.func.count().label('households'))
        .group_by(reach.c.commune_id, reach.c.kind, reach.c.actor_id)
        .subquery()
    )
    op.execute(
        activity.update()
        .where(
            activity.c.commune_id == reached.c.commune_id,
            activity.c.kind == reached.c.kind,
            activity.c.actor_id == reached.c.actor_id,
        )
        .values(households=reached.c.households)
    )


def downgrade():
    with op.batch_alter_table('activity_tally', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_activity_tally_not_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_activity_tally_not_negative'), 'sessions >= 0')
        batch_op.drop_column('households')
