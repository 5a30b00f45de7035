"""The adapters service: the host of every agency adapter.

Each configured adapter (``deploy/config/adapters.yaml``) gets its own
durable queue ``adapter.<name>`` bound only to its keys, its own prefetch,
concurrency and retries, its own dead-letter queue, and order per case (see
``services.adapters.host`` and ``phoihop.adapters.runner``).

RPC methods:
- ``list_adapters()``: each adapter with its queue, bindings, transports,
  backlog and counts; broken and disabled ones with the reason;
- ``release_case(adapter, case_id, actor)``: let a held case flow again
  (its dead letters may then be replayed in any order);
- ``replay(adapter, event_ids=None, remote=False, actor)``: send the
  adapter's dead letters back to its queue.

Events emitted: ``adapter.delivered``, ``adapter.delivery_failed``.
Events handled: whatever each adapter binds (``agency.<code>.*`` copies
and the broader types its agency's duties call for).
"""

from nameko.rpc import rpc

from phoihop.adapters.ledger import MONGO_INDEXES
from phoihop.adapters.settings import AdaptersSectionSchema
from phoihop.config import Config
from phoihop.errors import EXPECTED_ERRORS, Forbidden
from phoihop.service import ServiceBase
from phoihop.store import Store
from services.adapters.host import AdapterHost

# Only the lead agency operates the platform's queues (Art. 7.1.e: DIC
# builds and runs the systems).
OPERATOR_AGENCIES = ("dic", "system")


def _check_operator(actor):
    if not actor or actor.get("agency") not in OPERATOR_AGENCIES:
        raise Forbidden(
            "only DIC operates the adapters",
            {"actor.agency": "must be dic"},
        )


class AdaptersService(ServiceBase):
    name = "adapters"
    settings = Config(AdaptersSectionSchema)
    store = Store(indexes=MONGO_INDEXES)
    host = AdapterHost()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_adapters(self):
        """Every adapter of this host and its state."""
        return self.host.describe()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def release_case(self, adapter, case_id, actor=None):
        """Forget the hold on ``case_id`` for ``adapter``; returns the event
        ids it held, which stay in the dead-letter queue until replayed."""
        _check_operator(actor)
        released = self.host.release_case(adapter, case_id)
        self.log.info(
            "adapter_case_released",
            adapter=adapter,
            case_id=case_id,
            events=len(released),
        )
        return released

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def replay(self, adapter, event_ids=None, remote=False, actor=None):
        """Send the dead letters of ``adapter`` back; returns how many."""
        _check_operator(actor)
        count = self.host.replay(adapter, event_ids, remote)
        self.log.info("adapter_replayed", adapter=adapter, count=count)
        return count
