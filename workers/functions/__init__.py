"""The function runtime: Lambda-style functions in bubblewrap sandboxes from a warm pool.

``FunctionService`` (service.py) is the entry point, composing the parts: ``resolver`` (configurations,
cached), ``invocations`` (the invocation path: ``FunctionCall`` in, ``FunctionResult`` out),
``provisioning``, ``event_queue``; below them: ``pool`` (warm environments and concurrency),
``environment`` (one sandbox and its lifecycle), ``runtime_api`` (the Runtime API the bootstraps talk
to), ``sandbox`` and ``cgroups`` (isolation and limits), ``slots`` (limits across worker processes),
``codestore``, ``logs``, ``metrics``. The bootstraps that run inside the sandbox live in ``bootstrap/``.

This package imports nothing itself (import ``workers.functions.service.FunctionService``):
``from workers.functions import config`` must not start the whole runtime, and a submodule importing
a sibling through the package would close a circle.
"""
