"""Database adapter: SQLAlchemy Core tables, engine set-up, Alembic migrations."""
