"""CLI commands (watch)."""

commands = ()
