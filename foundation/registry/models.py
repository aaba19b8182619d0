"""Every table of the registry, for Alembic and the drift check: importing this module imports them all.

Each concept's module defines its tables on SQLModel's shared metadata; a new table module is added
to the import below, or Alembic does not see it.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

from foundation.registry import (  # noqa: F401  (imported for their tables)
    access_keys,
    activities,
    aliases,
    code_signing,
    event_bus,
    event_invoke,
    event_source_mappings,
    event_source_objects,
    execution_logs,
    executions,
    express_executions,
    function_metrics,
    function_permissions,
    function_urls,
    functions,
    images,
    integrations,
    layer_permissions,
    layers,
    machine_aliases,
    map_runs,
    mock_configurations,
    pool_reports,
    resources,
    schedules,
    state_machines,
    tags,
    workers,
)


def all_models() -> MetaData:
    """The shared metadata, every table in it."""
    return SQLModel.metadata
