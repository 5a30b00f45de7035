"""CLI commands (reports)."""

commands = ()
