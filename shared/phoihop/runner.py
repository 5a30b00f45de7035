"""Run one service as its own process: config check, logging, nameko runner.

``phoihop run intake`` reads ``deploy/config/intake.yaml``, validates it (a
bad key stops here with a message naming it), configures logging and runs
the service until SIGTERM or Ctrl-C, then stops it gracefully so in-flight
workers finish and unacknowledged messages return to their queues.
"""

import importlib
import inspect
import signal

from phoihop.config import load_service_config
from phoihop.logging import configure_logging, get_logger

SERVICES = (
    "intake",
    "routing",
    "consultation",
    "press",
    "reporting",
    "adapters",
    "gateway",
)


def service_class(name):
    """The service class of ``services.<name>.service``."""
    module = importlib.import_module(f"services.{name}.service")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if getattr(cls, "name", None) == name and cls.__module__ == module.__name__:
            return cls
    raise LookupError(f"services.{name}.service defines no service named {name!r}")


def load_config_for(name, path=None):
    cls = service_class(name)
    schema = getattr(getattr(cls, "settings", None), "section_schema", None)
    return cls, load_service_config(name, schema, path=path)


def run_service(name, config_path=None):
    import eventlet

    eventlet.monkey_patch()
    from nameko.runners import ServiceRunner

    from phoihop.contracts import load_all

    load_all()
    cls, config = load_config_for(name, config_path)
    configure_logging(name, level=str(config.get("LOG_LEVEL", "INFO")))
    log = get_logger("phoihop.runner")

    runner = ServiceRunner(config)
    runner.add_service(cls)

    def shutdown(signum, frame):
        # Stop from a new greenthread: the signal handler must return first.
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    runner.start()
    log.info("service_started", service=name)
    try:
        runner.wait()
    except KeyboardInterrupt:
        runner.stop()
    log.info("service_stopped", service=name)
