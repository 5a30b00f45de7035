"""The stack the fault tests break: every service as its own process.

One stack serves the fault tests of a run (starting seven processes costs
more than any single check), on the run's virtual host and a database
prefix of its own. Each test sends its own corpus (its own tag in every
text and URL, so no report of one test joins a case of another) and
counts only what happened since it began.

The adapters run from a test adapter set: the lead (DIC), one department,
one press agency and the City People's Committee on the host, and the
police as an adapter the agency runs itself (``phoihop adapters run``),
each dropping what it delivers as JSON lines in the work folder. Retries
are short so that a test waits seconds, not the hours production allows.
"""

import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from accounting import (
    count_cases,
    count_deliveries,
    dead_letters,
    print_table,
    wait_until_quiet,
)
from kombu import Connection
from load import OFFICER, Corpus, LoadGenerator
from nameko.standalone.rpc import ClusterRpcProxy

from phoihop.adapters.topology import declare_remote_queue, remote_queue_name
from phoihop.auth import CredentialStore
from phoihop.errors import NotFound
from phoihop.testing import purge_queues, run_queues
from phoihop.testing_stack import ServiceStack, process_cpu_seconds, wait_until

PEPPER = "reliability-pepper-not-a-secret"
REMOTE_ADAPTER = "police"
HOST_ADAPTERS = {
    "dic": {},
    "dept-health": {"plugin": "department", "agency": "dept-health"},
    "press-hp": {},
    "city": {},
}


def jsonl(folder):
    return [{"kind": "jsonl", "directory": str(folder), "fsync": False}]


def adapters_yaml(workdir):
    """The adapters service's configuration for the fault tests."""
    instances = {
        name: {**entry, "transports": jsonl(workdir / "deliveries")}
        for name, entry in HOST_ADAPTERS.items()
    }
    instances[REMOTE_ADAPTER] = {"run": "remote"}
    return yaml.safe_dump(
        {
            "AMQP_URI": "${AMQP_URI}",
            "MONGODB_URI": "${MONGODB_URI}",
            "DB_PREFIX": "${PHOIHOP_DB_PREFIX}",
            "EVENTS_EXCHANGE": "${PHOIHOP_EXCHANGE}",
            "LOG_LEVEL": "INFO",
            "max_workers": 10,
            "adapters": {
                "gateway_url": "${PHOIHOP_GATEWAY_URL}",
                "defaults": {
                    "prefetch": 50,
                    "concurrency": 4,
                    "max_attempts": 5,
                    "retry_delays": [0.5, 1, 2, 4],
                },
                "instances": instances,
            },
        },
        allow_unicode=True,
    )


def agency_yaml(test_env, workdir):
    """The police's own configuration file, as the agency would write it."""
    return yaml.safe_dump(
        {
            "AMQP_URI": test_env.amqp_uri,
            "EVENTS_EXCHANGE": test_env.exchange,
            "LOG_LEVEL": "INFO",
            "adapters": {
                "defaults": {"max_attempts": 5, "retry_delays": [0.5, 1, 2, 4]},
                "instances": {
                    REMOTE_ADAPTER: {
                        "run": "remote",
                        "transports": jsonl(workdir / "deliveries-remote"),
                    }
                },
            },
        }
    )


