"""Event types of the platform itself, used by the bus tests and benchmarks."""

from marshmallow import Schema, fields, validate

from phoihop.events import event_type


@event_type(
    "platform.ping", description="a probe event for health checks and benchmarks"
)
class PingPayload(Schema):
    sequence = fields.Integer(required=True, validate=validate.Range(min=0))
    sent_at = fields.Float(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=1000))
