"""Persistence: SQLAlchemy 2 tables, sessions and Alembic migrations. Works on SQLite and PostgreSQL alike."""
