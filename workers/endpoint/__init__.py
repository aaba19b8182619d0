"""The worker's invoke endpoint: how an API process without a function runtime (``stepline api``)
hands direct invocations to a worker.

``local`` is the runtime's face to the API (the operations it needs, over a ``FunctionService``);
``server`` serves it over ``wire`` on a Unix socket (and TCP with ``STEPLINE_WORKER__LISTEN``);
``presence`` keeps the worker's row in the registry (``foundation.registry.workers``), where the API
finds live workers. The API's side is ``api.runtime.remote``.
"""
