"""Fewer indexes on training_session: each one is one more write on every session logged,
and logging a session is the write done most often (bench.logging).

Dropped, with what answers their queries now:
- commune_id: a prefix of ix_training_session_commune_held_on (and of _by_volunteer, _by_team);
- team_id: no query looks sessions up by team alone (a commune's teams: _by_team), and teams
  are never deleted;
- village_id: no query looks sessions up by village, and villages are never deleted;
- status: every query on the status is within one commune (the verification queue, the
  count awaiting verification), where _by_volunteer holds commune, status and deleted_at.

Kept: the uuid (unique), held_on (exports of the whole province by dates), volunteer_id
(a volunteer's own list), and the composite indexes of 0001, 0005 and 0006.

Revision ID: 9b3d6f0a2c71
Revises: 5e8f1c2b9a40
Create Date: 2026-11-29 03:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9b3d6f0a2c71'
down_revision = '5e8f1c2b9a40'
branch_labels = None
depends_on = None

DROPPED = ('commune_id', 'team_id', 'village_id', 'status')


def upgrade():
    for column in DROPPED:
        op.drop_index(f'ix_training_session_{column}', table_name='training_session')


def downgrade():
    for column in DROPPED:
        op.create_index(f'ix_training_session_{column}', 'training_session', [column], unique=False)
