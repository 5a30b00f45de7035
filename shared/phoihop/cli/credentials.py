"""CLI commands (credentials)."""

commands = ()
