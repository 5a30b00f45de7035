"""phoihop ("phối hợp", to coordinate): the library every service and adapter
imports: config, logging, events, bus, store, errors and the local stack.
"""

import warnings

# eventlet announces its own deprecation on import; nameko 2.14 is built on
# it (DESIGN.md, Stack), so the notice is noise for our users.
warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

__version__ = "0.1.0"
