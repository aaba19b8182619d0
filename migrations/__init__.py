"""Alembic revisions of the registry tables (applied by ``stepline db upgrade``)."""
