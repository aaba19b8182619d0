"""The hostile-tenant suite: every test here attacks Stepline as a tenant or a careless user would.

Run it alone with ``python3 -m pytest tests/security`` (or ``-m security`` across the tree). It
reuses the integration fixtures (a real Temporal dev server, PostgreSQL, bubblewrap sandboxes).
"""

from __future__ import annotations

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures, registered by import)
    api,
    database_url,
    empty_database_url,
    settings,
    temporal_address,
    temporal_client,
    test_functions,
    worker,
)
from tests.integration.integrations.conftest import (  # noqa: F401  (fixtures, registered by import)
    http_server,
    integrations_worker,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/security/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.security)
            item.add_marker(pytest.mark.integration)
