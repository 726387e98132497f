"""Alembic environment: the URL comes from the config (store.db.migrate) or from Settings."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import store.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from store.db import get_engine, normalize_url
from store.search import FTS_TABLE, PG_SEARCH_INDEX

config = context.config
target_metadata = SQLModel.metadata


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Autogenerate ignores the search objects migration 0002 made with raw DDL (FTS5 table and its
    shadow tables on SQLite, the tsvector GIN index on PostgreSQL): they are not in the metadata."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_SEARCH_INDEX)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from boardroom.settings import load_settings

    return normalize_url(load_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
