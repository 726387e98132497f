"""approve with edits and quorum: decision.edits, the vote audit log, project approvers and quorum

Revision ID: 0005_votes_and_edits
Revises: 0004_review_method
Create Date: 2026-12-02 00:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0005_votes_and_edits'
down_revision: str | None = '0004_review_method'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gate_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approver', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('voted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('gate_id', 'approver')
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_gate_id'), ['gate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vote_project_id'), ['project_id'], unique=False)
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edits', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approvers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('quorum', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('quorum')
        batch_op.drop_column('approvers')
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_column('edits')
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_project_id'))
        batch_op.drop_index(batch_op.f('ix_vote_gate_id'))
    op.drop_table('vote')
