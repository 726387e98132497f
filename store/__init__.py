"""Application persistence: SQLModel tables, engine/session factory, Alembic migrations."""
