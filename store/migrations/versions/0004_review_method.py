"""review: method (llm / offline-rubric) and summary

Revision ID: 0004_review_method
Revises: 0003_spent_tokens
Create Date: 2026-11-28 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_review_method'
down_revision: str | None = '0003_spent_tokens'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_column('summary')
        batch_op.drop_column('method')
