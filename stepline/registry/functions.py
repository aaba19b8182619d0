"""Registry tables: functions (being written)."""
