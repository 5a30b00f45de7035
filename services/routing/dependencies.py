"""The agency registry as a nameko dependency of the routing service."""

from nameko.extensions import DependencyProvider

from phoihop.agencies import load_registry
from phoihop.logging import get_logger
from services.routing.schemas import RegistrySettingsSchema

log = get_logger(__name__)


class AgencyRegistry(DependencyProvider):
    """Loads and validates the registry once, when the container starts.

    ``setup()`` runs before any entrypoint accepts work: a bad registry file
    raises ``RegistryError`` there, naming the agency and the field, and the
    service does not start. Workers share the loaded, read-only registry.
    """

    def __init__(self, section="routing"):
        self.section = section
        self.registry = None

    def setup(self):
        section = self.container.config.get(self.section) or {}
        settings = RegistrySettingsSchema().load(section.get("registry") or {})
        self.registry = load_registry(
            settings["path"] or None, extra_paths=settings["extra_paths"]
        )
        log.debug(
            "agency_registry_loaded",
            agencies=len(self.registry),
            sources=list(self.registry.sources),
        )

    def get_dependency(self, worker_ctx):
        return self.registry
