"""Shared pieces of Stepline: settings, the registry (tables and database access) and the CLI."""
