"""CLI commands (adapters)."""

commands = ()
