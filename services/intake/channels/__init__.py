"""Channel parsers, one module per way a report arrives (Art. 5.1).

``PARSERS`` maps a channel to the function that turns one input's bytes into
report dicts; batch files (CSV, XLSX) and mbox files are split into rows or
messages first (``batch``, ``mbox``).
"""

from services.intake.channels import api, edxml, email, misp, registered, sms, stix
from services.intake.channels.base import ParseError

PARSERS = {
    "api": api.parse,
    "adapter": api.parse,
    "email": email.parse,
    "sms": sms.parse,
    "phone": registered.parse_phone,
    "post": registered.parse_letter,
    "edxml": edxml.parse,
    "misp": misp.parse,
    "stix": stix.parse,
}

__all__ = ["PARSERS", "ParseError"]
