"""Finding adapters: the ``phoihop.adapters`` entry-point group, once.

Built-in adapters and third-party packages are found the same way: each
package names its adapter classes in its metadata::

    [project.entry-points."phoihop.adapters"]
    police-cyber = "police_adapter:CyberAdapter"

``discover_adapters()`` is the one explicit start-up call that loads them;
nothing is imported when ``phoihop`` is imported. A plugin that cannot be
imported, or is not an adapter, is reported by name with the reason and
skipped; the others load.
"""

from dataclasses import dataclass, field
from importlib import metadata

from phoihop.adapters.adapter import Adapter
from phoihop.adapters.errors import PluginError
from phoihop.adapters.topology import is_valid_name
from phoihop.logging import get_logger

ENTRY_POINT_GROUP = "phoihop.adapters"

log = get_logger(__name__)


@dataclass(frozen=True)
class Plugin:
    """An adapter class found through an entry point."""

    name: str
    cls: type
    value: str
    distribution: str = ""

    @property
    def description(self):
        return self.cls.description or (self.cls.__doc__ or "").strip().split("\n")[0]


@dataclass(frozen=True)
class BrokenPlugin:
    """An entry point that did not give a usable adapter, and why."""

    name: str
    value: str
    error: str
    distribution: str = ""


@dataclass
class Discovery:
    plugins: dict = field(default_factory=dict)
    broken: dict = field(default_factory=dict)


def installed_entry_points():
    """The entry points of the group in the installed distributions."""
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def _distribution(entry_point):
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return ""
    return f"{dist.name} {dist.version}"


def check_adapter_class(cls, name):
    """Raise PluginError when ``cls`` cannot serve as an adapter."""
    if not isinstance(cls, type) or not issubclass(cls, Adapter):
        raise PluginError(
            f"plugin {name!r} is not an Adapter class",
            {name: f"got {cls!r}; subclass phoihop.adapters.Adapter"},
        )
    if not cls.subscriptions():
        raise PluginError(
            f"plugin {name!r} handles no event",
            {name: "decorate at least one method with @handles(...)"},
        )
    if cls.agency is not None and not is_valid_name(cls.agency):
        raise PluginError(
            f"plugin {name!r} names an invalid agency code {cls.agency!r}",
            {name: "lower-case ASCII letters, digits, - and _"},
        )


def discover_adapters(entry_points=None):
    """Load every adapter plugin; returns a ``Discovery``.

    ``entry_points`` defaults to the installed ones (tests pass their own).
    """
    found = Discovery()
    if entry_points is None:
        entry_points = installed_entry_points()
    for entry_point in sorted(entry_points, key=lambda item: item.name):
        name, value = entry_point.name, entry_point.value
        distribution = _distribution(entry_point)
        try:
            if not is_valid_name(name):
                raise PluginError(
                    f"plugin name {name!r} is not valid",
                    {name: "lower-case ASCII letters, digits, - and _"},
                )
            if name in found.plugins:
                raise PluginError(
                    f"plugin name {name!r} is taken by {found.plugins[name].value}",
                    {name: "two packages declare the same adapter name"},
                )
            cls = entry_point.load()
            check_adapter_class(cls, name)
        except Exception as exc:  # noqa: BLE001 - any failure: report, skip
            reason = f"{type(exc).__name__}: {exc}"
            found.broken[name] = BrokenPlugin(name, value, reason, distribution)
            log.error("adapter_plugin_broken", plugin=name, target=value, error=reason)
            continue
        found.plugins[name] = Plugin(name, cls, value, distribution)
        log.debug("adapter_plugin_found", plugin=name, target=value)

    return found
