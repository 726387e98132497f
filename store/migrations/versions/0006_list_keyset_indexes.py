"""project, gate: (created_at, id) indexes for keyset pages of GET /projects and GET /approvals

Revision ID: 0006_list_keyset_indexes
Revises: 0005_votes_and_edits
Create Date: 2026-12-02 00:40:00
"""
from collections.abc import Sequence

import sqlmodel
from alembic import op


revision: str = '0006_list_keyset_indexes'
down_revision: str | None = '0005_votes_and_edits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The composite indexes lead with created_at where the single-column ones did: those go.
    op.drop_index('ix_project_created_at', table_name='project')
    op.create_index('ix_project_created_at_id', 'project', ['created_at', 'id'])
    op.create_index('ix_project_phase_created_at_id', 'project', ['phase', 'created_at', 'id'])
    op.create_index('ix_project_status_created_at_id', 'project', ['status', 'created_at', 'id'])
    op.drop_index('ix_gate_created_at', table_name='gate')
    op.create_index('ix_gate_created_at_id', 'gate', ['created_at', 'id'])
    op.create_index('ix_gate_status_created_at_id', 'gate', ['status', 'created_at', 'id'])
    op.create_index('ix_gate_project_id_created_at_id', 'gate', ['project_id', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_gate_project_id_created_at_id', table_name='gate')
    op.drop_index('ix_gate_status_created_at_id', table_name='gate')
    op.drop_index('ix_gate_created_at_id', table_name='gate')
    op.create_index('ix_gate_created_at', 'gate', ['created_at'])
    op.drop_index('ix_project_status_created_at_id', table_name='project')
    op.drop_index('ix_project_phase_created_at_id', table_name='project')
    op.drop_index('ix_project_created_at_id', table_name='project')
    op.create_index('ix_project_created_at', 'project', ['created_at'])
