"""Temporal workflows and activities, the function runtime, sandbox pool, database proxy and mounts."""