class FaultStack:
    """The running stack and what the tests need to read it."""

    def __init__(self, stack, workdir, api_key):
        self.stack = stack
        self.workdir = workdir
        self.api_key = api_key
        self.remote = f"adapter-{REMOTE_ADAPTER}"
        self.remote_ledgers = [workdir / f"{REMOTE_ADAPTER}.sqlite3"]
        self.folders = [workdir / "deliveries", workdir / "deliveries-remote"]
        self.bindings = {}

    def rpc(self, timeout=30):
        return ClusterRpcProxy(self.stack.config(), timeout=timeout)

    def wait_adapters_connected(self, timeout=90):
        """Until every adapter of the host consumes its queue (a restarted
        host waits for the lease of the killed one to run out)."""

        def connected():
            try:
                with self.rpc(timeout=10) as rpc:
                    listing = rpc.adapters.list_adapters()
            except Exception:  # noqa: BLE001 - not answering yet
                return None
            adapters = listing["adapters"]
            if adapters and all(a["connected"] for a in adapters):
                return {a["name"]: a["bindings"] for a in adapters}
            return None

        bindings = wait_until(connected, timeout, interval=1.0)
        if not bindings:
            raise AssertionError(
                "adapters did not connect:\n" + self.stack.tail_log("adapters")
            )
        self.bindings = bindings
        return bindings

    def wait_remote_consuming(self, timeout=90):
        """Until the police's own runner reads its queue (it logs only
        warnings, so the broker says when it is there)."""
        queue = remote_queue_name(REMOTE_ADAPTER)
        if not wait_until(lambda: self.stack.consumers(queue), timeout):
            raise AssertionError(
                "the police adapter did not come back:\n"
                + self.stack.tail_log(self.remote)
            )

    def kill_and_restart(self, name, pause=1.0):
        """kill -9 one process, then start it again and wait until it works."""
        self.stack.kill(name)
        time.sleep(pause)
        if name == self.remote:
            queue = remote_queue_name(REMOTE_ADAPTER)
            wait_until(lambda: self.stack.consumers(queue) == 0, 30)
        self.stack.restart(name)
        if name == self.remote:
            self.wait_remote_consuming()
        elif name == "adapters":
            # The new host waits for the killed one's leases to run out; on
            # a loaded two-core machine that has taken over a minute.
            self.wait_adapters_connected(timeout=180)

    def cpu(self):
        """CPU seconds used so far by the services and by the database
        (None for a database server started again since the load began)."""
        server = getattr(self.stack.test_env, "database_server", None)
        pid = server.process.pid if server and server.process else None
        return self.stack.cpu_seconds(), (pid, process_cpu_seconds(pid))

    def restart_exited(self, timeout=120):
        """Start again every process that exited, as the restart policy of
        the deployment (``restart: unless-stopped``) would, until all of
        them answer; returns the names of those that had exited."""
        restarted, pending = [], []
        names = [*self.stack.services, self.remote]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            exited = [name for name in names if not self.stack.running(name)]
            for name in exited:
                self.stack.restart(name)
            restarted += exited
            pending = self.stack.stack.wait_healthy(self.stack.services, timeout=10)
            if not pending and all(self.stack.running(name) for name in names):
                return restarted
        raise AssertionError(f"not running again: {pending}")

    def load(self, corpus, concurrency=8):
        self._cpu_at_start = self.cpu()
        return LoadGenerator(
            corpus,
            self.stack.config(),
            self.stack.base_url,
            self.api_key,
            concurrency=concurrency,
        )

    def missing_from_board(self, case_ids):
        """The cases of ``case_ids`` that reporting's case board lacks."""
        missing = []
        with self.rpc() as rpc:
            for case_id in case_ids:
                try:
                    rpc.reporting.get_case(case_id)
                except NotFound:
                    missing.append(case_id)
        return missing

    def board_total(self):
        with self.rpc() as rpc:
            return rpc.reporting.list_cases({"page_size": 1})["total"]

    def intake_cases(self):
        return self.stack.database("intake")["cases"].count_documents({})

    def settle_and_count(self, title, corpus, generator, since, timeout=300):
        """Wait for quiet, count, print the table; returns the counts."""
        waited, left = wait_until_quiet(self.stack, self.remote_ledgers, timeout)
        cases = count_cases(self.stack, corpus, generator.outcomes)
        deliveries = count_deliveries(
            self.stack, self.bindings, self.folders, self.remote_ledgers, since
        )
        depths = self.stack.queue_depths()
        letters = dead_letters(depths)
        summary = generator.summary()
        rows = [
            ("reports in corpus", len(corpus)),
            ("sent (answered)", summary["sent"]),
            ("send attempts", summary["attempts"]),
            ("retried sends", summary["retried"]),
            ("refused", summary["refused"]),
            ("reports stored", cases.reports_stored),
            ("cases expected", cases.expected),
            ("cases found", cases.found),
            ("cases triaged", summary["triaged"]),
            ("deliveries expected", deliveries.expected),
            ("deliveries made", deliveries.delivered),
            ("declined by adapter", deliveries.ignored),
            ("duplicates", deliveries.duplicates),
            ("lost", deliveries.lost),
            ("unexpected", deliveries.unexpected),
            ("messages left in queues", sum(depths.values())),
            ("dead letters", sum(letters.values())),
            ("load seconds", summary["seconds"]),
            ("reports per second", summary["per_second"]),
            ("seconds to settle", round(waited, 1)),
        ]
        services, (pid, database) = self.cpu()
        started_services, (started_pid, started_database) = self._cpu_at_start
        database = round(database - started_database, 1)
        rows += [
            ("CPU s, services", round(services - started_services, 1)),
            ("CPU s, database", database if pid == started_pid else "restarted"),
        ]
        print_table(title, rows)
        for adapter, counts in deliveries.per_adapter.items():
            print(f"  {adapter:<12} {counts}")
        if left:
            print(f"  still busy after {timeout}s: {left}")
        if generator.errors:
            print(f"  retried after: {dict(generator.errors)}")
        return {
            "cases": cases,
            "deliveries": deliveries,
            "depths": depths,
            "letters": letters,
            "left": left,
            "summary": summary,
        }


