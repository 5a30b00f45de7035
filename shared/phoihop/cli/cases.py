"""CLI commands (cases)."""

commands = ()
