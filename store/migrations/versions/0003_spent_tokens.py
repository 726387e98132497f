"""spent one-time credentials: login links once opened, browser sessions once signed out

One row per spent token id (the primary key makes spending atomic across API replicas);
`expires_at` is indexed so expired rows can be pruned.

Revision ID: 0003_spent_tokens
Revises: 0002_search_lessons
Create Date: 2026-12-01 21:38:31.684510
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0003_spent_tokens'
down_revision: str | None = '0002_search_lessons'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('spenttoken',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('principal', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('spent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('spenttoken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spenttoken_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('spenttoken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spenttoken_expires_at'))

    op.drop_table('spenttoken')
