"""Use cases behind the routes: they take schemas and sessions, raise domain errors, never HTTP ones."""
