"""Event types emitted by the adapters service."""

from marshmallow import Schema, fields  # noqa: F401

from phoihop.events import event_type  # noqa: F401
