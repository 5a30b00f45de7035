"""The consumer queues the services declare, found from their classes, and
the queues of the configured agency adapters."""

import inspect

from phoihop.bus import EventSubscriber
from phoihop.runner import SERVICES, service_class


def consumer_queues():
    """Names of every ``subscribe`` queue of every service that exists, then
    every adapter queue of ``deploy/config/adapters.yaml``."""
    names = []
    for service in SERVICES:
        try:
            cls = service_class(service)
        except (ImportError, LookupError):
            continue
        for method_name, method in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventSubscriber):
                    names.append(f"{service}.{method_name}")
    return names + adapter_queues()


def adapter_queues(path=None):
    """``adapter.<name>`` (and ``adapter.<name>.remote`` for an adapter its
    agency runs) of every configured adapter; none when the configuration
    cannot be read, since listing dead letters must work regardless."""
    from phoihop.adapters.discovery import discover_adapters
    from phoihop.adapters.settings import REMOTE, load_section, plan_instances
    from phoihop.agencies import shipped_registry
    from phoihop.config import config_path, read_config_file
    from phoihop.errors import PhoihopError

    try:
        raw = read_config_file(path or config_path("adapters"))
        section = load_section(raw.get("adapters") or {})
        plan = plan_instances(section, discover_adapters(), shipped_registry())
    except PhoihopError:
        return []
    names = []
    for spec in plan.instances:
        names.append(spec.queue)
        if spec.run == REMOTE:
            names.append(spec.remote_queue)
    return names
