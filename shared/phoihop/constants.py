"""Names and default limits shared by every service, in one place.

Exchange and queue names, configuration keys and default limits (with their
units in the name) live here so that services and adapters agree on them.
"""

# The one durable topic exchange every event goes through (DESIGN.md, Events).
EVENTS_EXCHANGE = "phoihop.events"

# Routing-key prefix of the per-agency copies of an event:
# agency.<code>.<event type>.
AGENCY_KEY_PREFIX = "agency"

# Configuration keys.
AMQP_URI_KEY = "AMQP_URI"
MONGODB_URI_KEY = "MONGODB_URI"
DB_PREFIX_KEY = "DB_PREFIX"
EXCHANGE_KEY = "EVENTS_EXCHANGE"

# Outbox relay.
RELAY_BATCH_SIZE = 200
RELAY_IDLE_POLL_SECONDS = 0.5
RELAY_LEASE_SECONDS = 30.0
# A record unsent this long after commit is taken by the sweep: its writer
# died before publishing it (or never had a relay).
RELAY_SWEEP_GRACE_SECONDS = 5.0

# Consumers: attempts before a message goes to the dead-letter queue, and the
# back-off before each retry.
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_RETRY_DELAYS_SECONDS = (1.0, 5.0, 30.0)

# Message headers the bus sets on retried and dead-lettered messages.
HEADER_ATTEMPTS = "x-phoihop-attempts"
HEADER_ERROR = "x-phoihop-error"
HEADER_QUEUE = "x-phoihop-queue"
HEADER_FAILED_AT = "x-phoihop-failed-at"

# Collections every service database holds for the bus.
OUTBOX_COLLECTION = "outbox"
INBOX_COLLECTION = "inbox"

# The time zone users read times in; storage is always UTC.
DISPLAY_TIMEZONE = "Asia/Ho_Chi_Minh"

# Classification levels, least to most restricted.
CLASSIFICATIONS = ("public", "internal", "confidential", "secret")
