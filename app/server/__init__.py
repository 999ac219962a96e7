"""The sync service: FastAPI over PostgreSQL, one package per domain."""
