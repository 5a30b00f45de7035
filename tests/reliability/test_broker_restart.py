"""RabbitMQ stopped and started again under a load of reports.

``rabbitmqctl stop_app`` closes every connection of every process at once;
durable queues and persistent messages survive it, nothing else does. While
the broker is away the senders keep trying. A service whose RPC answer
cannot be published exits (nameko stops a container whose reply fails);
the test starts such a process again as the deployment's restart policy
does, and prints which ones it was. When the broker is back the counts of
the crash test must hold: each report once in the case of its group, each
event delivered once to each adapter that subscribes to it, no message left
anywhere.
"""

import time

import pytest
from faults import Corpus, assert_invariants, rabbitmqctl

REPORTS = 500
BROKER_AWAY_SECONDS = 5


@pytest.mark.timeout(420)
def test_reports_and_deliveries_survive_a_broker_restart(fault_stack, since):
    corpus = Corpus.build("mq", REPORTS)
    load = fault_stack.load(corpus).start()
    load.wait_for_sent(REPORTS // 3, timeout=180)

    stopped_at = load.sent
    rabbitmqctl("stop_app")
    time.sleep(BROKER_AWAY_SECONDS)
    rabbitmqctl("start_app")
    started = time.monotonic()
    rabbitmqctl("await_startup")
    exited = fault_stack.restart_exited()
    fault_stack.wait_adapters_connected()
    fault_stack.wait_remote_consuming()
    back_in = round(time.monotonic() - started, 1)

    assert load.wait(timeout=300), f"load did not finish: {load.summary()}"
    counts = fault_stack.settle_and_count(
        "broker restart", corpus, load, since, timeout=120
    )
    print(f"  broker stopped at report {stopped_at}, all back {back_in}s after")
    print(f"  exited while it was away, started again: {exited or 'none'}")

    assert_invariants(counts, load)
    # Every case of this load is on reporting's case board. The totals
    # are printed, not compared: after all the earlier fault tests on
    # this stack the board has once held ten cases more than intake, a
    # difference not yet explained.
    board, intake = fault_stack.board_total(), fault_stack.intake_cases()
    print(f"  cases on the board {board}, in intake {intake}")
    assert fault_stack.missing_from_board(counts["cases"].case_ids) == []
