"""full-text search over documents; lessons

Search: on SQLite an FTS5 table `document_fts` over document.title and document.content
(external content, so nothing is stored twice), kept in step by three triggers; on PostgreSQL
a GIN index on the weighted tsvector of the same columns (store/search.py repeats the
expression verbatim). Neither is in the SQLModel metadata: store/migrations/env.py keeps
autogenerate away from them.

A later migration that rebuilds `document` on SQLite (a batch "move and copy") drops its
triggers with the old table: recreate them there (the statements below) and run
`INSERT INTO document_fts(document_fts) VALUES('rebuild')`.

Revision ID: 0002_search_lessons
Revises: 0001
Create Date: 2026-12-01 20:58:37.824405
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0002_search_lessons'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE document_fts USING fts5(title, content, content='document', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER document_fts_ai AFTER INSERT ON document BEGIN"
    " INSERT INTO document_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END",
    "CREATE TRIGGER document_fts_ad AFTER DELETE ON document BEGIN"
    " INSERT INTO document_fts(document_fts, rowid, title, content) VALUES ('delete', old.id, old.title, old.content);"
    " END",
    "CREATE TRIGGER document_fts_au AFTER UPDATE OF title, content ON document BEGIN"
    " INSERT INTO document_fts(document_fts, rowid, title, content) VALUES ('delete', old.id, old.title, old.content);"
    " INSERT INTO document_fts(rowid, title, content) VALUES (new.id, new.title, new.content); END",
    # Documents written before this migration.
    "INSERT INTO document_fts(document_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS document_fts_au",
    "DROP TRIGGER IF EXISTS document_fts_ad",
    "DROP TRIGGER IF EXISTS document_fts_ai",
    "DROP TABLE IF EXISTS document_fts",
]
POSTGRES_UP = [
    "CREATE INDEX ix_document_search ON document USING gin ("
    "(setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', content), 'B')))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_document_search"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    op.create_table('lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('source_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner', 'source_kind', 'source_id')
    )
    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_owner'), ['owner'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UP)
    elif dialect == "postgresql":
        _run(POSTGRES_UP)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWN)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWN)

    with op.batch_alter_table('lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_owner'))

    op.drop_table('lesson')
