"""SQLAlchemy models and Alembic migrations of the service's PostgreSQL database."""
