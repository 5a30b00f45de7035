"""CLI commands (intake)."""

commands = ()
