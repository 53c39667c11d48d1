"""Three more indexes no query needs, each one more write on every session logged (the write
done most often, bench.logging), after those of 0008:

- training_session.volunteer_id: a volunteer's list now asks for their sessions in their
  commune (those of a commune they have left answer 404 anyway), along
  ix_training_session_by_volunteer (commune_id, volunteer_id, ...);
- session_topic.topic_id: a session's topics are always found from the session, the first
  column of the primary key;
- audit_event.actor_id: no page looks the trail up by who acted.

Users and topics are never deleted, so no foreign key check needs them either.

Revision ID: c4e7a1d93f58
Revises: 9b3d6f0a2c71
Create Date: 2026-11-29 03:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4e7a1d93f58'
down_revision = '9b3d6f0a2c71'
branch_labels = None
depends_on = None

DROPPED = (
    ('training_session', 'volunteer_id'),
    ('session_topic', 'topic_id'),
    ('audit_event', 'actor_id'),
)


def upgrade():
    for table, column in DROPPED:
        op.drop_index(f'ix_{table}_{column}', table_name=table)


def downgrade():
    for table, column in reversed(DROPPED):
        op.create_index(f'ix_{table}_{column}', table, [column], unique=False)
