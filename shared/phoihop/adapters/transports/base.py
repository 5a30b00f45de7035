"""What every transport shares: its settings, secrets and the send contract.

A transport carries one event to the agency and returns a receipt (a small
JSON-safe dict: a status, a message id, a file name) that the runner records
with the delivery. It raises ``DeliveryFailed`` when trying again later may
work and ``DeliveryRefused`` when it cannot. Secrets are never in the
configuration file: a transport names the environment variable that holds
one (``secret_env``, ``password_env``) and reads it once, when it is built.
"""

import os
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.adapters.errors import AdapterConfigError

ENV_NAME = validate.Regexp(
    r"^[A-Z][A-Z0-9_]{0,127}$", error="an environment variable name (A-Z, 0-9, _)"
)


@dataclass
class TransportContext:
    """What a transport may need besides its own settings."""

    adapter: str
    agency: str
    registry: object = None
    amqp_uri: str | None = None
    environ: dict = field(default_factory=lambda: os.environ)
    templates: dict = field(default_factory=dict)


class TransportSchema(Schema):
    """Keys every transport accepts."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True)
    name = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_-]{0,63}$"),
    )


class Transport:
    """Base class; a sub-class sets ``kind`` and ``schema`` and implements
    ``send``."""

    kind = None
    schema = TransportSchema

    def __init__(self, settings, context):
        self.settings = settings
        self.context = context
        self.name = settings.get("name") or self.kind

    def send(self, event, adapter, **extra):
        raise NotImplementedError

    def close(self):
        """Release connections; called once when the adapter stops."""

    def describe(self):
        """A short, secret-free description for ``phoihop adapters list``."""
        return self.kind

    def secret(self, key):
        """Read the secret named by the setting ``key`` from the environment."""
        variable = self.settings.get(key)
        if not variable:
            return None
        value = self.context.environ.get(variable)
        if not value:
            raise AdapterConfigError(
                f"adapter {self.context.adapter!r}: the environment variable "
                f"{variable} is not set",
                {
                    f"{self.context.adapter}.transports.{self.name}.{key}": (
                        f"set {variable} in the environment"
                    )
                },
            )
        return value


def load_settings(schema, settings, where):
    """Validate transport settings; raise AdapterConfigError naming the key."""
    try:
        return schema().load(settings)
    except SchemaError as exc:
        raise AdapterConfigError(
            f"{where}: invalid transport settings",
            {
                f"{where}.{key}": "; ".join(map(str, value))
                if isinstance(value, list)
                else str(value)
                for key, value in exc.messages.items()
            },
        ) from exc
