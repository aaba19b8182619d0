"""Registry tables: resources (being written)."""
