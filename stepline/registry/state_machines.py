"""Registry tables: state_machines (being written)."""
