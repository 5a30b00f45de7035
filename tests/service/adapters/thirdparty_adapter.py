"""A third-party adapter as an agency's package would ship it, found in the
tests through a faked ``phoihop.adapters`` entry point."""

from phoihop.adapters import Adapter, handles

RECEIVED = []


class JusticeRecordsAdapter(Adapter):
    """Sở Tư pháp: cases about its sector into its records system."""

    agency = "dept-justice"

    @handles("case.assigned")
    def on_assigned(self, event):
        RECEIVED.append(event)


class NotAnAdapter:
    """Declared as an adapter by mistake."""
