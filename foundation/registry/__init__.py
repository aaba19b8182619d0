"""The registry: SQLModel tables and their repositories, in PostgreSQL.

One module per concept; ``models.all_models()`` holds them all, so Alembic sees every table. This
package imports nothing itself: using one concept does not load the others.
"""
