"""A dependency that writes while its container stops finds the database
client still open: the Store waits for what retained it."""

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from phoihop.store import Store, database_name, get_database, make_client


class LastWords(DependencyProvider):
    """Records one document while it stops, as the adapter host records
    its last deliveries."""

    def _store(self):
        return next(d for d in self.container.dependencies if isinstance(d, Store))

    def start(self):
        self._store().retain(self)

    def stop(self):
        store = self._store()
        # Nameko stops the Store beside this one: give it time to close.
        eventlet.sleep(0.3)
        try:
            store.db.last_words.insert_one({"_id": "stopping"})
        finally:
            store.release(self)


class Keeper:
    name = "keeper"
    store = Store(relay=False)
    last_words = LastWords()

    @rpc
    def ping(self):
        return "pong"


def test_a_retaining_dependency_writes_before_the_client_closes(
    container_factory, service_config
):
    container = container_factory(Keeper, service_config)
    container.start()

    container.stop()

    client = make_client(service_config["MONGODB_URI"])
    try:
        name = database_name(service_config["DB_PREFIX"], "keeper")
        db = get_database(client, name)
        assert db.last_words.find_one({"_id": "stopping"}) is not None
        client.drop_database(name)
    finally:
        client.close()