def assert_invariants(counts, generator):
    cases = counts["cases"]
    deliveries = counts["deliveries"]
    assert counts["left"] == {}, f"work left after the wait: {counts['left']}"
    assert generator.refused == {}, list(generator.refused.values())[:3]
    assert cases.missing == [], f"reports never stored: {cases.missing[:5]}"
    assert cases.doubled == [], f"reports stored twice: {cases.doubled[:5]}"
    assert cases.split_groups == [], f"groups in several cases: {cases.split_groups}"
    assert cases.shared_cases == [], f"cases of several groups: {cases.shared_cases}"
    assert cases.found == cases.expected
    assert deliveries.lost == 0, f"lost: {deliveries.lost_examples}"
    assert deliveries.duplicates == 0, f"twice: {deliveries.duplicate_examples}"
    assert deliveries.unexpected == 0
    assert deliveries.expected > 0
    assert counts["letters"] == {} or not any(counts["letters"].values())
    assert not any(counts["depths"].values()), {
        name: n for name, n in counts["depths"].items() if n
    }


# One stack for the run: its processes read the run's service and adapter
# queues until the run ends, which is why the fault tests run last
# (``testpaths`` in pyproject.toml).
@pytest.fixture(scope="session")
def fault_stack(test_env, tmp_path_factory):
    # The tests count every message left on the run's vhost: the queues of
    # the earlier test layers (their listeners, the services' queues) go
    # first, so that what is counted is this stack's.
    purge_queues(test_env.amqp_uri, run_queues(test_env.amqp_uri), delete=True)
    workdir = Path(tmp_path_factory.mktemp("fault-stack"))
    stack = ServiceStack(
        test_env,
        workdir,
        extra_env={
            "PHOIHOP_API_KEY_PEPPER": PEPPER,
            "PHOIHOP_RATE_PER_MINUTE": "100000",
            "PHOIHOP_RATE_BURST": "10000",
        },
        config_files={"adapters.yaml": adapters_yaml(workdir)},
    )
    # The queue the police read is provisioned by DIC before the agency
    # starts its runner (``phoihop adapters provision``).
    with Connection(test_env.amqp_uri) as connection:
        declare_remote_queue(connection.default_channel, REMOTE_ADAPTER)
    agency_config = workdir / "police.yaml"
    agency_config.write_text(agency_yaml(test_env, workdir), encoding="utf-8")
    try:
        stack.start(timeout=180)
        store = CredentialStore(stack.database("gateway"), pepper=PEPPER.encode())
        store.ensure_indexes()
        _, api_key = store.create("dic", "Kiểm thử tải", ["dic_inspector"], days=1)
        faults = FaultStack(stack, workdir, api_key)
        faults.wait_adapters_connected()
        stack.start_remote(REMOTE_ADAPTER, agency_config, faults.remote_ledgers[0])
        faults.wait_remote_consuming()
        yield faults
    finally:
        stack.stop()


@pytest.fixture
def since():
    """The moment the test began: it counts only what came after."""
    return datetime.now(UTC)


def rabbitmqctl(*args, timeout=120):
    return subprocess.run(
        [shutil.which("rabbitmqctl"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )


__all__ = [
    "OFFICER",
    "Corpus",
    "FaultStack",
    "assert_invariants",
    "rabbitmqctl",
]
