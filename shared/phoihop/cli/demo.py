"""CLI commands (demo)."""

commands = ()
