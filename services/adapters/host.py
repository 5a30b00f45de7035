"""The adapter host: every configured adapter, each on its own runner.

Why a nameko service that manages kombu consumers rather than one nameko
event entrypoint per adapter: the adapters are not known until start-up
(they come from entry points and configuration), each needs its own
prefetch, concurrency and retry policy, and per-case order needs retries
that hold a case's later events (nameko's entrypoints, and the bus's retry
queues, let a later event overtake a retried one). The runner
(``phoihop.adapters.runner``) is the same code an agency runs in its own
process, so the two cannot drift apart. The nameko service around it gives
the host what every service has: the config check, logs, ``health`` and
RPC for the CLI and the gateway.

``setup()`` (once, at container start) loads the registry, discovers the
plugins in one explicit call, resolves the configuration and builds every
adapter; a broken plugin or adapter is reported by name and skipped.
``start()`` opens the delivery ledger in the service's database and starts
one runner per adapter; ``stop()`` stops them all, in parallel.
"""

import threading

from nameko.extensions import DependencyProvider

from phoihop.adapters.discovery import discover_adapters
from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.ledger import MongoLedger
from phoihop.adapters.runner import AdapterRunner
from phoihop.adapters.settings import (
    REMOTE,
    build_adapter,
    load_section,
    plan_instances,
    runner_settings,
)
from phoihop.adapters.topology import adapter_queues
from phoihop.agencies import load_registry, shipped_registry
from phoihop.config import amqp_uri, exchange_name
from phoihop.contracts import load_all
from phoihop.deadletters import DeadLetters
from phoihop.errors import NotFound
from phoihop.logging import get_logger
from phoihop.store import Store

log = get_logger("phoihop.adapters.host")

SECTION = "adapters"


class HostView:
    """What a worker of the adapters service gets: the host's surface."""

    def __init__(self, host):
        self._host = host

    def describe(self):
        return self._host.describe()

    def runner(self, name):
        return self._host.runner(name)

    def release_case(self, name, case_id):
        return self._host.runner(name).release_case(case_id)

    def replay(self, name, event_ids=None, remote=False):
        queue = adapter_queues(name)[1 if remote else 0]
        self._host.runner(name)
        return DeadLetters(self._host.amqp_uri).replay(
            queue, set(event_ids) if event_ids else None
        )


class AdapterHost(DependencyProvider):
    """Builds and runs the adapters; see the module docstring."""

    def __init__(self):
        self.runners = {}
        self.specs = {}
        self.broken = {}
        self.disabled = []
        self.discovery = None
        self.registry = None
        self.amqp_uri = None
        self.ledger = None

    def setup(self):
        load_all()
        config = self.container.config
        self.amqp_uri = amqp_uri(config)
        section = load_section(config.get(SECTION) or {})
        self.registry = _registry(section)

        # The one explicit start-up call that loads every adapter plugin.
        self.discovery = discover_adapters()
        for name, broken in self.discovery.broken.items():
            self.broken[f"plugin:{name}"] = broken.error

        plan = plan_instances(section, self.discovery, self.registry)
        self.disabled = plan.disabled
        for name, error in plan.broken.items():
            self._report_broken(name, error)
        for spec in plan.instances:
            try:
                adapter = build_adapter(
                    spec,
                    self.registry,
                    amqp_uri=self.amqp_uri,
                    gateway_url=section.get("gateway_url"),
                )
            except Exception as exc:  # noqa: BLE001 - one adapter, not the host
                self._report_broken(spec.name, exc)
                continue
            settings = runner_settings(spec, exchange_name(config))
            self.runners[spec.name] = AdapterRunner(
                adapter, self.amqp_uri, None, settings, registry=self.registry
            )
            self.specs[spec.name] = spec
        self._retention_days = section["retention_days"]
        log.info(
            "adapter_host_ready",
            adapters=sorted(self.runners),
            broken=sorted(self.broken),
        )

    def _report_broken(self, name, error):
        detail = str(error)
        if isinstance(error, AdapterConfigError) and error.fields:
            detail = f"{error.message}: {error.fields}"
        self.broken[name] = detail
        log.error("adapter_skipped", adapter=name, error=detail)

    def _store(self):
        for dependency in self.container.dependencies:
            if isinstance(dependency, Store):
                return dependency
        raise AdapterConfigError("the adapters service needs a Store for its ledger")

    def start(self):
        store = self._store()
        # The runners record their last deliveries while they stop.
        store.retain(self)
        self.ledger = MongoLedger(
            store.client,
            store.db,
            retention_days=self._retention_days,
            on_commit=store.hand_over,
        )
        for runner in self.runners.values():
            runner.ledger = self.ledger
            runner.start()

    def stop(self):
        # Stop the runners side by side: each waits for its workers.
        threads = [
            threading.Thread(target=runner.stop, daemon=True)
            for runner in self.runners.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        self._store().release(self)

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return HostView(self)

    def runner(self, name):
        try:
            return self.runners[name]
        except KeyError:
            raise NotFound(
                f"adapter {name!r} does not run here",
                {"adapter": "see phoihop adapters list"},
            ) from None

    def describe(self):
        """Every adapter: its settings, status and counts; broken ones too."""
        adapters = []
        for name, runner in sorted(self.runners.items()):
            spec = self.specs[name]
            status = runner.status()
            adapters.append(
                {
                    "name": name,
                    "plugin": spec.plugin,
                    "agency": spec.agency,
                    "run": spec.run,
                    "queue": runner.settings.queue,
                    "remote_queue": spec.remote_queue if spec.run == REMOTE else None,
                    "bindings": list(spec.keys),
                    "transports": [t.describe() for t in runner.adapter.transports],
                    "prefetch": runner.settings.prefetch,
                    "concurrency": runner.settings.concurrency,
                    "max_attempts": runner.settings.max_attempts,
                    "active": status.active,
                    "connected": status.connected,
                    "backlog": status.backlog,
                    "waiting_lanes": status.waiting_lanes,
                    "delivered": status.delivered,
                    "failed": status.failed,
                    "duplicates": status.duplicates,
                    "ledger": status.ledger,
                    "last_error": status.last_error,
                    "fatal": status.fatal,
                }
            )

        return {
            "adapters": adapters,
            "broken": dict(sorted(self.broken.items())),
            "disabled": sorted(self.disabled),
        }


def _registry(section):
    extra = section.get("registry_extra_paths") or ()
    if extra:
        return load_registry(extra_paths=extra)
    return shipped_registry()
