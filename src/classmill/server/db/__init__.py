"""Persistence: SQLAlchemy 2 models, engines (SQLite or PostgreSQL) and Alembic migrations."""
