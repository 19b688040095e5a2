"""Alembic migrations of the run registry (shipped inside the wheel as ``dnactx.migrations``)."""
