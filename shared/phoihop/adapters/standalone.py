"""Running one adapter in an agency's own process: kombu, no nameko.

The agency installs ``phoihop`` and its adapter package, writes a small
configuration file (the broker URI with the user DIC provisioned, the
gateway URL and its adapter's entry, ``run: remote``) and runs::

    phoihop adapters run police-cyber --config agency.yaml --state var/police.db

The runner reads ``adapter.<name>.remote``, which the platform's host fills
with the adapter's events already redacted for the agency's clearance, and
delivers them with the same guarantees as the host (order per case,
retries, dead letters, each event once), keeping its ledger in a local
SQLite file. ``--direct`` reads ``adapter.<name>`` itself instead and
declares it: for a development machine, or an agency trusted with the
platform's broker; it needs the rights to declare and bind.
"""

import signal
import threading

from marshmallow import INCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.adapters.discovery import discover_adapters
from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.ledger import SqliteLedger
from phoihop.adapters.runner import AdapterRunner
from phoihop.adapters.settings import (
    REMOTE,
    build_adapter,
    load_section,
    plan_instances,
    runner_settings,
)
from phoihop.agencies import load_registry, shipped_registry
from phoihop.config import read_config_file
from phoihop.constants import EVENTS_EXCHANGE
from phoihop.contracts import load_all
from phoihop.logging import get_logger

log = get_logger("phoihop.adapters.standalone")


class StandaloneConfigSchema(Schema):
    """An agency's configuration file: no database, its own broker user."""

    class Meta:
        unknown = INCLUDE

    AMQP_URI = fields.String(
        required=True,
        validate=validate.Regexp(r"^amqps?://", error="must start with amqp://"),
    )
    EVENTS_EXCHANGE = fields.String(load_default=EVENTS_EXCHANGE)
    LOG_LEVEL = fields.String(load_default="INFO")
    adapters = fields.Dict(required=True)


def load_standalone_config(path, environ=None):
    """Read and check an agency's configuration file."""
    raw = read_config_file(path, environ)
    try:
        return StandaloneConfigSchema().load(raw)
    except SchemaError as exc:
        raise AdapterConfigError(
            f"{path}: invalid configuration",
            {key: "; ".join(map(str, value)) for key, value in exc.messages.items()},
        ) from exc


class StandaloneAdapter:
    """One adapter, its SQLite ledger and its runner, in this process."""

    def __init__(
        self, name, config, state_path, direct=False, registry=None, entry_points=None
    ):
        load_all()
        section = load_section(config["adapters"])
        self.registry = registry or _registry(section)
        plan = plan_instances(
            {**section, "only": [name]},
            discover_adapters(entry_points),
            self.registry,
        )
        if name in plan.broken:
            raise plan.broken[name]
        specs = [spec for spec in plan.instances if spec.name == name]
        if not specs:
            raise AdapterConfigError(
                f"adapter {name!r} is not configured (or is disabled)",
                {f"adapters.instances.{name}": "add an entry for it"},
            )
        spec = specs[0]
        if spec.cls is None:
            raise AdapterConfigError(
                f"adapter {name!r}: its plugin is not installed in this environment",
                {f"adapters.instances.{name}.plugin": "install the adapter's package"},
            )
        if not direct and spec.run != REMOTE:
            raise AdapterConfigError(
                f"adapter {name!r} is set to run in the platform's host",
                {f"adapters.instances.{name}.run": "set run: remote, or use --direct"},
            )
        self.spec = spec
        adapter = build_adapter(
            spec,
            self.registry,
            amqp_uri=config["AMQP_URI"],
            gateway_url=section.get("gateway_url"),
            remote_side=True,
        )
        self.ledger = SqliteLedger(state_path, retention_days=section["retention_days"])
        settings = runner_settings(
            spec, config["EVENTS_EXCHANGE"], remote_side=not direct
        )
        self.runner = AdapterRunner(
            adapter, config["AMQP_URI"], self.ledger, settings, registry=self.registry
        )

    def start(self):
        self.runner.start()

    def stop(self):
        self.runner.stop()
        self.ledger.close()

    def run_until_stopped(self):
        """Run until SIGTERM or Ctrl-C; returns the fatal error, if any."""
        done = threading.Event()

        def on_signal(signum, frame):
            done.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.start()
        log.info(
            "adapter_started", adapter=self.spec.name, queue=self.runner.settings.queue
        )
        while not done.wait(0.5):
            if self.runner.fatal:
                break
        self.stop()
        log.info("adapter_stopped", adapter=self.spec.name)

        return self.runner.fatal


def _registry(section):
    extra = section.get("registry_extra_paths") or ()
    return load_registry(extra_paths=extra) if extra else shipped_registry()
