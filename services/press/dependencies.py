"""The reference data the press service works from, loaded once at start.

The agency registry (who the press agencies and spokespersons are), the
legal-basis catalogue (the provisions a results notice cites) and the
statement templates are data that DIC and the agencies edit. They are read
and validated when the container starts, so a bad file stops the service
with the file and field named instead of failing on the first statement. A
change to them takes effect when the service is restarted.
"""

from dataclasses import dataclass

from marshmallow import ValidationError as SchemaError
from nameko.extensions import DependencyProvider

from phoihop.agencies import Registry, load_registry
from phoihop.errors import ConfigError
from phoihop.legal import Catalogue, default_catalogue, load_catalogue
from services.press.schemas import PressSettings, flatten_errors
from services.press.statements import Templates, load_templates


@dataclass(frozen=True)
class PressReference:
    """What a worker reads: registry, catalogue, templates and settings."""

    registry: Registry
    catalogue: Catalogue
    templates: Templates
    settings: dict


def load_settings(config, section="press"):
    """The press section of a container config, validated with defaults."""
    try:
        return PressSettings().load(config.get(section) or {})
    except SchemaError as exc:
        raise ConfigError(
            "invalid press configuration", flatten_errors(exc.messages, f"{section}.")
        ) from exc


def load_reference(settings):
    registry_settings = settings["registry"]
    # An empty value (an unset environment variable) means the shipped file.
    registry = load_registry(
        registry_settings["path"] or None,
        extra_paths=registry_settings["extra_paths"],
    )
    path = settings["legal_basis_path"]
    catalogue = load_catalogue(path) if path else default_catalogue()
    templates = load_templates(settings["templates_dir"] or None)

    return PressReference(registry, catalogue, templates, settings)


class Reference(DependencyProvider):
    """Loads the reference data in ``setup()``, once per container, before
    any entrypoint takes work; each worker gets the same read-only
    ``PressReference``."""

    def __init__(self):
        self.reference = None

    def setup(self):
        settings = load_settings(self.container.config, self.container.service_name)
        self.reference = load_reference(settings)

    def get_dependency(self, worker_ctx):
        return self.reference
