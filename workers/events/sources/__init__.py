"""Event source mappings' pollers: one module per broker (``rabbitmq``, ``redis_streams``) over a common
batching and retry core (``core``), led by one worker per mapping (``runner``)."""
