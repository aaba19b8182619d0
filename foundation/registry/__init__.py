"""The registry: SQLModel tables and their repositories, in PostgreSQL.

One module per concept; ``all_models()`` imports them all so Alembic sees every table.
"""

from __future__ import annotations

from sqlalchemy import MetaData


def all_models() -> MetaData:
    """Import every table module and return the shared metadata (for Alembic and drift checks)."""
    from sqlmodel import SQLModel

    from foundation.registry import (  # noqa: F401
        access_keys,
        executions,
        function_permissions,
        functions,
        resources,
        state_machines,
        tags,
        workers,
    )

    return SQLModel.metadata
