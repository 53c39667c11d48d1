"""API tokens for other systems (read-only, province or one commune, stored as a SHA-256
digest, rate-limited on their own row), and the index the sessions feed pages through:
training_session (updated_at, id).

Revision ID: c3139af957ca
Revises: 4bce06967a0e
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3139af957ca'
down_revision = '4bce06967a0e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('scope', sa.String(length=12), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=True),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_requests', sa.Integer(), nullable=False),
    sa.CheckConstraint("scope IN ('province', 'commune')", name=op.f('ck_api_token_scope')),
    sa.CheckConstraint("(scope = 'commune') = (commune_id IS NOT NULL)", name=op.f('ck_api_token_commune_matches_scope')),
    sa.CheckConstraint('window_requests >= 0', name=op.f('ck_api_token_window_requests_not_negative')),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_api_token_commune_id_commune')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_api_token_created_by_id_user')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_api_token_revoked_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_api_token_secret_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_token_created_by_id'), ['created_by_id'], unique=False)

    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.create_index('ix_training_session_updated_at_id', ['updated_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('training_session', schema=None) as batch_op:
        batch_op.drop_index('ix_training_session_updated_at_id')

    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_api_token_commune_id'))

    op.drop_table('api_token')
